"""Redis: the guide's "Redis Connection Failures" and "Redis Memory Issues", against a real
Debian redis-server with maxmemory, allkeys-lru, requirepass and rate-limit keys."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import Exporter, start_exporter
from ..servers_foundation import RedisServer
from ..support import Series, scrape, value, wait_until

pytestmark = pytest.mark.integration

PASSWORD = "red1s-s3cret"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    srv = RedisServer(tmp_path_factory.mktemp("redis"), password=PASSWORD, maxmemory="100mb", policy="allkeys-lru")
    srv.start()
    c = srv.client()
    for i in range(120):
        c.set(f"ratelimit:user:{i}", 1, ex=600)
    for i in range(7):
        c.set(f"rate_limit:ip:10.0.0.{i}", 1, ex=600)
    c.set("cache:profile:1", "x")
    c.close()
    yield srv
    srv.stop()


def exporter_config(srv: RedisServer, secret: Path, **redis: object) -> dict:  # type: ignore[type-arg]
    return {
        "probes": {"min_interval_seconds": 0, "timeout_seconds": 3},
        "services": {"redis": {"url": f"tcp://127.0.0.1:{srv.port}"}},
        "redis": {"password_file": str(secret), "connect_timeout_seconds": 1, **redis},
        "mongodb": {"enabled": False},
        "elasticsearch": {"enabled": False},
    }


@pytest.fixture(scope="module")
def exporter(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exporter]:
    tmp = tmp_path_factory.mktemp("redis-exporter")
    secret = tmp / "redis-password"
    secret.write_text(PASSWORD + "\n")
    exp = start_exporter(tmp, exporter_config(redis_server, secret))
    yield exp
    exp.proc.stop()


def probe(exp: Exporter) -> Series:
    return scrape(f"{exp.url}/probe?target=redis")


def test_redis_ping_and_info_show_version_and_role(exporter: Exporter) -> None:
    s = probe(exporter)
    assert value(s, "lucid_redis_up") == 1
    assert value(s, "lucid_probe_success", probe="redis", target="redis") == 1
    assert (value(s, "lucid_redis_ping_seconds") or 0) > 0  # how fast: benchmarks/
    assert value(s, "lucid_redis_info", role="master") == 1
    assert any(n == "lucid_redis_info" and dict(lbl)["version"].startswith("7.") for n, lbl in s)


def test_redis_info_memory_shows_maxmemory_and_allkeys_lru(exporter: Exporter) -> None:
    s = probe(exporter)
    assert value(s, "lucid_redis_memory_max_bytes") == 100 * 1024 * 1024
    assert 0 < value(s, "lucid_redis_memory_used_bytes") < 100 * 1024 * 1024  # type: ignore[operator]
    assert value(s, "lucid_redis_maxmemory_policy", policy="allkeys-lru") == 1
    assert value(s, "lucid_redis_maxmemory_policy", policy="noeviction") == 0
    assert value(s, "lucid_redis_total_system_memory_bytes") > 0  # type: ignore[operator]
    assert value(s, "lucid_redis_memory_fragmentation_ratio") is not None


def test_redis_dbsize_and_rate_limit_keys_counted_with_scan(exporter: Exporter) -> None:
    s = probe(exporter)
    assert value(s, "lucid_redis_db_keys", db="db0") == 128
    assert value(s, "lucid_redis_db_keys_expiring", db="db0") == 127
    assert value(s, "lucid_redis_rate_limit_keys", pattern="ratelimit:*") == 120
    assert value(s, "lucid_redis_rate_limit_keys", pattern="rate_limit:*") == 7
    assert value(s, "lucid_redis_rate_limit_keys_truncated", pattern="ratelimit:*") == 0


def test_redis_clients_and_persistence(exporter: Exporter) -> None:
    s = probe(exporter)
    assert value(s, "lucid_redis_connected_clients") >= 1  # type: ignore[operator]
    assert value(s, "lucid_redis_max_clients") == 10000
    assert value(s, "lucid_redis_rejected_connections_total") == 0
    assert value(s, "lucid_redis_blocked_clients") == 0
    assert value(s, "lucid_redis_last_bgsave_success") == 1
    assert value(s, "lucid_redis_last_save_timestamp_seconds") > 1.6e9  # type: ignore[operator]
    assert value(s, "lucid_redis_oom_errors_total") == 0


def test_redis_expired_keys_and_cache_misses_are_counted(exporter: Exporter, redis_server: RedisServer) -> None:
    before = probe(exporter)
    c = redis_server.client()
    c.set("cache:short", 1, px=1)
    time.sleep(0.05)
    assert c.get("cache:short") is None  # lazy expiry + a miss
    c.close()
    after = probe(exporter)
    assert value(after, "lucid_redis_expired_keys_total") >= value(before, "lucid_redis_expired_keys_total") + 1  # type: ignore[operator]
    assert value(after, "lucid_redis_keyspace_misses_total") >= value(before, "lucid_redis_keyspace_misses_total") + 1  # type: ignore[operator]


def test_redis_rate_limit_scan_stops_at_the_configured_bound(redis_server: RedisServer, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD)
    exp = start_exporter(tmp_path, exporter_config(redis_server, secret, rate_limit_max_keys=50, scan_count=10))
    try:
        s = probe(exp)
        assert value(s, "lucid_redis_rate_limit_keys", pattern="ratelimit:*") == 50
        assert value(s, "lucid_redis_rate_limit_keys_truncated", pattern="ratelimit:*") == 1
        assert value(s, "lucid_redis_rate_limit_keys_truncated", pattern="rate_limit:*") == 0
    finally:
        exp.proc.stop()


def test_the_rate_limit_key_count_runs_on_its_own_interval_and_says_how_old_it_is(
        redis_server: RedisServer, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD)
    hourly = start_exporter(tmp_path, exporter_config(redis_server, secret, rate_limit_interval_seconds=3600),
                            name="hourly")
    every = start_exporter(tmp_path, exporter_config(redis_server, secret, rate_limit_interval_seconds=0),
                           name="every")
    c = redis_server.client()
    try:
        before = probe(hourly)
        assert value(before, "lucid_redis_rate_limit_keys", pattern="rate_limit:*") == 7
        c.set("rate_limit:ip:10.0.0.99", 1, ex=600)
        # Within its interval the count is served as it was (no keyspace walk per scrape), with its age;
        # INFO, read on every scrape, sees the new key at once.
        s = probe(hourly)
        assert value(s, "lucid_redis_rate_limit_keys", pattern="rate_limit:*") == 7
        assert value(s, "lucid_redis_db_keys", db="db0") == value(before, "lucid_redis_db_keys", db="db0") + 1  # type: ignore[operator]
        ages = [value(x, "lucid_probe_result_age_seconds", probe="redis_rate_limit_keys", target="redis")
                for x in (before, s)]
        assert ages[0] is not None and ages[1] is not None and ages[1] >= ages[0]
        # Due on every scrape: the count runs in the background and a later scrape has the new key.
        wait_until(lambda: value(probe(every), "lucid_redis_rate_limit_keys", pattern="rate_limit:*") == 8,
                   timeout=10, what="the new rate-limit key counted")
    finally:
        c.delete("rate_limit:ip:10.0.0.99")
        c.close()
        hourly.proc.stop()
        every.proc.stop()


@pytest.mark.parametrize(("settings", "counted"), [
    ({"status": {"profile": "lucid"}}, 3),  # the real auth service's limiter writes to database 1
    ({"status": {"profile": "guide"}}, 120),  # the guide's keys, in database 0
    ({"status": {"profile": "guide"}, "rate_limit_db": 1}, 3),  # an explicit database wins
])
def test_rate_limit_keys_are_counted_in_the_database_the_limiter_writes_to(
        redis_server: RedisServer, tmp_path: Path, settings: dict, counted: int) -> None:  # type: ignore[type-arg]
    import redis

    db1 = redis.Redis(host="127.0.0.1", port=redis_server.port, password=PASSWORD, db=1, decode_responses=True)
    for i in range(3):
        db1.set(f"ratelimit:ip:10.1.0.{i}:2026-12-01 15:00", 1, ex=600)  # the real limiter's key shape
    db1.close()
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD)
    cfg = exporter_config(redis_server, secret, **{k: v for k, v in settings.items() if k != "status"})
    exp = start_exporter(tmp_path, {**cfg, "status": settings["status"]})
    try:
        assert value(probe(exp), "lucid_redis_rate_limit_keys", pattern="ratelimit:*") == counted
    finally:
        exp.proc.stop()


def test_redis_wrong_password_fails_with_reason_auth(redis_server: RedisServer, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD)
    # The environment wins over the file: a wrong password given as LUCID_EXPORTER_REDIS__PASSWORD.
    exp = start_exporter(tmp_path, exporter_config(redis_server, secret),
                         env={"LUCID_EXPORTER_REDIS__PASSWORD": "wrong-password-1"})
    try:
        s = probe(exp)
        assert value(s, "lucid_redis_up") == 0
        assert value(s, "lucid_probe_errors_total", probe="redis", reason="auth") >= 1  # type: ignore[operator]
        assert value(s, "lucid_probe_errors_total", probe="redis", reason="timeout") is None
        assert "wrong-password-1" not in exp.log()
    finally:
        exp.proc.stop()


def test_redis_no_new_connection_per_scrape(exporter: Exporter) -> None:
    probe(exporter)
    first = value(probe(exporter), "lucid_redis_connections_received_total")
    for _ in range(20):
        s = probe(exporter)
    assert value(s, "lucid_redis_connections_received_total") == first


def test_redis_stopped_goes_down_with_reason_and_comes_back(tmp_path: Path) -> None:
    # A server of its own: a restart without persistence empties it, and the other tests
    # count the module server's keys (any order).
    srv = RedisServer(tmp_path / "redis", password=PASSWORD)
    (tmp_path / "redis").mkdir()
    srv.start()
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD)
    exp = start_exporter(tmp_path, exporter_config(srv, secret))
    try:
        assert value(probe(exp), "lucid_redis_up") == 1
        srv.stop()
        s = probe(exp)
        assert value(s, "lucid_redis_up") == 0
        assert value(s, "lucid_probe_success", probe="redis", target="redis") == 0
        assert (value(s, "lucid_probe_errors_total", probe="redis", reason="refused") or 0) >= 1
        srv.start()
        wait_until(lambda: value(probe(exp), "lucid_redis_up") == 1, timeout=15, what="redis up again")
    finally:
        exp.proc.stop()
        srv.stop()
