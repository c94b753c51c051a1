"""The emulator's IVR words: what it says of a prompt, a forward and a recording, from a flow and guidance list."""

from __future__ import annotations

from typing import Any

from emulator.__main__ import describe
from emulator.ivr_words import IvrWords, load, summary

FLOW: dict[str, Any] = {
    "entry": {"default": "menu"},
    "nodes": {
        "menu": {"kind": "menu", "prompt": 7, "options": {"1": "fwd", "2": "vm"}, "fallback": "bye"},
        "fwd": {"kind": "forward", "numbers": ["09011112222"], "ring_timeout_s": 15, "on_fail": "vm"},
        "vm": {"kind": "voicemail", "prompt": 8},
        "bye": {"kind": "hangup"},
    },
}
API: dict[str, Any] = {
    "/ivr/flows": {"versions": [{"version": 1, "live": False}, {"version": 2, "live": True}]},
    "/ivr/flows/2": {"definition": FLOW},
    "/guidance": {
        "guidance": [{"id": 7, "name": "ご案内", "digest": "aa11"}, {"id": 8, "name": "伝言", "digest": "bb22"}]
    },
    "/ivr/forwarded-calls?limit=50": {
        "legs": [
            {
                "call_uuid": "c1",
                "number": "09011112222",
                "state": "ended",
                "outcome": "answered",
                "billsec": 7,
                "charge_yen": 70,
            },
            {
                "call_uuid": "other",
                "number": "09011112222",
                "state": "ended",
                "outcome": "busy",
                "billsec": 0,
                "charge_yen": 0,
            },
        ]
    },
    "/ivr/voicemails?limit=50": {"voicemails": [{"call_uuid": "c2", "duration_ms": 3200, "flow_node": "vm"}]},
}


def test_a_live_flow_is_spoken_in_node_and_guidance_names() -> None:
    words = load(API.__getitem__)
    assert words is not None
    lead_in = {"Application": "play_and_get_digits", "Application-Data": "1 1 1 5000 # /p/g/bb22.wav!/p/g/aa11.wav x"}
    assert describe("CHANNEL_EXECUTE", lead_in, words) == (
        "prompt   node 'vm': 「伝言」, then node 'menu': 「ご案内」 (waiting for keys)"
    )
    bridge = {"Application": "bridge", "Application-Data": "{leg_timeout=15}sofia/gateway/carrier/09011112222"}
    assert describe("CHANNEL_EXECUTE", bridge, words) == (
        "ringing  forwarded to 09011112222 (node 'fwd', rings up to 15 s)"
    )
    record = {"Application": "record", "Application-Data": "/v/1.wav 60 200 5"}
    assert describe("CHANNEL_EXECUTE", record, words) == "record   voicemail node 'vm': recording the caller's message"
    assert describe("CHANNEL_EXECUTE", record) is None  # a coaching call records nothing worth a line


def test_after_the_call_the_forwarding_charge_and_the_message_kept() -> None:
    assert summary(API.__getitem__, "c1") == [
        "forwarded to 09011112222: answered, 7 s billed, forwarding charge 70 yen"
    ]
    assert summary(API.__getitem__, "c2") == [
        "forwarding charge: none (the call was not forwarded)",
        "voicemail kept: 3.2 s at node 'vm'",
    ]


def test_a_tenant_without_a_live_flow_has_no_ivr_words() -> None:
    assert load({"/ivr/flows": {"versions": []}}.__getitem__) is None
    assert IvrWords(FLOW["nodes"], {}).prompt("/p/welcome.wav") is None
