"""What changed between two flow versions, node by node: before a roll-back, the customer sees what it undoes.

A node is compared setting by setting (the definition as stored, defaults
included, so a default written out is no change); the entry points are compared
as one more "node" named ``entry``.  Nodes keep the order of the newer version,
then the removed ones in the older version's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from daemon.rules.ivr.models import Flow

ENTRY = "entry"
Change = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    before: Any  # None: not set
    after: Any


@dataclass(frozen=True, slots=True)
class Difference:
    node: str  # a node name, or ENTRY
    change: Change
    kind: str  # the node's kind (the newer one when it changed kind); "" for the entry
    settings: tuple[Setting, ...] = ()


def _values(model: BaseModel) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json")
    return dumped


def _settings(before: dict[str, Any], after: dict[str, Any]) -> tuple[Setting, ...]:
    names = [*after, *(k for k in before if k not in after)]
    return tuple(Setting(k, before.get(k), after.get(k)) for k in names if before.get(k) != after.get(k))


def differences(old: Flow, new: Flow) -> list[Difference]:
    """Every node added, removed or changed from ``old`` to ``new`` (empty: the same flow)."""
    found: list[Difference] = []
    entry = _settings(_values(old.entry), _values(new.entry))
    if entry:
        found.append(Difference(ENTRY, "changed", "", entry))
    for name, node in new.nodes.items():
        if name not in old.nodes:
            found.append(Difference(name, "added", node.kind))
            continue
        changed = _settings(_values(old.nodes[name]), _values(node))
        if changed:
            found.append(Difference(name, "changed", node.kind, changed))
    found += [Difference(name, "removed", node.kind) for name, node in old.nodes.items() if name not in new.nodes]
    return found
