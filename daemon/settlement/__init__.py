"""Settling calls whose end the database could not take at once (see settler.py)."""
