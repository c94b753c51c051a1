"""The HTTP side of the daemon: ``/status``, ``/metrics`` and the admin API under ``/api/v1/``."""
