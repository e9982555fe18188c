"""The accounts service's side of the ``lianxin`` command, run on the server where its
database is (the issuer's private keys are there, and nowhere else):

    lianxin account add --center yanminghu --person sw-4 --role staff --party social_work
    lianxin account reset --center yanminghu --account sw-4
    lianxin token --center yanminghu --role admin          # a token for scripts

and the demo center's accounts, made by ``lianxin seed`` with the development password.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxin import auth
from lianxin.clock import now_utc
from lianxin.config import service_config
from lianxin.contracts.accounts.operations import NewAccount
from lianxin.db import make_engine, make_session_factory, transaction
from lianxin.errors import LianxinError
from lianxin.roles import ALL_CENTERS, PARTIES, ROLES, Principal
from services.accounts import keyring, passwords, registry
from services.accounts.models import Account

#: Who the command acts as in the audit log.
CLI = Principal("lianxin-cli", "ops", (ALL_CENTERS,))


def _config() -> dict[str, Any]:
    from pathlib import Path

    return service_config(Path(__file__).parent)


@contextmanager
def accounts_db(url: str | None = None) -> Iterator[Session]:
    """A transaction on the accounts database (committed when the block ends)."""
    engine = make_engine(url or _config()["DB_URL"], pool_size=1)
    try:
        with make_session_factory(engine)() as session, transaction(session):
            yield session
    finally:
        engine.dispose()


def mint(url: str | None = None, **claims: Any) -> str:
    """A token signed with the issuer's current key (see :func:`lianxin.auth.claims_for`)."""
    config = _config()
    with accounts_db(url) as session:
        key = keyring.active(
            session,
            now=now_utc(),
            rotate_after=timedelta(days=float(config.get("KEY_ROTATE_DAYS", 30))),
            overlap=timedelta(seconds=float(config.get("KEY_OVERLAP_SECONDS", 1800))),
        )
    return auth.issue(key, **claims)


def seed_accounts(center_id: str, people: Iterable[dict[str, Any]]) -> list[str]:
    """An account with the development password for each of the demo center's staff and
    admins (``login`` = person id), unless it exists. The account names made."""
    made = []
    now = now_utc()
    with accounts_db() as session:
        for person in people:
            if person["role"] not in ("staff", "admin"):
                continue
            exists = session.scalars(
                select(Account).where(
                    Account.center_id == center_id, Account.login == person["person_id"]
                )
            ).first()
            if exists is not None:
                continue
            data = NewAccount(
                person_id=person["person_id"],
                role=person["role"],
                login=person["person_id"],
                party=person.get("party"),
                password=passwords.DEV_PASSWORD,
                centers=None,
            )
            done = registry.create(
                session, center_id=center_id, data=data, actor=CLI, public_url="", now=now
            )
            done.account.dev_password = True
            made.append(person["person_id"])
    return made


@click.group()
def account() -> None:
    """Accounts of a center's staff (and of departments and ops)."""


@account.command("add")
@click.option("--center", "centers", multiple=True, required=True, help="Center id (* for ops).")
@click.option("--person", "person_id", required=True, help="The person's id in the directory.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--party", default=None, type=click.Choice(PARTIES), help="A party's staff.")
@click.option("--login", default=None, help="The account name (账号); default: the person id.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def add(
    centers: tuple[str, ...],
    person_id: str,
    role: str,
    party: str | None,
    login: str | None,
    password_stdin: bool,
) -> None:
    """Add an account; without --password-stdin, print an invitation link instead."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    across = role in ("department", "ops")
    data = NewAccount(
        person_id=person_id,
        role=role,
        login=login,
        party=party,
        password=password,
        centers=list(centers) if across else None,
    )
    home = centers[0] if not across else ALL_CENTERS
    try:
        with accounts_db() as session:
            made = registry.create(
                session,
                center_id=home,
                data=data,
                actor=CLI,
                public_url=str(_config().get("PUBLIC_URL") or ""),
                now=now_utc(),
            )
            login_name, url = made.account.login, made.invitation_url
    except LianxinError as exc:
        raise click.ClickException(_readable(exc)) from None
    click.echo(f"账号 {login_name} 已创建")
    if url:
        click.echo(f"邀请链接（72小时内有效，仅一次）：{url}")


@account.command("reset")
@click.option("--center", required=True)
@click.option("--account", "login", required=True, help="The account name.")
def reset(center: str, login: str) -> None:
    """Reset an account's password: its sessions end; print the link to set a new one."""
    try:
        with accounts_db() as session:
            found = session.scalars(
                select(Account).where(
                    Account.center_id.in_([center, ALL_CENTERS]), Account.login == login
                )
            ).first()
            if found is None:
                raise click.ClickException(f"{center} 没有账号 {login}")
            made = registry.reset(
                session,
                center_id=center,
                account=found,
                actor=CLI,
                public_url=str(_config().get("PUBLIC_URL") or ""),
                now=now_utc(),
            )
            url = made.invitation_url
    except LianxinError as exc:
        raise click.ClickException(_readable(exc)) from None
    click.echo(f"设置新密码的链接（72小时内有效，仅一次）：{url}")


def _readable(exc: LianxinError) -> str:
    fields = "；".join(f"{k}: {'、'.join(map(str, v))}" for k, v in (exc.fields or {}).items())
    return f"{exc.detail}（{fields}）" if fields else exc.detail
