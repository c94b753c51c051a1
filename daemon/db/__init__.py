"""PostgreSQL: the single source of truth shared by every daemon node."""
