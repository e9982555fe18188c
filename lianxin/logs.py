"""Structured logs: one JSON object per line, with the call id / event id / request id of the
worker and the id of the trace the line belongs to (``trace_id``: :mod:`lianxin.tracing`)."""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime

from lianxin.privacy import mask
from lianxin.tracing import current_trace_id

#: Green-thread-local (eventlet patches ``threading``): the worker a log line belongs to.
current = threading.local()


def mask_phone(text: str) -> str:
    """138****5678: logs never carry a whole phone or ID number (:func:`lianxin.privacy.mask`)."""
    return mask(text)


class MaskFilter(logging.Filter):
    """Masks phone and ID numbers in every record's message, whatever formats it.

    Installed on the handler :func:`configure` makes (a logger's filter would miss records
    of its children). The message is rendered once here and the record keeps the result, so
    a formatter doesn't render it again; a message without seven digits in a row costs one
    short regex search.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask(record.getMessage()), None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            # MaskFilter has masked it on the way in; a record formatted without passing the
            # handler's filter (caplog, a second handler) is masked here.
            "message": mask(record.getMessage()),
        }
        for key in ("request_id", "call_id", "event_id", "service"):
            value = getattr(record, key, None) or getattr(current, key, None)
            if value:
                out[key] = value
        trace_id = current_trace_id()
        if trace_id:
            out["trace_id"] = trace_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc"] = mask(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


def configure(level: str = "INFO", stream=sys.stderr) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(MaskFilter())
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
