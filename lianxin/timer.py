"""A nameko timer whose interval comes from the service's config.

@timer("SLA_CHECK_SECONDS", default=30)
def check_sla(self): ...
"""

from __future__ import annotations

from nameko.timer import Timer


class ConfigTimer(Timer):
    """The one timer: its interval is the config value ``config_key`` (seconds), or
    ``default``. ``eager=True`` fires once at start too (nameko's ``eager``)."""

    interval: float

    def __init__(self, config_key: str, default: float, **kwargs: object) -> None:
        super().__init__(interval=default, **kwargs)
        self.config_key = config_key

    def setup(self) -> None:
        self.interval = float(self.container.config.get(self.config_key) or self.interval)
        super().setup()


timer = ConfigTimer.decorator
