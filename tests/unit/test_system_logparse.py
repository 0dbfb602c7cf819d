"""The guide's log analysis greps, as a pure parser: levels, LUCID_ERR codes, slow and auth lines."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from lucid_exporter.probes.logs import (
    Cursor,
    LineInfo,
    Tally,
    advance,
    compile_topics,
    new_lines,
    parse_line,
    parse_timestamp_ns,
    split_docker_lines,
)

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "logs"


def _tally(path: Path, max_codes: int = 50) -> Tally:
    t = Tally()
    t.add((parse_line(line) for line in path.read_text().splitlines()), max_codes)
    return t


def test_plain_text_service_log_counts_levels_codes_slow_and_auth_failures() -> None:
    t = _tally(FIX / "plain.log")
    assert t.lines == Counter({"ERROR": 3, "WARN": 2, "CRITICAL": 1})  # DEBUG "ERROR counters" is not an error
    assert t.codes == Counter({"LUCID_ERR_1003": 2, "LUCID_ERR_1201": 1, "LUCID_ERR_1002": 1})
    assert t.slow == 2
    assert t.auth_failures == 2
    assert t.read == 10


def test_topic_greps_of_the_guide_hardware_wallet_and_auth() -> None:
    topics = compile_topics({"hardware_wallet": "hardware|ledger|trezor", "auth": "auth|login|token"})
    t = Tally()
    t.add((parse_line(x, topics) for x in (FIX / "plain.log").read_text().splitlines()), 50)
    assert t.topics["hardware_wallet"] == 1
    assert t.topics["auth"] == 10  # every line of lucid.auth: the guide's grep is that broad
    assert parse_line("nothing here", topics).topics == ()


def test_gateway_json_log_counts_levels_codes_slow_and_auth_failures() -> None:
    t = _tally(FIX / "gateway.jsonl")
    assert t.lines == Counter({"ERROR": 2, "WARN": 2, "CRITICAL": 1})  # an info line saying "no error" is not
    assert t.codes == Counter({"LUCID_ERR_3001": 2, "LUCID_ERR_1101": 1, "LUCID_ERR_3002": 1})
    assert t.slow == 2  # the duration_ms field is not a slow line; the message is what counts
    assert t.auth_failures == 1


def test_unstructured_line_falls_back_to_the_guides_level_grep() -> None:
    assert parse_line("panic: FATAL something broke").level == "CRITICAL"
    assert parse_line("[2026-11-28 10:00:00] WARNING disk almost full").level == "WARN"
    assert parse_line("all good").level is None
    assert parse_line("{not json ERROR").level == "ERROR"


def test_level_aliases_and_json_variants() -> None:
    assert parse_line('{"levelname": "WARNING", "msg": "x"}').level == "WARN"
    assert parse_line('{"severity": "fatal", "message": "x"}').level == "CRITICAL"
    assert parse_line('{"level": 50, "message": "x"}') == LineInfo(None)
    assert parse_line('["a list", "ERROR"]').level == "ERROR"  # valid JSON, not an object: the grep


def test_error_code_cap_counts_overflow_as_other() -> None:
    t = Tally()
    lines = [f"2026-11-28 09:00:00,000 - x - ERROR - failed LUCID_ERR_000{i}" for i in range(1, 6)]
    t.add((parse_line(x) for x in [*lines, lines[0]]), max_codes=2)
    assert t.codes == Counter({"LUCID_ERR_0001": 2, "LUCID_ERR_0002": 1, "other": 3})


def test_docker_timestamps_are_nanoseconds() -> None:
    assert parse_timestamp_ns("2026-11-28T09:00:00.000000001Z") - parse_timestamp_ns("2026-11-28T09:00:00Z") == 1
    assert parse_timestamp_ns("2026-11-28T09:00:00.5Z") % 1_000_000_000 == 500_000_000
    raw = b"2026-11-28T09:00:00.1Z hello\n2026-11-28T09:00:00.2Z world\r\n\n"
    assert [t for _, t in split_docker_lines(raw)] == ["hello", "world"]


def test_lines_at_the_cursor_are_counted_exactly_once() -> None:
    lines = [(10, "a"), (20, "b"), (20, "c"), (30, "d")]
    first = new_lines(lines[:3], None)
    cur = advance(None, "id1", first)
    assert cur == Cursor("id1", 20, 2)
    # the re-read starts at (or before) the cursor: the two lines at 20 are already counted
    again = new_lines(lines, cur)
    assert again == [(30, "d")]
    assert advance(cur, "id1", again) == Cursor("id1", 30, 1)
    assert advance(cur, "id1", []) is cur


def test_mongodb_json_log_counts_its_own_severities() -> None:
    """MongoDB >= 4.4 logs JSON lines with "s": F fatal, E error, W warning, I info, D1-D5 debug.
    No "level" field and no upper-case level word: without reading "s" its errors were not counted."""
    t = _tally(FIX / "mongodb.jsonl")
    assert t.lines == Counter({"ERROR": 2, "WARN": 2, "CRITICAL": 1})
    assert t.slow == 1  # "Slow query" (COLLSCAN): the guide's slow grep
    assert t.auth_failures == 1  # "Authentication failed" of a client with a wrong password
    assert t.read == 12
    assert parse_line('{"t":{"$date":"2026-11-28T09:18:05Z"},"s":"D2","c":"NETWORK","msg":"ERROR in text"}').level \
        is None


def test_redis_log_markers_are_its_levels() -> None:
    """Redis writes `pid:role date <marker> message`: "#" warning, "*" notice, "-" verbose, "." debug.
    Its errors come with "#" too ("Error condition on socket for SYNC"): counted as errors, the other "#"
    lines as warnings; notice, verbose and debug lines are not counted, whatever words they hold."""
    t = _tally(FIX / "redis.log")
    assert t.lines == Counter({"WARN": 7, "ERROR": 2})
    assert t.read == 21
    assert parse_line("22390:M 01 Dec 2026 11:25:09.236 * Background saving started by pid 22903").level is None
    assert parse_line("1:M 12 Jan 10:00:00.123 # Failed opening the RDB file dump.rdb").level == "ERROR"  # no year
    assert parse_line("1:S 12 Jan 2024 10:00:00.123 - Client closed connection: ERROR reading").level is None
