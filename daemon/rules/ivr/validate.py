"""What a flow must satisfy to go live, beyond its shape: checked at publish time.

Each problem names the node (or entry) it is about.  Refused: a reference to a
node that does not exist, guidance the tenant does not have, a ``forward`` while
the tenant's forwarding add-on is off (or showing a number that is not the
tenant's, or ringing a number :mod:`daemon.rules.destinations` refuses for the
tenant's contract), and a cycle the call could run round forever without ever
waiting for the caller (a cycle with no ``menu`` or ``voicemail`` in it).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from daemon.rules.ivr.models import Flow, ForwardNode, guidance_ids, refused_numbers, successors, waits_for_caller


@dataclass(frozen=True, slots=True)
class Problem:
    node: str  # a node name, or "entry.…"
    message: str
    japanese: str = ""  # the console's words when the rule has its own (else it translates ``message``)


def problems(
    flow: Flow,
    *,
    guidance: Collection[int],
    forwarding: bool,
    own_numbers: Collection[str],
    international: bool = False,
) -> list[Problem]:
    """Everything wrong with ``flow`` for this tenant (empty: it may be published)."""
    found: list[Problem] = []
    for where, target in flow.entry.targets():
        if target not in flow.nodes:
            found.append(Problem(where, f"starts at node {target!r}, which does not exist"))
    for name, node in flow.nodes.items():
        missing = [t for t in successors(node) if t not in flow.nodes]
        found += [Problem(name, f"goes to node {t!r}, which does not exist") for t in missing]
        unknown = [g for g in guidance_ids(node) if g not in guidance]
        found += [Problem(name, f"plays guidance {g}, which this tenant does not have") for g in unknown]
        if isinstance(node, ForwardNode):
            if not forwarding:
                found.append(Problem(name, "forwards calls, but the tenant's forwarding add-on is off"))
            if node.shown_number not in ("dialled", "caller") and node.shown_number not in own_numbers:
                found.append(Problem(name, f"shows {node.shown_number}, which is not one of the tenant's numbers"))
    found += [
        Problem(name, f"forwards to {r.english} [{r.code}]", r.japanese)
        for name, r in refused_numbers(flow, international=international)
    ]
    loop = "can loop forever without waiting for the caller (add a menu, or end the loop)"
    found += [Problem(n, loop) for n in endless(flow)]
    return found


def endless(flow: Flow) -> list[str]:
    """One node of each cycle made only of nodes that do not wait for the caller."""
    graph = {
        name: [t for t in successors(node) if t in flow.nodes and not waits_for_caller(flow.nodes[t])]
        for name, node in flow.nodes.items()
        if not waits_for_caller(node)
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    reported: list[str] = []
    for root in graph:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            name, index = stack[-1]
            nexts = graph[name]
            if index == len(nexts):
                state[name] = 2
                stack.pop()
                continue
            stack[-1] = (name, index + 1)
            target = nexts[index]
            if state.get(target) == 1:
                reported.append(target)
            elif target not in state:
                state[target] = 1
                stack.append((target, 0))
    return sorted(set(reported))
