"""Who is told what, free of nameko: the directory, templates, preferences and quiet hours,
deliveries (the in-app ones are the inbox), the delivery log and scheduled messages."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lianxin.contracts.notify.operations import CHANNELS, PUSH_CHANNELS
from lianxin.errors import InvalidInput
from lianxin.logs import mask_phone
from services.notify import messages, planner
from services.notify.cache import ReadCache, touch
from services.notify.exceptions import (
    ContactNotFound,
    InvalidTemplate,
    MessageTypeNotFound,
    NotificationNotFound,
    ScheduledConflict,
    ScheduledMessageNotFound,
    TemplateNotFound,
)
from services.notify.models import (
    Contact,
    Delivery,
    InboxRead,
    Preference,
    QuietHours,
    ScheduledMessage,
    Template,
)
from services.notify.rendering import SHANGHAI, RenderError, reads_any, render

log = logging.getLogger(__name__)

T = TypeVar("T")

ALL_TYPES = "*"
ADDRESS = {"sms": "phone", "wechat": "wechat_openid", "email": "email", "webhook": "webhook_url"}


@dataclass(frozen=True)
class Settings:
    """What the service's config decides: default quiet hours, retry policy."""

    quiet_start: str = "22:00"
    quiet_end: str = "07:00"
    max_attempts: int = 6
    retry_base: float = 30.0
    retry_cap: float = 3600.0
    webhook_max_attempts: int = 8
    webhook_retry_base: float = 10.0
    webhook_retry_cap: float = 3600.0

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Settings:
        value = config.get("QUIET_HOURS", "22:00-07:00")
        raw = "off" if value is False else str(value or "22:00-07:00").strip()  # YAML reads off as false
        start, _, end = raw.partition("-")
        if raw.lower() in ("off", "false", "no"):  # nobody has default quiet hours (their own still apply)
            start = end = ""
        return cls(quiet_start=start.strip(), quiet_end=end.strip(),
                   max_attempts=int(config.get("DELIVERY_MAX_ATTEMPTS", 6)),
                   retry_base=float(config.get("DELIVERY_RETRY_BASE_SECONDS", 30)),
                   retry_cap=float(config.get("DELIVERY_RETRY_MAX_SECONDS", 3600)),
                   webhook_max_attempts=int(config.get("WEBHOOK_MAX_ATTEMPTS", 8)),
                   webhook_retry_base=float(config.get("WEBHOOK_RETRY_BASE_SECONDS", 10)),
                   webhook_retry_cap=float(config.get("WEBHOOK_RETRY_MAX_SECONDS", 3600)))

    def backoff(self, attempts: int) -> timedelta:
        """Exponential: base, 2·base, 4·base … capped."""
        return timedelta(seconds=min(self.retry_base * 2 ** max(attempts - 1, 0), self.retry_cap))

    def webhook_backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.webhook_retry_base * 2 ** max(attempts - 1, 0),
                                     self.webhook_retry_cap))


def now_utc() -> datetime:
    return datetime.now(UTC)


_INSERT_IGNORE: dict[tuple[Any, ...], Any] = {}


def insert_ignore(db_session: Session, model: type, rows: list[dict[str, Any]],
                  conflict: list[str]) -> int:
    """Insert rows, skipping those a unique constraint already holds; returns how many are new."""
    if not rows:
        return 0
    dialect = db_session.get_bind().dialect.name
    key = (model, dialect, tuple(conflict))
    stmt = _INSERT_IGNORE.get(key)
    if stmt is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = _INSERT_IGNORE[key] = insert(model.__table__).on_conflict_do_nothing(
            index_elements=conflict)
    # One cached statement, executemany: SQLite's own loop, PostgreSQL's multi-row VALUES.
    return db_session.execute(stmt, rows).rowcount


# -- directory -------------------------------------------------------------------------------

def upsert_contact(*, db_session: Session, center_id: str, data: dict[str, Any]) -> Contact:
    """Add a person's contact data to the directory, or replace it."""
    contact = db_session.get(Contact, (center_id, data["person_id"]))
    if contact is None:
        contact = Contact(center_id=center_id, person_id=data["person_id"])
        db_session.add(contact)
    touch(db_session, center_id)
    for key in ("name", "role", "party", "phone", "email", "wechat_openid", "webhook_url"):
        setattr(contact, key, data.get(key))
    contact.updated_at = now_utc()
    log.info("directory: %s/%s saved (%s)", center_id, data["person_id"],
             mask_phone(data.get("phone") or "no phone"))
    return contact


def update_contact(*, db_session: Session, center_id: str, person_id: str,
                   data: dict[str, Any]) -> Contact:
    """Change some fields of a person's contact data."""
    contact = get_contact(db_session=db_session, center_id=center_id, person_id=person_id)
    for key, value in data.items():
        setattr(contact, key, value)
    contact.updated_at = now_utc()
    touch(db_session, center_id)
    return contact


def get_contact(*, db_session: Session, center_id: str, person_id: str) -> Contact:
    """One person's contact data, or :class:`ContactNotFound`."""
    contact = db_session.get(Contact, (center_id, person_id))
    if contact is None:
        raise ContactNotFound()
    return contact


def list_contacts(*, db_session: Session, center_id: str,
                  query: dict[str, Any]) -> tuple[list[Contact], int]:
    """A center's directory, by name, filtered by role and party."""
    where = [Contact.center_id == center_id]
    for key in ("role", "party"):
        if query.get(key):
            where.append(getattr(Contact, key) == query[key])
    total = db_session.scalar(select(func.count()).select_from(Contact).where(*where)) or 0
    items = db_session.scalars(select(Contact).where(*where).order_by(Contact.role, Contact.person_id)
                               .limit(query["limit"]).offset(query["offset"])).all()
    return list(items), total


def delete_contact(*, db_session: Session, center_id: str, person_id: str) -> Contact:
    contact = get_contact(db_session=db_session, center_id=center_id, person_id=person_id)
    db_session.delete(contact)
    touch(db_session, center_id)
    return contact


def resolve_recipients(*, db_session: Session, center_id: str, message: planner.Message,
                       directory: Directory | None = None) -> list[str]:
    """Person ids a planned message goes to; ``@<role>`` when the directory names nobody."""
    people = list(message.persons)
    if message.roles or message.party:
        directory = directory or Directory(db_session)
        people += directory.members(center_id, message.roles, message.party)
    chosen = [p for p in dict.fromkeys(people) if p not in message.exclude]
    if not chosen and message.fallback_role:
        return [f"@{message.fallback_role}"]
    return chosen


# -- what deliveries read, cached by the service ---------------------------------------------

@dataclass(frozen=True)
class Profile:
    """How to reach one person: contact data (a ``contacts`` row, or None when the directory
    does not know them), preferences by message type, and their own quiet hours."""

    contact: Any | None
    preferences: dict[str, Any]
    quiet: Any | None


_CONTACT = select(Contact.person_id, Contact.name, Contact.role, Contact.party, Contact.phone,
                  Contact.email, Contact.wechat_openid, Contact.webhook_url)
_PREFERENCE = select(Preference.person_id, Preference.message_type, Preference.channels,
                     Preference.muted)
_QUIET = select(QuietHours.person_id, QuietHours.start, QuietHours.end, QuietHours.enabled)


def load_members(*, db_session: Session, center_id: str, roles: tuple[str, ...],
                 party: str | None) -> tuple[str, ...]:
    """Ids of the center's people holding one of ``roles`` or handling for ``party``."""
    where = []
    if roles:
        where.append(Contact.role.in_(roles))
    if party:
        where.append(Contact.party == party)
    if not where:
        return ()
    return tuple(db_session.scalars(select(Contact.person_id).where(
        Contact.center_id == center_id, or_(*where)).order_by(Contact.person_id)))


def load_profiles(*, db_session: Session, center_id: str, person_ids: list[str]) -> dict[str, Profile]:
    """The profiles of ``person_ids`` (every one of them, known to the directory or not)."""
    contacts = {r.person_id: r for r in db_session.execute(_CONTACT.where(
        Contact.center_id == center_id, Contact.person_id.in_(person_ids)))}
    prefs: dict[str, dict[str, Any]] = {p: {} for p in person_ids}
    for r in db_session.execute(_PREFERENCE.where(Preference.center_id == center_id,
                                                  Preference.person_id.in_(person_ids))):
        prefs[r.person_id][r.message_type] = r
    quiet = {r.person_id: r for r in db_session.execute(_QUIET.where(
        QuietHours.center_id == center_id, QuietHours.person_id.in_(person_ids)))}
    return {p: Profile(contacts.get(p), prefs[p], quiet.get(p)) for p in person_ids}


def load_templates(*, db_session: Session, center_id: str) -> dict[tuple[str, str], tuple[str, str]]:
    """The center's own wordings: (message type, channel) → (title, body)."""
    return {(r.message_type, r.channel): (r.title, r.body) for r in db_session.execute(
        select(Template.message_type, Template.channel, Template.title, Template.body)
        .where(Template.center_id == center_id))}


class Directory:
    """What deliveries read about a center — members by role and party, people's profiles,
    the center's templates — from ``db_session``, or through the service's ``cache``.

    Cached entries are loaded on a session of their own, so they hold what was last
    committed, never this transaction's uncommitted view (see :mod:`services.notify.cache`).
    """

    def __init__(self, db_session: Session, cache: ReadCache | None = None):
        self.db_session = db_session
        self.cache = cache if cache is not None and cache.enabled else None

    def _load(self, load: Callable[..., T], **kwargs: Any) -> T:
        if self.cache is None:
            return load(db_session=self.db_session, **kwargs)
        with Session(self.db_session.get_bind()) as fresh:
            return load(db_session=fresh, **kwargs)

    def members(self, center_id: str, roles: tuple[str, ...], party: str | None) -> tuple[str, ...]:
        def load() -> tuple[str, ...]:
            return self._load(load_members, center_id=center_id, roles=tuple(roles), party=party)

        if self.cache is None:
            return load()
        return self.cache.get(center_id, ("members", tuple(roles), party), load)

    def profiles(self, center_id: str, person_ids: list[str]) -> dict[str, Profile]:
        if not person_ids:
            return {}
        if self.cache is None:
            return self._load(load_profiles, center_id=center_id, person_ids=person_ids)
        found = self.cache.get_many(
            center_id, [("profile", p) for p in person_ids],
            lambda keys: {("profile", p): v for p, v in self._load(
                load_profiles, center_id=center_id, person_ids=[k[1] for k in keys]).items()})
        return {key[1]: profile for key, profile in found.items()}

    def templates(self, center_id: str) -> dict[tuple[str, str], tuple[str, str]]:
        def load() -> dict[tuple[str, str], tuple[str, str]]:
            return self._load(load_templates, center_id=center_id)

        if self.cache is None:
            return load()
        return self.cache.get(center_id, ("templates",), load)


# -- templates -------------------------------------------------------------------------------

def require_type(code: str) -> messages.MessageType:
    mt = messages.get(code)
    if mt is None:
        raise MessageTypeNotFound(fields={"message_type": [f"没有这种消息类型：{code}"]})
    return mt


def _overrides(db_session: Session, center_id: str) -> dict[tuple[str, str], Template]:
    rows = db_session.scalars(select(Template).where(Template.center_id == center_id)).all()
    return {(t.message_type, t.channel): t for t in rows}


def effective_template(*, db_session: Session, center_id: str, message_type: str,
                       channel: str) -> dict[str, Any]:
    """The wording used for a type on a channel: the center's own, else the default."""
    mt = require_type(message_type)
    own = db_session.get(Template, (center_id, message_type, channel))
    if own is not None:
        return {"message_type": message_type, "channel": channel, "title": own.title,
                "body": own.body, "overridden": True, "updated_at": own.updated_at}
    title, body = mt.default(channel)
    return {"message_type": message_type, "channel": channel, "title": title, "body": body,
            "overridden": False, "updated_at": None}


def list_templates(*, db_session: Session, center_id: str,
                   message_type: str | None = None) -> list[dict[str, Any]]:
    """Every type × channel with the wording in force at the center."""
    own = _overrides(db_session, center_id)
    out = []
    for code, mt in messages.TYPES.items():
        if message_type and code != message_type:
            continue
        for channel in CHANNELS:
            t = own.get((code, channel))
            title, body = (t.title, t.body) if t else mt.default(channel)
            out.append({"message_type": code, "channel": channel, "title": title, "body": body,
                        "overridden": t is not None, "updated_at": t.updated_at if t else None})
    return out


def check_template(mt: messages.MessageType, title: str, body: str,
                   context: dict[str, Any] | None = None) -> tuple[str, str]:
    """Render against sample data (or ``context``); :class:`InvalidTemplate` naming the field."""
    ctx = context if context is not None else mt.sample_context()
    errors: dict[str, list[str]] = {}
    rendered = {}
    for name, source in (("title", title), ("body", body)):
        try:
            rendered[name] = render(source, ctx)
        except RenderError as exc:
            errors[name] = [str(exc)]
    if not errors and not rendered["body"]:
        errors["body"] = ["模板渲染结果为空"]
    if not errors and len(rendered["title"]) > 200:
        errors["title"] = ["渲染后的标题超过 200 字"]
    if errors:
        raise InvalidTemplate(fields=errors, extra={"variables": mt.all_variables()})
    return rendered["title"], rendered["body"]


def save_template(*, db_session: Session, center_id: str, message_type: str, channel: str,
                  data: dict[str, Any], by: str | None) -> Template:
    """Save a center's own wording, once it renders against the type's sample data."""
    mt = require_type(message_type)
    if channel not in CHANNELS:
        raise InvalidInput(fields={"channel": [f"应为以下之一：{', '.join(CHANNELS)}"]})
    check_template(mt, data["title"], data["body"])
    own = db_session.get(Template, (center_id, message_type, channel))
    if own is None:
        own = Template(center_id=center_id, message_type=message_type, channel=channel)
        db_session.add(own)
    own.title, own.body, own.updated_by, own.updated_at = data["title"], data["body"], by, now_utc()
    touch(db_session, center_id)
    return own


def delete_template(*, db_session: Session, center_id: str, message_type: str,
                    channel: str) -> dict[str, Any]:
    """Go back to the default wording."""
    own = db_session.get(Template, (center_id, message_type, channel))
    if own is None:
        raise TemplateNotFound()
    db_session.delete(own)
    db_session.flush()
    touch(db_session, center_id)
    return effective_template(db_session=db_session, center_id=center_id,
                              message_type=message_type, channel=channel)


def preview_template(*, db_session: Session, center_id: str, data: dict[str, Any]) -> dict[str, str]:
    mt = require_type(data["message_type"])
    current = effective_template(db_session=db_session, center_id=center_id,
                                 message_type=mt.code, channel=data["channel"])
    context = {**mt.sample_context(), **(data.get("data") or {})}
    title, body = check_template(mt, data.get("title") or current["title"],
                                 data.get("body") or current["body"], context)
    return {"title": title, "body": body}


# -- preferences and quiet hours -------------------------------------------------------------

def _parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet_until(now: datetime, start: str, end: str) -> datetime | None:
    """When the quiet window ``start``–``end`` (Asia/Shanghai) around ``now`` ends; None if not in it."""
    local = now.astimezone(SHANGHAI)
    t, s, e = local.time(), _parse_hhmm(start), _parse_hhmm(end)
    if s < e:
        inside, day = s <= t < e, local.date()
    else:  # overnight, e.g. 22:00–07:00
        inside = t >= s or t < e
        day = local.date() + timedelta(days=1) if t >= s else local.date()
    if not inside:
        return None
    return datetime.combine(day, e, SHANGHAI).astimezone(UTC)


def get_quiet_hours(*, db_session: Session, center_id: str, person_id: str,
                    settings: Settings) -> dict[str, Any]:
    own = db_session.get(QuietHours, (center_id, person_id))
    if own is None:
        return {"start": settings.quiet_start or "22:00", "end": settings.quiet_end or "07:00",
                "enabled": bool(settings.quiet_start), "timezone": "Asia/Shanghai"}
    return {"start": own.start, "end": own.end, "enabled": own.enabled, "timezone": "Asia/Shanghai"}


def set_quiet_hours(*, db_session: Session, center_id: str, person_id: str,
                    data: dict[str, Any]) -> QuietHours:
    own = db_session.get(QuietHours, (center_id, person_id))
    if own is None:
        own = QuietHours(center_id=center_id, person_id=person_id)
        db_session.add(own)
    own.start, own.end, own.enabled, own.updated_at = data["start"], data["end"], data["enabled"], now_utc()
    touch(db_session, center_id)
    return own


def get_preferences(*, db_session: Session, center_id: str, person_id: str,
                    settings: Settings) -> dict[str, Any]:
    """A person's settings: quiet hours, and per message type channels and mute."""
    own = {p.message_type: p for p in db_session.scalars(select(Preference).where(
        Preference.center_id == center_id, Preference.person_id == person_id))}
    items = []
    for code in (ALL_TYPES, *messages.TYPES):
        p = own.get(code)
        mt = messages.get(code)
        items.append({"message_type": code, "channels": p.channels if p else None,
                      "muted": bool(p and p.muted) and not (mt and mt.critical),
                      "critical": bool(mt and mt.critical)})
    return {"person_id": person_id, "items": items,
            "quiet_hours": get_quiet_hours(db_session=db_session, center_id=center_id,
                                           person_id=person_id, settings=settings)}


def set_preference(*, db_session: Session, center_id: str, person_id: str, message_type: str,
                   data: dict[str, Any]) -> Preference:
    if message_type != ALL_TYPES:
        mt = require_type(message_type)
        if mt.critical and data.get("muted"):
            raise InvalidInput("紧急类消息不能屏蔽", fields={"muted": ["紧急类消息不能屏蔽"]})
    own = db_session.get(Preference, (center_id, person_id, message_type))
    if own is None:
        own = Preference(center_id=center_id, person_id=person_id, message_type=message_type)
        db_session.add(own)
    channels = data.get("channels")
    own.channels = list(dict.fromkeys(channels)) if channels is not None else None
    own.muted, own.updated_at = bool(data.get("muted")), now_utc()
    touch(db_session, center_id)
    return own


def choose_channels(mt: messages.MessageType, contact: Any | None, pref: Any | None) -> list[str]:
    """The push channels a message takes to a person (in-app is always added); ``contact`` and
    ``pref`` are a :class:`Contact` / :class:`Preference` or rows with the same fields."""
    if contact is None:
        return []
    reachable = [c for c in PUSH_CHANNELS if getattr(contact, ADDRESS[c])]
    if mt.critical:  # never muted: the person's channels and every default one
        wanted = dict.fromkeys([*(pref.channels or [] if pref else []), *mt.channels])
        return [c for c in wanted if c in reachable]
    if pref is not None and pref.muted:
        return []
    if pref is not None and pref.channels is not None:
        return [c for c in pref.channels if c in reachable]
    candidates = [c for c in mt.channels if c in reachable]
    return candidates[:1] if mt.first_only else candidates


# -- deliveries ------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What happened to one delivery, for the metrics."""

    center_id: str
    channel: str
    outcome: str  # sent | queued | deferred | failed | retried


def _render_for(mt: messages.MessageType, channel: str, own: tuple[str, str] | None,
                context: dict[str, Any]) -> tuple[str, str, str | None]:
    """(title, body, error): the center's wording, else the default; the error if neither renders."""
    sources = []
    if own is not None:
        sources.append(own)
    sources.append(mt.default(channel))
    error = None
    for title, body in sources:
        try:
            return render(title, context), render(body, context), None
        except RenderError as exc:
            error = str(exc)
            log.error("template %s/%s does not render: %s", mt.code, channel, exc)
    return mt.name, "", error


_PERSONAL = frozenset({"recipient_name"})


def _delivery_rows(*, center_id: str, source_id: str, event_type: str | None,
                   message: planner.Message, now: datetime, settings: Settings,
                   directory: Directory) -> tuple[list[dict[str, Any]], list[Outcome]]:
    """The delivery rows of one planned message, one per (recipient, channel), and their outcomes.

    Reads only through ``directory``, writes nothing. A wording is rendered once per channel,
    or once per recipient name where the template says ``{{ recipient_name }}``."""
    mt = require_type(message.message_type)
    recipients = resolve_recipients(db_session=directory.db_session, center_id=center_id,
                                    message=message, directory=directory)
    profiles = directory.profiles(center_id, [r for r in recipients if not r.startswith("@")])
    own = directory.templates(center_id)
    base = {**message.context, "center_id": center_id}
    personal: dict[str, bool] = {}
    rendered: dict[tuple[str, str | None], tuple[str, str, str | None]] = {}
    rows, outcomes = [], []
    for recipient in recipients:
        role = recipient[1:] if recipient.startswith("@") else None
        profile = None if role else profiles.get(recipient)
        contact = profile.contact if profile else None
        name = contact.name if contact else "您"
        channels = ["in_app"]
        if profile is not None:
            pref = profile.preferences.get(mt.code) or profile.preferences.get(ALL_TYPES)
            channels += choose_channels(mt, contact, pref)
        deferred = None
        if role is None and not mt.critical:
            q = profile.quiet if profile else None
            if q is None:
                if settings.quiet_start:
                    deferred = quiet_until(now, settings.quiet_start, settings.quiet_end)
            elif q.enabled:
                deferred = quiet_until(now, q.start, q.end)
        for channel in channels:
            template = own.get((mt.code, channel))
            if channel not in personal:
                personal[channel] = reads_any(_PERSONAL, *(template or ()), *mt.default(channel))
            key = (channel, name if personal[channel] else None)
            if key not in rendered:
                rendered[key] = _render_for(mt, channel, template, {**base, "recipient_name": name})
            title, body, error = rendered[key]
            row = {"id": str(uuid.uuid4()), "center_id": center_id, "source_id": source_id,
                   "event_type": event_type, "message_type": mt.code, "recipient": recipient,
                   "person_id": None if role else recipient, "audience": role,
                   "channel": channel, "critical": mt.critical, "title": title[:200], "body": body,
                   "ref_type": message.ref_type, "ref_id": message.ref_id, "attempts": 0,
                   "created_at": now, "next_attempt_at": None, "deferred_until": None,
                   "sent_at": None, "last_error": None, "read_at": None, "lease_until": None}
            if error is not None:
                row.update(state="failed", last_error=f"模板无法渲染：{error}")
                outcome = "failed"
            elif channel == "in_app":
                row.update(state="sent", sent_at=now)
                outcome = "sent"
            elif deferred is not None:
                row.update(state="pending", next_attempt_at=deferred, deferred_until=deferred)
                outcome = "deferred"
            else:
                row.update(state="pending", next_attempt_at=now)
                outcome = "queued"
            rows.append(row)
            outcomes.append(Outcome(center_id, channel, outcome))
    return rows, outcomes


def _record_deliveries(db_session: Session, rows: list[dict[str, Any]],
                       outcomes: list[Outcome]) -> list[Outcome]:
    """Insert delivery rows in one statement; the outcomes of those that are new.

    The unique (source, recipient, channel) keeps a redelivered event from adding any; within
    one batch the first row for a (source, recipient, channel) wins."""
    seen: set[tuple[str, str, str]] = set()
    batch, kept = [], []
    for row, outcome in zip(rows, outcomes, strict=True):
        key = (row["source_id"], row["recipient"], row["channel"])
        if key not in seen:
            seen.add(key)
            batch.append(row)
            kept.append(outcome)
    new = insert_ignore(db_session, Delivery, batch, ["source_id", "recipient", "channel"])
    if new == len(batch):
        return kept
    if new == 0:  # a redelivered event
        return []
    inserted = set(db_session.scalars(select(Delivery.id).where(
        Delivery.id.in_([r["id"] for r in batch]))))
    return [o for o, r in zip(kept, batch, strict=True) if r["id"] in inserted]


def deliver(*, db_session: Session, center_id: str, source_id: str, event_type: str | None,
            message: planner.Message, now: datetime, settings: Settings,
            directory: Directory | None = None) -> list[Outcome]:
    """Record the deliveries of one planned message: one per (recipient, channel), idempotent."""
    rows, outcomes = _delivery_rows(center_id=center_id, source_id=source_id, event_type=event_type,
                                    message=message, now=now, settings=settings,
                                    directory=directory or Directory(db_session))
    return _record_deliveries(db_session, rows, outcomes)


@dataclass(frozen=True)
class Planned:
    """What one event asks for (:func:`planner.plan_event`), with the event it came from."""

    center_id: str
    source_id: str
    event_type: str | None
    plan: planner.Plan


def apply_plan(*, db_session: Session, center_id: str, source_id: str, event_type: str | None,
               plan: planner.Plan, now: datetime, settings: Settings,
               directory: Directory | None = None) -> list[Outcome]:
    """Record a plan: its deliveries (one INSERT for all of them), and the reminders it
    schedules, moves or withdraws. Everything is read and rendered before the first write,
    so the transaction holds its locks only for the writes."""
    return apply_plans(db_session=db_session, planned=[Planned(center_id, source_id, event_type, plan)],
                       now=now, settings=settings, directory=directory)


def apply_plans(*, db_session: Session, planned: list[Planned], now: datetime, settings: Settings,
                directory: Directory | None = None) -> list[Outcome]:
    """Record the plans of several events as :func:`apply_plan` records one: the same rows,
    the deliveries of all of them in one INSERT, then their reminders in order."""
    directory = directory or Directory(db_session)
    rows: list[dict[str, Any]] = []
    outcomes: list[Outcome] = []
    for p in planned:
        for message in p.plan.messages:
            more_rows, more_outcomes = _delivery_rows(
                center_id=p.center_id, source_id=p.source_id, event_type=p.event_type,
                message=message, now=now, settings=settings, directory=directory)
            rows += more_rows
            outcomes += more_outcomes
    recorded = _record_deliveries(db_session, rows, outcomes)
    for p in planned:
        _apply_reminders(db_session, p.center_id, p.plan, now)
    return recorded


def _apply_reminders(db_session: Session, center_id: str, plan: planner.Plan, now: datetime) -> None:
    for r in plan.schedule:
        schedule_message(db_session=db_session, center_id=center_id, now=now, data={
            "key": r.key, "person_id": r.person_id, "kind": r.kind, "send_at": r.send_at,
            "data": r.data})
    for r in plan.reschedule:
        existing = _scheduled(db_session, center_id, r.key)
        if existing is not None and existing.state == "scheduled":
            existing.send_at, existing.data, existing.updated_at = r.send_at, r.data, now
    for key in plan.cancel:
        existing = _scheduled(db_session, center_id, key)
        if existing is not None and existing.state == "scheduled":
            existing.state, existing.updated_at = "cancelled", now


def claim_due(*, db_session: Session, now: datetime, limit: int, lease: timedelta) -> list[Delivery]:
    """Take due push deliveries (and ones whose sender died) for sending; caller commits."""
    rows = db_session.scalars(
        select(Delivery).where(or_(
            and_(Delivery.state == "pending", Delivery.next_attempt_at <= now),
            and_(Delivery.state == "sending", Delivery.lease_until < now),
        )).order_by(Delivery.next_attempt_at).limit(limit).with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.state, row.lease_until, row.attempts = "sending", now + lease, row.attempts + 1
    return list(rows)


@dataclass(frozen=True)
class Attempt:
    """How one send went: ``error`` None when it was handed over; ``at`` when it finished."""

    delivery_id: str
    error: str | None
    permanent: bool
    at: datetime


def record_attempts(*, db_session: Session, attempts: list[Attempt],
                    settings: Settings) -> list[Outcome | None]:
    """Record how sends went — sent, retried later (backoff), or failed with the reason — in
    one transaction for many; None for a delivery no longer being sent. Caller commits."""
    ids = sorted({a.delivery_id for a in attempts})
    rows = {r.id: r for r in db_session.scalars(
        select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id).with_for_update())}
    outcomes: list[Outcome | None] = []
    for attempt in attempts:
        row = rows.get(attempt.delivery_id)
        if row is None or row.state != "sending":
            outcomes.append(None)
            continue
        row.lease_until, error = None, attempt.error
        if error is None:
            row.state, row.sent_at, row.last_error = "sent", attempt.at, None
            outcome = "sent"
        elif attempt.permanent or row.attempts >= settings.max_attempts:
            row.state, row.last_error, row.next_attempt_at = "failed", error[:2000], None
            outcome = "failed"
        else:
            row.state, row.last_error = "pending", error[:2000]
            row.next_attempt_at = attempt.at + settings.backoff(row.attempts)
            outcome = "retried"
        outcomes.append(Outcome(row.center_id, row.channel, outcome))
    return outcomes


def record_attempt(*, db_session: Session, delivery_id: str, error: str | None, permanent: bool,
                   now: datetime, settings: Settings) -> Outcome | None:
    """Record how a send went: sent, retried later (backoff), or failed with the reason."""
    return record_attempts(db_session=db_session, settings=settings,
                           attempts=[Attempt(delivery_id, error, permanent, now)])[0]


def list_deliveries(*, db_session: Session, center_id: str,
                    query: dict[str, Any]) -> tuple[list[Delivery], int]:
    """The delivery log of a center, per person and/or per event, newest first."""
    where = [Delivery.center_id == center_id]
    if query.get("person_id"):
        where.append(Delivery.recipient == query["person_id"])
    if query.get("event_id"):
        where.append(Delivery.source_id == query["event_id"])
    for key in ("channel", "state"):
        if query.get(key):
            where.append(getattr(Delivery, key) == query[key])
    total = db_session.scalar(select(func.count()).select_from(Delivery).where(*where)) or 0
    items = db_session.scalars(select(Delivery).where(*where)
                               .order_by(Delivery.created_at.desc(), Delivery.id)
                               .limit(query["limit"]).offset(query["offset"])).all()
    return list(items), total


# -- inbox -----------------------------------------------------------------------------------

def _inbox_where(center_id: str, role: str, person_id: str) -> list:
    return [Delivery.center_id == center_id, Delivery.channel == "in_app", Delivery.state == "sent",
            or_(Delivery.recipient == person_id, Delivery.recipient == f"@{role}")]


def _inbox_item(d: Delivery, shared_read: datetime | None) -> dict[str, Any]:
    return {"id": d.id, "center_id": d.center_id, "audience": d.audience or "person",
            "person_id": d.person_id, "kind": d.event_type or "scheduled",
            "message_type": d.message_type, "critical": d.critical, "title": d.title,
            "body": d.body, "ref_type": d.ref_type, "ref_id": d.ref_id,
            "created_at": d.created_at, "read_at": d.read_at or shared_read}


def list_notifications(*, db_session: Session, center_id: str, role: str, person_id: str,
                       query: dict[str, Any]) -> tuple[list[dict[str, Any]], int, int]:
    """A person's inbox: messages to them and to their role's shared inbox; newest first."""
    join = and_(InboxRead.delivery_id == Delivery.id, InboxRead.person_id == person_id)
    where = _inbox_where(center_id, role, person_id)
    unread_clause = and_(Delivery.read_at.is_(None), InboxRead.read_at.is_(None))

    def count(*extra) -> int:
        return db_session.scalar(select(func.count()).select_from(Delivery)
                                 .outerjoin(InboxRead, join).where(*where, *extra)) or 0

    unread = count(unread_clause)
    if query.get("unread"):
        where.append(unread_clause)
    total = count()
    rows = db_session.execute(select(Delivery, InboxRead.read_at).outerjoin(InboxRead, join)
                              .where(*where).order_by(Delivery.created_at.desc(), Delivery.id)
                              .limit(query["limit"]).offset(query["offset"])).all()
    return [_inbox_item(d, read) for d, read in rows], total, unread


def unread_count(*, db_session: Session, center_id: str, role: str, person_id: str) -> int:
    _items, _total, unread = list_notifications(db_session=db_session, center_id=center_id,
                                                role=role, person_id=person_id,
                                                query={"limit": 1, "offset": 0})
    return unread


def mark_read(*, db_session: Session, center_id: str, role: str, person_id: str,
              notification_id: str) -> dict[str, Any]:
    """Mark one inbox message read, for this person only."""
    note = db_session.scalar(select(Delivery).where(
        Delivery.id == notification_id, *_inbox_where(center_id, role, person_id)))
    if note is None:
        raise NotificationNotFound()
    now = now_utc()
    shared = None
    if note.audience is None:
        if note.read_at is None:
            note.read_at = now
    else:
        mark = db_session.get(InboxRead, (note.id, person_id))
        if mark is None:
            mark = InboxRead(delivery_id=note.id, person_id=person_id, read_at=now)
            db_session.add(mark)
        shared = mark.read_at
    return _inbox_item(note, shared)


def mark_all_read(*, db_session: Session, center_id: str, role: str, person_id: str) -> int:
    """Mark every unread inbox message of this person read; returns how many."""
    now = now_utc()
    where = _inbox_where(center_id, role, person_id)
    own = db_session.execute(update(Delivery).where(
        *where, Delivery.audience.is_(None), Delivery.read_at.is_(None)).values(read_at=now)).rowcount
    shared_ids = db_session.scalars(
        select(Delivery.id).outerjoin(InboxRead, and_(InboxRead.delivery_id == Delivery.id,
                                                      InboxRead.person_id == person_id))
        .where(*where, Delivery.audience.is_not(None), InboxRead.read_at.is_(None))).all()
    insert_ignore(db_session, InboxRead, [{"delivery_id": i, "person_id": person_id, "read_at": now}
                                          for i in shared_ids], ["delivery_id", "person_id"])
    return (own or 0) + len(shared_ids)


# -- scheduled messages ----------------------------------------------------------------------

def _scheduled(db_session: Session, center_id: str, key: str) -> ScheduledMessage | None:
    return db_session.scalar(select(ScheduledMessage).where(
        ScheduledMessage.center_id == center_id, ScheduledMessage.key == key).with_for_update())


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def schedule_message(*, db_session: Session, center_id: str, data: dict[str, Any],
                     now: datetime | None = None) -> ScheduledMessage:
    """Ask for a message at a time; the same key again moves it (idempotent)."""
    now = now or now_utc()
    payload = _jsonable(data.get("data") or {})
    row = _scheduled(db_session, center_id, data["key"])
    if row is None:
        row = ScheduledMessage(id=str(uuid.uuid4()), center_id=center_id, key=data["key"],
                               created_at=now)
        _fill(row, data, payload, now)
        if db_session.get_bind().dialect.name != "postgresql":
            db_session.add(row)  # SQLite serialises writers: no race to lose
            return row
        try:
            with db_session.begin_nested():
                db_session.add(row)
            return row
        except IntegrityError:  # the same key arrived concurrently: it is there now
            row = _scheduled(db_session, center_id, data["key"])
            assert row is not None
    if row.state == "sent" and row.send_at == data["send_at"]:
        return row  # a repeat of a request already carried out
    _fill(row, data, payload, now)
    return row


def _fill(row: ScheduledMessage, data: dict[str, Any], payload: dict[str, Any], now: datetime) -> None:
    row.person_id, row.kind, row.send_at, row.data = data["person_id"], data["kind"], data["send_at"], payload
    row.state, row.error, row.sent_at, row.updated_at = "scheduled", None, None, now


def cancel_scheduled(*, db_session: Session, center_id: str, key: str) -> ScheduledMessage:
    """Withdraw a scheduled message; cancelling twice is fine, a sent one can't be."""
    row = _scheduled(db_session, center_id, key)
    if row is None:
        raise ScheduledMessageNotFound()
    if row.state == "sent":
        raise ScheduledConflict()
    if row.state == "scheduled":
        row.state, row.updated_at = "cancelled", now_utc()
    return row


def list_scheduled(*, db_session: Session, center_id: str,
                   query: dict[str, Any]) -> tuple[list[ScheduledMessage], int]:
    where = [ScheduledMessage.center_id == center_id]
    for key in ("person_id", "state"):
        if query.get(key):
            where.append(getattr(ScheduledMessage, key) == query[key])
    total = db_session.scalar(select(func.count()).select_from(ScheduledMessage).where(*where)) or 0
    items = db_session.scalars(select(ScheduledMessage).where(*where)
                               .order_by(ScheduledMessage.send_at, ScheduledMessage.id)
                               .limit(query["limit"]).offset(query["offset"])).all()
    return list(items), total


def send_due_scheduled(*, db_session: Session, now: datetime, settings: Settings,
                       limit: int = 100, directory: Directory | None = None) -> list[Outcome]:
    """Turn scheduled messages whose time has come into deliveries; caller commits."""
    rows = db_session.scalars(
        select(ScheduledMessage).where(ScheduledMessage.state == "scheduled",
                                       ScheduledMessage.send_at <= now)
        .order_by(ScheduledMessage.send_at).limit(limit).with_for_update(skip_locked=True)).all()
    outcomes: list[Outcome] = []
    for row in rows:
        message = planner.plan_scheduled(row.kind, row.person_id, row.data, row.key)
        source = f"sched:{row.id}:{int(row.send_at.timestamp())}"
        done = deliver(db_session=db_session, center_id=row.center_id, source_id=source,
                       event_type=None, message=message, now=now, settings=settings,
                       directory=directory)
        outcomes += done
        row.state, row.sent_at, row.updated_at = "sent", now, now
        failed = [o for o in done if o.outcome == "failed"]
        row.error = f"{len(failed)} 个渠道模板无法渲染" if failed else None
    return outcomes
