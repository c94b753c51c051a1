"""A FreeSWITCH 1.10.12 emulator speaking the real event-socket protocol over TCP.

It places calls into the daemon's outbound socket (``socket 127.0.0.1:8084 async
full``) the way the captures in ../shared/freeswitch/transcripts show, and serves
the inbound socket.  A call to the demo shop of ``make run`` (group code 1, its
counsellor at ``sofia/external/08011112222@127.0.0.1:5090``)::

    fs = FakeFreeSwitch(port=daemon_port, linger_scale=0.1)
    result = await fs.place_call(
        CallerScript(caller="09012345678", destination="0312345678", digits=["1#"],
                     hangup_after_bridge=10, far_ends={"08011112222": FarEnd("answer", answer_after=1.0)})
    )
    assert result.errors == []

From a shell, ``python -m emulator call 0312345678 --from 09012345678 --keys 1 --talk 10``
places that call and prints its timeline (``emulator/__main__.py``).

Modules: ``switch`` (FakeFreeSwitch), ``session`` (one call: session thread, outbound
socket), ``listener`` (event-socket commands and subscriptions), ``apps`` (dialplan
applications), ``media`` (durations, playing while the caller keys), ``keypad``
(``play_and_get_digits``), ``sip`` (the responses the caller gets), ``api`` (api
commands), ``farend`` (dial strings, far ends), ``farleg`` (the answering leg's own
events, the announcement on it), ``scheduler`` (whole-second sched_*),
``channel`` (state, variables, billing), ``events`` / ``templates`` (wire format and
captured data), ``inbound`` (port 8021), ``script`` (CallerScript, FarEnd, CallResult),
``cdr`` (mod_cdr_pg_csv's rows into ``fs_cdr``), ``show`` (the rows of ``show
channels|calls``).  They import downwards only: the switch makes the sessions and hands
itself in, typed by what each needs of it (``listener.Switchboard``, ``session.Switch``,
``api.ApiSwitch``); the applications sit above the session they run on, and the switch
holds their table (``session.AppSpec`` each).  emulator/README.md says what the captures
taught it and what it does not model.
"""

from emulator.script import BridgeAttempt, Broadcast, CallerScript, CallResult, FarEnd, Keys, LegOutcome, Speech
from emulator.switch import FakeFreeSwitch

__all__ = [
    "BridgeAttempt",
    "Broadcast",
    "CallResult",
    "CallerScript",
    "FakeFreeSwitch",
    "FarEnd",
    "Keys",
    "LegOutcome",
    "Speech",
]
