"""``/console/ivr/flows``: the IVR customer's flow versions; edit a flow as JSON, save it, publish it.

The JSON is checked exactly as the API checks it: its shape by the API's
:class:`daemon.rules.ivr.models.Flow`, and on publishing the graph against the
tenant by :mod:`daemon.services.ivr_flows` (:mod:`daemon.rules.ivr.validate`).
Every message is shown beside the node it names.  "Save and publish" is one
audited change: refused, not even the new version is kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from daemon.console.changes import actor_of
from daemon.console.forms import fields, message
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.render import page, see_other
from daemon.console.viewer import IVR, tenant_scope
from daemon.http.context import pool_of
from daemon.rules.ivr.models import WEEKDAYS, Flow, HoursNode
from daemon.rules.ivr.validate import Problem
from daemon.services import ivr_flows
from daemon.services.ivr_flows import FlowRefused

routes = web.RouteTableDef()

LIST = f"{PREFIX}/ivr/flows"
WHOLE = ""  # a message about the document as a whole
WEEKDAY_NAMES = dict(zip(WEEKDAYS, "月火水木金土日", strict=True))
EXAMPLE = {"entry": {"default": "bye"}, "nodes": {"bye": {"kind": "hangup"}}}

# daemon.rules.ivr.validate's sentences, in Japanese (anything else is shown as it is).
_PROBLEMS = (
    (re.compile(r"starts at node '(.+)', which does not exist"), "開始先のノード「{0}」がありません"),
    (re.compile(r"goes to node '(.+)', which does not exist"), "次のノード「{0}」がありません"),
    (re.compile(r"plays guidance (\d+), which this tenant does not have"), "ガイダンス {0} がありません"),
    (
        re.compile(r"forwards calls, but the tenant's forwarding add-on is off"),
        "転送オプションが無効なため転送できません",
    ),
    (
        re.compile(r"shows (.+), which is not one of the tenant's numbers"),
        "通知番号 {0} はこのテナントの番号ではありません",
    ),
    (
        re.compile(r"can loop forever"),
        "発信者の操作を待たずに無限にループします（メニューを入れるか、ループを終えてください）",
    ),
)


def japanese(problem: str) -> str:
    for pattern, words in _PROBLEMS:
        found = pattern.search(problem)
        if found:
            return words.format(*found.groups())
    return problem


def _where(loc: Sequence[int | str]) -> str:
    """The node (or ``entry.…``) a shape error is about."""
    if len(loc) >= 2 and loc[0] == "nodes":
        return str(loc[1])
    if loc and loc[0] == "entry":
        return ".".join(str(part) for part in loc[:2])
    return WHOLE


def _shape_errors(exc: ValidationError) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        tail = ".".join(str(part) for part in error["loc"][2:])
        text = message(error)
        found.setdefault(_where(error["loc"]), []).append(f"{tail}: {text}" if tail else text)
    return found


def _problems(found: Sequence[Problem]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for p in found:
        grouped.setdefault(p.node, []).append(p.japanese or japanese(p.message))
    return grouped


def _parse(text: str) -> Flow:
    """The document as the API's Flow; :class:`FlowErrors` by node otherwise."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FlowErrors({WHOLE: [f"JSONの形式が正しくありません（{exc.lineno}行目 {exc.colno}文字目）"]}) from None
    try:
        return Flow.model_validate(document)
    except ValidationError as exc:
        raise FlowErrors(_shape_errors(exc)) from None


class FlowErrors(Exception):
    def __init__(self, by_node: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in by_node.items()))
        self.by_node = dict(by_node)


def _node_names(text: str) -> list[str]:
    """The node names in a (possibly invalid) document, to show each message beside its node."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return []
    nodes = document.get("nodes") if isinstance(document, dict) else None
    return [str(name) for name in nodes] if isinstance(nodes, dict) else []


def hours_of(flow: Flow) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each hours node's week, as (node, [(weekday in Japanese, ranges)])."""
    found = []
    for name, node in flow.nodes.items():
        if isinstance(node, HoursNode):
            week = [(WEEKDAY_NAMES[d], "、".join(node.week.get(d, [])) or "休み") for d in WEEKDAYS]
            found.append((name, week))
    return found


def _dump(flow: Flow) -> str:
    return json.dumps(flow.model_dump(mode="json", exclude_defaults=True), ensure_ascii=False, indent=2)


async def _page(
    request: web.Request,
    tenant_id: int,
    *,
    text: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    status: int = 200,
) -> web.Response:
    found = await ivr_flows.versions(pool_of(request), actor_of(request), tenant_id)
    live = next((v for v in found if v.live), None)
    latest = found[-1] if found else None
    if text is None:
        text = _dump(latest.definition) if latest else json.dumps(EXAMPLE, ensure_ascii=False, indent=2)
    by_node = dict(errors or {})
    names = _node_names(text)
    context: dict[str, Any] = {
        "versions": list(reversed(found)),
        "live": live,
        "hours": hours_of(live.definition) if live else [],
        "text": text,
        "nodes": names,
        "errors": by_node,
        "elsewhere": {k: v for k, v in by_node.items() if k not in names},
    }
    return page(request, "ivr_flows.html", context, status=status)


@routes.get(LIST)
async def flows(request: web.Request) -> web.Response:
    _, tenant_id = tenant_scope(request, IVR)
    return await _page(request, tenant_id)


@routes.post(LIST)
async def save(request: web.Request) -> web.StreamResponse:
    _, tenant_id = tenant_scope(request, IVR)
    values = await fields(request)
    text = values.get("definition", "")
    try:
        flow = _parse(text)
        await ivr_flows.save(
            pool_of(request), actor_of(request), tenant_id, flow, publish=values.get("action") == "publish"
        )
    except FlowErrors as exc:
        return await _page(request, tenant_id, text=text, errors=exc.by_node, status=422)
    except FlowRefused as exc:
        return await _page(request, tenant_id, text=text, errors=_problems(exc.refused), status=422)
    raise see_other(LIST, "flow.save")


@routes.post(LIST + r"/{version:\d+}/publish")
async def publish_version(request: web.Request) -> web.StreamResponse:
    """Publish an earlier (or the latest) saved version: also how a roll-back is done."""
    _, tenant_id = tenant_scope(request, IVR)
    number = path_id(request, "version")
    pool, actor = pool_of(request), actor_of(request)
    try:
        await ivr_flows.publish(pool, actor, tenant_id, number)
    except FlowRefused as exc:
        text = _dump((await ivr_flows.version(pool, actor, tenant_id, number)).definition)
        return await _page(request, tenant_id, text=text, errors=_problems(exc.refused), status=422)
    raise see_other(LIST, "flow.publish")
