"""Settling an intake request whose answer the gateway stopped waiting for.

A gateway that times out on ``create_tickets`` does not know whether the ticket was stored:
the request may still sit in the queue, be running, or be done with its reply lost. Were it
to answer 504, a client retrying would make a duplicate. So the gateway gives every intake
request a key of its own (``request_key``, random, never reused) and, when its wait ends,
asks :func:`settle` for that key's outcome, then answers honestly: 201 with the ticket if
it was stored, 503 if not — and "not" is made final, because settling a key that nothing
has claimed claims it as *abandoned*, and intake (:func:`claim`) stores nothing for an
abandoned key.

Both sides insert into ``intake_claims`` under the key as primary key with ``ON CONFLICT DO
NOTHING``, so exactly one wins, whichever commits first: on PostgreSQL the second waits for
the first's commit and then finds its row; on SQLite writers are serialised. Claims are kept
:data:`KEEP` (pruned by the tickets service's timer): far longer than any gateway waits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lianxin.bulk import defer_rows, insert_rows
from lianxin.clock import now_utc
from lianxin.errors import Unavailable
from services.tickets.models import IntakeClaim, Ticket

#: How long a request's outcome is kept.
KEEP = timedelta(days=1)
#: What an abandoned request's answer tells the client to wait before trying again.
RETRY_AFTER_SECONDS = 5


class IntakeAbandoned(Unavailable):
    """A late copy of a request the gateway already answered "not taken in" (503)."""

    code = "INTAKE_ABANDONED"
    default_detail = "本次提交已超时作废，未受理，请重新提交"

    def __init__(self, detail: str | None = None, **kwargs: Any):
        # A client that meets it (a redelivered copy answered to a waiting gateway) is told
        # when to try again, as for the gateway's own INTAKE_NOT_TAKEN.
        kwargs.setdefault("extra", {"retry_after": RETRY_AFTER_SECONDS})
        super().__init__(detail, **kwargs)


def _insert_missing(db_session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the claims whose key is new; the keys inserted."""
    if not rows:
        return set()
    # On the connection, not through the session: an ORM entity's INSERT takes the ORM's
    # bulk path, which cost intake more than the statement itself.
    inserted = insert_rows(
        db_session.connection(),
        IntakeClaim,
        rows,
        on_conflict=["request_key"],
        returning="request_key",
    )
    return set(inserted or ())


def claim(
    *, db_session: Session, tickets: Sequence[tuple[str, str, str]], now: datetime | None = None
) -> set[str]:
    """Claim ``(request_key, center_id, ticket_id)`` for tickets stored in this transaction;
    the keys claimed. A key left out was settled as abandoned first: its ticket must not be
    stored."""
    at = now or now_utc()
    return _insert_missing(
        db_session,
        [dict(request_key=k, center_id=c, ticket_id=t, at=at) for k, c, t in tickets],
    )


def claim_later(
    *, db_session: Session, tickets: Sequence[tuple[str, str, str]], now: datetime | None = None
) -> None:
    """Claim as :func:`claim` does, without waiting to know: the claims go with the
    transaction's deferred INSERTs (``lianxin.bulk.defer_rows``: one round trip with the
    tickets), as a plain INSERT. A key already settled as abandoned (rare: its gateway
    gave up waiting) makes that INSERT fail with ``IntegrityError``; the caller then rolls
    back and takes the batch in again with :func:`claim`, which drops it."""
    at = now or now_utc()
    defer_rows(
        db_session,
        IntakeClaim,
        [dict(request_key=k, center_id=c, ticket_id=t, at=at) for k, c, t in tickets],
    )


def settle(
    *, db_session: Session, center_id: str, request_key: str, now: datetime | None = None
) -> Ticket | None:
    """The ticket stored for ``request_key``, or ``None`` — and then never: the key is
    claimed as abandoned, so a copy of the request still on its way stores nothing. The
    caller commits."""
    if _insert_missing(
        db_session,
        [dict(request_key=request_key, center_id=center_id, ticket_id=None, at=now or now_utc())],
    ):
        return None
    ticket_id = db_session.scalar(
        select(IntakeClaim.ticket_id).where(
            IntakeClaim.request_key == request_key, IntakeClaim.center_id == center_id
        )
    )
    return db_session.get(Ticket, ticket_id) if ticket_id else None


def prune(*, db_session: Session, now: datetime | None = None) -> int:
    """Forget outcomes older than :data:`KEEP`; how many. The caller commits."""
    result = db_session.execute(
        delete(IntakeClaim).where(IntakeClaim.at < (now or now_utc()) - KEEP)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
