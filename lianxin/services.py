"""Where the services live, named by module path (the kit never imports them statically)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from lianxin.config import service_config

#: name → "module:Class", in start order (the gateway last, once the others listen).
SERVICES: dict[str, str] = {
    "accounts": "services.accounts.service:AccountsService",
    "tickets": "services.tickets.service:TicketsService",
    "volunteers": "services.volunteers.service:VolunteersService",
    "events": "services.events.service:EventsService",
    "notify": "services.notify.service:NotifyService",
    "reports": "services.reports.service:ReportsService",
    "gateway": "gateway.service:GatewayService",
}
#: The services that own a database (and so have migrations).
WITH_DATABASE = ("accounts", "tickets", "volunteers", "events", "notify")


def resolve(target: str) -> str:
    """Accept a short name (``tickets``) or a ``module:Class`` path."""
    return SERVICES.get(target, target)


def load_class(target: str) -> type:
    module_name, _, class_name = resolve(target).partition(":")
    if not class_name:
        raise ValueError(f"{target!r} is neither a service name nor module:Class")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)


def package_dir(target: str) -> Path:
    """The folder of the service's package (where ``config.yml`` and ``migrations/`` are)."""
    module_name = resolve(target).partition(":")[0]
    package = module_name.rsplit(".", 1)[0]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ValueError(f"cannot find package {package}")
    return Path(spec.origin).parent


def config_for(target: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    config = service_config(package_dir(target))
    config.update(overrides or {})
    return config
