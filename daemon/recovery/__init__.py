"""Crash recovery: reconciling the calls a dead daemon left open."""
