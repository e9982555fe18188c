"""Alembic migrations, one history per service, applied by ``lianxin migrate``.

The Alembic environment (``env.py``, the revision template) lives once in
``lianxin/alembic``; each service keeps only ``migrations/versions/`` beside
its code and its metadata in ``models.Base``. The database URL is the
service's own ``DB_URL`` from its config, so it is never rebuilt elsewhere.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData

from lianxin.db import make_engine
from lianxin.services import config_for, package_dir, resolve

ENV_DIR = Path(__file__).resolve().parent / "alembic"


def metadata_of(service: str) -> MetaData:
    package = resolve(service).partition(":")[0].rsplit(".", 1)[0]
    return importlib.import_module(f"{package}.models").Base.metadata


def alembic_config(service: str, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ENV_DIR))
    cfg.set_main_option("version_locations", str(package_dir(service) / "migrations" / "versions"))
    cfg.set_main_option("sqlalchemy.url", (url or config_for(service)["DB_URL"]).replace("%", "%%"))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    cfg.attributes["target_metadata"] = metadata_of(service)
    return cfg


def upgrade(service: str, url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, url), revision)


def current_heads(service: str, url: str | None = None) -> tuple[set[str], set[str]]:
    """(revisions applied to the database, heads in the code)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = alembic_config(service, url)
    engine = make_engine(_url(cfg.get_main_option("sqlalchemy.url")), pool_size=1)
    try:
        with engine.connect() as conn:
            applied = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    return applied, set(ScriptDirectory.from_config(cfg).get_heads())


def revision(service: str, message: str) -> None:
    """Autogenerate a new revision for ``service`` (developers)."""
    command.revision(alembic_config(service), message=message, autogenerate=True)


def _url(url: str | None) -> str:
    if not url:
        raise ValueError("no database URL configured (sqlalchemy.url)")
    return url


def run_env(metadata: MetaData) -> None:
    """The body of ``lianxin/alembic/env.py``."""
    url = context.config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url(url), pool_size=1)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
