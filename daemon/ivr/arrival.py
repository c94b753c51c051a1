"""How a call arrived: on our 03 number, on a toll-free overlay, or forwarded by a carrier.

A carrier-forwarded call carries the customer's old number in ``Diversion``
(FreeSWITCH passes the raw header value as ``variable_sip_h_Diversion``, e.g.
``<sip:0355556666@127.0.0.1>;reason=unconditional``).  Each redirecting hop adds
an entry at the top, so the original number is the last one.
"""

from __future__ import annotations

import re

from daemon.rules.ivr.models import Arrival
from daemon.rules.numbers import national

TOLL_FREE = ("0120", "0800")
_USER = re.compile(r"<?\s*(?:sips?|tel):\+?([^@;>]+)", re.IGNORECASE)


def diverted_from(diversion: str | None) -> str | None:
    """The original number of a carrier-forwarded call, national digits; None if absent or unreadable."""
    if not diversion:
        return None
    entries = [e for e in diversion.split(",") if e.strip()]
    if not entries:
        return None
    match = _USER.search(entries[-1])
    if match is None:
        return None
    user = match.group(1).strip()
    return national(("+" + user) if user.startswith("81") else user)


def arrival(dialled: str, original: str | None) -> Arrival:
    if original is not None:
        return "forwarded"
    if dialled.startswith(TOLL_FREE):
        return "toll_free"
    return "direct"
