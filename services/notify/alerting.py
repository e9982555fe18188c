"""A center's alerting chain: who is told beyond those on duty — its fallback people, in
order, when nobody on duty can be reached (after its admins), and its leadership at the
escalation ladder's third level. Every one of them must be in the directory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.notify.operations import AlertingChoice
from services.notify.cache import touch
from services.notify.exceptions import UnknownAlertedPerson
from services.notify.models import Alerting, Contact


@dataclass(frozen=True)
class Chain:
    """What deliveries read of a center's alerting settings."""

    fallback_person_ids: tuple[str, ...] = ()
    leadership_person_ids: tuple[str, ...] = ()


def get_alerting(*, db_session: Session, center_id: str) -> dict[str, Any]:
    """The center's alerting settings (both lists empty until it saves its own)."""
    own = db_session.get(Alerting, center_id)
    if own is None:
        return {
            "fallback_person_ids": [],
            "leadership_person_ids": [],
            "updated_by": None,
            "updated_at": None,
        }
    return {
        "fallback_person_ids": list(own.fallback_person_ids),
        "leadership_person_ids": list(own.leadership_person_ids),
        "updated_by": own.updated_by,
        "updated_at": own.updated_at,
    }


def update_alerting(
    *, db_session: Session, center_id: str, data: AlertingChoice, by: str | None
) -> Alerting:
    """Replace the center's alerting settings; refused naming anyone the directory doesn't know."""
    chosen = {
        "fallback_person_ids": list(dict.fromkeys(data.fallback_person_ids)),
        "leadership_person_ids": list(dict.fromkeys(data.leadership_person_ids)),
    }
    wanted = {p for ids in chosen.values() for p in ids}
    known = set(
        db_session.scalars(
            select(Contact.person_id).where(
                Contact.center_id == center_id, Contact.person_id.in_(wanted)
            )
        )
    )
    errors = {
        name: [f"通讯录中没有这些人员：{'、'.join(p for p in ids if p not in known)}"]
        for name, ids in chosen.items()
        if any(p not in known for p in ids)
    }
    if errors:
        raise UnknownAlertedPerson(fields=errors)
    own = db_session.get(Alerting, center_id)
    if own is None:
        own = Alerting(center_id=center_id)
        db_session.add(own)
    own.fallback_person_ids = chosen["fallback_person_ids"]
    own.leadership_person_ids = chosen["leadership_person_ids"]
    own.updated_by, own.updated_at = by, now_utc()
    touch(db_session, center_id)
    return own


def load_chain(*, db_session: Session, center_id: str) -> Chain:
    """The center's chain as deliveries read it."""
    own = db_session.get(Alerting, center_id)
    if own is None:
        return Chain()
    return Chain(tuple(own.fallback_person_ids), tuple(own.leadership_person_ids))
