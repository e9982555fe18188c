"""Routes of the REST API, declared once: they become nameko ``@http`` entrypoints *and*
the OpenAPI document (apispec, from the same marshmallow schemas the services use).

A route that only forwards to a service's operation is one declaration in a table::

    ROUTES = [
        expose("GET", "/api/v1/tickets", ops.list_tickets, tag="tickets"),
        expose("POST", "/api/v1/categories", ops.add_category, tag="configuration", status=201),
    ]

The caller's role, the operation's rules on the caller, the path's values (a route's
``params`` schema: an integer-like segment, say), the body and the query are checked here
with the operation's own declaration before an RPC is spent; the service checks them
again. The RPC gets the caller's center (unless the operation is public,
when the path names the center), then the path's values in order, then the body, then
the query. A route that does more than forward is a method with :func:`route`::

    @route("POST", "/api/v1/public/tickets", op=ops.create_public_ticket, tag="public",
           status=201)
    def public_create_ticket(self, req: ApiRequest) -> Any: ...

:func:`exposes` installs both kinds on the gateway's service class.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import eventlet
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from kombu.exceptions import OperationalError
from marshmallow import Schema, fields
from nameko.exceptions import RemoteError, UnknownService
from nameko.extensions import DependencyProvider
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from gateway.dependencies import REQUEST_ID_HEADER, REQUEST_ID_KEY, request_id
from gateway.http import HttpProblem, json_response, problem, read_json, render_error
from lianxin import logs
from lianxin.concurrency import etag_of
from lianxin.contracts.schema import instance, load
from lianxin.errors import InvalidInput, LianxinError, PreconditionRequired, from_remote
from lianxin.operations import Operation
from lianxin.roles import Principal
from lianxin.web import http

log = logging.getLogger(__name__)
#: One line per request: method, route template (never the path: it may hold a follow
#: code), status, duration, center and request id — no tokens, no phone numbers.
access = logging.getLogger("lianxin.access")

#: ``roles=PUBLIC``: no token needed.
PUBLIC = None

Handler = Callable[..., Any]
Render = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    """One HTTP route: its method and path, the operation it serves, how it answers."""

    method: str
    path: str
    op: Operation
    tag: str
    status: int = 200
    description: str = ""
    #: Other success statuses with the same body, and what each means.
    also: dict[int, str] = field(default_factory=dict)
    #: ``render(status, detail, code, fields, headers, instance)`` answers errors.
    render: Render = problem
    #: The method that serves it; ``None``: forward to the operation's RPC.
    handler: Handler | None = None
    #: The caller's centers are the token's grant (a department's subscriptions across
    #: centers): no ``?center=`` is asked for, and the RPC gets no center argument.
    across_centers: bool = False
    #: The path's values that are more than text (a :class:`PathInteger`, say): loaded
    #: before the RPC, refused with 422; the handler and the RPC get the loaded values.
    params: type[Schema] | None = None

    @property
    def name(self) -> str:
        return self.handler.__name__ if self.handler else self.op.name


@dataclass
class ApiRequest:
    """What a route handler gets: the raw request, the caller, the validated-as-raw body."""

    request: Request
    principal: Principal | None
    center: str | None
    body: Any = None
    query: dict[str, Any] = field(default_factory=dict)
    #: The ``If-Match`` header of a write of a shared record (``op.if_match``).
    if_match: str | None = None


class RpcTimeout(Exception):
    """A backend did not answer within the call's deadline (answered as 504)."""


def expose(
    method: str,
    path: str,
    op: Operation,
    *,
    tag: str,
    status: int = 200,
    description: str = "",
    also: dict[int, str] | None = None,
    across_centers: bool = False,
    params: type[Schema] | None = None,
) -> Route:
    """A route that forwards to ``op`` (see the module doc)."""
    return Route(
        method,
        path,
        op,
        tag,
        status,
        description or op.description,
        dict(also or {}),
        across_centers=across_centers,
        params=params,
    )


def route(
    method: str,
    path: str,
    *,
    tag: str,
    op: Operation | None = None,
    summary: str | None = None,
    roles: tuple[str, ...] | None = PUBLIC,
    body: type[Schema] | None = None,
    query: type[Schema] | None = None,
    response: type[Schema] | None = None,
    many: bool = False,
    status: int = 200,
    description: str = "",
    render: Render = problem,
    also: dict[int, str] | None = None,
    across_centers: bool = False,
    params: type[Schema] | None = None,
) -> Callable[[Handler], Handler]:
    """Declare a hand-written route: one that does more than forward. It serves ``op`` (a
    service's operation: its roles, rules and schemas apply), or — for what only the
    gateway does (Open311, downloads) — an operation of its own made from ``summary``,
    ``roles`` (``PUBLIC`` needs no token), ``body``, ``query`` and ``response``.
    ``params`` is the schema of the path's values that are more than text."""

    def decorate(fn: Handler) -> Handler:
        served = op or Operation(
            "gateway",
            fn.__name__,
            roles,
            summary or fn.__name__,
            body=body,
            query=query,
            response=response,
            many=many,
        )
        doc = description or (fn.__doc__ or "").strip() or served.description
        fn.__dict__["lianxin_route"] = Route(
            method,
            path,
            served,
            tag,
            status,
            doc,
            dict(also or {}),
            render,
            fn,
            across_centers,
            params,
        )
        return fn

    return decorate


def call(method_proxy: Callable[..., Any], *args: Any, timeout: float = 10, **kwargs: Any) -> Any:
    """One RPC with a deadline: a stopped service is a 504, not a hung request."""
    with eventlet.Timeout(timeout, RpcTimeout):
        return method_proxy(*args, **kwargs)


def require_fields(data: Any, *names: str) -> None:
    missing = {n: ["必填项"] for n in names if not isinstance(data, dict) or n not in data}
    if missing:
        raise InvalidInput(fields=missing)


class PathInteger(fields.Integer):
    """An integer a path segment carries: ASCII digits only (``int()`` also takes ``²``'s
    kin and other scripts' digits; a path must not), at most ``digits`` of them, and an
    optional ``suffix`` (``50h``). Refused in Chinese; documented as an integer."""

    def __init__(self, *, suffix: str = "", digits: int = 9, **kwargs: Any) -> None:
        kwargs.setdefault("required", True)
        super().__init__(**kwargs)
        self._pattern = re.compile(rf"[0-9]{{1,{digits}}}(?:{re.escape(suffix)})?")
        self._suffix = suffix

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or not self._pattern.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value.removesuffix(self._suffix), attr, data, **kwargs)


def load_path(schema: type[Schema], path_args: dict[str, Any]) -> dict[str, Any]:
    """The path's values with those ``schema`` declares loaded (the rest stay text), or a
    422 naming the segments refused."""
    declared = instance(schema).fields
    try:
        loaded = load(schema, {k: v for k, v in path_args.items() if k in declared})
    except InvalidInput as exc:
        names = "、".join(exc.fields) or "路径"
        raise InvalidInput(f"路径中的参数有误：{names}", fields=exc.fields) from None
    return {**path_args, **loaded}


# -- CORS ------------------------------------------------------------------------------------

#: What a browser on an allowed origin may send, and may read of an answer.
CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-Request-Id",
    "If-Match",
    "X-CSRF-Token",
)
CORS_EXPOSED_HEADERS = (
    REQUEST_ID_HEADER,
    "Location",
    "Retry-After",
    "ETag",
    "Content-Disposition",
    "Allow",
)


@dataclass(frozen=True)
class CorsPolicy:
    """Cross-origin access for the listed origins only (config ``CORS_ORIGINS``, comma
    separated). None listed: no CORS header at all. An origin not listed gets none either
    (``Vary: Origin`` only, so a cache keeps the answers apart)."""

    origins: frozenset[str] = frozenset()
    max_age: int = 600

    @classmethod
    def from_config(cls, value: Any, max_age: Any = None) -> CorsPolicy:
        items = value if isinstance(value, list | tuple) else str(value or "").split(",")
        origins = frozenset(str(o).strip().rstrip("/").lower() for o in items if str(o).strip())
        if "*" in origins:
            raise ValueError("CORS_ORIGINS 须列出具体来源（如 https://desk.example.cn），不接受 *")
        return cls(origins, int(max_age) if max_age not in (None, "") else 600)

    def allowed(self, request: Request) -> str | None:
        """The request's ``Origin`` when it is one of ours, else ``None``."""
        origin = request.headers.get("Origin")
        return origin if origin and origin.lower() in self.origins else None

    def answer(self, request: Request, response: Response) -> Response:
        """``response`` with the CORS headers the request's origin is owed (maybe none)."""
        if not self.origins:
            return response
        response.vary.add("Origin")
        origin = self.allowed(request)
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = ", ".join(CORS_EXPOSED_HEADERS)
        return response

    def preflight(self, request: Request, methods: list[str]) -> Response | None:
        """The 204 a browser's preflight (``OPTIONS`` with ``Access-Control-Request-Method``)
        from an allowed origin gets; ``None`` when it is no such preflight."""
        if not request.headers.get("Access-Control-Request-Method"):
            return None
        origin = self.allowed(request)
        if origin is None:
            return None
        response = Response(
            status=204,
            headers={
                "Allow": ", ".join([*methods, "OPTIONS"]),
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": ", ".join(methods),
                "Access-Control-Allow-Headers": ", ".join(CORS_REQUEST_HEADERS),
                "Access-Control-Max-Age": str(self.max_age),
            },
        )
        response.vary.add("Origin")
        return response


class Cors(DependencyProvider):
    """The gateway's :class:`CorsPolicy`, read once from config (``CORS_ORIGINS``,
    ``CORS_MAX_AGE``)."""

    policy: CorsPolicy

    def setup(self) -> None:
        config = self.container.config
        self.policy = CorsPolicy.from_config(config.get("CORS_ORIGINS"), config.get("CORS_MAX_AGE"))

    def get_dependency(self, worker_ctx: Any) -> CorsPolicy:
        return self.policy


# -- serving ---------------------------------------------------------------------------------

_PATH_ARG = re.compile(r"<(?:[a-z]+:)?([a-zA-Z_]+)>")


def invoke(
    service: Any,
    op: Operation,
    center: str | None,
    *values: Any,
    body: Any = None,
    query: Any = None,
    if_match: str | None = None,
) -> Any:
    """One RPC of ``op`` in the documented order: the center (``None``: a public or
    across-centers operation names none), the path's values, the body, the query. Routes
    and pages both call the services through here."""
    args: list[Any] = [] if center is None else [center]
    args += values
    if op.body is not None:
        args.append(body)
    if op.query is not None:
        args.append(query if query is not None else {})
    kwargs = {"if_match": if_match} if op.if_match else {}
    proxy = getattr(service, f"{op.service}_rpc")
    return call(getattr(proxy, op.name), *args, timeout=op.timeout, **kwargs)


def _forward(spec: Route) -> Handler:
    """The handler of an exposed operation: one RPC, arguments in the documented order."""
    op = spec.op
    path_names = _PATH_ARG.findall(spec.path)

    def forward(service: Any, req: ApiRequest, **path_args: str) -> Any:
        center = None if op.public or spec.across_centers else req.center
        values = [path_args[name] for name in path_names]
        return invoke(
            service, op, center, *values, body=req.body, query=req.query, if_match=req.if_match
        )

    forward.__name__ = op.name
    return forward


def _etag(spec: Route, body: Any) -> dict[str, str] | None:
    """``ETag`` of a forwarded answer that is one record: a GET's (not a list, not a page)
    and a PATCH's — made of the same dump the service compares ``If-Match`` with."""
    op = spec.op
    if spec.handler is not None or spec.method not in ("GET", "PATCH") or op.many:
        return None
    if not isinstance(body, dict) or {"items", "total"} <= body.keys():
        return None
    if op.etag is not None:
        names = [f.data_key or name for name, f in instance(op.etag).fields.items()]
        body = {k: body[k] for k in names if k in body}
    return {"ETag": etag_of(body)}


def _failure(spec: Route, request: Request, exc: Exception) -> Response:
    """What a caller is told when a route fails: never a bare 500 page, never English."""
    render, where = spec.render, request.path
    if isinstance(exc, HttpProblem):
        return render(exc.status, exc.detail, exc.code, exc.fields, exc.headers, where)
    if isinstance(exc, RemoteError):
        mapped = from_remote(exc)
        if mapped is None:
            log.error("remote error on %s %s: %s", spec.method, spec.path, exc)
            return render(502, "后端服务处理出错，请稍后再试", "UPSTREAM_ERROR", None, None, where)
        exc = mapped
    if isinstance(exc, LianxinError):
        return render_error(render, exc, where)
    if isinstance(exc, UnknownService):
        log.error("service unavailable on %s %s: %s", spec.method, spec.path, exc)
        return render(503, "后端服务未运行，请稍后再试", "SERVICE_UNAVAILABLE", None, None, where)
    if isinstance(exc, OperationalError | ConnectionError):
        # The broker could not be reached (or went away mid-call): never a bare 500.
        log.error("broker unreachable on %s %s: %s", spec.method, spec.path, exc)
        return render(
            503,
            "消息服务暂时无法连接，请稍后再试",
            "BROKER_UNAVAILABLE",
            None,
            {"Retry-After": "5"},
            where,
        )
    if isinstance(exc, RpcTimeout):
        return render(504, "后端服务响应超时，请稍后再试", "UPSTREAM_TIMEOUT", None, None, where)
    log.error("unhandled error on %s %s", spec.method, spec.path, exc_info=exc)
    return render(500, "服务器内部错误", "INTERNAL_ERROR", None, None, where)


def _entrypoint(spec: Route) -> Callable[..., Response]:
    """The nameko ``@http`` method serving ``spec``: authenticate, validate, handle, answer."""
    op = spec.op
    fn = spec.handler or _forward(spec)
    body_schema = instance(op.body) if op.body else None
    # A body of optional fields only (a note, say) may be left out entirely.
    optional_body = body_schema is not None and not any(
        f.required for f in body_schema.fields.values()
    )

    def prepare(
        service: Any, request: Request, path_args: dict[str, Any]
    ) -> tuple[ApiRequest, dict[str, Any]]:
        """The caller (if the operation wants one) and the input, refused before an RPC."""
        principal = center = None
        if spec.across_centers:
            principal = service.auth.identify(request, op)
        elif not op.public:
            principal, center = service.auth.authenticate(request, op)
        req = ApiRequest(request, principal, center)
        if op.if_match:
            req.if_match = request.headers.get("If-Match", "").strip() or None
            if req.if_match is None:
                raise PreconditionRequired()
        if spec.params is not None:
            path_args = load_path(spec.params, path_args)
        if body_schema is not None:
            req.body = read_json(request, service.max_body, {} if optional_body else None)
            load(body_schema, req.body)
        if op.query is not None:
            req.query = {k: v for k, v in request.args.items() if k != "center"}
            load(op.query, req.query)
        return req, path_args

    @functools.wraps(fn)
    def handler(self: Any, request: Request, **path_args: str) -> Response:
        started = time.perf_counter()
        rid = self.context[REQUEST_ID_KEY] = logs.current.request_id = request_id(request)
        req: ApiRequest | None = None
        try:
            req, values = prepare(self, request, path_args)
            result = fn(self, req, **values)
            response = (
                result
                if isinstance(result, Response)
                else json_response(result, spec.status, _etag(spec, result))
            )
        except Exception as exc:
            response = _failure(spec, request, exc)
        response.headers[REQUEST_ID_HEADER] = rid
        self.cors.answer(request, response)
        access.info(
            "%s %s %s",
            spec.method,
            spec.path,
            response.status_code,
            extra={
                "fields": {
                    "method": spec.method,
                    "route": spec.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "center": (req.center if req else None) or path_args.get("center_id"),
                    "request_id": rid,
                }
            },
        )
        return response

    handler.__name__ = spec.name
    handler.__dict__.pop("lianxin_route", None)
    return http(spec.method, spec.path)(handler)


#: Every route installed on a service class, in order (the OpenAPI document).
ROUTES: list[Route] = []


def exposes(*tables: Iterable[Route]) -> Callable[[type], type]:
    """Class decorator: install the hand-written :func:`route` methods the class has, and
    the forwarding routes of ``tables``, as nameko ``@http`` entrypoints."""

    def install(cls: type) -> type:
        handwritten: dict[str, Route] = {}
        for klass in cls.__mro__:
            for name, member in vars(klass).items():
                spec = getattr(member, "__dict__", {}).get("lianxin_route")
                if spec is None:
                    continue
                if name in handwritten:  # one route class would hide another's handler
                    raise ValueError(f"route {spec.path}: {name} is defined twice")
                handwritten[name] = spec
        forwarded = [spec for table in tables for spec in table]
        for spec in [*handwritten.values(), *forwarded]:
            if spec.handler is None and hasattr(cls, spec.name):
                raise ValueError(f"route {spec.path}: {cls.__name__}.{spec.name} exists already")
            setattr(cls, spec.name, _entrypoint(spec))
            ROUTES.append(spec)
        return cls

    return install


def allowed_methods(path: str) -> list[str]:
    """The methods some installed route serves at ``path`` (empty: no route has the path)."""
    global _ROUTE_MAP
    if _ROUTE_MAP is None or len(_ROUTE_MAP[1]) != len(ROUTES):
        rules = [Rule(r.path, methods=[r.method], endpoint=r.name) for r in ROUTES]
        _ROUTE_MAP = (Map(rules), list(ROUTES))
    adapter = _ROUTE_MAP[0].bind("gateway")
    return sorted(
        m for m in ("GET", "POST", "PUT", "PATCH", "DELETE") if adapter.test(path, method=m)
    )


_ROUTE_MAP: tuple[Map, list[Route]] | None = None


# -- OpenAPI ---------------------------------------------------------------------------------

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; ``errors`` maps each field to its messages.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
    },
    "required": ["type", "title", "status", "detail", "code"],
}


def _path_parameters(r: Route) -> list[dict[str, Any]]:
    """The path's values: text, unless the route's ``params`` schema declares them."""
    declared = instance(r.params).fields if r.params is not None else {}
    params: list[dict[str, Any]] = [
        {"in": "path", "name": n, "required": True, "schema": {"type": "string"}}
        for n in _PATH_ARG.findall(r.path)
        if n not in declared
    ]
    if r.params is not None:
        params.append({"in": "path", "schema": r.params})
    return params


#: A write of a shared record (``op.if_match``) names the state it was made from.
IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "description": "读取该记录时得到的 ETag（多个以逗号分隔；* 表示不论现状）。"
    "缺少时答 428；记录已被他人修改时答 412。",
    "schema": {"type": "string"},
}
ETAG_HEADER = {
    "description": "该记录当前状态的标签；修改时作为 If-Match 发回",
    "schema": {"type": "string"},
}


def _documents_etag(r: Route) -> bool:
    """Whether the route's answer carries an ``ETag`` (see :func:`_etag`)."""
    op = r.op
    if r.handler is not None or r.method not in ("GET", "PATCH") or op.many:
        return False
    return op.response is None or "items" not in instance(op.response).fields


def _error_codes(r: Route) -> set[int]:
    """The problem statuses a route may answer with."""
    op = r.op
    codes = {400, 422} if op.body or op.query else set()
    if r.params is not None:
        codes.add(422)
    if not op.public:
        codes |= {401, 403}
    if "<" in r.path:
        codes.add(404)
    if op.if_match:
        codes |= {412, 428}
    return codes


def _operation_doc(r: Route) -> dict[str, Any]:
    op = r.op
    doc: dict[str, Any] = {
        "operationId": r.name,
        "summary": op.summary,
        "tags": [r.tag],
        "responses": {},
    }
    if r.description:
        doc["description"] = r.description
    params = _path_parameters(r)
    if op.query is not None:
        params.append({"in": "query", "schema": op.query})
    if op.if_match:
        params.append(IF_MATCH_PARAMETER)
    if params:
        doc["parameters"] = params
    if op.body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": op.body}},
        }
    ok: dict[str, Any] = {"description": "成功"}
    if op.response is not None:
        schema: Any = op.response
        if op.many:
            schema = {"type": "array", "items": op.response}
        ok["content"] = {"application/json": {"schema": schema}}
    if _documents_etag(r):
        ok["headers"] = {"ETag": ETAG_HEADER}
    doc["responses"][str(r.status)] = ok
    for other, meaning in r.also.items():
        doc["responses"][str(other)] = {**ok, "description": meaning}
    if not op.public:
        doc["security"] = [{"bearer": []}]
    codes = _error_codes(r)
    problem_ref = {
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
    }
    for code in sorted(codes):
        doc["responses"][str(code)] = {"description": "错误", **problem_ref}
    return doc


def openapi(title: str = "Lianxin 连心桥 API", version: str = "1.0.0") -> dict[str, Any]:
    """The OpenAPI 3 document of every installed route."""
    spec = APISpec(
        title=title,
        version=version,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "党群服务中心连心桥系统的 HTTP 接口。认证：Bearer JWT（角色与服务中心）。"
        },
    )
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    spec.components.schema("Problem", PROBLEM_SCHEMA)
    paths: dict[str, dict[str, Any]] = {}
    for r in ROUTES:
        paths.setdefault(_PATH_ARG.sub(r"{\1}", r.path), {})[r.method.lower()] = _operation_doc(r)
    for oa_path, operations in paths.items():
        spec.path(path=oa_path, operations=operations)
    return spec.to_dict()
