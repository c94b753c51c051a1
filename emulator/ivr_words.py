"""``python -m emulator call`` on an IVR number: the timeline in the customer's words.

On the wire an IVR call is files and dial strings: ``playback /…/3f9a….wav``,
``bridge {…}sofia/…/08022223333``.  With the tenant's operator token the command
reads the live flow and the guidance list from the daemon's operator API
(``/api/v1/operator/ivr/flows``, ``/api/v1/operator/guidance``) and says
instead: the node that plays it and the guidance's own name, "forwarded to …",
the voicemail node recording; after the call, what each forwarded leg was
charged (``/api/v1/operator/ivr/forwarded-calls``) and the message kept.
A coaching number has no live flow: :func:`load` answers None and the command
speaks as before.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Fetch = Callable[[str], Any]  # GET a path of the operator API, the JSON answer
RECORD_WAIT = 5.0  # seconds for the daemon to write a leg's charge after the hang-up

_NODE_GUIDANCE = {
    "play": ("guidance",),
    "menu": ("prompt", "invalid_prompt", "timeout_prompt"),
    "forward": ("announcement",),
    "voicemail": ("prompt",),
}
_DIGITS = re.compile(r"[0-9]{6,}")


@dataclass(frozen=True)
class IvrWords:
    """The live flow's nodes and the tenant's guidance names, to name what the caller hears."""

    nodes: Mapping[str, Mapping[str, Any]]
    guidance: Mapping[int, tuple[str, str]]  # id → (name, digest)

    def _players(self, guidance_id: int) -> list[str]:
        found = []
        for name, node in self.nodes.items():
            for key in _NODE_GUIDANCE.get(str(node.get("kind")), ()):
                value = node.get(key)
                if value == guidance_id or (isinstance(value, list) and guidance_id in value):
                    found.append(name)
        return found

    def prompt(self, path: str) -> str | None:
        """``node 'menu': 「ご案内」`` for a guidance file of this tenant (None: not one of its guidance)."""
        for guidance_id, (name, digest) in self.guidance.items():
            if digest and digest in path:
                nodes = "/".join(self._players(guidance_id)) or "?"
                return f"node '{nodes}': 「{name}」"
        return None

    def forward(self, dial_string: str) -> str | None:
        """``forwarded to 08022223333 (node 'forward', rings 20 s)`` for a forward node's number."""
        dialled = set(_DIGITS.findall(dial_string))
        for name, node in self.nodes.items():
            if node.get("kind") != "forward":
                continue
            numbers = [n for n in node.get("numbers", []) if n in dialled]
            if numbers:
                ring = node.get("ring_timeout_s", 20)
                return f"forwarded to {', '.join(numbers)} (node '{name}', rings up to {ring} s)"
        return None

    def recording(self) -> str:
        nodes = [n for n, node in self.nodes.items() if node.get("kind") == "voicemail"]
        return f"voicemail node '{'/'.join(nodes) or '?'}': recording the caller's message"


def load(fetch: Fetch) -> IvrWords | None:
    """The live flow and guidance names of the token's tenant; None when it has no live flow."""
    versions = fetch("/ivr/flows").get("versions", [])
    live = next((v for v in versions if v.get("live")), None)
    if live is None:
        return None
    flow = fetch(f"/ivr/flows/{live['version']}")["definition"]
    items = fetch("/guidance").get("guidance", [])
    return IvrWords(flow["nodes"], {g["id"]: (g["name"], g.get("digest") or "") for g in items})


def _leg(leg: Mapping[str, Any]) -> str:
    outcome = leg.get("outcome") or leg.get("state")
    if leg.get("charge_yen") is None:
        return f"forwarded to {leg['number']}: {outcome}, not charged yet"
    return (
        f"forwarded to {leg['number']}: {outcome}, {leg.get('billsec') or 0} s billed,"
        f" forwarding charge {leg['charge_yen']:,} yen"
    )


def summary(fetch: Fetch, call_uuid: str) -> list[str]:
    """After an IVR call: each forwarded leg and its charge, the message kept (waits for the charges)."""
    until = time.monotonic() + RECORD_WAIT
    while True:
        legs = [g for g in fetch("/ivr/forwarded-calls?limit=50")["legs"] if g["call_uuid"] == call_uuid]
        if all(g["state"] == "ended" for g in legs) or time.monotonic() > until:
            break
        time.sleep(0.2)
    lines = [_leg(g) for g in reversed(legs)] or ["forwarding charge: none (the call was not forwarded)"]
    kept = [v for v in fetch("/ivr/voicemails?limit=50")["voicemails"] if v["call_uuid"] == call_uuid]
    lines += [f"voicemail kept: {v['duration_ms'] / 1000:.1f} s at node '{v['flow_node']}'" for v in kept]
    return lines
