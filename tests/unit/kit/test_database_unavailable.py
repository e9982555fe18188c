"""An unreachable database is a transient fault callers see as 503 with Retry-After (and
event handlers wait out), not a crash: but a refusal by the database is not mistaken for it."""

import sys

from sqlalchemy import exc

from lianxin.db import DatabaseUnavailable, as_unavailable, unreachable


def wrapped(cls, message, invalidated=False):
    return cls("SELECT 1", {}, Exception(message), connection_invalidated=invalidated)


def test_a_server_gone_or_restarting_is_unreachable():
    for message in (
        "server closed the connection unexpectedly",
        'connection to server at "127.0.0.1", port 5432 failed: Connection refused',
        "FATAL:  the database system is starting up",
        "FATAL:  terminating connection due to administrator command",
    ):
        assert unreachable(wrapped(exc.OperationalError, message)), message
    assert unreachable(wrapped(exc.InterfaceError, "connection already closed"))
    assert unreachable(wrapped(exc.DBAPIError, "whatever", invalidated=True))


def test_a_refusal_by_the_database_is_not():
    assert not unreachable(wrapped(exc.OperationalError, "database is locked"))
    assert not unreachable(wrapped(exc.IntegrityError, "duplicate key value"))
    assert not unreachable(wrapped(exc.ProgrammingError, "column x does not exist"))
    assert not unreachable(ValueError("server closed the connection"))


def test_callers_get_a_503_with_retry_after():
    try:
        raise wrapped(exc.OperationalError, "server closed the connection unexpectedly")
    except exc.OperationalError:
        info = sys.exc_info()
    kind, error, _tb = as_unavailable(info)
    assert kind is DatabaseUnavailable and error.kind == "unavailable"
    assert error.code == "DATABASE_UNAVAILABLE" and error.extra == {"retry_after": 5}
    assert "数据库暂时不可用" in error.detail
    other = (ValueError, ValueError("x"), None)
    assert as_unavailable(other) is other and as_unavailable(None) is None
