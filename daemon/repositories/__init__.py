"""Repositories: one module per stored concern, SQL in, typed rows out."""
