"""Structured logs: one JSON object a line. Never message bodies or passwords."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

# Fields a caller may attach with ``extra=``; anything else is left out, so a body
# or a password passed by mistake never reaches a log file.
ALLOWED_FIELDS = (
    "bot",
    "room_id",
    "event_id",
    "user_id",
    "command",
    "part",
    "status",
    "attempt",
    "delay",
    "count",
    "url",
    "error",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in ALLOWED_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level: str = "INFO") -> None:
    """Send connec's logs as JSON lines to stderr; quiet the chatty libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("nio", "peewee", "aiohttp.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
