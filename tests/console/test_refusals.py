"""Every rule text the services and rules can refuse with reaches a console reader in Japanese."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.console import refusals
from daemon.console.refusals import UNKNOWN_RULE, rule

ROOT = Path(__file__).resolve().parents[2]
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")  # kana and kanji


def raised(name: str) -> Iterator[tuple[str, ast.Call]]:
    """Every ``raise name(...)`` in daemon/services and daemon/rules: (where, the call)."""
    for path in sorted([*(ROOT / "daemon/services").rglob("*.py"), *(ROOT / "daemon/rules").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                if isinstance(func, ast.Name) and func.id == name:
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", node.exc


def text_of(arg: ast.expr) -> str:
    """The message as it could read: each ``{value}`` of an f-string filled with a sample."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    assert isinstance(arg, ast.JoinedStr), f"not a literal message: {ast.unparse(arg)}"
    return "".join(str(v.value) if isinstance(v, ast.Constant) else "2026" for v in arg.values)


def test_every_value_error_text_has_a_japanese_sentence() -> None:
    found = {where: text_of(call.args[0]) for where, call in raised("ValueError")}
    assert len(found) > 20  # the walk finds them (26 when written)
    unworded = {where: text for where, text in found.items() if not _JAPANESE.search(rule(text))}
    assert unworded == {}
    assert all(rule(text) != UNKNOWN_RULE for text in found.values())


def test_every_rule_problem_text_has_a_japanese_sentence() -> None:
    """``Problem(loc, "…", RULE)`` written out in the services: the same table words it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "daemon/services").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Problem"
                and len(node.args) >= 3
                and isinstance(node.args[2], ast.Name)
                and node.args[2].id == "RULE"
                and isinstance(node.args[1], (ast.Constant, ast.JoinedStr))
            ):
                found[f"{path.relative_to(ROOT)}:{node.lineno}"] = text_of(node.args[1])
    assert len(found) >= 2  # the walk finds them (statistics' period when written)
    assert {where: text for where, text in found.items() if rule(text) == UNKNOWN_RULE} == {}


def test_every_custom_error_words_itself_in_japanese() -> None:
    """pydantic's custom errors carry their Japanese in the context (daemon.console.forms.message)."""
    found = dict(raised("PydanticCustomError"))
    assert found
    for where, call in found.items():
        ctx = call.args[2] if len(call.args) > 2 else None
        keys = [k.value for k in ctx.keys if isinstance(k, ast.Constant)] if isinstance(ctx, ast.Dict) else []
        assert "japanese" in keys, where


class Said:
    """Stands in for the module's logger: what was warned about."""

    def __init__(self) -> None:
        self.warnings: list[tuple[str, dict[str, Any]]] = []

    def warning(self, event: str, **kw: Any) -> None:
        self.warnings.append((event, kw))


def test_an_english_text_without_a_sentence_is_never_shown_and_is_logged_once(monkeypatch: pytest.MonkeyPatch) -> None:
    said = Said()
    monkeypatch.setattr(refusals, "_log", said)
    monkeypatch.setattr(refusals, "_unknown", set())
    assert rule("the frobnicator refuses 42") == UNKNOWN_RULE
    assert rule("the frobnicator refuses 42") == UNKNOWN_RULE
    assert said.warnings == [("refusal_without_japanese", {"text": "the frobnicator refuses 42"})]


def test_japanese_text_is_shown_as_it_is() -> None:
    assert rule("入力してください") == "入力してください"
    assert rule("card payers are postpaid: set billing to 'postpaid'") == "カード払いの利用者は後払いにしてください"
