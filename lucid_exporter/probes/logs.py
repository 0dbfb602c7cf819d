"""Container logs: the guide's log analysis (``docker logs ... | grep -E "(ERROR|WARN|CRITICAL)"``,
``grep -o "LUCID_ERR_[0-9]*" | uniq -c``, ``grep -E "slow|timeout|duration"``, auth lines) as counters.

Incremental: each run asks the docker logs API only for lines since the last line it counted
for that container (``since`` + ``timestamps``, nanosecond cursor, duplicates at the cursor
skipped), through a growing ``tail`` window so that the engine reads backwards from the end of
the log and the cost follows the number of new lines, not the size of the history. A new or
recreated container (new id) is read over a bounded look-back window with a line cap.

Parsing (``parse_line``) is pure: plain ``asctime - name - LEVEL - message`` lines, JSON lines
with a ``level`` field (the gateway), the stores' own formats (MongoDB's JSON lines with their
``"s"`` severity, Redis' ``pid:role date <marker> message`` lines), and otherwise the guide's grep
for the level words.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..config import LogsConfig, Settings
from ..errors import ProbeError
from ..inventory import Service
from ..metrics import Sample, counter, gauge
from .base import ProbeContext
from .docker import DockerAccess, DockerProbe, shared_access, watched_containers

LEVELS: tuple[str, ...] = ("ERROR", "WARN", "CRITICAL")
_LEVEL_ALIASES = {"ERROR": "ERROR", "ERR": "ERROR", "WARN": "WARN", "WARNING": "WARN",
                  "CRITICAL": "CRITICAL", "FATAL": "CRITICAL", "CRIT": "CRITICAL"}
_PLAIN = re.compile(r"^\d{4}-\d\d-\d\d[ T][\d:,.]+ - .+? - ([A-Za-z]+) - (.*)$", re.S)
# MongoDB >= 4.4 writes JSON lines with a one-letter severity "s": F fatal, E error, W warning,
# I informational, D1-D5 debug (https://www.mongodb.com/docs/manual/reference/log-messages/).
_MONGO_SEVERITY = {"F": "CRITICAL", "E": "ERROR", "W": "WARN"}
# Redis: "pid:role dd Mon yyyy hh:mm:ss.mmm <marker> message" (the year since Redis 3), the marker
# being its level: "." debug, "-" verbose, "*" notice, "#" warning.
_REDIS = re.compile(r"^\d+:[CMSX] \d{1,2} [A-Z][a-z]{2} (?:\d{4} )?\d\d:\d\d:\d\d\.\d{3} ([.*#-]) (.*)$", re.S)
# Redis logs its errors at its highest level, "#", like its warnings: such a line is an error when
# its message says so ("Error condition on socket for SYNC", "Failed opening the RDB file", ...).
_REDIS_ERROR = re.compile(r"^(?:error|failed|fatal|can't|cannot|unable|unrecoverable)\b|\berror\b", re.I)
_LEVEL_WORD = re.compile(r"\b(CRITICAL|FATAL|ERROR|WARNING|WARN)\b")
_CODE = re.compile(r"LUCID_ERR_\d+")
_SLOW = re.compile(r"slow|timeout|timed out|duration", re.I)
_AUTH = re.compile(r"auth|login|token|credential|password|jwt|signature", re.I)
_FAIL = re.compile(r"fail|invalid|denied|unauthori[sz]ed|forbidden|expired|reject|mismatch|\b40[13]\b", re.I)


@dataclass(frozen=True, slots=True)
class LineInfo:
    level: str | None  # ERROR, WARN, CRITICAL or None (other levels are not counted)
    codes: tuple[str, ...] = ()
    slow: bool = False
    auth_failure: bool = False
    topics: tuple[str, ...] = ()


def normalize_level(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return _LEVEL_ALIASES.get(value.strip().upper())


Topics = tuple[tuple[str, re.Pattern[str]], ...]


def compile_topics(topics: dict[str, str]) -> Topics:
    return tuple((name, re.compile(pattern, re.I)) for name, pattern in sorted(topics.items()))


def parse_line(text: str, topics: Topics = ()) -> LineInfo:
    """Classify one log line (without the docker timestamp); ``topics`` are matched on the whole line,
    like the guide's ``grep -i``."""
    line = text.strip()
    level: str | None = None
    message = line
    structured = False
    if line.startswith("{"):
        try:
            data = json.loads(line)
        except ValueError:
            data = None
        if isinstance(data, dict):
            structured = True
            raw = data.get("level", data.get("levelname", data.get("severity", data.get("log.level"))))
            mongo = data.get("s")
            if raw is None and isinstance(mongo, str) and "c" in data:  # MongoDB's own log
                level = _MONGO_SEVERITY.get(mongo.strip().upper())
            else:
                level = normalize_level(raw)
            msg = data.get("message", data.get("msg", data.get("event")))
            message = msg if isinstance(msg, str) else line
    if not structured:
        m = _PLAIN.match(line)
        r = None if m is not None else _REDIS.match(line)
        if m is not None:
            level = normalize_level(m.group(1))
            message = m.group(2)
        elif r is not None:
            message = r.group(2)
            if r.group(1) == "#":
                level = "ERROR" if _REDIS_ERROR.search(message) else "WARN"
        else:
            w = _LEVEL_WORD.search(line)  # the guide's grep -E "(ERROR|WARN|CRITICAL)"
            level = normalize_level(w.group(1)) if w else None
    codes = tuple(_CODE.findall(line))
    slow = _SLOW.search(message) is not None
    auth_failure = _AUTH.search(message) is not None and _FAIL.search(message) is not None
    found = tuple(name for name, rx in topics if rx.search(line))
    return LineInfo(level, codes, slow, auth_failure, found)


def parse_timestamp_ns(ts: str) -> int:
    """Docker's RFC 3339 nano timestamp (``2026-01-02T03:04:05.123456789Z``) -> Unix nanoseconds."""
    main, _, frac = ts.rstrip("Z").partition(".")
    if ts.endswith("Z"):
        main += "+00:00"
    sec = int(datetime.fromisoformat(main).timestamp())
    digits = "".join(ch for ch in frac if ch.isdigit())[:9]
    return sec * 1_000_000_000 + int(digits.ljust(9, "0") or 0)


def split_docker_lines(raw: bytes) -> list[tuple[int, str]]:
    """``docker logs --timestamps`` output -> [(ns, line)]; lines without a timestamp are dropped."""
    out: list[tuple[int, str]] = []
    for chunk in raw.decode("utf-8", errors="replace").split("\n"):
        if not chunk:
            continue
        ts, sep, text = chunk.partition(" ")
        if not sep and not ts.endswith("Z"):
            continue
        try:
            out.append((parse_timestamp_ns(ts), text.rstrip("\r")))
        except ValueError:
            continue
    return out


@dataclass
class Cursor:
    """Where the last read of a container ended."""

    container_id: str
    last_ns: int
    seen_at_last: int  # lines at exactly last_ns already counted


def new_lines(lines: list[tuple[int, str]], cursor: Cursor | None) -> list[tuple[int, str]]:
    """Drop what was already counted: lines before the cursor and the ones at it already seen."""
    if cursor is None:
        return lines
    out: list[tuple[int, str]] = []
    skip = cursor.seen_at_last
    for ns, text in lines:
        if ns < cursor.last_ns:
            continue
        if ns == cursor.last_ns and skip > 0:
            skip -= 1
            continue
        out.append((ns, text))
    return out


def advance(cursor: Cursor | None, container_id: str, fresh: list[tuple[int, str]]) -> Cursor | None:
    if not fresh:
        return cursor
    last = fresh[-1][0]
    at_last = sum(1 for ns, _ in fresh if ns == last)
    if cursor is not None and cursor.container_id == container_id and cursor.last_ns == last:
        at_last += cursor.seen_at_last
    return Cursor(container_id, last, at_last)


@dataclass
class Tally:
    """Counters of one container (kept by the probe instance for the life of the exporter)."""

    lines: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    slow: int = 0
    auth_failures: int = 0
    topics: Counter[str] = field(default_factory=Counter)
    read: int = 0
    truncated: int = 0

    def add(self, infos: Iterable[LineInfo], max_codes: int) -> None:
        for info in infos:
            self.read += 1
            if info.level is not None:
                self.lines[info.level] += 1
            for code in info.codes:
                if code in self.codes or len(self.codes) - ("other" in self.codes) < max_codes:
                    self.codes[code] += 1
                else:
                    self.codes["other"] += 1
            self.slow += info.slow
            self.auth_failures += info.auth_failure
            self.topics.update(info.topics)


class LogsProbe(DockerProbe):
    kind = "logs"
    target = "containers"

    def __init__(self, cfg: LogsConfig, patterns: list[str], services: dict[str, Service],
                 access: DockerAccess) -> None:
        self.cfg = cfg
        self.patterns = patterns
        self.services = services
        self.access = access
        self.timeout = cfg.timeout_seconds
        self.min_interval = cfg.min_interval_seconds
        self._topics = compile_topics(cfg.topics)
        self._cursors: dict[str, Cursor] = {}
        self._tallies: dict[str, Tally] = {}
        self._state = threading.Lock()
        self._busy: dict[str, threading.Lock] = {}

    # One container, in a pool thread. A run cut short by its timeout leaves its threads to
    # finish: they still commit, exactly once, and the next run skips a container still busy.
    def _read(self, name: str, container_id: str) -> None:
        with self._state:
            busy = self._busy.setdefault(name, threading.Lock())
        if not busy.acquire(blocking=False):
            return
        try:
            with self._state:
                cursor = self._cursors.get(name)
            if cursor is not None and cursor.container_id != container_id:
                cursor = None  # recreated: a new log
            if cursor is None:
                since = time.time() - self.cfg.lookback_seconds
                cap = self.cfg.first_read_max_lines
            else:
                since = (cursor.last_ns // 1000 - 1) / 1e6  # whole microseconds, never after the cursor
                cap = self.cfg.max_lines_per_read
            lines, truncated = self._fetch(container_id, since, cap)
            fresh = new_lines(lines, cursor)
            infos = [parse_line(text, self._topics) for _, text in fresh]
            with self._state:
                tally = self._tallies.setdefault(name, Tally())
                tally.add(infos, self.cfg.max_error_codes)
                tally.truncated += truncated and cursor is not None
                nxt = advance(cursor, container_id, fresh)
                if nxt is None:  # nothing yet: the next read starts where this one did
                    nxt = Cursor(container_id, int(since * 1e9), 0) if cursor is None else cursor
                self._cursors[name] = nxt
        finally:
            busy.release()

    def _fetch(self, container_id: str, since: float, cap: int) -> tuple[list[tuple[int, str]], bool]:
        """Lines since ``since``, asking for a growing tail so that the engine reads from the end."""
        tail = min(256, cap)
        while True:
            raw = self.access.api.logs(container_id, stdout=True, stderr=True, timestamps=True,
                                       since=max(since, 1e-6), tail=tail, stream=False)
            lines = split_docker_lines(raw if isinstance(raw, bytes) else bytes(raw))
            if len(lines) < tail:
                return lines, False
            if tail >= cap:
                return lines, True
            tail = min(tail * 8, cap)

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        watched = await watched_containers(self.access, self.services, self.patterns)
        present = {name: c["Id"] for name, c in watched.items() if c is not None}
        results = await asyncio.gather(*(self.access.call(self._read, n, cid) for n, cid in present.items()),
                                       return_exceptions=True)
        failed = [(n, r) for n, r in zip(present, results, strict=True) if isinstance(r, BaseException)]
        with self._state:
            samples = self._samples()
        if failed and len(failed) == len(present):
            err = failed[0][1]
            reason = err.reason if isinstance(err, ProbeError) else "other"
            raise ProbeError(reason, f"no container log could be read: {err}")
        samples.append(gauge("lucid_log_containers_failed", len(failed),
                             "Containers whose logs could not be read in the last run"))
        return samples

    def _samples(self) -> list[Sample]:
        out: list[Sample] = []
        for name in sorted(self._tallies):
            t = self._tallies[name]
            out += [counter("lucid_log_lines_total", t.lines[lv], "Log lines by level (ERROR, WARN, CRITICAL)",
                            container=name, level=lv) for lv in LEVELS]
            out += [counter("lucid_log_error_codes_total", n, "LUCID_ERR codes in the logs (over the cap: other)",
                            container=name, code=code) for code, n in sorted(t.codes.items())]
            out.append(counter("lucid_log_slow_lines_total", t.slow,
                               "Log lines about slowness: slow, timeout, duration", container=name))
            out.append(counter("lucid_log_auth_failure_lines_total", t.auth_failures,
                               "Log lines about a failed authentication (auth/login/token + failure)",
                               container=name))
            out += [counter("lucid_log_topic_lines_total", t.topics[topic],
                            "Log lines matching a configured topic (the guide's topic greps)",
                            container=name, topic=topic) for topic, _ in self._topics]
            out.append(counter("lucid_log_read_lines_total", t.read, "Log lines read and classified",
                               container=name))
            out.append(counter("lucid_log_truncated_reads_total", t.truncated,
                               "Reads that hit max_lines_per_read (older new lines were skipped)", container=name))
        return out

    def failure_samples(self, reason: str) -> list[Sample]:
        with self._state:
            return self._samples()


def build(settings: Settings, services: dict[str, Service]) -> list[LogsProbe]:
    if not settings.logs.enabled or not settings.docker.enabled:
        return []
    return [LogsProbe(settings.logs, settings.docker.container_patterns, services, shared_access(settings.docker))]
