"""The other outbound-socket servers ``make bench-peers`` measures this daemon against.

Each is a minimal app doing what the daemon's interim call does (answer, a 20 ms
guidance, hang up), started as its own process: ``bare`` with this Python and only
the standard library, ``greenswitch_app`` and ``genesis_app`` with the Python of a
throw-away environment those libraries were installed into.  Usage of each:
``python FILE PORT PROMPT_PATH``; it serves until killed.
"""
