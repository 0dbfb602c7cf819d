"""Log formatting (logfmt or JSON).

Every field is rendered to text first (a ``SecretURL`` or ``SecretStr`` renders masked),
then passed through ``redact`` (registered secret values quoted by a library), and only then
escaped for its format: masking after escaping would miss a secret whose characters the
escaping changed (``"``, ``\\``, a newline, non-ASCII in JSON).
"""

from __future__ import annotations

import json
import logging
import sys
import time

from .redact import redact

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _text(v: object) -> object:
    """A field's value, safe to show: numbers and booleans as they are, everything else as
    redacted text (str() of the typed secrets is already masked)."""
    if v is None or isinstance(v, bool | int | float):
        return v
    return redact(str(v))


def _fields(record: logging.LogRecord) -> dict[str, object]:
    try:
        msg = record.getMessage()
    except (TypeError, ValueError):  # a bad format string must not lose the line
        msg = str(record.msg)
    out: dict[str, object] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
        "level": record.levelname.lower(),
        "logger": record.name.removeprefix("lucid_exporter."),
        "msg": _text(msg),
    }
    for k, v in vars(record).items():
        if k not in _STANDARD and not k.startswith("_"):
            out[k] = _text(v)
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            out["exc"] = _text(logging.Formatter().formatException(record.exc_info))
        elif "error" not in out:
            # A traceback only at --log.level=debug: otherwise the exception in one field.
            out["error"] = _text(f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
    return out


def _quote(v: object) -> str:
    s = str(v)
    if s == "" or any(c in s for c in ' ="\\\n\r\t'):
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'
    return s


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_quote(v)}" for k, v in _fields(record).items())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), default=str)


def setup(level: str = "info", fmt: str = "logfmt") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Library chatter (connection pools, retries) is noise at info level.
    for noisy in ("aiohttp.access", "pymongo", "elastic_transport", "urllib3", "docker", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
