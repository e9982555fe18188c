"""The issuer's side of tokens: the key that signs now and the JWKS, read outside any
worker (the service's own :class:`~lianxin.auth.Caller` verifies with them), and the
production guard that refuses to start while an account has the demo password."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy import func, select

from lianxin.clock import now_utc
from lianxin.db import make_engine, make_session_factory, transaction
from lianxin.keys import Fetch, SigningKey
from services.accounts import keyring
from services.accounts.models import Account


def jwks_reader(config: dict[str, Any]) -> Fetch:
    """The issuer's own JWKS, from its database (what its ``Caller`` verifies with)."""
    factory = make_session_factory(make_engine(config["DB_URL"], pool_size=2))

    def fetch() -> dict[str, Any]:
        with factory() as session, transaction(session):
            return keyring.jwks(session, now=now_utc())

    return fetch


class Issuer(DependencyProvider):
    """Settings of signing and sessions, and the key that signs now::

    key = self.issuer.signing_key(self.db)
    """

    def setup(self) -> None:
        config = self.container.config
        self.rotate_after = timedelta(days=float(config.get("KEY_ROTATE_DAYS", 30)))
        self.overlap = timedelta(seconds=float(config.get("KEY_OVERLAP_SECONDS", 1800)))
        self.access_ttl = int(config.get("ACCESS_TTL_SECONDS", 600))
        self.public_url = str(config.get("PUBLIC_URL") or "http://127.0.0.1:8000")
        self.production = str(config.get("LIANXIN_ENV", "development")) == "production"
        if self.production:
            refuse_demo_password(config["DB_URL"])

    def get_dependency(self, worker_ctx: Any) -> Issuer:
        return self

    def signing_key(self, db_session: Any) -> SigningKey:
        return keyring.active(
            db_session, now=now_utc(), rotate_after=self.rotate_after, overlap=self.overlap
        )


class DemoPasswordInProduction(RuntimeError):
    """Raised at start (the container does not start) while ``LIANXIN_ENV=production`` and an
    active account still signs in with the development password."""


def refuse_demo_password(url: str) -> None:
    """``LIANXIN_ENV=production`` with an active account still on the demo password (the
    one ``make run`` prints): refuse to start, naming how many."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            count = conn.scalar(
                select(func.count())
                .select_from(Account)
                .where(Account.dev_password.is_(True), Account.status == "active")
            )
    finally:
        engine.dispose()
    if count:
        raise DemoPasswordInProduction(
            f"LIANXIN_ENV=production: {count} account(s) still use the demo password; "
            "reset them (lianxin account reset) or unset LIANXIN_ENV on a developer machine"
        )
