"""The sim's own log lines (logfmt or JSON on stderr): what it does with faults and containers.

The sim logs nothing secret (its token key is public), so it needs none of the exporter's redaction.
"""

from __future__ import annotations

import json
import logging
import sys
import time


def _fields(record: logging.LogRecord) -> dict[str, str]:
    return {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}


def _quote(v: str) -> str:
    if v == "" or any(c in v for c in ' ="\n\t'):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return v


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_quote(v)}" for k, v in _fields(record).items())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record))


def setup(level: str = "info", fmt: str = "logfmt") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiohttp.access", "pymongo", "urllib3", "docker", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
