"""The OpenAPI 3.1 document of the HTTP API, built from the route table's pydantic models."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from daemon.http.models import Error
from daemon.http.registry import Operation

_PARAM = re.compile(r"\{(\w+)(?::([^{}]+))?\}")
_JSON = "application/json"


def document(
    operations: Iterable[Operation], *, title: str, version: str, secured: Callable[[str], bool]
) -> dict[str, Any]:
    ops = list(operations)
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(Error, "serialization"): None}
    for op in ops:
        if op.body is not None:
            wanted[(op.body, "validation")] = None
        for model in (op.response, *op.also.values()):
            if model is not None:
                wanted[(model, "serialization")] = None
    refs, defs = models_json_schema(list(wanted), ref_template="#/components/schemas/{model}")

    def content(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return {_JSON: {"schema": refs[(model, mode)]}}

    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        responses: dict[str, Any] = {}
        ok: dict[str, Any] = {"description": HTTPStatus(op.status).phrase}
        if op.response is not None:
            ok["content"] = content(op.response, "serialization")
        responses[str(op.status)] = ok
        for code, model in op.also.items():
            responses[str(code)] = {
                "description": HTTPStatus(code).phrase,
                "content": content(model, "serialization"),
            }
        errors = set(op.errors)
        if op.body is not None:
            errors |= {400, 422}
        if secured(op.path):
            errors |= {401, 503}
        for code in sorted(errors - set(op.also)):
            responses[str(code)] = {
                "description": HTTPStatus(code).phrase,
                "content": content(Error, "serialization"),
            }

        item: dict[str, Any] = {"operationId": op.name, "summary": op.summary, "responses": responses}
        params = [_parameter(name, pattern) for name, pattern in _PARAM.findall(op.path)]
        if op.query is not None:
            params += query_parameters(op.query)
        if params:
            item["parameters"] = params
        if op.body is not None:
            required = bool(op.body.model_json_schema().get("required"))
            item["requestBody"] = {"required": required, "content": content(op.body, "validation")}
        if secured(op.path):
            item["security"] = [{"bearer": []}]
        paths.setdefault(_PARAM.sub(r"{\1}", op.path), {})[op.method.lower()] = item

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _parameter(name: str, pattern: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "minimum": 1} if pattern == r"\d+" else {"type": "string"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """One ``in: query`` parameter per field of ``model`` (optional ones without their ``null``)."""
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", ()))
    params = []
    for name, declared in schema["properties"].items():
        prop = dict(declared)
        description = prop.pop("description", None)
        prop.pop("title", None)
        options = [o for o in prop.pop("anyOf", ()) if o.get("type") != "null"]
        if len(options) == 1:
            prop.update(options[0])
        elif options:
            prop["anyOf"] = options
        if prop.get("default", 0) is None:
            del prop["default"]
        description = description or prop.get("description")
        prop.pop("description", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params
