"""What the service's config decides for telling people: default quiet hours, retries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from services.notify.channels import WebhookGuard


@dataclass(frozen=True)
class Settings:
    """Default quiet hours (Asia/Shanghai), the retry policies of people's messages and
    department webhooks, and where webhooks may go (``WEBHOOK_ALLOWED_HOSTS``)."""

    quiet_start: str = "22:00"
    quiet_end: str = "07:00"
    max_attempts: int = 6
    retry_base: float = 30.0
    retry_cap: float = 3600.0
    webhook_max_attempts: int = 8
    webhook_retry_base: float = 10.0
    webhook_retry_cap: float = 3600.0
    webhook_guard: WebhookGuard = field(default_factory=WebhookGuard)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Settings:
        value = config.get("QUIET_HOURS", "22:00-07:00")
        raw = (
            "off" if value is False else str(value or "22:00-07:00").strip()
        )  # YAML reads off as false
        start, _, end = raw.partition("-")
        if raw.lower() in (
            "off",
            "false",
            "no",
        ):  # nobody has default quiet hours (their own still apply)
            start = end = ""
        return cls(
            quiet_start=start.strip(),
            quiet_end=end.strip(),
            max_attempts=int(config.get("DELIVERY_MAX_ATTEMPTS", 6)),
            retry_base=float(config.get("DELIVERY_RETRY_BASE_SECONDS", 30)),
            retry_cap=float(config.get("DELIVERY_RETRY_MAX_SECONDS", 3600)),
            webhook_max_attempts=int(config.get("WEBHOOK_MAX_ATTEMPTS", 8)),
            webhook_retry_base=float(config.get("WEBHOOK_RETRY_BASE_SECONDS", 10)),
            webhook_retry_cap=float(config.get("WEBHOOK_RETRY_MAX_SECONDS", 3600)),
            webhook_guard=WebhookGuard.from_config(config),
        )

    def backoff(self, attempts: int) -> timedelta:
        """Exponential: base, 2·base, 4·base … capped."""
        return timedelta(seconds=min(self.retry_base * 2 ** max(attempts - 1, 0), self.retry_cap))

    def webhook_backoff(self, attempts: int) -> timedelta:
        return timedelta(
            seconds=min(self.webhook_retry_base * 2 ** max(attempts - 1, 0), self.webhook_retry_cap)
        )
