"""Redis INFO parsing on replies recorded from Debian's redis-server 7.0."""

from __future__ import annotations

from pathlib import Path

from lucid_exporter.metrics import Sample
from lucid_exporter.probes.redis import info_samples, parse_info

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "foundation"


def val(samples: list[Sample], name: str, **labels: str) -> float | None:
    found = [s.value for s in samples if s.name == name and labels.items() <= dict(s.labels).items()]
    assert len(found) <= 1, f"{name}{labels}: {len(found)} series"
    return found[0] if found else None


def test_redis_info_parses_sections_keyspace_and_errorstats() -> None:
    info = parse_info((FIX / "redis_info.txt").read_text())
    assert info["redis_version"] == "7.0.15"
    assert info["maxmemory"] == 104857600
    assert info["db0"] == {"keys": 31, "expires": 30, "avg_ttl": 59898}
    assert info["mem_fragmentation_ratio"] == 12.6


def test_redis_info_memory_maxmemory_and_allkeys_lru() -> None:
    s = info_samples(parse_info((FIX / "redis_info.txt").read_text()))
    assert val(s, "lucid_redis_info", version="7.0.15", role="master") == 1
    assert val(s, "lucid_redis_memory_max_bytes") == 104857600
    assert val(s, "lucid_redis_maxmemory_policy", policy="allkeys-lru") == 1
    assert sum(x.value for x in s if x.name == "lucid_redis_maxmemory_policy") == 1
    assert val(s, "lucid_redis_db_keys", db="db0") == 31
    assert val(s, "lucid_redis_db_keys", db="db2") == 1
    assert val(s, "lucid_redis_expired_keys_total") == 1
    assert val(s, "lucid_redis_keyspace_misses_total") == 2
    assert val(s, "lucid_redis_oom_errors_total") == 0  # Redis 7 with no error yet
    assert val(s, "lucid_redis_last_bgsave_success") == 1


def test_redis_near_maxmemory_shows_used_over_max_and_oom_errors() -> None:
    s = info_samples(parse_info((FIX / "redis_info_near_maxmemory.txt").read_text()))
    used = val(s, "lucid_redis_memory_used_bytes")
    top = val(s, "lucid_redis_memory_max_bytes")
    assert used is not None and top is not None and used / top > 0.8
    assert val(s, "lucid_redis_maxmemory_policy", policy="noeviction") == 1
    assert val(s, "lucid_redis_oom_errors_total") == 5


def test_redis_unknown_policy_and_failed_bgsave_still_exposed() -> None:
    s = info_samples(parse_info("# Server\r\nredis_version:5.0.7\r\nmaxmemory_policy:weird\r\n"
                                "rdb_last_bgsave_status:err\r\n"))
    assert val(s, "lucid_redis_maxmemory_policy", policy="weird") == 1
    assert val(s, "lucid_redis_last_bgsave_success") == 0
    assert val(s, "lucid_redis_oom_errors_total") is None  # Redis 5 has no errorstats
