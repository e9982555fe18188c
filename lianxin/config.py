"""One YAML per service, with ``${VAR:default}`` substitution from the environment.

Secrets never live in the YAML files: they come from the environment only
(``${LIANXIN_SITE_KEY}`` with no default means "must be set or derived").
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

# A default may hold one level of braces: ${TICKETS_DB_URL:sqlite:///{var}/tickets.db}
_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<default>(?:[^{}]|\{[^{}]*\})*))?\}")

#: Root of the checkout / installed tree: the parent of the ``lianxin`` package.
ROOT = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    """Where local state (SQLite files, dev secret) lives: ``$LIANXIN_VAR_DIR`` or ``./var``."""
    path = Path(os.environ.get("LIANXIN_VAR_DIR") or Path.cwd() / "var")
    path.mkdir(parents=True, exist_ok=True)
    return path


def substitute(text: str, environ: dict[str, str] | None = None) -> str:
    """Replace every ``${VAR:default}`` in ``text``; an unset variable without default becomes ''."""
    env = os.environ if environ is None else environ

    def repl(match: re.Match[str]) -> str:
        value = env.get(match["name"])
        if value is None or value == "":
            value = match["default"] if match["default"] is not None else ""
        return value.replace("{var}", str(var_dir())) if "{var}" in value else value

    return _VAR.sub(repl, text)


def load_config(path: str | Path, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Load a service's YAML config with environment substitution applied."""
    text = Path(path).read_text(encoding="utf-8")
    return yaml.safe_load(substitute(text, environ)) or {}


def service_config(
    package_dir: str | Path, environ: dict[str, str] | None = None
) -> dict[str, Any]:
    """Load ``config.yml`` beside a service's package."""
    return load_config(Path(package_dir) / "config.yml", environ)
