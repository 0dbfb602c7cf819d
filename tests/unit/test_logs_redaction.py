"""Log lines never carry a registered secret, whatever its characters: each field is redacted
before it is escaped for logfmt or JSON (escaping first would hide `"`, `\\`, a newline or `ü`
from the search)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from lucid_exporter import redact
from lucid_exporter.logs_setup import JsonFormatter, LogfmtFormatter
from lucid_exporter.urls import SecretURL

SECRET = 'pa"ss\\wo\nrd-ü/@:%#?'


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    redact.register(SECRET)
    yield
    redact.clear()


def record(msg: str, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("lucid_exporter.engine", logging.WARNING, __file__, 1, msg, None, None)
    for k, v in extra.items():
        setattr(rec, k, v)
    return rec


@pytest.mark.parametrize("formatter", [LogfmtFormatter(), JsonFormatter()], ids=["logfmt", "json"])
def test_a_secret_quoted_by_a_library_is_masked_before_escaping(formatter: logging.Formatter) -> None:
    line = formatter.format(record(f"login failed for {SECRET}", error=f"server said {SECRET!r} is wrong"))
    for form in (SECRET, json.dumps(SECRET)[1:-1], SECRET.replace("\\", "\\\\").replace('"', '\\"')
                 .replace("\n", "\\n"), repr(SECRET)[1:-1]):
        assert form not in line
    assert line.count("<secret>") == 2 and "\n" not in line


def test_a_typed_url_renders_masked_in_a_log_field() -> None:
    url = SecretURL.parse("http://elastic:p%40ss-word-1@es:9200", ("http",))
    line = LogfmtFormatter().format(record("probe failed", url=url))
    assert "p@ss-word-1" not in line and "url=http://elastic:<secret>@es:9200" in line
