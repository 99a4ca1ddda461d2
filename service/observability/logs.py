"""Log lines that carry the request id; JSON lines with TEJUN_LOG_FORMAT=json.

Every log record gets a `request_id` attribute: the id of the request being served in this thread (the
`X-Request-ID` header the client or load balancer sent, or one made here), `-` outside requests (CLI, worker).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from contextvars import ContextVar
from datetime import UTC, datetime

request_id: ContextVar[str] = ContextVar("tejun_request_id", default="-")
# what a request id from outside may look like (a UUID, a trace id, a load balancer's id); anything else is replaced
_VALID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}


def incoming_or_new(header: str | None) -> str:
    if header and _VALID.fullmatch(header):
        return header
    return secrets.token_hex(8)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value if isinstance(value, str | int | float | bool | None) else repr(value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False)


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()
    if getattr(previous, "tejun_request_id", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = request_id.get()
        return record

    factory.tejun_request_id = True
    logging.setLogRecordFactory(factory)


def configure(log_format: str) -> None:
    """Request ids on every record; the root logger's own stream handlers write text or JSON lines.

    Only plain StreamHandlers (what logging.basicConfig made) are given the format: handlers that others
    installed (pytest's capture, gunicorn's own loggers) keep theirs.
    """
    _install_record_factory()
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler:
            handler.setFormatter(formatter)
