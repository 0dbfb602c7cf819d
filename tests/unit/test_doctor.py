"""The doctor maps what one probe round saw onto the guide's problems and their steps."""

from __future__ import annotations

import time

from lucid_exporter import inventory
from lucid_exporter.config import load
from lucid_exporter.doctor import DESTRUCTIVE, evaluate, problems, report_json, report_text
from lucid_exporter.engine import Probe, ProbeContext, ProbeResult
from lucid_exporter.metrics import Sample, gauge

SERVICES = inventory.build(load())


class _P(Probe):
    def __init__(self, kind: str, target: str) -> None:
        self.kind, self.target = kind, target

    async def run(self, ctx: ProbeContext) -> list[Sample]:
        return []


def _result(kind: str, target: str, samples: list[Sample], ok: bool = True, reason: str = "") -> ProbeResult:
    return ProbeResult(_P(kind, target), samples, ok, 0.01, time.time(), time.monotonic(), reason,
                       "" if ok else "connection refused")


def test_the_guide_has_27_problems_with_their_steps() -> None:
    ps = problems()
    assert len(ps) == 27
    assert ps["redis-memory-issues"].cluster == "foundation"
    assert any("rs.status()" in c for _, c in ps["mongodb-connection-failures"].diagnostics)
    assert ps["complete-system-failure"].solutions


def test_healthy_round_has_no_findings() -> None:
    r = _result("health", "redis", [gauge("lucid_service_up", 1, service="redis", cluster="foundation")])
    assert evaluate([r], SERVICES) == []
    assert "no guide problem detected" in report_text([], [r])


def test_redis_down_points_at_redis_connection_failures() -> None:
    r = _result("health", "redis", [gauge("lucid_service_up", 0, service="redis", cluster="foundation")],
                ok=False, reason="refused")
    [finding] = evaluate([r], SERVICES)
    assert finding.problem.slug == "redis-connection-failures"
    assert any("refused" in o for o in finding.observed)
    text = report_text([finding], [r])
    assert "docker exec lucid-redis redis-cli ping" in text and "DESTRUCTIVE" in text


def test_redis_near_maxmemory_and_wrong_policy_are_memory_issues() -> None:
    r = _result("redis", "redis", [
        gauge("lucid_redis_memory_used_bytes", 950), gauge("lucid_redis_memory_max_bytes", 1000),
        gauge("lucid_redis_maxmemory_policy", 1, policy="noeviction"),
        gauge("lucid_redis_maxmemory_policy", 0, policy="allkeys-lru"),
    ])
    [finding] = evaluate([r], SERVICES)
    assert finding.problem.slug == "redis-memory-issues"
    assert any("95%" in o for o in finding.observed)
    assert any("noeviction" in o for o in finding.observed)


def test_no_maxmemory_limit_does_not_divide_by_zero() -> None:
    r = _result("redis", "redis", [gauge("lucid_redis_memory_used_bytes", 950),
                                   gauge("lucid_redis_memory_max_bytes", 0)])
    [finding] = evaluate([r], SERVICES)
    assert finding.observed == ["Redis has no maxmemory limit (the guide sets 1-2 GB with allkeys-lru)"]


def test_stalled_consensus_is_seen_from_the_block_timestamp() -> None:
    now = 1_800_000_000.0
    r = _result("lucid_status", "blockchain-engine/blocks_latest",
                [gauge("lucid_blockchain_latest_block_timestamp_seconds", now - 600)])
    [finding] = evaluate([r], SERVICES, now=now)
    assert finding.problem.slug == "consensus-failures" and "600s" in finding.observed[0]


def test_most_services_down_is_a_complete_system_failure() -> None:
    rs = [_result("health", s, [gauge("lucid_service_up", 0, service=s, cluster=c.cluster)], ok=False,
                  reason="refused") for s, c in SERVICES.items() if c.health != "none"]
    slugs = [f.problem.slug for f in evaluate(rs, SERVICES)]
    assert "complete-system-failure" in slugs
    assert slugs.index("mongodb-connection-failures") < slugs.index("complete-system-failure")


def test_json_report_flags_destructive_solutions() -> None:
    r = _result("health", "redis", [gauge("lucid_service_up", 0, service="redis", cluster="foundation")], ok=False)
    report = report_json(evaluate([r], SERVICES), [r])
    assert report["ok"] is False
    sols = report["findings"][0]["solutions"]
    assert [s["destructive"] for s in sols if "flushall" in s["command"]] == [True]
    assert DESTRUCTIVE.search("docker exec lucid-redis redis-cli ping") is None
