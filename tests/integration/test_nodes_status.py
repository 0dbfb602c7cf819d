"""Node management (guide: Node Registration Failures, PoOT Score Calculation Failures) against the sim,
under both personalities. The real node-management lists its nodes at /nodes but serves PoOT proofs one
node at a time (GET /poot/{node_id}): no list of scores, so the PoOT faults, which the real code can
show, are invisible to the lucid profile and their alerts are reported blind."""

from __future__ import annotations

from pathlib import Path

from ..conftest import start_exporter
from ..servers_status import Stack, _clear_faults, exporter_config, stack_fixture  # noqa: F401
from ..support import scrape, value


def test_node_registration_failures_node_status_not_updating_shows_fewer_registered_nodes(stack: Stack) -> None:
    before = stack.probe("node-management")
    assert value(before, "lucid_nodes", status="active") == 8
    stack.sim.fault("node-management", "node_deregistered")
    after = stack.probe("node-management")
    assert value(after, "lucid_nodes", status="active") == 7
    assert value(after, "lucid_nodes_registered") == 7


POOT_ALERTS = {"LucidPoOTScoresMissing", "LucidPoOTScoresInvalid"}


def _poot_is_blind(stack: Stack) -> None:
    assert stack.blind("poot_scores", "lucid_poot_score", "lucid_poot_score_nodes", "lucid_poot_score_max") == \
        POOT_ALERTS
    assert stack.blind("poot_participation", "lucid_poot_participation_ratio") == set()


def test_poot_score_calculation_failures_scores_not_calculated_show_no_scored_nodes(stack: Stack) -> None:
    if stack.lucid:
        stack.sim.fault("node-management", "poot_missing")  # the proofs answer 404 one node at a time
        _poot_is_blind(stack)
        return
    before = stack.probe("node-management")
    assert value(before, "lucid_poot_score_nodes") == 8
    assert len([k for k in before if k[0] == "lucid_poot_score"]) == 8
    stack.sim.fault("node-management", "poot_missing")
    after = stack.probe("node-management")
    assert value(after, "lucid_poot_score_nodes") == 0
    assert not [k for k in after if k[0] == "lucid_poot_score"]
    assert value(after, "lucid_poot_participation_ratio") == 0


def test_poot_score_calculation_failures_invalid_scores_show_collapsed_min_avg_max(stack: Stack) -> None:
    stack.sim.fault("node-management", "poot_collapsed")
    if stack.lucid:
        _poot_is_blind(stack)
        return
    series = stack.probe("node-management")
    assert (value(series, "lucid_poot_score_max") or 1) < 0.1
    assert (value(series, "lucid_poot_score_avg") or 1) < 0.1
    assert value(series, "lucid_poot_score_nodes") == 8


def test_a_reply_over_the_size_limit_fails_that_check_with_reason_too_large(stack: Stack, tmp_path: Path) -> None:
    cfg = exporter_config(stack.sim)
    # Larger than 1 KiB: the guide's PoOT score list of 8 nodes; the real /nodes list of 8 nodes.
    large = "nodes_status" if stack.lucid else "poot_scores"
    cfg["probes"]["max_response_bytes"] = 1024
    small = start_exporter(tmp_path, cfg, name="small-limit")
    try:
        series = scrape(f"{small.url}/probe?target=node-management")
        assert value(series, "lucid_probe_success", target=f"node-management/{large}") == 0
        # The start-up round may have counted one already.
        assert (value(series, "lucid_probe_errors_total", target=f"node-management/{large}",
                      reason="too_large") or 0) >= 1
        # The service's other, smaller replies are still read: the guide's node status, the real health.
        if stack.lucid:
            assert value(series, "lucid_service_up", service="node-management") == 1
        else:
            assert value(series, "lucid_probe_success", target="node-management/nodes_status") == 1
            assert value(series, "lucid_nodes_registered") == 8
    finally:
        small.proc.stop()
