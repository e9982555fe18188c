"""The one Alembic environment; each service brings only its versions folder and metadata."""

from alembic import context

from lianxin.migrate import run_env

run_env(context.config.attributes["target_metadata"])
