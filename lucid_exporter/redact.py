"""Keep secrets out of logs, labels, errors and pages.

Secrets are registered once when the configuration is loaded; ``redact`` replaces every
occurrence of a registered value. It is applied by the log formatter and to every probe
error message, as a second line of defence behind pydantic's ``SecretStr``.
"""

from __future__ import annotations

import re
import threading

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
MASK = "<secret>"
# Credentials embedded in URLs (scheme://user:password@host) are masked even when unregistered.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^/@:\s]*):(?P<pw>[^/@\s]+)@", re.I)


def register(value: str | None) -> None:
    global _pattern
    # Very short values would mask ordinary words; a 1-3 character secret is a config error anyway.
    if not value or len(value) < 4:
        return
    with _lock:
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern is not None else text


def clear() -> None:
    """For tests."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None
