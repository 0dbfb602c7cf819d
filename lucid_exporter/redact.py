"""Keep secrets out of logs, labels, errors and pages: the second line of defence.

The first line is the type: secrets are ``SecretStr`` (a URL's password inside ``SecretURL``),
and every output the exporter renders (metrics, status page, ``config``, ``check``, ``doctor``,
logs) renders from the type, so it shows ``<secret>`` whatever characters the value holds.

Text the exporter does not render itself (a library's exception message) may still quote a
value it was given. Every secret is registered here when the configuration is loaded, and
``redact`` replaces each literal occurrence before such text is shown. It is applied to
probe error messages and to every log field before the field is escaped (JSON or logfmt), so
a secret containing ``"``, ``\\``, a newline or non-ASCII characters is still found. Nothing is
searched for by pattern: a pattern cannot know where a password containing ``/`` or ``@`` ends.
Secrets shorter than ``MIN_SECRET_LENGTH`` are configuration errors (see urls.py): a value that
short cannot be masked in free text without masking ordinary words.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote

from .urls import MASK, MIN_SECRET_LENGTH

__all__ = ["MASK", "MIN_SECRET_LENGTH", "clear", "redact", "register"]

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def _forms(value: str) -> set[str]:
    """The value as libraries quote it: as it is, inside repr() (``%r`` in a message: backslashes
    doubled, a newline as ``\\n``) and percent-encoded (a URL a library prints)."""
    return {value, repr(value)[1:-1], quote(value, safe="")}


def register(value: str | None) -> None:
    global _pattern
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.update(_forms(value))
        # Longest first, so that a secret containing another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern is not None else text


def clear() -> None:
    """For tests."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None
