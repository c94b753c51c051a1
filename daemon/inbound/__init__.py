"""The inbound event socket: the daemon connecting to FreeSWITCH (port 8021)."""
