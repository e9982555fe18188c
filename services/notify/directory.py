"""The directory: people's contact data (notify is its only owner), who can be reached, who a
planned message goes to, and what deliveries read — members by role and party, people's
profiles, the center's templates and alerting chain, its name — directly or through the
service's :class:`~services.notify.cache.ReadCache`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.notify.operations import (
    REACHING_CHANNELS,
    ContactChanges,
    ContactFilter,
    NewContact,
)
from lianxin.logs import mask_phone
from services.notify import plans
from services.notify.alerting import Chain, load_chain
from services.notify.cache import ReadCache, touch
from services.notify.exceptions import ContactNotFound
from services.notify.models import Contact, Preference, QuietHours, Template, page

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The contact field each push channel reaches a person at.
ADDRESS = {"sms": "phone", "wechat": "wechat_openid", "email": "email", "webhook": "webhook_url"}
_CONTACT_FIELDS = ("name", "role", "party", "phone", "email", "wechat_openid", "webhook_url")


def upsert_contact(*, db_session: Session, center_id: str, data: NewContact) -> Contact:
    """Add a person's contact data to the directory, or replace it."""
    contact = db_session.get(Contact, (center_id, data.person_id))
    if contact is None:
        contact = Contact(center_id=center_id, person_id=data.person_id)
        db_session.add(contact)
    touch(db_session, center_id)
    for key in _CONTACT_FIELDS:
        setattr(contact, key, getattr(data, key))
    contact.updated_at = now_utc()
    log.info(
        "directory: %s/%s saved (%s)",
        center_id,
        data.person_id,
        mask_phone(data.phone or "no phone"),
    )
    return contact


def update_contact(
    *,
    db_session: Session,
    center_id: str,
    person_id: str,
    data: ContactChanges,
    guard: Callable[[Contact], None] | None = None,
) -> Contact:
    """Change some fields of a person's contact data; ``guard`` is called with the locked
    row before the change (the ``If-Match`` check)."""
    contact = db_session.get(
        Contact, (center_id, person_id), with_for_update=True, populate_existing=True
    )
    if contact is None:
        raise ContactNotFound()
    if guard is not None:
        guard(contact)
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


def list_contacts(
    *, db_session: Session, center_id: str, query: ContactFilter
) -> tuple[list[Contact], int]:
    """A center's directory, by name, filtered by role and party."""
    where = [Contact.center_id == center_id]
    if query.get("role"):
        where.append(Contact.role == query["role"])
    if query.get("party"):
        where.append(Contact.party == query["party"])
    return page(
        db_session,
        Contact,
        where,
        (Contact.role, Contact.person_id),
        query["limit"],
        query["offset"],
    )


def delete_contact(*, db_session: Session, center_id: str, person_id: str) -> Contact:
    """Remove a person from the directory."""
    contact = get_contact(db_session=db_session, center_id=center_id, person_id=person_id)
    db_session.delete(contact)
    touch(db_session, center_id)
    return contact


def reaching_channels(contact: Any | None) -> list[str]:
    """The channels that reach a person themselves (phone, WeChat, e-mail) that ``contact``
    (a ``contacts`` row, or one with its fields) has an address for."""
    if contact is None:
        return []
    return [c for c in REACHING_CHANNELS if getattr(contact, ADDRESS[c])]


def check_reachable(*, db_session: Session, center_id: str, person_id: str) -> dict[str, Any]:
    """Whether the directory knows a person, and can reach them beyond the inbox."""
    contact = db_session.get(Contact, (center_id, person_id))
    channels = reaching_channels(contact)
    return {
        "person_id": person_id,
        "known": contact is not None,
        "reachable": bool(channels),
        "channels": channels,
    }


def resolve_recipients(
    *,
    db_session: Session,
    center_id: str,
    message: plans.Message,
    directory: Directory | None = None,
) -> list[str]:
    """Person ids a planned message goes to, and ``@<role>`` for a role's shared inbox.

    Those it names — persons, holders of its roles, its party's handlers, the center's
    groups — less ``exclude``. With a ``chain``, when none of them can be reached beyond the
    inbox, the first step of the chain that reaches someone is told too. When nobody is
    named, or nobody named nor on the chain can be reached, ``fallback_role``'s shared inbox
    has it as well: a message is never dropped."""
    directory = directory or Directory(db_session)
    people = list(message.persons)
    if message.roles or message.party:
        people += directory.members(center_id, message.roles, message.party)
    for group in message.groups:
        for step in _steps(directory, center_id, group):
            people += step
    chosen = [p for p in dict.fromkeys(people) if p not in message.exclude]
    reached = True
    if message.chain and not _reaches(directory, center_id, chosen):
        added = _first_reached(
            directory, center_id, message.chain, skip={*chosen, *message.exclude}
        )
        chosen += added
        reached = bool(added)
    if message.fallback_role and (not chosen or not reached):
        chosen.append(f"@{message.fallback_role}")
    return chosen


def _steps(directory: Directory, center_id: str, name: str) -> Iterator[list[str]]:
    """The people a step of a chain (or a group) names, as the steps it makes: the admins
    together, the fallback people one by one, the leadership together."""
    if name == plans.ADMINS:
        yield list(directory.members(center_id, ("admin",), None))
    elif name == plans.FALLBACK:
        for person in directory.chain(center_id).fallback_person_ids:
            yield [person]
    elif name == plans.LEADERSHIP:
        yield list(directory.chain(center_id).leadership_person_ids)
    else:
        raise ValueError(f"no such step of an alerting chain: {name}")


def _first_reached(
    directory: Directory, center_id: str, chain: tuple[str, ...], skip: set[str]
) -> list[str]:
    """The people of the first step of ``chain`` that reaches someone ([] if none does)."""
    for name in chain:
        for step in _steps(directory, center_id, name):
            added = [p for p in step if p not in skip]
            if _reaches(directory, center_id, added):
                return added
    return []


def _reaches(directory: Directory, center_id: str, people: list[str]) -> bool:
    """Whether any of ``people`` can be reached beyond the inbox."""
    profiles = directory.profiles(center_id, people)
    return any(reaching_channels(p.contact) for p in profiles.values())


# -- what deliveries read, cached by the service ---------------------------------------------


@dataclass(frozen=True)
class Profile:
    """How to reach one person: contact data (a ``contacts`` row, or None when the directory
    does not know them), preferences by message type, and their own quiet hours."""

    contact: Any | None
    preferences: dict[str, Any]
    quiet: Any | None


_CONTACT = select(
    Contact.person_id,
    Contact.name,
    Contact.role,
    Contact.party,
    Contact.phone,
    Contact.email,
    Contact.wechat_openid,
    Contact.webhook_url,
)
_PREFERENCE = select(
    Preference.person_id, Preference.message_type, Preference.channels, Preference.muted
)
_QUIET = select(QuietHours.person_id, QuietHours.start, QuietHours.end, QuietHours.enabled)


def load_members(
    *, db_session: Session, center_id: str, roles: tuple[str, ...], party: str | None
) -> tuple[str, ...]:
    """Ids of the center's people holding one of ``roles`` or handling for ``party``."""
    where: list[ColumnElement[bool]] = []
    if roles:
        where.append(Contact.role.in_(roles))
    if party:
        where.append(Contact.party == party)
    if not where:
        return ()
    return tuple(
        db_session.scalars(
            select(Contact.person_id)
            .where(Contact.center_id == center_id, or_(*where))
            .order_by(Contact.person_id)
        )
    )


def load_profiles(
    *, db_session: Session, center_id: str, person_ids: list[str]
) -> dict[str, Profile]:
    """The profiles of ``person_ids`` (every one of them, known to the directory or not)."""
    contacts = {
        r.person_id: r
        for r in db_session.execute(
            _CONTACT.where(Contact.center_id == center_id, Contact.person_id.in_(person_ids))
        )
    }
    prefs: dict[str, dict[str, Any]] = {p: {} for p in person_ids}
    for r in db_session.execute(
        _PREFERENCE.where(Preference.center_id == center_id, Preference.person_id.in_(person_ids))
    ):
        prefs[r.person_id][r.message_type] = r
    quiet = {
        r.person_id: r
        for r in db_session.execute(
            _QUIET.where(QuietHours.center_id == center_id, QuietHours.person_id.in_(person_ids))
        )
    }
    return {p: Profile(contacts.get(p), prefs[p], quiet.get(p)) for p in person_ids}


def load_templates(
    *, db_session: Session, center_id: str
) -> dict[tuple[str, str], tuple[str, str]]:
    """The center's own wordings: (message type, channel) → (title, body)."""
    return {
        (r.message_type, r.channel): (r.title, r.body)
        for r in db_session.execute(
            select(Template.message_type, Template.channel, Template.title, Template.body).where(
                Template.center_id == center_id
            )
        )
    }


class Directory:
    """What deliveries read about a center — members by role and party, people's profiles,
    the center's templates — from ``db_session``, or through the service's ``cache``.

    Cached entries are loaded on a session of their own, so they hold what was last
    committed, never this transaction's uncommitted view (see :mod:`services.notify.cache`).
    """

    def __init__(
        self,
        db_session: Session,
        cache: ReadCache | None = None,
        center_names: Callable[[str], str] | None = None,
    ):
        self.db_session = db_session
        self.cache = cache if cache is not None and cache.enabled else None
        self.center_names = center_names

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
            center_id,
            [("profile", p) for p in person_ids],
            lambda keys: {
                ("profile", p): v
                for p, v in self._load(
                    load_profiles, center_id=center_id, person_ids=[k[1] for k in keys]
                ).items()
            },
        )
        return {key[1]: profile for key, profile in found.items()}

    def templates(self, center_id: str) -> dict[tuple[str, str], tuple[str, str]]:
        def load() -> dict[tuple[str, str], tuple[str, str]]:
            return self._load(load_templates, center_id=center_id)

        if self.cache is None:
            return load()
        return self.cache.get(center_id, ("templates",), load)

    def chain(self, center_id: str) -> Chain:
        def load() -> Chain:
            return self._load(load_chain, center_id=center_id)

        if self.cache is None:
            return load()
        return self.cache.get(center_id, ("chain",), load)

    def center_name(self, center_id: str) -> str:
        """The center's name (from the tickets service, which owns centers), else its id."""
        return self.center_names(center_id) if self.center_names else center_id
