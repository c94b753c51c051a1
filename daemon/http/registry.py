"""A route table whose entries carry their pydantic models, so the OpenAPI document writes itself.

Adding an endpoint is one decorator::

    @routes.route("PUT", "/api/v1/tenants/{tenant_id:\\d+}/lines", body=LinesUpdate,
                  response=LinesChanged, errors=(404,), summary="Change a tenant's lines")
    async def set_lines(request: web.Request, body: LinesUpdate) -> LinesChanged: ...

The wrapper reads and validates the body (malformed JSON 400, rule violations
422; an empty body is ``{}``, so a model whose fields are all optional needs
none), and turns the returned model into JSON with the declared status
(``None`` for a bodiless 204).  A handler may return a ``web.StreamResponse``
itself when its status depends on the outcome.  ``query=`` names the model a
handler validates its query string with, for the document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from aiohttp import web
from pydantic import BaseModel, ValidationError

from daemon.http.errors import ApiError

B = TypeVar("B", bound=BaseModel)
Result = BaseModel | web.StreamResponse | None
PlainHandler = Callable[[web.Request], Awaitable[Result]]
BodyHandler = Callable[[web.Request, B], Awaitable[Result]]
Endpoint = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str  # aiohttp form, may hold regexes: /tenants/{tenant_id:\d+}
    name: str  # the handler's name, the operationId
    summary: str
    endpoint: Endpoint
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: tuple[int, ...]
    also: Mapping[int, type[BaseModel]] = field(default_factory=dict)  # other statuses with bodies
    query: type[BaseModel] | None = None  # the query string's parameters


class RouteTable:
    def __init__(self) -> None:
        self._operations: list[Operation] = []

    def __iter__(self) -> Iterator[Operation]:
        return iter(self._operations)

    @overload
    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        body: type[B],
        response: type[BaseModel] | None = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
        also: Mapping[int, type[BaseModel]] | None = None,
        query: type[BaseModel] | None = None,
    ) -> Callable[[BodyHandler[B]], BodyHandler[B]]: ...

    @overload
    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        body: None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
        also: Mapping[int, type[BaseModel]] | None = None,
        query: type[BaseModel] | None = None,
    ) -> Callable[[PlainHandler], PlainHandler]: ...

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
        also: Mapping[int, type[BaseModel]] | None = None,
        query: type[BaseModel] | None = None,
    ) -> Callable[[Any], Any]:
        def register(handler: Callable[..., Awaitable[Result]]) -> Callable[..., Awaitable[Result]]:
            self._operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    name=handler.__name__,
                    summary=summary,
                    endpoint=_endpoint(handler, body, status),
                    body=body,
                    response=response,
                    status=status,
                    errors=errors,
                    also=dict(also or {}),
                    query=query,
                )
            )
            return handler

        return register


def install(app: web.Application, *tables: RouteTable) -> list[Operation]:
    """Add the tables' routes to ``app``; return the operations (for the OpenAPI document)."""
    operations = [op for table in tables for op in table]
    names = [op.name for op in operations]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"handler names are operationIds and must be unique: {sorted(duplicates)}")
    for op in operations:
        app.router.add_route(op.method, op.path, op.endpoint, name=op.name)
    return operations


def _endpoint(handler: Callable[..., Awaitable[Result]], body: type[BaseModel] | None, status: int) -> Endpoint:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        if body is None:
            result = await handler(request)
        else:
            result = await handler(request, await read_body(request, body))
        return respond(result, status)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


async def read_body(request: web.Request, model: type[B]) -> B:
    raw = await request.read()
    if not raw.strip():
        try:
            return model.model_validate({})  # nothing to say: fine when every field is optional
        except ValidationError:
            raise ApiError(400, "the request body is empty; send a JSON object") from None
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        broken = [e for e in exc.errors(include_url=False) if e["type"] == "json_invalid"]
        if broken:
            raise ApiError(400, f"the request body is not valid JSON: {broken[0]['msg']}") from None
        raise ApiError.invalid(exc, "body") from None


def read_query(request: web.Request, model: type[B]) -> B:
    """The query string as ``model`` (each parameter once; rule violations 422 at ``query``)."""
    repeated = sorted({k for k in request.query if len(request.query.getall(k)) > 1})
    if repeated:
        raise ApiError(422, f"give each filter once: {', '.join(repeated)} is repeated")
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise ApiError.invalid(exc, "query") from None


def respond(result: Result, status: int) -> web.StreamResponse:
    if isinstance(result, web.StreamResponse):
        return result
    if result is None:
        return web.Response(status=status)
    return json_response(result, status)


def json_response(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(status=status, text=model.model_dump_json(), content_type="application/json")
