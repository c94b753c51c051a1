"""The OpenAPI document: every served route is in it, with resolvable schemas and the right security."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import BaseModel

from daemon.console.paths import is_console_path
from daemon.http import auth, openapi
from daemon.http.registry import RouteTable, install
from tests.conftest import DaemonFactory
from tests.http.test_status_admin import call

NOT_DOCUMENTED = {"/metrics", "/api/v1/openapi.json"}  # Prometheus text, and the document itself


def resolve(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith("#/components/schemas/"), ref
    schema: dict[str, Any] = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


async def test_document_lists_every_route_the_app_serves(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession
) -> None:
    daemon = await start_daemon()
    status, doc = await call(http, daemon, "GET", "/api/v1/openapi.json", headers={})
    assert status == 200
    assert doc["openapi"] == "3.1.0" and doc["info"]["version"] == daemon.version
    assert daemon._http is not None
    served = {
        (route.method.lower(), re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.resource.canonical))
        for app in [daemon._http.app]
        for route in app.router.routes()
        if route.resource is not None
        and route.method != "HEAD"
        and route.resource.canonical not in NOT_DOCUMENTED
        and not is_console_path(route.resource.canonical)  # HTML pages for people, not the JSON API
    }
    documented = {(method, path) for path, item in doc["paths"].items() for method in item}
    assert served == documented
    for method, path in [
        ("get", "/status"),
        ("post", "/api/v1/tenants"),
        ("get", "/api/v1/tenants"),
        ("get", "/api/v1/tenants/{tenant_id}"),
        ("put", "/api/v1/tenants/{tenant_id}/lines"),
        ("post", "/api/v1/tenants/{tenant_id}/numbers"),
        ("delete", "/api/v1/numbers/{number}"),
    ]:
        assert (method, path) in documented


async def test_admin_operations_models_and_security(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    _, doc = await call(http, daemon, "GET", "/api/v1/openapi.json", headers={})
    for ref in refs(doc["paths"]):
        resolve(doc, ref)  # every reference resolves
    for ref in refs(doc["components"]["schemas"]):
        resolve(doc, ref)

    create = doc["paths"]["/api/v1/tenants"]["post"]
    assert create["security"] == [{"bearer": []}]
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    body = resolve(doc, create["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    assert set(body["required"]) == {"name", "lines"}
    assert body["properties"]["lines"]["maximum"] == 100_000
    assert {"201", "400", "401", "409", "422", "503"} <= set(create["responses"])
    error = resolve(doc, create["responses"]["409"]["content"]["application/json"]["schema"]["$ref"])
    assert set(error["properties"]) == {"error", "detail"}

    lines = doc["paths"]["/api/v1/tenants/{tenant_id}/lines"]["put"]
    assert lines["parameters"] == [
        {"name": "tenant_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
    ]
    changed = resolve(doc, lines["responses"]["200"]["content"]["application/json"]["schema"]["$ref"])
    assert set(changed["properties"]) == {"tenant_id", "lines", "previous_lines"}

    number = resolve(
        doc,
        doc["paths"]["/api/v1/tenants/{tenant_id}/numbers"]["post"]["requestBody"]["content"]["application/json"][
            "schema"
        ]["$ref"],
    )
    assert number["properties"]["product"]["enum"] == ["coaching", "ivr", "duty"]
    assert "+81" in number["properties"]["number"]["description"]
    assert "204" in doc["paths"]["/api/v1/numbers/{number}"]["delete"]["responses"]

    monitor = doc["paths"]["/status"]["get"]
    assert "security" not in monitor
    assert monitor["responses"]["503"] == monitor["responses"]["200"] | {"description": "Service Unavailable"}


class Ping(BaseModel):
    text: str


class Pong(BaseModel):
    echoed: str


def test_one_decorator_adds_a_route_and_its_models() -> None:
    routes = RouteTable()

    @routes.route("POST", "/api/v1/ping", summary="Echo", body=Ping, response=Pong, errors=(409,))
    async def ping(request: web.Request, body: Ping) -> Pong:
        return Pong(echoed=body.text)

    operations = install(web.Application(), routes)
    doc = openapi.document(operations, title="t", version="0", secured=auth.requires_auth)
    item = doc["paths"]["/api/v1/ping"]["post"]
    assert item["operationId"] == "ping"
    assert item["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Ping"}
    assert set(item["responses"]) == {"200", "400", "401", "409", "422", "503"}
    assert {"Ping", "Pong", "Error"} <= set(doc["components"]["schemas"])
