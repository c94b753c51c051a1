"""The layer rule, checked on every import statement (README, "Layers").

A module may import from its own layer and the layers below it, never from one
above; and no modules import each other in a circle (the emulator, a test tool
outside the layers, is held to that too).  Every import counts: those under ``if TYPE_CHECKING:`` and those
inside functions too, since they tie the modules together just the same.

A module of ``daemon/`` that no layer claims fails the test: put it in one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first.  A module belongs to the layer of the longest prefix naming it
# (a prefix names a module and, if it is a package, everything in it).
LAYERS: dict[str, tuple[str, ...]] = {
    "pure rules": (
        "daemon.rules.billing",
        "daemon.rules.numbers",
        "daemon.rules.destinations",
        "daemon.rules.login_backoff",
        "daemon.rules.attempt_reasons",
        "daemon.rules.ivr.models",
        "daemon.rules.ivr.validate",
        "daemon.rules.ivr.tariff",
        "daemon.rules.ivr.hours",
        "daemon.rules.bank_statements",
        "daemon.rules.ivr.compare",
    ),
    "foundation": (
        "daemon",  # the package itself only (its version)
        "daemon.config",
        "daemon.logs",
        "daemon.metrics",
        "daemon.secret_files",
        "daemon.watchdog",
        "daemon.event_loop",
        "daemon.gc_tuning",
        "daemon.loop_lag",
        "daemon.loop_stalls",
        "daemon.esl",
    ),
    "infrastructure": (
        "daemon.postgres.embedded",
        "daemon.postgres.migrate",
        "daemon.postgres.pool",
        "daemon.postgres.listen",
        "daemon.postgres.one_connection",
        "daemon.postgres.deadline",
        "daemon.postgres.types",
        "daemon.postgres.errors",
        "daemon.postgres.constraints",
        "daemon.postgres.backup",
        "daemon.postgres.batch_writer",
        "daemon.outbound",
        "daemon.inbound",
        "daemon.audio",
        "daemon.prompts",
        "daemon.mail",
    ),
    "repositories": ("daemon.repositories",),
    "services": ("daemon.services",),
    "front doors": (
        "daemon.http",
        "daemon.console",
        "daemon.calls",
        "daemon.calls.balance_watcher",
        "daemon.ivr",
        "daemon.settlement",
        "daemon.recovery",
        "daemon.guidance_mail",
    ),
    "application": (
        "daemon.web",
        "daemon.app",
        "daemon.housekeeping",
        "daemon.demo.seed",
        "daemon.demo.access",
        "daemon.demo.ivr",
        "daemon.cli",
        "daemon.__main__",
    ),
}
CYCLE_FREE = ("daemon", "emulator", "tests", "benchmarks", "fuzz")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(*folders: str) -> dict[str, Path]:
    return {module_name(p): p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))}


def imports(path: Path, known: dict[str, Path]) -> Iterator[tuple[int, str]]:
    """(line, module of this tree) for every import in the file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, nearest(alias.name, known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield node.lineno, full if full in known else nearest(node.module, known)


def nearest(name: str, known: dict[str, Path]) -> str:
    """The module itself, or the closest package of the tree holding it ("" if none)."""
    parts = name.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for rank, prefixes in enumerate(LAYERS.values()):
        for prefix in prefixes:
            covers = module == prefix or (prefix != "daemon" and module.startswith(prefix + "."))
            if covers and (best is None or len(prefix) > best[0]):
                best = (len(prefix), rank)
    if best is not None:
        return best[1]
    # A package whose modules are all named in one layer (its __init__ holds a docstring) is of that layer.
    below = {rank for rank, prefixes in enumerate(LAYERS.values()) for p in prefixes if p.startswith(module + ".")}
    return below.pop() if len(below) == 1 else None


def test_every_module_of_the_daemon_has_a_layer() -> None:
    unplaced = [m for m in modules("daemon") if layer_of(m) is None]
    assert unplaced == [], f"add these to a layer in tests/test_layers.py and the README: {unplaced}"


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    known = modules("daemon")
    names = list(LAYERS)
    upward = []
    for module, path in known.items():
        mine = layer_of(module)
        for line, target in imports(path, known):
            theirs = layer_of(target) if target else None
            if mine is not None and theirs is not None and theirs > mine:
                upward.append(f"{path.relative_to(ROOT)}:{line} ({names[mine]}) imports {target} ({names[theirs]})")
    assert upward == [], "imports against the layer rule:\n" + "\n".join(upward)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root, edges in graph.items():
        if root in index:
            continue
        work = [(root, iter(sorted(edges)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_circle() -> None:
    known = modules(*CYCLE_FREE)
    graph = {m: {t for _, t in imports(p, known) if t and t != m} for m, p in known.items()}
    assert cycles(graph) == []


def test_the_checks_see_an_upward_import_and_a_circle() -> None:
    """The rule is not vacuous: a repository importing a front door, and a two-module circle, are caught."""
    repository, front_door = layer_of("daemon.repositories.ledger"), layer_of("daemon.http.admin")
    assert repository is not None and front_door is not None and repository < front_door
    assert layer_of("daemon.nothing_claims_this") is None
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
