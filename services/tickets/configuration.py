"""A center's configuration: the center itself, its issue categories (routing rule, SLA,
Open311 service), its duty roster and its Open311 API keys.

The roster decides who is alerted (ticket.created and ticket.sla_breached name who is on
duty at that moment), so an entry is saved only for someone notify can reach beyond the
in-app inbox: the caller hands in notify's answer as a function (``check_reachable``).

A change of routing (a category, the center's fallback party) is the caller's to announce:
every replica's :class:`services.tickets.routing.RoutingCache` must forget the center.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lianxin.centers import CenterDisabled
from lianxin.clock import now_utc
from lianxin.contracts.tickets.operations import (
    CategoryChanges,
    CenterChanges,
    CenterEdit,
    NewCategory,
    NewCenter,
    NewDutyShift,
)
from lianxin.errors import InvalidInput
from services.tickets.exceptions import (
    CategoryConflict,
    CategoryNotFound,
    CenterConflict,
    CenterNotFound,
    InvalidApiKey,
)
from services.tickets.models import ApiKey, Category, Center, DutyShift

# -- centers ---------------------------------------------------------------------------------


def get_center(*, db_session: Session, center_id: str) -> Center | None:
    """One center by id."""
    return db_session.get(Center, center_id)


def require_center(*, db_session: Session, center_id: str) -> Center:
    """The center, or :class:`CenterNotFound`."""
    center = get_center(db_session=db_session, center_id=center_id)
    if center is None:
        raise CenterNotFound(fields={"center_id": ["服务中心不存在"]})
    return center


def create_center(*, db_session: Session, data: NewCenter) -> Center:
    """Register a new center (tenant)."""
    if get_center(db_session=db_session, center_id=data.id) is not None:
        raise CenterConflict(fields={"id": ["该编号已被使用"]})
    center = Center(
        id=data.id,
        name=data.name,
        address=data.address,
        timezone=data.timezone,
        hotline=data.hotline,
        opening_hours=data.opening_hours,
        fallback_party="village_committee",
        auto_assign=True,
        meeting_day=25,
        created_at=now_utc(),
    )
    db_session.add(center)
    try:
        db_session.flush()
    except IntegrityError:
        db_session.rollback()
        raise CenterConflict(fields={"id": ["该编号已被使用"]}) from None
    return center


def list_centers(
    *, db_session: Session, center_ids: Iterable[str] | None = None, status: str | None = None
) -> list[Center]:
    """Every center (or those of ``center_ids``), by id; only those of ``status`` if given."""
    query = select(Center).order_by(Center.id)
    if center_ids is not None:
        query = query.where(Center.id.in_(sorted(set(center_ids))))
    if status is not None:
        query = query.where(Center.status == status)
    return list(db_session.scalars(query))


def edit_center(*, db_session: Session, center_id: str, changes: CenterEdit) -> Center:
    """Change a center's name or address (ops)."""
    center = require_center(db_session=db_session, center_id=center_id)
    for key, value in changes.items():
        setattr(center, key, value)
    return center


def set_center_status(*, db_session: Session, center_id: str, status: str) -> tuple[Center, bool]:
    """Disable or enable a center; whether that changed anything."""
    center = db_session.get(Center, center_id, with_for_update=True, populate_existing=True)
    if center is None:
        raise CenterNotFound(fields={"center_id": ["服务中心不存在"]})
    changed = center.status != status
    center.status = status
    return center, changed


def require_writable(*, db_session: Session, center_id: str) -> Center:
    """The center, if it takes changes: else :class:`CenterNotFound` or
    :class:`lianxin.centers.CenterDisabled`."""
    center = require_center(db_session=db_session, center_id=center_id)
    if center.status == "disabled":
        raise CenterDisabled("该服务中心已停用，暂不受理新的操作；已有数据仍可查询")
    return center


def update_center(
    *,
    db_session: Session,
    center_id: str,
    changes: CenterChanges,
    guard: Callable[[Center], None] | None = None,
) -> Center:
    """Change a center's routing fallback, auto-assignment or meeting day; ``guard`` is
    called with the locked row before the change (the ``If-Match`` check)."""
    center = db_session.get(Center, center_id, with_for_update=True, populate_existing=True)
    if center is None:
        raise CenterNotFound(fields={"center_id": ["服务中心不存在"]})
    if guard is not None:
        guard(center)
    for key, value in changes.items():
        setattr(center, key, value)
    return center


# -- categories ------------------------------------------------------------------------------


def add_category(*, db_session: Session, center_id: str, data: NewCategory) -> Category:
    """Add an issue category with its routing rule, SLA and Open311 service to a center."""
    require_writable(db_session=db_session, center_id=center_id)
    service_code = data.service_code or data.code
    if db_session.get(Category, (center_id, data.code)) is not None:
        raise CategoryConflict(fields={"code": ["该类别编码已存在"]})
    if (
        category_by_service_code(
            db_session=db_session, center_id=center_id, service_code=service_code
        )
        is not None
    ):
        raise CategoryConflict(fields={"service_code": ["该 Open311 服务编码已存在"]})
    category = Category(
        center_id=center_id,
        code=data.code,
        name=data.name,
        party=data.party,
        ack_minutes=data.ack_minutes,
        resolve_hours=data.resolve_hours,
        service_code=service_code,
        description=data.description,
        keywords=data.keywords,
        attributes=data.attributes,
        active=True,
    )
    db_session.add(category)
    db_session.flush()
    return category


def get_category(*, db_session: Session, center_id: str, code: str) -> Category:
    """A center's category, or :class:`CategoryNotFound`."""
    category = db_session.get(Category, (center_id, code))
    if category is None:
        raise CategoryNotFound()
    return category


def category_by_service_code(
    *, db_session: Session, center_id: str, service_code: str
) -> Category | None:
    """The category an Open311 ``service_code`` names."""
    return db_session.scalar(
        select(Category).where(
            Category.center_id == center_id, Category.service_code == service_code
        )
    )


def open311_service(*, db_session: Session, center_id: str, service_code: str) -> Category:
    """The active category an Open311 ``service_code`` names at an existing center, or
    :class:`CenterNotFound` / :class:`CategoryNotFound`."""
    require_center(db_session=db_session, center_id=center_id)
    category = category_by_service_code(
        db_session=db_session, center_id=center_id, service_code=service_code
    )
    if category is None or not category.active:
        raise CategoryNotFound()
    return category


def update_category(
    *,
    db_session: Session,
    center_id: str,
    code: str,
    changes: CategoryChanges,
    guard: Callable[[Category], None] | None = None,
) -> Category:
    """Change a category's routing rule, SLA or questions; open tickets keep their deadlines.
    ``guard`` is called with the locked row before the change (the ``If-Match`` check)."""
    category = db_session.get(
        Category, (center_id, code), with_for_update=True, populate_existing=True
    )
    if category is None:
        raise CategoryNotFound()
    if guard is not None:
        guard(category)
    for key, value in changes.items():
        setattr(category, key, value)
    return category


def list_categories(
    *, db_session: Session, center_id: str, active_only: bool = False
) -> list[Category]:
    """A center's categories, by code (of an existing center: else :class:`CenterNotFound`)."""
    require_center(db_session=db_session, center_id=center_id)
    query = select(Category).where(Category.center_id == center_id)
    if active_only:
        query = query.where(Category.active.is_(True))
    return list(db_session.scalars(query.order_by(Category.code)))


# -- duty roster -----------------------------------------------------------------------------


#: What notify's directory says of a person (its operation ``check_reachable``):
#: ``(center_id, person_id) -> {"known": bool, "reachable": bool, ...}``.
Reachability = Callable[[str, str], Mapping[str, Any]]


def add_duty_shift(
    *, db_session: Session, center_id: str, data: NewDutyShift, check_reachable: Reachability
) -> DutyShift:
    """Put someone on duty for a time window — someone notify knows and can reach by SMS,
    WeChat or e-mail (else :class:`InvalidInput` naming ``person_id``)."""
    require_writable(db_session=db_session, center_id=center_id)
    found = check_reachable(center_id, data.person_id)
    if not found.get("known"):
        raise InvalidInput(
            "通讯录中没有此人",
            code="DUTY_PERSON_UNKNOWN",
            fields={"person_id": ["通讯录中没有此人"]},
        )
    if not found.get("reachable"):
        raise InvalidInput(
            "值班人员缺少联系方式",
            code="DUTY_PERSON_UNREACHABLE",
            fields={"person_id": ["值班人员缺少联系方式"]},
        )
    shift = DutyShift(
        id=str(uuid.uuid4()),
        center_id=center_id,
        person_id=data.person_id,
        name=data.name,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
    )
    db_session.add(shift)
    return shift


def list_duty(
    *, db_session: Session, center_id: str, start: datetime | None, end: datetime | None
) -> list[DutyShift]:
    """The roster overlapping [start, end) (default: the coming week)."""
    start = start or now_utc() - timedelta(days=1)
    end = end or start + timedelta(days=8)
    return list(
        db_session.scalars(
            select(DutyShift)
            .where(
                DutyShift.center_id == center_id,
                DutyShift.starts_at < end,
                DutyShift.ends_at > start,
            )
            .order_by(DutyShift.starts_at)
        )
    )


def on_duty(
    *,
    db_session: Session,
    center_ids: Iterable[str],
    at: datetime,
    cache: DutyCache | None = None,
) -> dict[str, list[str]]:
    """Everyone on duty at ``at``, per center (one query for all those not in ``cache``):
    the person ids of the shifts covering that moment, the latest-starting first, each
    person once; a center nobody covers is absent."""
    wanted = sorted(set(center_ids))
    if not wanted:
        return {}
    shifts = cache.shifts(wanted, at) if cache is not None else {}
    missing = [c for c in wanted if c not in shifts]
    if missing:
        # Read a little ahead: the cache answers for the next moments from the same rows.
        until = at + (cache.horizon if cache is not None else timedelta(0))
        table = DutyShift.__table__
        rows = db_session.connection().execute(
            select(
                table.c.center_id,
                table.c.starts_at,
                table.c.ends_at,
                table.c.id,
                table.c.person_id,
            ).where(
                table.c.center_id.in_(missing),
                table.c.starts_at <= until,
                table.c.ends_at > at,
            )
        )
        read: dict[str, list[Shift]] = {c: [] for c in missing}
        for center_id, *shift in rows:
            read[center_id].append(Shift(*shift))
        if cache is not None:
            cache.remember(read, at, until)
        shifts.update(read)
    found: dict[str, list[str]] = {}
    for center_id in wanted:
        covering = [s for s in shifts[center_id] if s.starts_at <= at < s.ends_at]
        covering.sort(key=lambda s: s.id)
        covering.sort(key=lambda s: s.starts_at, reverse=True)
        people = list(dict.fromkeys(s.person_id for s in covering))
        if people:
            found[center_id] = people
    return found


class Shift(NamedTuple):
    """A duty shift as :func:`on_duty` reads it."""

    starts_at: datetime
    ends_at: datetime
    id: str
    person_id: str


class DutyCache:
    """Each center's duty shifts from a moment to ``horizon`` after it, as intake last read
    them (the roster of every ``ticket.created``): a batch of reports reads the roster
    once a ``ttl``, not once a batch.

    What the rows say is exact for any moment in their window (a shift starting or ending
    inside it is among them); a change of the roster drops the center's entry in every
    replica (the routing-changed broadcast, through :meth:`RoutingCache.forget`), and an
    entry also expires after ``ttl`` seconds, in case that broadcast was lost."""

    def __init__(
        self,
        ttl: float = 30.0,
        horizon: timedelta = timedelta(minutes=10),
        size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.ttl = ttl
        self.horizon = horizon
        self.size = size
        self._clock = clock
        self._entries: dict[str, tuple[float, datetime, datetime, list[Shift]]] = {}

    def shifts(self, center_ids: Iterable[str], at: datetime) -> dict[str, list[Shift]]:
        """The cached shifts of those of ``center_ids`` whose entry covers ``at``."""
        now = self._clock()
        found = {}
        for center_id in center_ids:
            hit = self._entries.get(center_id)
            if hit is not None and hit[0] > now and hit[1] <= at <= hit[2]:
                found[center_id] = hit[3]
        return found

    def remember(self, shifts: dict[str, list[Shift]], start: datetime, until: datetime) -> None:
        """Keep what was read of each center for the window ``start`` … ``until``."""
        if len(self._entries) + len(shifts) > self.size:
            self._entries.clear()
        expires = self._clock() + self.ttl
        for center_id, rows in shifts.items():
            self._entries[center_id] = (expires, start, until, rows)

    def forget(self, center_id: str | None) -> None:
        """Drop a center's entry (every center's with None)."""
        if center_id is None:
            self._entries.clear()
        else:
            self._entries.pop(center_id, None)


# -- Open311 API keys ------------------------------------------------------------------------


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(*, db_session: Session, center_id: str, name: str) -> str:
    """A new Open311 key for a client of the center; only its hash is stored."""
    require_writable(db_session=db_session, center_id=center_id)
    key = "lx_" + secrets.token_urlsafe(24)
    db_session.add(
        ApiKey(
            id=str(uuid.uuid4()),
            center_id=center_id,
            name=name,
            key_hash=_hash(key),
            created_at=now_utc(),
        )
    )
    return key


def check_api_key(*, db_session: Session, center_id: str, key: str | None) -> ApiKey:
    """The key's record if it is valid for the center; else :class:`InvalidApiKey`."""
    if not key:
        raise InvalidApiKey("缺少 api_key")
    record = db_session.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(key)))
    if record is None or record.revoked_at is not None or record.center_id != center_id:
        raise InvalidApiKey()
    return record
