"""The ``lianxin`` command: run, migrate, seed, center, account, token, apikey, dead-letters."""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message="\\s*Eventlet is deprecated")  # known; see README

import eventlet  # noqa: E402

eventlet.monkey_patch()  # before anything opens a socket, as `nameko run` does

import importlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import click  # noqa: E402

from lianxin import logs  # noqa: E402
from lianxin.services import SERVICES, WITH_DATABASE  # noqa: E402

log = logging.getLogger("lianxin")

DEFAULT_AMQP = "pyamqp://guest:guest@127.0.0.1:5672/"


def amqp_uri() -> str:
    return os.environ.get("AMQP_URI") or DEFAULT_AMQP


def issuer() -> object:
    """The accounts service's commands (loaded by path, as the services are): tokens are
    signed, and accounts kept, where its database and private keys are."""
    return importlib.import_module("services.accounts.commands")


def mint(**claims: object) -> str:
    token: str = issuer().mint(**claims)  # type: ignore[attr-defined]
    return token


@click.group()
@click.option(
    "--log-level", default=lambda: os.environ.get("LOG_LEVEL", "INFO"), show_default="INFO"
)
def main(log_level: str) -> None:
    """连心桥 Lianxin: software for township Party-mass service centers."""
    logs.configure(log_level)


@main.command()
@click.argument("targets", nargs=-1)
@click.option(
    "--seed/--no-seed", default=False, help="Load the demo center once the services are up."
)
def run(targets: tuple[str, ...], seed: bool) -> None:
    """Run services in this process: TARGETS are names or module:Class (default: all six).

    A service whose container dies is restarted with back-off (1 s doubling to 30 s); SIGTERM
    or SIGINT drains and stops them all within SHUTDOWN_GRACE_SECONDS (20) and exits 0."""
    from lianxin import runner

    chosen = list(targets) or list(SERVICES)

    def started(containers: list) -> None:
        gateway = next((c for c in containers if c.service_name == "gateway"), None)
        if gateway is not None:
            address = gateway.config["WEB_SERVER_ADDRESS"]
            click.echo(
                f"连心桥 Lianxin is running: http://{address}/  "
                f"(API http://{address}/api/v1/openapi.json, health http://{address}/healthz)"
            )
        if seed:
            _seed(progress=True)

    try:
        runner.run(chosen, on_started=started)
    except runner.BrokerUnreachable as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.argument("services", nargs=-1)
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing: exit 0 when every named database is at the code's head, 1 otherwise.",
)
def migrate(services: tuple[str, ...], check: bool) -> None:
    """Apply every service's database migrations (or just SERVICES)."""
    from lianxin import migrate as kit_migrate

    names = services or WITH_DATABASE
    for name in names:
        if name not in WITH_DATABASE:
            raise click.BadParameter(f"{name}: one of {', '.join(WITH_DATABASE)}")
    if check:
        behind = [name for name in names if not _schema_current(name)]
        sys.exit(1 if behind else 0)
    for name in names:
        kit_migrate.upgrade(name)
        click.echo(f"migrated {name}")


def _schema_current(name: str) -> bool:
    """Says whether ``name``'s database is at the code's head (an unreachable one is not)."""
    from lianxin import migrate as kit_migrate

    try:
        applied, heads = kit_migrate.current_heads(name)
    except Exception as exc:  # the database is down or refuses us: not current, say why
        click.echo(f"{name}: cannot read the schema version ({type(exc).__name__}: {exc})")
        return False
    if applied == heads:
        click.echo(f"{name}: at head {', '.join(sorted(heads))}")
        return True
    click.echo(
        f"{name}: database at {', '.join(sorted(applied)) or 'nothing'}, "
        f"code at {', '.join(sorted(heads))}"
    )
    return False


@main.command()
def seed() -> None:
    """Create the demo center yanminghu (雁鸣湖镇镇区社区党群服务中心) and its data."""
    _seed(progress=True)


def _seed(progress: bool) -> None:
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ClusterRpcProxy
    from tqdm import tqdm

    from lianxin import auth
    from lianxin import seed as demo
    from lianxin.clock import now_utc
    from lianxin.errors import from_remote
    from lianxin.roles import ALL_CENTERS

    ops = mint(sub="lianxin-seed", role="ops", centers=[ALL_CENTERS], ttl=600)
    admin = mint(sub="lianxin-seed", role="admin", centers=[demo.DEMO_CENTER], ttl=600)
    config = {"AMQP_URI": amqp_uri()}
    with (
        ClusterRpcProxy(config, context_data={auth.CONTEXT_KEY: ops}, timeout=30) as as_ops,
        ClusterRpcProxy(config, context_data={auth.CONTEXT_KEY: admin}, timeout=30) as as_admin,
    ):

        def call(service: str, method: str, args: tuple) -> object:
            proxy = as_ops if method == "create_center" else as_admin
            try:
                return getattr(getattr(proxy, service), method)(*args)
            except RemoteError as exc:
                raise (from_remote(exc) or exc) from None

        bar = (lambda plan: tqdm(plan, desc="载入演示数据", unit="项")) if progress else iter
        counts = demo.run(call, today=now_utc(), progress=bar)
    logins = [p["person_id"] for p in demo.STAFF if p["role"] in ("staff", "admin")]
    made = issuer().seed_accounts(demo.DEMO_CENTER, demo.STAFF)  # type: ignore[attr-defined]
    click.echo(
        f"演示中心 {demo.DEMO_CENTER}：新建 {counts['created']} 项，已存在 {counts['skipped']} 项"
        f"；工作人员账号新建 {len(made)} 个"
    )
    password = importlib.import_module("services.accounts.passwords").DEV_PASSWORD
    click.echo(
        f"演示账号（开发密码 {password}，仅限开发环境）：{'、'.join(logins)}\n"
        f"  工作人员登录 /login ；居民、志愿者用手机号和短信验证码登录"
        f"（验证码见 var/notify-sandbox/sms.jsonl）"
    )


@main.command()
@click.option(
    "--center",
    "centers",
    multiple=True,
    required=True,
    help="Center id (repeatable; * for every center, ops only).",
)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["resident", "volunteer", "staff", "admin", "department", "ops"]),
)
@click.option("--sub", default=None, help="Subject (person id); default: <role>-cli.")
@click.option("--ttl", default=8 * 3600, show_default=True, help="Seconds the token is valid.")
@click.option(
    "--party",
    default=None,
    type=click.Choice(["property", "social_work", "owners_committee", "village_committee"]),
    help="Staff of one party (物业/社工/业委会/村支两委): acts only on its own tickets.",
)
def token(
    centers: tuple[str, ...], role: str, sub: str | None, ttl: int, party: str | None
) -> None:
    """Print a bearer JWT for ROLE at the center(s)."""
    import re

    from lianxin.contracts.schema import CENTER_ID_RE
    from lianxin.roles import ALL_CENTERS

    for center in centers:
        if center != ALL_CENTERS and not re.match(CENTER_ID_RE, center):
            raise click.BadParameter(f"{center!r} is not a center id", param_hint="--center")
        if center == ALL_CENTERS and role != "ops":
            raise click.BadParameter("only ops may hold every center", param_hint="--center")
    if party and role != "staff":
        raise click.BadParameter("only staff belong to a party", param_hint="--party")
    click.echo(
        mint(sub=sub or f"{role}-cli", role=role, centers=list(centers), ttl=ttl, party=party)
    )


@main.command()
@click.option("--center", required=True, help="The center (Open311 jurisdiction_id).")
@click.option("--name", required=True, help="Who the key is for, e.g. the county hotline.")
def apikey(center: str, name: str) -> None:
    """Create an Open311 API key for a client of CENTER and print it (shown only once)."""
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ClusterRpcProxy

    from lianxin import auth
    from lianxin.errors import from_remote

    # Keys are the center admin's to make (the CLI acts as that admin on the server).
    token = mint(sub="lianxin-cli", role="admin", centers=[center], ttl=300)
    with ClusterRpcProxy(
        {"AMQP_URI": amqp_uri()}, context_data={auth.CONTEXT_KEY: token}, timeout=30
    ) as rpc:
        try:
            created = rpc.tickets.create_api_key(center, {"name": name})
        except RemoteError as exc:
            error = from_remote(exc)
            raise click.ClickException(error.detail if error else str(exc)) from None
    click.echo(created["api_key"])


@main.group()
def center() -> None:
    """Centers of this deployment: onboard one from a template center, list them."""


def _as_ops(method: str, *args: object, timeout: float = 90) -> object:
    """Call a tickets operation as ops (a short-lived token minted here, on the server)."""
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ClusterRpcProxy

    from lianxin import auth
    from lianxin.errors import LianxinError, from_remote
    from lianxin.roles import ALL_CENTERS

    token = mint(sub="lianxin-cli", role="ops", centers=[ALL_CENTERS], ttl=300)
    with ClusterRpcProxy(
        {"AMQP_URI": amqp_uri()}, context_data={auth.CONTEXT_KEY: token}, timeout=timeout
    ) as rpc:
        try:
            return getattr(rpc.tickets, method)(*args)
        except RemoteError as exc:
            error = from_remote(exc)
            if error is None:
                raise click.ClickException(str(exc)) from None
            raise click.ClickException(_readable(error)) from None
        except LianxinError as exc:
            raise click.ClickException(_readable(exc)) from None


def _readable(exc: object) -> str:
    detail = str(getattr(exc, "detail", exc))
    fields = getattr(exc, "fields", None) or {}
    named = "；".join(f"{k}: {'、'.join(map(str, v))}" for k, v in fields.items())
    return f"{detail}（{named}）" if named else detail


@center.command("create")
@click.option("--id", "center_id", required=True, help="The new center's id (e.g. fenghuangtai).")
@click.option("--name", required=True, help="Its name (e.g. 凤凰台街道党群服务中心).")
@click.option("--address", default="", help="Its address.")
@click.option(
    "--from", "template", default="yanminghu", show_default=True, help="The template center."
)
@click.option(
    "--admin-person", default=None, help="The first admin's person id (default: ID-admin)."
)
@click.option(
    "--admin-name", default="中心管理员", show_default=True, help="The first admin's name."
)
@click.option("--admin-phone", default=None, help="The first admin's mobile number.")
@click.option("--admin-login", default=None, help="The first admin's account name (账号).")
def center_create(
    center_id: str,
    name: str,
    address: str,
    template: str,
    admin_person: str | None,
    admin_name: str,
    admin_phone: str | None,
    admin_login: str | None,
) -> None:
    """Onboard a center from a template center; print the first admin's invitation link."""
    payload = {
        "id": center_id,
        "name": name,
        "address": address,
        "from": template,
        "admin": {
            "person_id": admin_person or f"{center_id}-admin",
            "name": admin_name,
            "phone": admin_phone,
            "login": admin_login,
        },
    }
    made: dict = _as_ops("onboard_center", payload)  # type: ignore[assignment]
    copied = "、".join(f"{kind} {n}" for kind, n in sorted(made.get("copied", {}).items()))
    click.echo(f"服务中心 {center_id}（{name}）已开通，自 {template} 复制：{copied}")
    click.echo(f"首位管理员账号 {made.get('admin_login')}")
    click.echo(f"邀请链接（72小时内有效，仅一次）：{made.get('invitation_url')}")


@center.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
def center_list(as_json: bool) -> None:
    """Every center, with its status."""
    found: list = _as_ops("list_centers", {})  # type: ignore[assignment]
    for item in found:
        if as_json:
            click.echo(json.dumps(item, ensure_ascii=False))
        else:
            status = "已停用" if item.get("status") == "disabled" else "启用"
            click.echo(f"{item['id']:<24} {status:<4} {item['name']}")
    if not as_json:
        click.echo(f"{len(found)} 个服务中心")


@main.command("dead-letters")
@click.option("--limit", default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.option("--replay", is_flag=True, help="Move them back onto their original exchange.")
def dead_letters(limit: int, as_json: bool, replay: bool) -> None:
    """List dead-lettered messages with the reason each could not be processed."""
    from lianxin import deadletters

    uri = amqp_uri()
    if replay:
        click.echo(f"replayed {deadletters.replay(uri, limit)} message(s)")
        return
    items = deadletters.peek(uri, limit)
    if as_json:
        for item in items:
            click.echo(json.dumps(item, ensure_ascii=False, default=str))
        return
    if not items:
        click.echo("no dead letters")
        return
    for item in items:
        click.echo(
            f"{item.get('failed-at', '?')}  {item.get('service', '?')}  "
            f"{item.get('event-type', '-')}  {item.get('event-id', '-')}\n"
            f"    queue:  {item.get('queue', '?')}\n    reason: {item.get('reason', '?')}"
        )
    click.echo(f"{len(items)} dead letter(s)")


class IssuerCommands(click.Group):
    """``lianxin account ...``: the accounts service's commands, loaded when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names: list[str] = issuer().account.list_commands(ctx)  # type: ignore[attr-defined]
        return names

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found: click.Command | None = issuer().account.get_command(ctx, name)  # type: ignore[attr-defined]
        return found


main.add_command(
    IssuerCommands("account", help="Accounts of a center's staff (and of departments and ops).")
)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
