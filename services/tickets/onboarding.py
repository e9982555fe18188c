"""Onboarding a center (开通) from a template center: the tickets service orchestrates it.

The steps, in order — each service doing its own part over RPC, tickets' own last:

1. events copies the template's function rooms and programmes (``copy_center``);
2. notify copies the template's own message wordings and puts the first admin in the new
   center's directory (``copy_center``);
3. accounts invites the first admin (``create_account``: an invitation link);
4. tickets, in one transaction: the center (with the template's routing settings), the
   template's categories (routing, SLA, keywords, questions) and the ``center.created``
   event in the outbox.

All or nothing: when a step is refused or fails (a timeout included: the step may have done
its part anyway), every step begun is undone, in reverse order, before the error is
answered — each service's undo refuses to take anything away from a center tickets knows,
so a concurrent onboarding of the same id that won is never harmed. A copy that finds
leftovers of an earlier failed attempt (its undo could not run) replaces them, so trying
again heals. Why RPC orchestration and not each service reacting to ``center.created``:
the README, "Onboarding a center".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.tickets.events import CENTER_CREATED, CENTER_UPDATED
from lianxin.contracts.tickets.operations import NewOnboarding
from lianxin.errors import InvalidInput, Unavailable
from lianxin.outbox import OutboxWriter
from services.tickets.configuration import get_center
from services.tickets.exceptions import CenterConflict
from services.tickets.models import Category, Center

log = logging.getLogger(__name__)


#: The services' names people read.
SERVICE_NAMES = {"events": "活动", "notify": "通知", "accounts": "账号"}


class OnboardingFailed(Unavailable):
    """A service failed its part (a crash, no answer): everything was undone (HTTP 503)."""

    code = "ONBOARDING_FAILED"
    default_detail = "开通服务中心未能完成，已全部撤销，请稍后重试"

    @classmethod
    def of(cls, service: str) -> OnboardingFailed:
        name = SERVICE_NAMES.get(service, service)
        return cls(
            f"{name}服务未能完成开通步骤；已撤销全部已做的部分，没有留下半个服务中心，请稍后重试",
            extra={"service": service},
        )


class Services(Protocol):
    """What onboarding asks of the other services (the caller's token goes with each)."""

    def copy_events(self, template_id: str, center_id: str) -> Mapping[str, int]: ...
    def drop_events(self, center_id: str) -> Any: ...
    def copy_notify(
        self, template_id: str, center_id: str, admin: dict[str, Any]
    ) -> Mapping[str, int]: ...
    def drop_notify(self, center_id: str) -> Any: ...
    def invite_admin(self, center_id: str, payload: dict[str, Any]) -> Mapping[str, Any]: ...
    def withdraw_accounts(self, center_id: str) -> Any: ...


@dataclass(frozen=True)
class Onboarded:
    center: Center
    admin: Mapping[str, Any]
    copied: dict[str, int]


def check_new(*, db_session: Session, data: NewOnboarding) -> Center:
    """The template, if the new id is free (else :class:`CenterConflict`, 409) and the
    template exists (else :class:`InvalidInput` ``TEMPLATE_NOT_FOUND``, 422)."""
    if get_center(db_session=db_session, center_id=data.id) is not None:
        raise CenterConflict(f"服务中心编号 {data.id} 已被使用", fields={"id": ["该编号已被使用"]})
    template = get_center(db_session=db_session, center_id=data.template)
    if template is None:
        raise InvalidInput(
            f"模板中心 {data.template} 不存在",
            code="TEMPLATE_NOT_FOUND",
            fields={"from": ["模板中心不存在"]},
        )
    return template


def onboard(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    data: NewOnboarding,
    services: Services,
    actor_id: str | None,
) -> Onboarded:
    """Make ``data``'s center from its template in every service, or in none (see the
    module doc); committed here, as the last step."""
    template = check_new(db_session=db_session, data=data)
    template_id = template.id
    undo: list[tuple[str, Callable[[], Any]]] = []
    copied: dict[str, int] = {}
    admin = data.admin
    try:
        undo.append(("events", lambda: services.drop_events(data.id)))
        copied.update(services.copy_events(template_id, data.id))
        contact = {"person_id": admin.person_id, "name": admin.name, "phone": admin.phone}
        undo.append(("notify", lambda: services.drop_notify(data.id)))
        copied.update(services.copy_notify(template_id, data.id, contact))
        undo.append(("accounts", lambda: services.withdraw_accounts(data.id)))
        services.withdraw_accounts(data.id)  # leftovers of an attempt that could not be undone
        account = services.invite_admin(
            data.id,
            {"person_id": admin.person_id, "role": "admin", "login": admin.login},
        )
        center = _make_center(db_session=db_session, template=template, data=data)
        copied["categories"] = _copy_categories(
            db_session=db_session, template_id=template_id, center_id=data.id
        )
        outbox.add(
            CENTER_CREATED,
            center_id=data.id,
            subject=data.id,
            data={
                **record_of(center),
                "actor_id": actor_id,
                "template": template_id,
                "admin_person_id": admin.person_id,
            },
        )
        db_session.commit()
    except BaseException:
        db_session.rollback()
        _undo(data.id, undo)
        raise
    log.info("center %s onboarded from %s: %s", data.id, template_id, copied)
    return Onboarded(center, account, copied)


def _undo(center_id: str, steps: list[tuple[str, Callable[[], Any]]]) -> None:
    """Undo the steps begun, the last first; a service that can't be reached is logged
    (the next attempt at the same id replaces what it left)."""
    for name, step in reversed(steps):
        try:
            step()
        except Exception as exc:
            log.error(
                "onboarding %s failed and %s could not undo its part: %s", center_id, name, exc
            )


def _make_center(*, db_session: Session, template: Center, data: NewOnboarding) -> Center:
    center = Center(
        id=data.id,
        name=data.name,
        address=data.address,
        timezone=template.timezone,
        fallback_party=template.fallback_party,
        auto_assign=template.auto_assign,
        meeting_day=template.meeting_day,
        escalation_level3_factor=template.escalation_level3_factor,
        public_photos=template.public_photos,
        created_at=now_utc(),
        status="active",
    )
    db_session.add(center)
    db_session.flush()
    return center


def _copy_categories(*, db_session: Session, template_id: str, center_id: str) -> int:
    """The template's categories (retired ones too, still retired), with their routing
    rule, deadlines, Open311 service, keywords and questions."""
    found = db_session.scalars(select(Category).where(Category.center_id == template_id)).all()
    for category in found:
        db_session.add(
            Category(
                center_id=center_id,
                code=category.code,
                name=category.name,
                party=category.party,
                ack_minutes=category.ack_minutes,
                resolve_hours=category.resolve_hours,
                service_code=category.service_code,
                description=category.description,
                keywords=list(category.keywords or []),
                attributes=[dict(a) for a in category.attributes or []],
                active=category.active,
            )
        )
    db_session.flush()
    return len(found)


def record_of(center: Center) -> dict[str, Any]:
    """What the center events carry of a center (its registry record)."""
    return {
        "id": center.id,
        "name": center.name,
        "address": center.address,
        "timezone": center.timezone,
        "status": center.status,
    }


def announce(*, outbox: OutboxWriter, center: Center, change: str, actor_id: str | None) -> None:
    """``center.updated``: disabled, enabled or renamed (in the caller's transaction)."""
    outbox.add(
        CENTER_UPDATED,
        center_id=center.id,
        subject=center.id,
        data={**record_of(center), "change": change, "actor_id": actor_id},
    )
