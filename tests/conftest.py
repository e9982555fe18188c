"""Fixtures every level of the suite shares, written once.

eventlet is monkey-patched first (as ``nameko run`` does): broker tests hang otherwise.
"""

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
import uuid  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

ROOT = Path(__file__).resolve().parent.parent


def _test_issuer():
    """The suite's own signing key: its public half in a JWKS file every service and the
    gateway started by a test verify with (``LIANXIN_JWKS_FILE``), its private half signs
    the ``token`` fixture's tokens. Tests of sign-in run the real accounts service instead
    (config ``JWKS_FILE: ""``: keys from the issuer)."""
    import json
    import tempfile

    from lianxin.keys import new_key

    key = new_key()
    folder = Path(tempfile.mkdtemp(prefix="lianxin-test-keys-"))
    (folder / "jwks.json").write_text(json.dumps({"keys": [key.public_jwk()]}))
    os.environ["LIANXIN_JWKS_FILE"] = str(folder / "jwks.json")
    os.environ.setdefault("LIANXIN_SITE_KEY", "test-site-key-" + "y" * 40)
    return key


TEST_KEY = _test_issuer()
PG_ADMIN_URL = os.environ.get("LIANXIN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DEMO = "yanminghu"


@pytest.fixture(autouse=True)
def _var_dir(tmp_path, monkeypatch):
    """Every test keeps its SQLite files and dev secrets in its own folder."""
    monkeypatch.setenv("LIANXIN_VAR_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


@pytest.fixture
def token():
    """``token(role, center="yanminghu", sub=None, party=None)`` → a signed bearer JWT
    (signed with the suite's key, :data:`TEST_KEY`)."""
    from lianxin import auth

    def make(
        role: str,
        center: str | list[str] = DEMO,
        sub: str | None = None,
        party: str | None = None,
        ttl: int = 3600,
    ) -> str:
        centers = [center] if isinstance(center, str) else center
        return auth.issue(
            TEST_KEY, sub=sub or f"{role}-1", role=role, centers=centers, party=party, ttl=ttl
        )

    return make


@pytest.fixture
def sqlite_url(tmp_path):
    """``sqlite_url(name)`` → a fresh SQLite file URL."""
    return lambda name: f"sqlite:///{tmp_path / 'db' / name}.db"


@pytest.fixture
def pg_database():
    """``pg_database()`` → URL of a new, empty PostgreSQL database (dropped afterwards)."""
    import psycopg2
    from sqlalchemy.engine import make_url

    created = []
    admin = psycopg2.connect(PG_ADMIN_URL)
    admin.autocommit = True

    def make() -> str:
        name = f"lianxin_test_{uuid.uuid4().hex[:10]}"
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg2", database=name)
        return url.render_as_string(hide_password=False)

    yield make
    with admin.cursor() as cur:
        for name in created:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def migrated():
    """``migrated(service, url)`` → ``url`` with the service's real migrations applied."""
    from lianxin import migrate

    def apply(service: str, url: str) -> str:
        migrate.upgrade(service, url)
        return url

    return apply


@pytest.fixture(scope="session")
def _migrated_templates(tmp_path_factory):
    """Each service's SQLite database with its real migrations applied, once per run."""
    from lianxin import migrate

    made: dict[str, Path] = {}

    def template(service: str) -> Path:
        if service not in made:
            path = tmp_path_factory.mktemp(f"{service}-template") / f"{service}.db"
            migrate.upgrade(service, f"sqlite:///{path}")
            made[service] = path
        return made[service]

    return template


@pytest.fixture
def service_session(_migrated_templates, tmp_path):
    """``service_session(service)`` → a SQLAlchemy session on a fresh copy of that service's
    migrated SQLite database (closed, engine disposed, afterwards). Unit tests of a domain
    build their ``db`` fixture on it."""
    import shutil

    from lianxin.db import make_engine, make_session_factory

    opened = []

    def make(service: str):
        path = tmp_path / "db" / f"{service}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_migrated_templates(service), path)
        engine = make_engine(f"sqlite:///{path}")
        session = make_session_factory(engine)()
        opened.append((session, engine))
        return session

    yield make
    for session, engine in opened:
        session.close()
        engine.dispose()


@pytest.fixture
def service_config(rabbit_config, sqlite_url, migrated):
    """``service_config(name, db_url=None, **overrides)`` → the container config of a service,
    on the test's own vhost and (by default) a migrated SQLite database."""
    from lianxin.services import WITH_DATABASE, config_for

    def make(name: str, db_url: str | None = None, **overrides) -> dict:
        config = config_for(
            name,
            {"AMQP_URI": rabbit_config["AMQP_URI"], "METRICS_PORT": 0, "OUTBOX_POLL_SECONDS": 0.2},
        )
        if name in WITH_DATABASE:
            config["DB_URL"] = migrated(name, db_url or sqlite_url(name))
        config.update(overrides)
        return config

    return make


@pytest.fixture
def rpc(rabbit_config):
    """``rpc(token)`` → a ClusterRpcProxy calling as the token's holder (closed afterwards)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from lianxin.auth import CONTEXT_KEY

    opened = []

    def make(bearer: str | None = None):
        data = {CONTEXT_KEY: bearer} if bearer else {}
        proxy = ClusterRpcProxy(
            {"AMQP_URI": rabbit_config["AMQP_URI"]}, context_data=data, timeout=15
        )
        opened.append(proxy)
        return proxy.start()

    yield make
    for proxy in opened:
        proxy.stop()


@pytest.fixture
def container_factory(request):
    """nameko's ``container_factory``, but the containers are killed *before* the broker vhost
    and the databases they use go away, all at once.

    nameko's own fixture kills its containers at its teardown, which comes after those of
    fixtures set up later — the per-test vhost, ``pg_database`` — so containers died with
    their broker connection and database already gone, and a kill once hung a run. Here the
    kill is registered on the test when the first container is made (after the fixtures its
    config needs): pytest runs it before their teardown. Containers are killed concurrently
    (each waits up to a second for its consumer loop), and a kill that still hangs is given
    up on after 30 s (logged) rather than stalling the suite.
    """
    import logging

    from nameko.containers import get_container_cls

    made = []
    log = logging.getLogger(__name__)

    def kill(container) -> None:
        try:
            container.kill()
        except Exception:
            log.warning("killing %s raised", container, exc_info=True)

    def kill_all() -> None:
        pool = eventlet.GreenPool()
        for container in made:
            pool.spawn(kill, container)
        with eventlet.Timeout(30, False):
            pool.waitall()
            return
        log.warning("gave up killing containers after 30 s: %s", made)

    def make(service_cls, config):
        if not made:
            request.node.addfinalizer(kill_all)
        made.append(get_container_cls(config)(service_cls, config))
        return made[-1]

    return make
