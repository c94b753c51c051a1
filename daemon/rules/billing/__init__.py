"""Per-second billing in integer yen: charges, and how long a balance lasts."""
