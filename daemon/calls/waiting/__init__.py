"""The waiting line of a Coaching Dial group: who waits where (line), and what the caller meets (flow)."""
