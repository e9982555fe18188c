"""The console's admin pages (中心设置): the categories of issues with their routing (the
party) and time limits (SLA: acknowledge within minutes, resolve within hours), the duty
roster as a week grid, the staff accounts (add one: the invitation link is shown; disable,
enable, reset), message templates with a preview, department subscriptions (webhooks) and
Open311 API keys (shown once).

A category is changed as the API changes it: its page reads the record and its ``ETag``
(as ``GET /api/v1/categories/<code>`` answers it), the form carries that tag back, and the
``PATCH`` sends it as ``If-Match`` — so when another admin saved the category meanwhile, the
service refuses (412) and the page says so in Chinese, keeping what was typed beside what
the other admin saved.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from gateway.api import invoke
from gateway.web import as_local
from gateway.web.console.base import ConsoleBase, failed
from gateway.web.console.forms import aware_form, day_label, typed_values, week_of
from gateway.web.views import (
    Viewer,
    error_of,
    field_errors,
    form_body,
    guarded,
    see_other,
    status_of,
)
from lianxin.concurrency import etag_of
from lianxin.contracts.accounts import operations as account_ops
from lianxin.contracts.notify import operations as notify_ops
from lianxin.contracts.schema import instance, load
from lianxin.contracts.tickets import operations as ops
from lianxin.errors import InvalidInput, LianxinError, PreconditionFailed
from lianxin.operations import Operation
from lianxin.roles import PARTIES, PARTY_NAMES
from lianxin.web import http

PARTY_CHOICES = [(code, PARTY_NAMES[code]) for code in PARTIES]
#: What the admin picks for a new staff member: the account's role and party it stands for.
DUTY_CHOICES = {
    "cadre": ("值班干部", "staff", None),
    "social_worker": ("社工（社工组织）", "staff", "social_work"),
    **{
        f"handler:{code}": (f"{PARTY_NAMES[code]}经办人", "staff", code)
        for code in PARTIES
        if code != "social_work"
    },
    "admin": ("中心管理员", "admin", None),
}
CHANNEL_NAMES = {
    "in_app": "站内消息",
    "sms": "短信",
    "wechat": "微信",
    "email": "电子邮件",
    "webhook": "Webhook",
}
STATUS_NAMES = {"invited": "待激活", "active": "正常", "disabled": "已停用"}
log = logging.getLogger(__name__)

TABS = (
    ("categories", "诉求类别", "/console/settings", ops.add_category),
    ("duty", "值班表", "/console/settings/duty", ops.add_duty_shift),
    ("accounts", "工作人员账号", "/console/settings/accounts", account_ops.list_accounts),
    ("templates", "消息模板", "/console/settings/templates", notify_ops.save_template),
    (
        "subscriptions",
        "部门订阅",
        "/console/settings/subscriptions",
        notify_ops.list_subscriptions,
    ),
    ("keys", "Open311 密钥", "/console/settings/keys", ops.create_api_key),
)


def etag_for(op: Operation, record: Any) -> str:
    """The ``ETag`` the API gives ``record`` as ``op`` answers it (gateway.api's ``_etag``):
    what a later ``If-Match`` must name."""
    body = record
    if op.etag is not None and isinstance(record, dict):
        names = [f.data_key or name for name, f in instance(op.etag).fields.items()]
        body = {k: record[k] for k in names if k in record}
    return etag_of(body)


def path_of(url: str) -> str:
    """A link's path and query (an invitation link made with another host name works here)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "") if parts.path else url


def account_body(form: Any) -> dict[str, Any]:
    """A new account's body from the form: the duty picked stands for a role and a party.
    Every field's reason at once: the schema's, and the duty's when none was picked."""
    body = form_body(form, account_ops.AccountCreate, "person_id", "login")
    duty = DUTY_CHOICES.get(form.get("duty", ""))
    if duty is not None:
        _label, body["role"], party = duty
        if party:
            body["party"] = party
    try:
        load(account_ops.AccountCreate, {"role": "staff", **body})
    except InvalidInput as exc:
        if duty is None:
            exc.fields = {**(exc.fields or {}), "duty": ["请选择岗位"]}
        raise
    if duty is None:
        raise InvalidInput(fields={"duty": ["请选择岗位"]})
    return body


class SettingsPages(ConsoleBase):
    """中心设置 (the admin's pages)."""

    def _set_admin(self, request: Request) -> Viewer:
        return self.area(request, ops.add_category, "settings", "中心设置仅限中心管理员使用")

    def _set_show(
        self, request: Request, viewer: Viewer, template: str, tab: str, title: str, **values: Any
    ) -> Response:
        return self.show_tabbed(
            request,
            viewer,
            template,
            active="settings",
            tabs=TABS,
            tab=tab,
            title=title,
            party_choices=PARTY_CHOICES,
            party_names=PARTY_NAMES,
            **values,
        )

    def _set_across(self, request: Request, op: Operation, *values: Any, body: Any = None) -> Any:
        """An operation across the caller's centers (department subscriptions): as its route
        calls it, with no center argument."""
        try:
            self.auth.identify(request, op)
            if op.body is not None:
                load(op.body, body if body is not None else {})
            return invoke(self, op, None, *values, body=body)
        except Exception as exc:
            raise error_of(exc) from None

    # -- categories ----------------------------------------------------------------------------

    @http("GET", "/console/settings")
    @guarded
    def set_settings_page(self, request: Request) -> Response:
        return self._set_categories(request, self._set_admin(request))

    def _set_categories(
        self,
        request: Request,
        viewer: Viewer,
        error: LianxinError | None = None,
        typed: dict[str, Any] | None = None,
    ) -> Response:
        categories = self.gather(categories=lambda: self.run(request, ops.list_categories))
        return self._set_show(
            request,
            viewer,
            "console/settings.html",
            "categories",
            "中心设置 · 诉求类别",
            categories=categories["categories"],
            error=error,
            typed=typed or {},
        )

    @http("POST", "/console/settings/categories")
    @guarded
    def set_add_category(self, request: Request) -> Response:
        viewer = self._set_admin(request)
        form = request.form
        names = ("code", "name", "party", "ack_minutes", "resolve_hours", "description")
        try:
            body = form_body(form, ops.CategoryCreate, *names)
            body["keywords"] = [k for k in form.get("keywords", "").replace("，", ",").split(",")]
            body["keywords"] = [k.strip() for k in body["keywords"] if k.strip()]
            self.run(request, ops.add_category, body=body)
        except LianxinError as exc:
            return self._set_categories(request, viewer, exc, typed_values(form))
        return see_other("/console/settings", "category_added")

    @http("GET", "/console/settings/categories/<code>")
    @guarded
    def set_category_page(self, request: Request, code: str) -> Response:
        return self._set_category(request, self._set_admin(request), code)

    def _set_category(
        self,
        request: Request,
        viewer: Viewer,
        code: str,
        error: LianxinError | None = None,
        typed: dict[str, Any] | None = None,
    ) -> Response:
        category = self.gather(category=lambda: self.run(request, ops.get_category, code))[
            "category"
        ]
        if failed(category):
            return self.show(
                request,
                viewer,
                "console/missing.html",
                active="settings",
                title="诉求类别不存在",
                status=status_of(category),
                reason=category.detail,
            )
        return self._set_show(
            request,
            viewer,
            "console/settings_category.html",
            "categories",
            f"诉求类别 {category['name']}",
            category=category,
            # The tag of the state shown: a 412 shows the other admin's state and its tag, so
            # saving again is a deliberate overwrite of what they saved.
            etag=etag_for(ops.get_category, category),
            stale=isinstance(error, PreconditionFailed),
            error=error,
            typed=typed or {},
        )

    @http("POST", "/console/settings/categories/<code>")
    @guarded
    def set_update_category(self, request: Request, code: str) -> Response:
        viewer = self._set_admin(request)
        form = request.form
        names = ("name", "party", "ack_minutes", "resolve_hours", "description")
        try:
            body = form_body(form, ops.CategoryUpdate, *names)
            if "party" not in body:
                body["party"] = None  # 兜底责任方
            body["active"] = form.get("active") == "on"
            body["keywords"] = [
                k.strip()
                for k in form.get("keywords", "").replace("，", ",").split(",")
                if k.strip()
            ]
            self.run(
                request, ops.update_category, code, body=body, if_match=form.get("etag") or None
            )
        except LianxinError as exc:
            return self._set_category(request, viewer, code, exc, typed_values(form))
        return see_other("/console/settings", "category_saved")

    # -- the duty roster -----------------------------------------------------------------------

    @http("GET", "/console/settings/duty")
    @guarded
    def set_duty_page(self, request: Request) -> Response:
        return self._set_duty(request, self._set_admin(request))

    def _set_duty(
        self,
        request: Request,
        viewer: Viewer,
        error: LianxinError | None = None,
        typed: dict[str, Any] | None = None,
    ) -> Response:
        week = week_of(request.args.get("week") or (typed or {}).get("week"))
        window = {"start": week.starts_at.isoformat(), "end": week.ends_at.isoformat()}
        calls: dict[str, Any] = {"duty": lambda: self.run(request, ops.list_duty, query=window)}
        if viewer.may(notify_ops.list_contacts):
            calls["contacts"] = lambda: self.run(
                request, notify_ops.list_contacts, query={"role": "staff", "limit": 500}
            )
        parts = self.gather(**calls)
        duty = parts["duty"]
        contacts = parts.get("contacts")
        people = (
            [(c["person_id"], c["name"]) for c in contacts["items"]]
            if isinstance(contacts, dict)
            else []
        )
        return self._set_show(
            request,
            viewer,
            "console/settings_duty.html",
            "duty",
            "中心设置 · 值班表",
            week=week,
            day_label=day_label,
            duty=duty,
            rows=duty_rows(duty, week.days),
            people=people,
            error=error,
            typed=typed or {},
        )

    @http("POST", "/console/settings/duty")
    @guarded
    def set_add_duty(self, request: Request) -> Response:
        viewer = self._set_admin(request)
        form = aware_form(request.form, "starts_at", "ends_at")
        try:
            body = form_body(form, ops.DutyShiftCreate)
            if "person_id" in body and "name" not in body:
                body["name"] = form.get("person_name", "").strip() or body["person_id"]
            shift = self.run(request, ops.add_duty_shift, body=body)
        except LianxinError as exc:
            return self._set_duty(request, viewer, exc, typed_values(request.form))
        moment = as_local(shift["starts_at"])
        week = ""
        if moment is not None:
            year, number, _ = moment.date().isocalendar()
            week = f"?week={year}-W{number:02d}"
        return see_other(f"/console/settings/duty{week}", "duty_added")

    # -- staff accounts ------------------------------------------------------------------------

    @http("GET", "/console/settings/accounts")
    @guarded
    def set_accounts_page(self, request: Request) -> Response:
        return self._set_accounts(request, self._set_admin(request))

    def _set_accounts(
        self,
        request: Request,
        viewer: Viewer,
        error: LianxinError | None = None,
        typed: dict[str, Any] | None = None,
        invited: dict[str, Any] | None = None,
        failed_on: str = "",
        status: int | None = None,
        unsaved_contact: str = "",
    ) -> Response:
        if not viewer.may(account_ops.list_accounts):
            raise self.refusal(request, viewer, "settings", "账号由中心管理员管理")
        accounts = self.gather(
            accounts=lambda: self.run(request, account_ops.list_accounts, query={"limit": 500})
        )["accounts"]
        return self._set_show(
            request,
            viewer,
            "console/settings_accounts.html",
            "accounts",
            "中心设置 · 工作人员账号",
            status=status,
            accounts=accounts,
            duty_choices=[(k, v[0]) for k, v in DUTY_CHOICES.items()],
            status_names=STATUS_NAMES,
            invited=invited,
            unsaved_contact=unsaved_contact,
            invitation_path=path_of(invited["invitation_url"]) if invited else "",
            error=error,
            failed_on=failed_on,
            typed=typed or {},
        )

    @http("POST", "/console/settings/accounts")
    @guarded
    def set_add_account(self, request: Request) -> Response:
        """A new staff account: no password, so the answer holds the invitation link — shown
        on the page that answers (201) once, for the admin to pass on."""
        viewer = self._set_admin(request)
        form = request.form
        contact: dict[str, Any] | None = None
        try:
            body = account_body(form)
            if form.get("name", "").strip() and viewer.may(notify_ops.upsert_contact):
                contact = {
                    "person_id": body.get("person_id", ""),
                    "name": form["name"].strip(),
                    "role": body["role"] if body["role"] == "staff" else "admin",
                }
                if form.get("phone", "").strip():
                    contact["phone"] = form["phone"].strip()
                if body.get("party"):
                    contact["party"] = body["party"]
                load(notify_ops.ContactCreate, contact)
            made = self.run(request, account_ops.create_account, body=body)
        except LianxinError as exc:
            errors = field_errors(exc)
            for key in ("role", "party"):
                if key in errors:
                    exc.fields = {**(exc.fields or {}), "duty": [errors[key]]}
            return self._set_accounts(request, viewer, exc, typed_values(form))
        unsaved = ""
        if contact is not None:
            try:  # the directory's entry: their name on the roster and in tickets' timelines
                self.run(request, notify_ops.upsert_contact, body=contact)
            except LianxinError as exc:
                # The account stands (its invitation is out); the admin is told what is
                # missing and why, and adds the name and phone in the directory later.
                log.warning("account %s made, its directory entry not: %s", made.get("login"), exc)
                unsaved = f"账号已建立，但姓名与电话未能存入通讯录（{exc.detail}），请稍后补充。"
        return self._set_accounts(
            request, viewer, invited=made, status=201, unsaved_contact=unsaved
        )

    @http("POST", "/console/settings/accounts/<account_id>/<action>")
    @guarded
    def set_account_action(self, request: Request, account_id: str, action: str) -> Response:
        viewer = self._set_admin(request)
        chosen = {
            "disable": (account_ops.disable_account, "disabled"),
            "enable": (account_ops.enable_account, "enabled"),
            "reset": (account_ops.reset_password, "reset"),
        }.get(action)
        try:
            if chosen is None:
                raise InvalidInput("没有这个操作")
            done = self.run(request, chosen[0], account_id)
        except LianxinError as exc:
            return self._set_accounts(request, viewer, exc, failed_on=account_id)
        if action == "reset" and done.get("invitation_url"):
            return self._set_accounts(request, viewer, invited=done)
        return see_other("/console/settings/accounts", chosen[1])

    # -- message templates ---------------------------------------------------------------------

    @http("GET", "/console/settings/templates")
    @guarded
    def set_templates_page(self, request: Request) -> Response:
        return self._set_templates(request, self._set_admin(request))

    def _set_templates(
        self,
        request: Request,
        viewer: Viewer,
        error: LianxinError | None = None,
        typed: dict[str, Any] | None = None,
        preview: dict[str, Any] | None = None,
    ) -> Response:
        typed = typed or {}
        parts = self.gather(
            types=lambda: self.run(request, notify_ops.list_message_types),
            templates=lambda: self.run(request, notify_ops.list_templates),
        )
        types = parts["types"] if isinstance(parts["types"], list) else []
        chosen = typed.get("message_type") or request.args.get("type") or ""
        channel = typed.get("channel") or request.args.get("channel") or "in_app"
        if channel not in notify_ops.CHANNELS:
            channel = "in_app"
        if not chosen and types:
            chosen = types[0]["type"]
        templates = parts["templates"] if isinstance(parts["templates"], list) else []
        current = next(
            (t for t in templates if t["message_type"] == chosen and t["channel"] == channel),
            None,
        )
        return self._set_show(
            request,
            viewer,
            "console/settings_templates.html",
            "templates",
            "中心设置 · 消息模板",
            types=types,
            types_failed=parts["types"] if failed(parts["types"]) else None,
            templates=templates,
            chosen=chosen,
            chosen_type=next((t for t in types if t["type"] == chosen), None),
            channel=channel,
            channel_names=CHANNEL_NAMES,
            current=current,
            preview=preview,
            error=error,
            typed=typed,
        )

    @http("POST", "/console/settings/templates")
    @guarded
    def set_template_action(self, request: Request) -> Response:
        """Preview what was typed (nothing saved), save it, or go back to the default."""
        viewer = self._set_admin(request)
        form = request.form
        typed = typed_values(form)
        message_type, channel = form.get("message_type", ""), form.get("channel", "in_app")
        back = f"/console/settings/templates?type={message_type}&channel={channel}"
        action = form.get("do", "preview")
        try:
            if action == "preview":
                body = form_body(form, notify_ops.TemplatePreview)
                shown = self.run(request, notify_ops.preview_template, body=body)
                return self._set_templates(request, viewer, typed=typed, preview=shown)
            if action == "save":
                body = form_body(form, notify_ops.TemplateSave)
                self.run(request, notify_ops.save_template, message_type, channel, body=body)
                return see_other(back, "template_saved")
            if action == "reset":
                self.run(request, notify_ops.delete_template, message_type, channel)
                return see_other(back, "template_reset")
            raise InvalidInput("没有这个操作")
        except LianxinError as exc:
            return self._set_templates(request, viewer, exc, typed)

    # -- department subscriptions --------------------------------------------------------------

    @http("GET", "/console/settings/subscriptions")
    @guarded
    def set_subscriptions_page(self, request: Request) -> Response:
        return self._set_subscriptions(request, self._set_admin(request))

    def _set_subscriptions(
        self,
        request: Request,
        viewer: Viewer,
        error: LianxinError | None = None,
        typed: dict[str, Any] | None = None,
        created: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> Response:
        listed = self.gather(
            subscriptions=lambda: self._set_across(request, notify_ops.list_subscriptions)
        )["subscriptions"]
        return self._set_show(
            request,
            viewer,
            "console/settings_subscriptions.html",
            "subscriptions",
            "中心设置 · 部门订阅",
            status=status,
            subscriptions=listed,
            created=created,
            error=error,
            typed=typed or {},
        )

    @http("POST", "/console/settings/subscriptions")
    @guarded
    def set_create_subscription(self, request: Request) -> Response:
        viewer = self._set_admin(request)
        form = request.form
        try:
            body = form_body(form, notify_ops.SubscriptionCreate, "url", "description")
            body["types"] = [
                t.strip() for t in form.get("types", "").replace("，", ",").split(",") if t.strip()
            ]
            body["centers"] = [viewer.center]
            made = self._set_across(request, notify_ops.create_subscription, body=body)
        except LianxinError as exc:
            return self._set_subscriptions(request, viewer, exc, typed_values(form))
        return self._set_subscriptions(request, viewer, created=made, status=201)

    @http("POST", "/console/settings/subscriptions/<subscription_id>/delete")
    @guarded
    def set_delete_subscription(self, request: Request, subscription_id: str) -> Response:
        viewer = self._set_admin(request)
        try:
            self._set_across(request, notify_ops.delete_subscription, subscription_id)
        except LianxinError as exc:
            return self._set_subscriptions(request, viewer, exc)
        return see_other("/console/settings/subscriptions", "unsubscribed")

    # -- Open311 API keys ----------------------------------------------------------------------

    @http("GET", "/console/settings/keys")
    @guarded
    def set_keys_page(self, request: Request) -> Response:
        viewer = self._set_admin(request)
        return self._set_show(
            request, viewer, "console/settings_keys.html", "keys", "中心设置 · Open311 密钥"
        )

    @http("POST", "/console/settings/keys")
    @guarded
    def set_create_key(self, request: Request) -> Response:
        """A new key, shown on this answer only (the service keeps its hash)."""
        viewer = self._set_admin(request)
        form = request.form
        try:
            issued = self.run(request, ops.create_api_key, body=form_body(form, ops.ApiKeyCreate))
        except LianxinError as exc:
            return self._set_show(
                request,
                viewer,
                "console/settings_keys.html",
                "keys",
                "中心设置 · Open311 密钥",
                error=exc,
                typed=typed_values(form),
            )
        return self._set_show(
            request,
            viewer,
            "console/settings_keys.html",
            "keys",
            "中心设置 · Open311 密钥",
            status=201,
            issued=issued,
        )


def duty_rows(duty: Any, days: tuple[Any, ...]) -> list[dict[str, Any]]:
    """The roster as a grid: one row per person on duty that week, their shifts on each day
    (by the day a shift starts, Beijing time)."""
    if not isinstance(duty, list):
        return []
    people: dict[str, dict[str, Any]] = {}
    for shift in sorted(duty, key=lambda s: str(s["starts_at"])):
        row = people.setdefault(
            shift["person_id"], {"name": shift["name"], "cells": [[] for _ in days]}
        )
        moment = as_local(shift["starts_at"])
        if moment is not None and moment.date() in days:
            row["cells"][days.index(moment.date())].append(shift)
    return sorted(people.values(), key=lambda r: r["name"])
