"""Call flows: what the daemon does with a call, written as readable scripts."""
