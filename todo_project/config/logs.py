"""JSON log lines on stderr, each carrying the id of the request being served."""

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

from config.tracing import current_ids

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# No line shows the caller's file, line or function, so logging is told not to walk the stack for them (Python's
# logging HOWTO, "Optimization"; the fields keep placeholders of their types). The process and thread stay: gunicorn's
# own lines print the process id with %d.
logging._srcfile = None

# Attributes every LogRecord has; anything else was passed through `extra=` and belongs in the line.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class RequestIdFilter(logging.Filter):
    """Put the current request id on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        # Beside the request id, the trace's: a log line leads to its trace, and a trace to its log lines.
        record.trace_id, record.span_id = current_ids()
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(
            (key, value) for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES and key != "message"
        )
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode(line)


# json.dumps(line, default=str) without building an encoder for every line.
_encode = json.JSONEncoder(default=str).encode
