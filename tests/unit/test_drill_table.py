"""The fire drill's table (tests/e2e/drill.py) covers every fault the sim offers and every real-server
fault of issue 12, and every alert it expects is a shipped rule with that problem: a fault kind added
to the sim without a drill row fails here."""

from __future__ import annotations

from collections import Counter

from lucid_exporter import catalogue, rules

from ..e2e import drill


def test_every_fault_kind_of_the_sim_has_a_drill_row() -> None:
    kinds = drill.sim_fault_kinds()
    assert {"down", "consensus_stall", "backup_stale", "container_stopped"} <= set(kinds)
    drilled = {r.fault for r in drill.ROWS if not r.real and r.stack != "lucid"}
    missing = sorted(set(kinds) - drilled)
    assert not missing, f"sim fault kinds without a drill row in tests/e2e/drill.py: {missing}"
    assert drilled <= set(kinds), f"drill rows for kinds the sim does not offer: {sorted(drilled - set(kinds))}"
    lucid = {r.fault for r in drill.ROWS if r.stack == "lucid"}
    assert lucid <= set(drill.sim_fault_kinds("lucid"))


def test_every_fault_kind_only_the_lucid_personality_offers_has_a_drill_row_under_it() -> None:
    kinds = drill.lucid_only_fault_kinds()
    drilled = {r.fault for r in drill.ROWS if r.stack == "lucid"}
    missing = sorted(set(kinds) - drilled)
    assert not missing, f"lucid personality fault kinds without a drill row (stack lucid): {missing}"
    guide = drill.sim_fault_kinds("guide")
    assert not {r.fault for r in drill.ROWS if r.stack != "lucid" and not r.real} - set(guide)


def test_every_real_server_fault_of_the_issue_has_a_drill_row() -> None:
    assert set(drill.ISSUE_REAL_SERVER_FAULTS) <= set(drill.REAL_SERVER_FAULTS)
    drilled = {r.fault for r in drill.ROWS if r.real}
    assert set(drill.REAL_SERVER_FAULTS) == drilled


def test_every_expected_alert_is_a_shipped_rule_of_that_problem() -> None:
    shipped = {(r.name, r.problem) for r in rules.rules()}
    for row in drill.ROWS:
        for e in row.expect:
            assert (e.alert, e.problem) in shipped, f"{row.name}: no rule {e.alert} with problem {e.problem}"
            assert e.problem in catalogue.problems()
        for f in row.forbid:
            assert f.startswith("cluster:") or f in {r.name for r in rules.rules()}, f"{row.name}: {f}"


def test_only_a_fault_that_pages_nothing_has_no_expected_alert() -> None:
    """Pages nothing: a full Redis that evicts (the guide's allkeys-lru), a hardware wallet switched off
    (ENABLE_HARDWARE_WALLET=false), each watched for a while."""
    silent = [r for r in drill.ROWS if not r.expect]
    assert [r.fault for r in silent] == ["redis_full_allkeys_lru", "hardware_wallet_disabled"]
    assert all(r.observe > drill.FOR_SECONDS and r.forbid for r in silent)


def test_rows_of_a_batch_touch_different_targets_or_page_different_alerts() -> None:
    """A batch injects its rows together: each expected alert must be told apart by name and labels."""
    for stack in ("sim", "docker", "lucid"):
        for batch in drill.batches(stack):
            keys = Counter((e.alert, tuple(sorted(e.labels.items()))) for r in drill.rows_of(batch) for e in r.expect)
            assert not [k for k, n in keys.items() if n > 1], f"batch {batch}: {keys}"
            expected = {e.alert for r in drill.rows_of(batch) for e in r.expect}
            forbidden = {f for r in drill.rows_of(batch) for f in r.forbid}
            assert not expected & forbidden, f"batch {batch}: expects what another row forbids"
