"""``/console/ivr/flows``: the IVR customer's flow, built in a visual editor; versions saved, compared, published.

The editor (``static/flow_editor.js``) is node cards over the same form as
before: it writes the definition into the ``definition`` field, which the page
checks exactly as the API does: its shape by the API's
:class:`daemon.rules.ivr.models.Flow`, and on publishing the graph against the
tenant by :mod:`daemon.services.ivr_flows` (:mod:`daemon.rules.ivr.validate`).
Every message is given by node, and the editor shows it in that node's card.
"Save and publish" is one audited change: refused, not even the new version is
kept.  Without JavaScript the page is the JSON form it always was; with it,
the JSON is behind a ``<details>`` for power users (import and export).

A guidance typed in a node (「文章を入力して作成」) is made by
:func:`daemon.services.guidance.speak`, the API's way, and answered as JSON so
the editor can select it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from daemon.audio.errors import AudioRejected
from daemon.console.changes import actor_of
from daemon.console.forms import fields, message
from daemon.console.pages.ivr_guidance import NAME_TAKEN, guidance_url
from daemon.console.pages.path import MAX_ID, path_id
from daemon.console.paths import PREFIX
from daemon.console.refusals import form_errors
from daemon.console.render import page, see_other
from daemon.console.viewer import IVR, tenant_scope
from daemon.http.context import pool_of, settings_of
from daemon.postgres.errors import NotFound
from daemon.repositories.ivr_flows import Version
from daemon.rules.ivr.compare import differences
from daemon.rules.ivr.models import WEEKDAYS, Flow, HoursNode, successors
from daemon.rules.ivr.validate import Problem
from daemon.services import forwarding, guidance, ivr_flows
from daemon.services.errors import Conflict, Invalid
from daemon.services.guidance_models import SpeechIn
from daemon.services.ivr_flows import FlowRefused

routes = web.RouteTableDef()

LIST = f"{PREFIX}/ivr/flows"
ONE = LIST + r"/{version:\d+}"
WHOLE = ""  # a message about the document as a whole
WEEKDAY_NAMES = dict(zip(WEEKDAYS, "月火水木金土日", strict=True))
KIND_NAMES = {
    "play": "ガイダンス再生",
    "menu": "メニュー",
    "hours": "営業時間",
    "forward": "転送",
    "voicemail": "留守番電話",
    "hangup": "終了",
}
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
    """The definition with every setting written out (the editor shows the values calls use), no nulls."""
    return json.dumps(flow.model_dump(mode="json", exclude_none=True), ensure_ascii=False, indent=2)


def _query_version(request: web.Request, name: str) -> int:
    """A version number given in the query, checked as a path id is (anything else: not found)."""
    text = request.query.get(name, "")
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise NotFound(f"no such version {text!r}")
    return int(text)


async def _editor(request: web.Request, tenant_id: int, errors: Mapping[str, list[str]]) -> dict[str, Any]:
    """What the editor needs besides the definition: the tenant's guidance, the add-on, the messages."""
    pool, actor = pool_of(request), actor_of(request)
    items = await guidance.listing(pool, actor, tenant_id)
    contract = await forwarding.contract(pool, actor, tenant_id)
    return {
        "guidance": [{"id": g.id, "name": g.name, "audio": f"{guidance_url(g.id)}/audio"} for g in items],
        "forwarding": contract.forwarding,
        "errors": dict(errors),
        "speech_url": f"{LIST}/guidance",
    }


async def _page(
    request: web.Request,
    tenant_id: int,
    *,
    text: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    status: int = 200,
) -> web.Response:
    pool, actor = pool_of(request), actor_of(request)
    found = await ivr_flows.versions(pool, actor, tenant_id)
    live = next((v for v in found if v.live), None)
    latest = found[-1] if found else None
    based_on = latest
    if text is None and "edit" in request.query:  # 「このバージョンから編集」
        based_on = await ivr_flows.version(pool, actor, tenant_id, _query_version(request, "edit"))
    if text is None:
        text = _dump(based_on.definition) if based_on else json.dumps(EXAMPLE, ensure_ascii=False, indent=2)
    by_node = dict(errors or {})
    names = _node_names(text)
    context: dict[str, Any] = {
        "versions": list(reversed(found)),
        "live": live,
        "based_on": based_on,
        "hours": hours_of(live.definition) if live else [],
        "text": text,
        "nodes": names,
        "errors": by_node,
        "elsewhere": {k: v for k, v in by_node.items() if k not in names},
        "editor": await _editor(request, tenant_id, by_node),
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
    publish = values.get("action") == "publish"
    try:
        flow = _parse(text)
        saved = await ivr_flows.save(pool_of(request), actor_of(request), tenant_id, flow, publish=publish)
    except FlowErrors as exc:
        return await _page(request, tenant_id, text=text, errors=exc.by_node, status=422)
    except FlowRefused as exc:
        return await _page(request, tenant_id, text=text, errors=_problems(exc.refused), status=422)
    raise see_other(LIST, "flow.published" if publish else "flow.saved", saved.version)


@routes.post(ONE + "/publish")
async def publish_version(request: web.Request) -> web.StreamResponse:
    """Publish an earlier (or the latest) saved version: also how a roll-back is done."""
    _, tenant_id = tenant_scope(request, IVR)
    number = path_id(request, "version")
    pool, actor = pool_of(request), actor_of(request)
    before = next((v.version for v in await ivr_flows.versions(pool, actor, tenant_id) if v.live), None)
    try:
        await ivr_flows.publish(pool, actor, tenant_id, number)
    except FlowRefused as exc:
        text = _dump((await ivr_flows.version(pool, actor, tenant_id, number)).definition)
        return await _page(request, tenant_id, text=text, errors=_problems(exc.refused), status=422)
    done = "flow.rolledback" if before is not None and number < before else "flow.published"
    raise see_other(LIST, done, number)


def summary(flow: Flow) -> list[dict[str, Any]]:
    """Each node in words: its kind in Japanese and where it goes next (a version's read-only view)."""
    return [
        {"name": name, "kind": KIND_NAMES[node.kind], "next": list(dict.fromkeys(successors(node)))}
        for name, node in flow.nodes.items()
    ]


@routes.get(ONE)
async def version_detail(request: web.Request) -> web.Response:
    """One saved version as it is, with what it would change against the live one."""
    _, tenant_id = tenant_scope(request, IVR)
    pool, actor = pool_of(request), actor_of(request)
    shown = await ivr_flows.version(pool, actor, tenant_id, path_id(request, "version"))
    live = next((v for v in await ivr_flows.versions(pool, actor, tenant_id) if v.live), None)
    context = {
        "v": shown,
        "live": live,
        "start": shown.definition.entry.default,
        "nodes": summary(shown.definition),
        "text": _dump(shown.definition),
        "kinds": KIND_NAMES,
    }
    return page(request, "ivr_flows_version.html", context)


@routes.get(ONE + "/export")
async def export_version(request: web.Request) -> web.Response:
    """A saved version as a JSON file (for power users: edit elsewhere, import again)."""
    _, tenant_id = tenant_scope(request, IVR)
    number = path_id(request, "version")
    shown = await ivr_flows.version(pool_of(request), actor_of(request), tenant_id, number)
    return web.Response(
        text=_dump(shown.definition) + "\n",
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="ivr-flow-v{number}.json"', "Cache-Control": "no-store"},
    )


@routes.get(LIST + "/compare")
async def compare(request: web.Request) -> web.Response:
    """``?from=A&to=B``: what changes, node by node, from version A to version B."""
    _, tenant_id = tenant_scope(request, IVR)
    pool, actor = pool_of(request), actor_of(request)
    old: Version = await ivr_flows.version(pool, actor, tenant_id, _query_version(request, "from"))
    new: Version = await ivr_flows.version(pool, actor, tenant_id, _query_version(request, "to"))
    context = {
        "old": old,
        "new": new,
        "changes": differences(old.definition, new.definition),
        "kinds": KIND_NAMES,
        "shown": shown,
        "versions": list(reversed(await ivr_flows.versions(pool, actor, tenant_id))),
    }
    return page(request, "ivr_flows_compare.html", context)


def shown(value: Any) -> str:
    """A setting's value in the comparison: as written in the definition (Japanese kept), ``—`` when not set."""
    return "—" if value is None else json.dumps(value, ensure_ascii=False)


def _speech_errors(exc: Exception) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        return form_errors(Invalid.of(exc))
    if isinstance(exc, AudioRejected):
        return {"text": f"この文章は読み上げられません（{exc.message}）"}
    if isinstance(exc, Conflict):
        return {"name": NAME_TAKEN}
    assert isinstance(exc, Invalid)
    return form_errors(exc)


@routes.post(LIST + "/guidance")
async def typed_guidance(request: web.Request) -> web.Response:
    """「文章を入力して作成」: a guidance read aloud from typed text, answered as JSON for the editor to select.

    The body is JSON (``name``, ``text``, ``speed``, ``pitch``); the CSRF token comes in the header.
    """
    _, tenant_id = tenant_scope(request, IVR)
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"errors": {"": "送信内容を読み取れませんでした"}}, status=400)
    store = guidance.store(settings_of(request))
    try:
        text = SpeechIn.model_validate(body)
        row = await guidance.speak(pool_of(request), actor_of(request), store, tenant_id, text)
    except (ValidationError, AudioRejected, Conflict, Invalid) as exc:
        return web.json_response({"errors": _speech_errors(exc)}, status=422)
    return web.json_response({"id": row.id, "name": row.name, "audio": f"{guidance_url(row.id)}/audio"}, status=201)
