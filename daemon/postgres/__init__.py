"""PostgreSQL as infrastructure: the embedded server, migrations, the pool, the LISTEN hub, errors and timeouts."""
