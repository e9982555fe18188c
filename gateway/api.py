"""Routes of the REST API, declared once: they become nameko ``@http`` entrypoints *and*
the OpenAPI document (apispec, from the same marshmallow schemas the services use).

    @route("POST", "/api/v1/tickets", summary="登记群众诉求", tag="tickets",
           roles=("resident", "staff", "admin"), body=TicketCreate, response=TicketRead,
           status=201)
    def create_ticket(self, req):
        return self.call(self.tickets_rpc.create_ticket, req.center, req.body)
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import eventlet
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema
from nameko.exceptions import RemoteError, UnknownService
from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from gateway.http import HttpProblem, json_response, problem, read_json, render_error
from lianxin.auth import Principal
from lianxin.contracts.schema import load
from lianxin.errors import InvalidInput, LianxinError, from_remote

log = logging.getLogger(__name__)

PUBLIC = None


@dataclass
class Route:
    method: str
    path: str
    name: str
    summary: str
    tag: str
    roles: tuple[str, ...] | None
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    many: bool = False
    status: int = 200
    description: str = ""
    errors: tuple[int, ...] = field(default_factory=tuple)
    #: Other success statuses with the same body, and what each means.
    also: dict[int, str] = field(default_factory=dict)


ROUTES: list[Route] = []


@dataclass
class ApiRequest:
    """What a route handler gets: the raw request, the caller, the validated-as-raw body."""

    request: Request
    principal: Principal | None
    center: str | None
    body: Any = None
    query: dict[str, Any] = field(default_factory=dict)


class RpcTimeout(Exception):
    """A backend did not answer within the call's deadline (answered as 504)."""


def route(method: str, path: str, *, summary: str, tag: str, roles: tuple[str, ...] | None,
          body: type[Schema] | None = None, query: type[Schema] | None = None,
          response: type[Schema] | None = None, many: bool = False, status: int = 200,
          description: str = "", render: Callable[..., Response] = problem,
          also: dict[int, str] | None = None) -> Callable:
    """Declare a REST route (see the module doc). ``roles=PUBLIC`` needs no token;
    ``also`` names other success statuses the handler may answer with the same body.

    ``render(status, detail, code, fields, headers, instance)`` answers errors: RFC 9457
    problem+json by default; Open311 routes pass their own format.
    """

    def decorate(fn: Callable) -> Callable:
        spec = Route(method, path, fn.__name__, summary, tag, roles, body, query, response, many,
                     status, description or (fn.__doc__ or "").strip(), also=dict(also or {}))
        ROUTES.append(spec)
        body_schema = body() if body else None
        # A body of optional fields only (a note, say) may be left out entirely.
        optional_body = body_schema is not None and not any(
            f.required for f in body_schema.fields.values())
        query_schema = query() if query else None

        @functools.wraps(fn)
        def handler(self, request: Request, **path_args: Any) -> Response:  # noqa: ANN001
            try:
                principal = center = None
                if roles is not PUBLIC:
                    principal, center = self.auth.authenticate(request, roles)
                req = ApiRequest(request, principal, center)
                if body_schema is not None:
                    req.body = read_json(request, self.max_body, {} if optional_body else None)
                    load(body_schema, req.body)  # refuse bad input before spending an RPC
                if query_schema is not None:
                    raw = {k: v for k, v in request.args.items() if k != "center"}
                    load(query_schema, raw)
                    req.query = raw
                result = fn(self, req, **path_args)
                if isinstance(result, Response):
                    return result
                return json_response(result, status)
            except HttpProblem as exc:
                return render(exc.status, exc.detail, exc.code, exc.fields, exc.headers,
                              request.path)
            except LianxinError as exc:
                return render_error(render, exc, request.path)
            except RemoteError as exc:
                mapped = from_remote(exc)
                if mapped is not None:
                    return render_error(render, mapped, request.path)
                log.error("remote error on %s %s: %s", method, path, exc)
                return render(502, "后端服务处理出错，请稍后再试", "UPSTREAM_ERROR", None, None,
                              request.path)
            except UnknownService as exc:
                log.error("service unavailable on %s %s: %s", method, path, exc)
                return render(503, "后端服务未运行，请稍后再试", "SERVICE_UNAVAILABLE", None, None,
                              request.path)
            except RpcTimeout:
                return render(504, "后端服务响应超时，请稍后再试", "UPSTREAM_TIMEOUT", None, None,
                              request.path)
            except Exception:  # noqa: BLE001 - never a bare 500 page
                log.exception("unhandled error on %s %s", method, path)
                return render(500, "服务器内部错误", "INTERNAL_ERROR", None, None, request.path)

        return http(method, path)(handler)

    return decorate


def call(method_proxy: Callable, *args: Any, timeout: float = 10, **kwargs: Any) -> Any:
    """One RPC with a deadline: a stopped service is a 504, not a hung request."""
    with eventlet.Timeout(timeout, RpcTimeout):
        return method_proxy(*args, **kwargs)


def require_fields(data: Any, *names: str) -> None:
    missing = {n: ["必填项"] for n in names if not isinstance(data, dict) or n not in data}
    if missing:
        raise InvalidInput(fields=missing)


# -- OpenAPI ---------------------------------------------------------------------------------

_PATH_ARG = re.compile(r"<(?:[a-z]+:)?([a-zA-Z_]+)>")

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; ``errors`` maps each field to its messages.",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "code": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
    },
    "required": ["type", "title", "status", "detail", "code"],
}


def openapi(title: str = "Lianxin 连心桥 API", version: str = "1.0.0") -> dict[str, Any]:
    """The OpenAPI 3 document of every declared route."""
    spec = APISpec(title=title, version=version, openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "党群服务中心连心桥系统的 HTTP 接口。认证：Bearer JWT（角色与服务中心）。"})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "bearerFormat": "JWT"})
    spec.components.schema("Problem", PROBLEM_SCHEMA)
    problem_ref = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    paths: dict[str, dict[str, Any]] = {}
    for r in ROUTES:
        oa_path = _PATH_ARG.sub(r"{\1}", r.path)
        op: dict[str, Any] = {"operationId": r.name, "summary": r.summary, "tags": [r.tag],
                              "responses": {}}
        if r.description:
            op["description"] = r.description
        params = [{"in": "path", "name": n, "required": True, "schema": {"type": "string"}}
                  for n in _PATH_ARG.findall(r.path)]
        if r.query is not None:
            params.append({"in": "query", "schema": r.query})
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": r.body}}}
        ok: dict[str, Any] = {"description": "成功"}
        if r.response is not None:
            schema: Any = r.response
            if r.many:
                schema = {"type": "array", "items": r.response}
            ok["content"] = {"application/json": {"schema": schema}}
        op["responses"][str(r.status)] = ok
        for other, meaning in r.also.items():
            op["responses"][str(other)] = {**ok, "description": meaning}
        codes = {400, 422} if r.body or r.query else set()
        if r.roles is not PUBLIC:
            op["security"] = [{"bearer": []}]
            codes |= {401, 403}
        if "<" in r.path:
            codes.add(404)
        for code in sorted(codes):
            op["responses"][str(code)] = {"description": "错误", **problem_ref}
        paths.setdefault(oa_path, {})[r.method.lower()] = op
    for oa_path, operations in paths.items():
        spec.path(path=oa_path, operations=operations)
    return spec.to_dict()
