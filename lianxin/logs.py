"""Structured logs: one JSON object per line, with the call id / event id of the worker."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import UTC, datetime

#: Green-thread-local (eventlet patches ``threading``): the worker a log line belongs to.
current = threading.local()

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def mask_phone(text: str) -> str:
    """138****5678: logs never carry a whole mobile number."""
    return _PHONE.sub(r"\1****\2", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_phone(record.getMessage()),
        }
        for key in ("request_id", "call_id", "event_id", "service"):
            value = getattr(record, key, None) or getattr(current, key, None)
            if value:
                out[key] = value
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc"] = mask_phone(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


def configure(level: str = "INFO", stream=sys.stderr) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # nameko logs every worker's setup at DEBUG and expected errors at WARNING with
    # a traceback; keep them out of INFO-level production logs.
    logging.getLogger("nameko").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("nameko.containers").setLevel(logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # py-amqp warns about confirms arriving while nameko closes a publish channel: harmless.
    logging.getLogger("amqp").setLevel(logging.ERROR)
