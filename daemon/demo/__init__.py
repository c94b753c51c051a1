"""The demo shop (``CALLD_DEMO``): its data and the logins printed at start."""
