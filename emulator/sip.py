"""What the caller's SIP side sees: the responses FreeSWITCH sends to the INVITE.

The captures' SIPp logs (``refuse_*_early_media.sip.txt``, ``typeahead_*.sip.txt``)
show ``100 Trying`` at once, ``183 Session Progress`` for ``pre_answer`` (early
media), ``200 OK`` for ``answer``, and for a channel hung up before it was answered
a final response chosen from the hangup cause with a ``Reason: Q.850;cause=N;text="NAME"``
header.  The mapping is mod_sofia's ``hangup_cause_to_sip`` (RFC 4497 §8.4.1); a
``last_bridge_proto_specific_hangup_cause`` of ``sip:NNN`` (a failed bridge before)
overrides it, as in ``sofia_on_hangup``, unless ``sip_ignore_remote_cause`` is true.
"""

from __future__ import annotations

from typing import Final

from emulator.templates import CAUSES

#: mod_sofia.c ``hangup_cause_to_sip``; anything else is 480.
CAUSE_TO_SIP: Final[dict[str, int]] = {
    "UNALLOCATED_NUMBER": 404,
    "NO_ROUTE_TRANSIT_NET": 404,
    "NO_ROUTE_DESTINATION": 404,
    "USER_BUSY": 486,
    "NO_USER_RESPONSE": 408,
    "NO_ANSWER": 480,
    "SUBSCRIBER_ABSENT": 480,
    "CALL_REJECTED": 603,
    "NUMBER_CHANGED": 410,
    "REDIRECTION_TO_NEW_DESTINATION": 410,
    "DESTINATION_OUT_OF_ORDER": 502,
    "INVALID_PROFILE": 502,
    "INVALID_NUMBER_FORMAT": 484,
    "INVALID_URL": 484,
    "INVALID_GATEWAY": 484,
    "FACILITY_REJECTED": 501,
    "NORMAL_UNSPECIFIED": 480,
    "REQUESTED_CHAN_UNAVAIL": 503,
    "NORMAL_CIRCUIT_CONGESTION": 503,
    "NETWORK_OUT_OF_ORDER": 503,
    "NORMAL_TEMPORARY_FAILURE": 503,
    "SWITCH_CONGESTION": 503,
    "GATEWAY_DOWN": 503,
    "OUTGOING_CALL_BARRED": 403,
    "INCOMING_CALL_BARRED": 403,
    "BEARERCAPABILITY_NOTAUTH": 403,
    "BEARERCAPABILITY_NOTAVAIL": 503,
    "BEARERCAPABILITY_NOTIMPL": 488,
    "INCOMPATIBLE_DESTINATION": 488,
    "FACILITY_NOT_IMPLEMENTED": 501,
    "SERVICE_NOT_IMPLEMENTED": 501,
    "RECOVERY_ON_TIMER_EXPIRE": 504,
    "ORIGINATOR_CANCEL": 487,
    "EXCHANGE_ROUTING_ERROR": 483,
}

TRYING: Final = 100
SESSION_PROGRESS: Final = 183
OK: Final = 200
REQUEST_TERMINATED: Final = 487


def final_response(cause: str, proto_specific: str | None = None, *, ignore_remote: bool = False) -> int:
    """The status FreeSWITCH answers an unanswered INVITE with when it hangs the channel up."""
    if proto_specific and not ignore_remote and proto_specific.lower().startswith(("sip:", "sips:")):
        digits = proto_specific.partition(":")[2]
        if digits.isdigit() and int(digits):
            return int(digits)
    return CAUSE_TO_SIP.get(cause, 480)


def reason_header(cause: str) -> str:
    """``Reason`` of that final response (``sofia_on_hangup``): Q.850 for causes 1-127."""
    value = CAUSES.get(cause, 16)
    if 0 < value < 128:
        return f'Q.850;cause={value};text="{cause}"'
    return f'SIP;cause={value};text="{cause}"'
