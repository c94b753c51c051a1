"""Pure rules: money, IVR flows, tariffs, numbers.  No I/O; nothing here imports the rest of the daemon."""
