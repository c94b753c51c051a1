"""Fixtures of the IVR tests: an HTTP client session, the one the HTTP tests use."""

from tests.http.conftest import http

__all__ = ["http"]
