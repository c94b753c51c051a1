"""The outbound event socket: FreeSWITCH connects to us once per call."""
