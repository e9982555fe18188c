"""Database access for services: engines, sessions, and the nameko provider.

SQLite (the embedded default) runs with WAL and a busy timeout; transactions
must stay short because the sqlite3 driver blocks the whole eventlet hub while
it waits. PostgreSQL runs through psycopg2 with psycogreen's wait callback, so
a query yields to other green threads instead of stalling the process.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from weakref import WeakKeyDictionary

from eventlet import patcher
from nameko.extensions import DependencyProvider
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from lianxin.errors import Unavailable

log = logging.getLogger(__name__)
_select = patcher.original("select")

#: nameko's default worker pool; the connection pool must never be smaller.
DEFAULT_MAX_WORKERS = 10


def _green_psycopg2() -> None:
    """Make psycopg2 cooperate with eventlet (idempotent)."""
    from psycogreen.eventlet import patch_psycopg

    patch_psycopg()


def make_engine(
    url: str, *, pool_size: int = DEFAULT_MAX_WORKERS + 4, echo: bool = False
) -> Engine:
    """Build an engine for ``url`` tuned for green threads."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"timeout": 5, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg2":
            raise ValueError(
                f"use postgresql+psycopg2:// (got {parsed.drivername}): psycopg2 is the driver "
                "proven green under eventlet here"
            )
        _green_psycopg2()
        engine = create_engine(
            url,
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size // 2,
            pool_recycle=1800,
        )
        _check_on_checkout(engine)
        return engine
    return create_engine(url, echo=echo)


#: A pooled PostgreSQL connection checked in less than this long ago, whose socket holds
#: nothing unread, is handed out without a ping (HikariCP's "alive bypass window"); one
#: idle longer is pinged first.
PING_AFTER_IDLE_SECONDS = 2.0


def _check_on_checkout(engine: Engine) -> None:
    """Hand out only live connections, as ``pool_pre_ping`` does, without its round trip
    (``SELECT 1``: a third of notify's statements at intake's rate) on every checkout.

    A server that restarts or ends a backend (``pg_terminate_backend``, a failover) sends
    its goodbye and closes the socket: the socket turns readable, which costs no round trip
    to see. Such a connection, one the driver knows is closed, or one idle for
    :data:`PING_AFTER_IDLE_SECONDS` (what a silent network drop could have taken) is pinged;
    a failed ping makes the pool replace it (``DisconnectionError``). What a connection in
    use loses meanwhile fails its query, which :func:`unreachable` turns into a retry."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record) -> None:
        record.info["lianxin_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy) -> None:
        since = record.info.pop("lianxin_idle_since", None)
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            if not dbapi_conn.closed and not _readable(dbapi_conn):
                return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise sa_exc.DisconnectionError(f"pooled connection is gone: {exc}") from exc


def _readable(dbapi_conn) -> bool:
    """Whether an idle connection's socket has something to read (or is closed): from a
    server that ended the session, its goodbye. The real ``select.poll`` (eventlet's green
    ``select`` has none), with no wait."""
    poller = _select.poll()
    poller.register(dbapi_conn.fileno(), _select.POLLIN | _select.POLLERR | _select.POLLHUP)
    return bool(poller.poll(0))


class DatabaseUnavailable(Unavailable):
    """The service's database could not be reached (restarting, failed over): try again."""

    code = "DATABASE_UNAVAILABLE"
    default_detail = "数据库暂时不可用，请稍后再试"


def unreachable(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the database could not be reached or the connection broke —
    a transient fault, not a refusal (a query error or a constraint is neither)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.DisconnectionError | sa_exc.InterfaceError):
        return True
    return isinstance(exc, sa_exc.OperationalError) and _says_unreachable(exc)


#: What PostgreSQL and psycopg2 say when the server is gone or going (not SQLite's "locked").
_UNREACHABLE = (
    "server closed the connection",
    "connection refused",
    "could not connect",
    "terminating connection",
    "the database system is starting up",
    "the database system is shutting down",
    "connection already closed",
    "ssl connection has been closed",
    "no connection to the server",
)


def _says_unreachable(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(phrase in text for phrase in _UNREACHABLE)


def as_unavailable(exc_info):
    """``exc_info`` with an unreachable database (:func:`unreachable`) turned into
    :class:`DatabaseUnavailable` — what callers see: a 503 with Retry-After, never a 500."""
    if exc_info is None or not unreachable(exc_info[1]):
        return exc_info
    log.warning("database unreachable: %s", exc_info[1])
    error = DatabaseUnavailable(extra={"retry_after": 5})
    return (type(error), error, exc_info[2])


class UTCDateTime(TypeDecorator):
    """Stored in UTC, always returned timezone-aware (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every time is stored in UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: a committed object is dumped as it is, never reloaded.
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Commit what the block did, or roll it back the moment it raises. The one transaction
    helper: RPC entrypoints need none (they commit, and ``lianxin.rpc`` rolls back and
    closes the session before replying); relays, timers and scripts use this."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


@contextlib.contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A new session in one :func:`transaction`, closed afterwards."""
    session = factory()
    try:
        with transaction(session):
            yield session
    finally:
        session.close()


class Database(DependencyProvider):
    """A SQLAlchemy session per worker, from the container's ``DB_URL``.

    The engine is built in ``setup()`` (never at bind time); each worker gets a
    fresh session that is closed (and rolled back if left open) in teardown::

        class TicketsService:
            name = "tickets"
            db = Database(Base.metadata)

            @rpc
            def create_ticket(self, center_id, payload):
                ticket = domain.create(db_session=self.db, ...)
                self.db.commit()
    """

    def __init__(self, metadata: MetaData, url_key: str = "DB_URL"):
        self.metadata = metadata
        self.url_key = url_key
        self.sessions: WeakKeyDictionary = WeakKeyDictionary()
        self.engine: Engine | None = None
        self.Session: sessionmaker[Session] | None = None

    def setup(self) -> None:
        url = self.container.config[self.url_key]
        workers = int(self.container.config.get("max_workers", DEFAULT_MAX_WORKERS))
        self.engine = make_engine(url, pool_size=workers + 4)
        self.Session = make_session_factory(self.engine)

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def kill(self) -> None:
        self.stop()

    def session_for(self, worker_ctx) -> Session:
        """The worker's session, created on first use."""
        session = self.sessions.get(worker_ctx)
        if session is None:
            assert self.Session is not None, "Database used before setup()"
            session = self.sessions[worker_ctx] = self.Session()
        return session

    def get_dependency(self, worker_ctx) -> Session:
        return self.session_for(worker_ctx)

    def worker_teardown(self, worker_ctx) -> None:
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()

    def new_session(self) -> Session:
        """A session outside any worker (closed by its user)."""
        assert self.Session is not None, "Database used before setup()"
        return self.Session()

    def scope(self) -> contextlib.AbstractContextManager[Session]:
        """A short transaction outside any worker (relay, timers, checks)."""
        assert self.Session is not None, "Database used before setup()"
        return session_scope(self.Session)
