"""接诉登记: the clerk registers a hotline call or a walk-in. The caller's phone is looked up
first — their name in notify's directory and their earlier issues — so the clerk sees a
repeat caller before saving; then the report is registered exactly as the API's
``POST /api/v1/tickets`` does (the caller's contact handed to notify, the same idempotency:
a form sent twice stores one ticket).
"""

from __future__ import annotations

from typing import Any, cast

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from gateway.api import ApiRequest
from gateway.routes.tickets import TicketRoutes
from gateway.web import render
from gateway.web.console.base import ConsoleBase, failed, party_name
from gateway.web.console.tickets import names_of
from gateway.web.views import Viewer, error_of, field_errors, form_body, guarded, see_other
from lianxin.contracts.notify import operations as notify_ops
from lianxin.contracts.schema import load
from lianxin.contracts.tickets import operations as ops
from lianxin.errors import InvalidInput, LianxinError, NotFound
from lianxin.people import normalize_phone, person_for_phone
from lianxin.web import http

#: The channels a clerk registers (web reports come in by themselves).
CLERK_CHANNELS = [("hotline", "热线电话"), ("walk_in", "来访")]


def attribute_field(category: str, code: str) -> str:
    """The form's name of a category's extra question (每类诉求的补充问题)."""
    return f"attr-{category}-{code}"


def intake_body(form: MultiDict[str, str]) -> dict[str, Any]:
    """The API's body of ``POST /api/v1/tickets`` from the intake form: the chosen
    category's extra questions as ``attributes``."""
    body = form_body(form, ops.TicketCreate, "category", "description", "address", "answer")
    prefix = attribute_field(body.get("category", ""), "")
    attributes: dict[str, Any] = {}
    for key in form:
        if key.startswith(prefix):
            values = [v.strip() for v in form.getlist(key) if v.strip()]
            if values:
                attributes[key.removeprefix(prefix)] = values if len(values) > 1 else values[0]
    if attributes:
        body["attributes"] = attributes
    body["channel"] = form.get("channel") or "hotline"
    phone, name = form.get("phone", "").strip(), form.get("name", "").strip()
    if phone or name:
        body["contact"] = {k: v for k, v in (("phone", phone), ("name", name)) if v}
    return body


def _on_form(errors: dict[str, str], category: str) -> dict[str, str]:
    """The API's field names as the form's (the caller's contact is two plain fields, the
    category's questions one field each)."""
    renamed = {"contact.phone": "phone", "contact.name": "name", "contact": "phone"}
    shown = {}
    for key, reason in errors.items():
        if key.startswith("attributes."):
            key = attribute_field(category, key.removeprefix("attributes."))
        shown[renamed.get(key, key)] = reason
    return shown


class IntakePages(ConsoleBase):
    """``/console/intake`` and the caller look-up its script asks for."""

    @http("GET", "/console/intake")
    @guarded
    def intake_page(self, request: Request) -> Response:
        viewer = self.staff(request)
        return self._intake(request, viewer, MultiDict({"channel": "hotline"}))

    def _intake(
        self,
        request: Request,
        viewer: Viewer,
        form: MultiDict[str, str],
        error: LianxinError | None = None,
        looked_up: bool = False,
    ) -> Response:
        phone = form.get("phone", "").strip()
        calls: dict[str, Any] = {"categories": lambda: self.run(request, ops.list_categories)}
        if looked_up and phone:
            calls["caller"] = lambda: self.caller(request, viewer, phone)
        parts = self.gather(**calls)
        categories = parts["categories"]
        return self.show(
            request,
            viewer,
            "console/intake.html",
            active="intake",
            title="接诉登记",
            status=422 if isinstance(error, InvalidInput) else (400 if error else 200),
            form=form,
            error=error,
            errors=_on_form(field_errors(error), form.get("category", "")),
            attribute_field=attribute_field,
            categories=categories if not failed(categories) else [],
            category_names=names_of(categories),
            channels=CLERK_CHANNELS,
            caller=parts.get("caller"),
            party_name=party_name,
            state_names=ops.STATE_NAMES,
        )

    def caller(self, request: Request, viewer: Viewer, phone: str) -> dict[str, Any]:
        """Who is calling from ``phone``: their directory entry (if any) and earlier tickets."""
        try:
            person = person_for_phone(viewer.center, phone)
        except ValueError:
            raise InvalidInput(fields={"phone": ["手机号码格式无效"]}) from None
        parts = self.gather(
            contact=lambda: self.run(request, notify_ops.get_contact, person),
            tickets=lambda: self.run(
                request, ops.list_tickets, query={"reporter_id": person, "limit": 10}
            ),
        )
        contact = parts["contact"]
        if failed(contact) and not isinstance(contact, NotFound):
            contact = None
        tickets = parts["tickets"]
        return {
            "phone": normalize_phone(phone),
            "name": contact.get("name") if isinstance(contact, dict) else None,
            "tickets": tickets["items"] if isinstance(tickets, dict) else [],
            "total": tickets["total"] if isinstance(tickets, dict) else 0,
            "unavailable": failed(tickets),
        }

    @http("GET", "/console/intake/caller")
    @guarded
    def intake_caller(self, request: Request) -> Response:
        """The caller's part of the intake page alone (its script asks as the number is typed)."""
        viewer = self.staff(request)
        try:
            found = self.caller(request, viewer, request.args.get("phone", ""))
        except LianxinError as exc:
            return Response(
                f'<p class="field-error">{exc.fields.get("phone", [exc.detail])[0]}</p>',
                status=422,
                mimetype="text/html",
            )
        categories = self.gather(c=lambda: self.run(request, ops.list_categories))["c"]
        html = render(
            "console/intake_caller.html",
            caller=found,
            category_names=names_of(categories),
            state_names=ops.STATE_NAMES,
            party_name=party_name,
        )
        return Response(html, mimetype="text/html", headers={"Cache-Control": "no-store"})

    @http("POST", "/console/intake")
    @guarded
    def intake_submit(self, request: Request) -> Response:
        viewer = self.staff(request)
        form = request.form
        if form.get("kind") == "lookup":
            return self._intake(request, viewer, form, looked_up=True)
        body = intake_body(form)
        try:
            principal, center = self.auth.authenticate(request, ops.create_ticket)
            load(ops.TicketIntake, body)
            # The gateway's service class has the intake routes too (TicketRoutes).
            receipt, _repeat = cast(TicketRoutes, self).register_report(
                ApiRequest(request, principal, center, body=body),
                key=form.get("form_key") or None,
            )
        except Exception as exc:
            return self._intake(request, viewer, form, error_of(exc), looked_up=True)
        return see_other(f"/console/tickets/{receipt['id']}", "registered")
