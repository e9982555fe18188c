"""Open311 GeoReport v2 for existing clients: ``/open311/v2/...`` (JSON).

``jurisdiction_id`` is the center id. Requests are stored as tickets (channel ``open311``);
``status`` is ``open`` until the ticket is resolved, ``expected_datetime`` is its resolve
deadline. Errors follow the spec: a JSON list of ``{code, description}`` with 400/403/404.

``media_url`` is the absolute URL of a request's first photo, served by
``/open311/v2/media/<jurisdiction_id>/<photo_id>.jpg`` — only where the center shows
photos to the public (else the tickets service lists none, and ``media_url`` is the
client's own, if it gave one, or left out).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from werkzeug.wrappers import Response

from gateway.api import PUBLIC, ApiRequest, Route, call, route
from gateway.http import HttpProblem
from gateway.routes.tickets import ReporterRoutes
from lianxin.clock import SHANGHAI, local, now_utc
from lianxin.contracts.schema import load
from lianxin.contracts.tickets import operations as ops
from lianxin.errors import InvalidInput
from lianxin.operations import Operation
from lianxin.roles import PARTY_NAMES

_ATTRIBUTE = re.compile(r"^attribute\[([a-z][a-z0-9_]{0,39})\](\[\])?$")
STATE_NOTES = {
    "reported": "已受理，等待值班干部签收",
    "acknowledged": "值班干部已签收",
    "assigned": "已派单，责任方办理中",
    "in_progress": "责任方办理中",
    "returned": "改派中",
    "escalated": "已提交党建联席会研究",
    "resolved": "已办结",
    "closed": "已办结并回访",
}


def open311_error(
    status: int,
    detail: str,
    code: str,
    fields: dict[str, Any] | None,
    headers: dict[str, str] | None,
    instance: str | None,
) -> Response:
    """GeoReport v2 errors: [{"code": <http status>, "description": "..."}], 422 reported as 400."""
    status = 400 if status == 422 else status
    items = []
    for field, messages in (fields or {}).items():
        text = messages if isinstance(messages, str) else json.dumps(messages, ensure_ascii=False)
        items.append({"code": status, "description": f"{field}: {text}"})
    if not items:
        items.append({"code": status, "description": detail})
    return Response(
        json.dumps(items, ensure_ascii=False),
        status=status,
        mimetype="application/json",
        headers=headers,
    )


def local_iso(value: str | None) -> str | None:
    if not value:
        return None
    return local(datetime.fromisoformat(value)).isoformat(timespec="seconds")


def media_url(host_url: str, ticket: dict[str, Any]) -> str | None:
    """The absolute URL of a request's first public photo, else the client's own URL."""
    photos = ticket.get("photo_ids") or []
    if photos:
        return f"{host_url.rstrip('/')}/open311/v2/media/{ticket['center_id']}/{photos[0]}.jpg"
    url: str | None = ticket.get("media_url")
    return url


def as_request(ticket: dict[str, Any], names: dict[str, str], host_url: str) -> dict[str, Any]:
    """A ticket as a GeoReport v2 service request (``media_url`` only when there is one)."""
    closed = ticket["state"] in ("resolved", "closed")
    notes = STATE_NOTES.get(ticket["state"], "")
    if closed and ticket.get("answer"):
        notes = f"{notes}：{ticket['answer']}"
    request = {
        "service_request_id": ticket["id"],
        "status": "closed" if closed else "open",
        "status_notes": notes,
        "service_name": names.get(ticket["category"], ticket["category"]),
        "service_code": ticket["category"],
        "description": ticket["description"],
        "agency_responsible": PARTY_NAMES.get(ticket["party"], ticket["party"]),
        "service_notice": "",
        "requested_datetime": local_iso(ticket["created_at"]),
        "updated_datetime": local_iso(ticket["updated_at"]),
        "expected_datetime": local_iso(ticket["resolve_due_at"]),
        "address": ticket["address"],
        "address_id": None,
        "zipcode": None,
        "lat": ticket["lat"],
        "long": ticket["long"],
    }
    media = media_url(host_url, ticket)
    if media:
        request["media_url"] = media
    return request


def _jurisdiction(args: Mapping[str, str]) -> str:
    center = args.get("jurisdiction_id")
    if not center:
        raise InvalidInput(fields={"jurisdiction_id": "必填：服务中心编号，如 yanminghu"})
    return center


def _float(form: Mapping[str, str], name: str) -> float | None:
    raw = form.get(name)
    if raw in (None, ""):
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput(fields={name: "应为数字"}) from None


def _date(value: str | None, name: str, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(fields={name: "日期时间格式无效（W3C / ISO 8601）"}) from None
    if parsed.tzinfo is None:
        parsed = (
            datetime.combine(parsed.date(), time.max if end else time.min, SHANGHAI)
            if len(value) <= 10
            else parsed.replace(tzinfo=SHANGHAI)
        )
    return parsed


#: Open311 answers in its own format: every route is hand-written (see Open311Routes).
ROUTES: list[Route] = []


class Open311Routes(ReporterRoutes):
    """GeoReport v2 endpoints (see the module doc), each asking the tickets service through
    its operations."""

    def ask(self, op: Operation, *args: Any) -> Any:
        """The tickets service's answer to ``op`` (within the operation's deadline)."""
        return call(getattr(self.tickets_rpc, op.name), *args, timeout=op.timeout)

    def category_names(self, center: str) -> dict[str, str]:
        return {c["code"]: c["name"] for c in self.ask(ops.list_public_categories, center)}

    @route(
        "GET",
        "/open311/v2/discovery.json",
        summary="Open311 服务发现",
        tag="open311",
        roles=PUBLIC,
        render=open311_error,
    )
    def open311_discovery(self, req: ApiRequest) -> Any:
        base = req.request.host_url.rstrip("/") + "/open311/v2/"
        return {
            "changeset": "2026-11-27T00:00:00+08:00",
            "contact": "雁鸣湖镇镇区社区党群服务中心等各中心；jurisdiction_id 为中心编号",
            "key_service": "向服务中心管理员申请 API 密钥（lianxin apikey）",
            "endpoints": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": base,
                    "changeset": "2026-11-27T00:00:00+08:00",
                    "type": "production",
                    "formats": ["application/json"],
                }
            ],
        }

    @route(
        "GET",
        "/open311/v2/services.json",
        summary="Open311 服务（诉求类别）列表",
        tag="open311",
        roles=PUBLIC,
        render=open311_error,
    )
    def open311_services(self, req: ApiRequest) -> Any:
        categories = self.ask(ops.list_public_categories, _jurisdiction(req.request.args))
        return [
            {
                "service_code": c["service_code"],
                "service_name": c["name"],
                "description": c["description"],
                "metadata": bool(c["attributes"]),
                "type": "realtime",
                "keywords": ",".join(c["keywords"]),
                "group": PARTY_NAMES.get(c["party"] or "", "村支两委"),
            }
            for c in categories
        ]

    @route(
        "GET",
        "/open311/v2/services/<service_code>.json",
        summary="Open311 服务的补充问题",
        tag="open311",
        roles=PUBLIC,
        render=open311_error,
    )
    def open311_service_definition(self, req: ApiRequest, service_code: str) -> Any:
        category = self.ask(ops.get_open311_service, _jurisdiction(req.request.args), service_code)
        return {
            "service_code": category["service_code"],
            "attributes": [
                {
                    "variable": True,
                    "code": a["code"],
                    "datatype": a["datatype"],
                    "required": a["required"],
                    "datatype_description": "",
                    "order": a["order"],
                    "description": a["description"],
                    "values": a["values"],
                }
                for a in category["attributes"]
            ],
        }

    @route(
        "POST",
        "/open311/v2/requests.json",
        summary="Open311 提交诉求（表单编码，需 api_key）",
        tag="open311",
        roles=PUBLIC,
        render=open311_error,
        status=201,
    )
    def open311_create_request(self, req: ApiRequest) -> Any:
        request = req.request
        if request.content_length and request.content_length > self.max_body:
            raise HttpProblem(413, "请求内容过大", "BODY_TOO_LARGE")
        form = request.form
        center = _jurisdiction(form)
        service_code = form.get("service_code")
        if not service_code:
            raise InvalidInput(fields={"service_code": "必填"})
        lat, long = _float(form, "lat"), _float(form, "long")
        address = form.get("address_string") or ""
        if (lat is None or long is None) and not address and not form.get("address_id"):
            raise InvalidInput(fields={"location": "须提供 lat 和 long，或 address_string"})
        attributes: dict[str, Any] = {}
        for key in form:
            match = _ATTRIBUTE.match(key)
            if match:
                values = form.getlist(key)
                attributes[match[1]] = values if match[2] or len(values) > 1 else values[0]
            elif key.startswith("attribute"):
                raise InvalidInput(fields={key: "属性名格式应为 attribute[code]"})
        contact_in = {
            k: v
            for k, v in {
                "name": " ".join(p for p in (form.get("last_name"), form.get("first_name")) if p)
                or None,
                "phone": form.get("phone") or None,
                "email": form.get("email") or None,
            }.items()
            if v
        }
        contact = load(ops.ReporterContact, contact_in) if contact_in else None
        reporter = self.new_reporter(center, contact)
        # One RPC: the tickets service checks the key and resolves the service code itself.
        payload = {
            "service_code": service_code,
            "description": form.get("description") or "",
            "address": address[:200],
            "lat": lat,
            "long": long,
            "attributes": attributes,
            "media_url": form.get("media_url") or None,
        }
        if reporter:
            payload["reporter_id"] = reporter
        ticket = self.ask(ops.create_open311_ticket, center, form.get("api_key"), payload)
        self.remember_contact(center, reporter, contact)
        return [
            {
                "service_request_id": ticket["id"],
                "service_notice": f"已受理，预计 {local_iso(ticket['resolve_due_at'])} 前办结",
                "account_id": None,
                "token": ticket["follow_code"],
            }
        ]

    @route(
        "GET",
        "/open311/v2/requests.json",
        summary="Open311 查询诉求",
        tag="open311",
        roles=PUBLIC,
        render=open311_error,
    )
    def open311_list_requests(self, req: ApiRequest) -> Any:
        args = req.request.args
        center = _jurisdiction(args)
        status = args.get("status")
        if status and status not in ("open", "closed"):
            raise InvalidInput(fields={"status": "应为 open 或 closed"})
        query: dict[str, Any] = {"status": status}
        if args.get("service_request_id"):
            query["ids"] = [i.strip() for i in args["service_request_id"].split(",") if i.strip()]
        if args.get("service_code"):
            query["category"] = self.ask(ops.get_open311_service, center, args["service_code"])[
                "code"
            ]
        start = _date(args.get("start_date"), "start_date")
        end = _date(args.get("end_date"), "end_date", end=True)
        if start and end and end <= start:
            raise InvalidInput(fields={"end_date": "须晚于 start_date"})
        query["start"] = start.isoformat() if start else None
        query["end"] = end.isoformat() if end else None
        # The spec's default window: the last 90 days, at most 1000 requests.
        if not query.get("ids") and not start:
            query["start"] = (now_utc() - timedelta(days=90)).isoformat()
        tickets = self.ask(ops.search_tickets, center, query)
        names = self.category_names(center)
        return [as_request(t, names, req.request.host_url) for t in tickets]

    @route(
        "GET",
        "/open311/v2/requests/<request_id>.json",
        summary="Open311 查询单个诉求",
        tag="open311",
        roles=PUBLIC,
        render=open311_error,
    )
    def open311_get_request(self, req: ApiRequest, request_id: str) -> Any:
        center = _jurisdiction(req.request.args)
        found = self.ask(ops.search_tickets, center, {"ids": [request_id]})
        if not found:
            return open311_error(404, "没有这个诉求", "NOT_FOUND", None, None, None)
        return [as_request(found[0], self.category_names(center), req.request.host_url)]

    @route(
        "GET",
        "/open311/v2/media/<jurisdiction_id>/<photo_id>.jpg",
        summary="Open311 诉求照片（中心允许公开照片时）",
        tag="open311",
        roles=PUBLIC,
        render=open311_error,
    )
    def open311_media(self, req: ApiRequest, jurisdiction_id: str, photo_id: str) -> Any:
        """A request's photo (the re-encoded JPEG, no metadata), only of a ticket of a center
        that shows photos to the public; 404 otherwise."""
        self.ask(ops.find_public_photo, jurisdiction_id, photo_id)
        image = self.photos.store.get(jurisdiction_id, photo_id)
        return Response(
            image, mimetype="image/jpeg", headers={"Cache-Control": "public, max-age=86400"}
        )
