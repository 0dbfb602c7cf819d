"""Blockchain core (guide: Consensus Failures, Session Anchoring Failures) against the sim, under both
personalities. The real blockchain API answers constants (height and round 12345, the latest block
stamped "now", anchoring 5 pending): a stall or a backlog cannot show in its answers, and the lucid
personality refuses those faults with that reason."""

from __future__ import annotations

import time

from ..servers_status import SLOT, Stack, _clear_faults, stack_fixture  # noqa: F401
from ..support import value


def test_healthy_chain_produces_blocks_at_the_slot_time(stack: Stack) -> None:
    first = stack.probe("blockchain-engine")
    assert value(first, "lucid_probe_success", target="blockchain-engine/consensus_status") == 1
    stack.sim.advance(SLOT * 2.2)
    second = stack.probe("blockchain-engine")
    h1 = value(first, "lucid_blockchain_block_height")
    h2 = value(second, "lucid_blockchain_block_height")
    assert value(second, "lucid_consensus_reached") == 1
    if not stack.lucid:
        assert h1 is not None and h2 is not None and h2 >= h1 + 2
        assert value(second, "lucid_consensus_participants", status="active") == 8
        return
    # The real chain's height is a constant, its latest block always stamped now: the profile says
    # LucidBlockchainNoNewBlock cannot fire on the code as published.
    assert "LucidBlockchainNoNewBlock" in stack.check("blocks_latest").alerts
    assert h1 == h2 == 12345
    ts = value(second, "lucid_blockchain_latest_block_timestamp_seconds")
    assert ts is not None and abs(time.time() - ts) < 5
    assert value(second, "lucid_consensus_participants", status="active") == 23


def _stall_is_refused(stack: Stack) -> None:
    reason = stack.refused("blockchain-engine", "consensus_stall")
    assert reason.startswith("not expressible: the real blockchain API answers constants")


def test_consensus_failures_blocks_not_created_show_a_stale_latest_block(stack: Stack) -> None:
    if stack.lucid:
        _stall_is_refused(stack)
        return
    stack.sim.fault("blockchain-engine", "consensus_stall")
    first = stack.probe("blockchain-engine")
    stack.sim.advance(SLOT * 2.5)
    second = stack.probe("blockchain-engine")
    assert value(second, "lucid_blockchain_block_height") == value(first, "lucid_blockchain_block_height")
    ts = value(second, "lucid_blockchain_latest_block_timestamp_seconds")
    assert ts is not None and time.time() - ts > SLOT * 2
    assert value(second, "lucid_consensus_reached") == 0
    assert (value(second, "lucid_consensus_participants", status="inactive") or 0) > 0
    # The round keeps counting: rounds run and fail.
    assert (value(second, "lucid_consensus_round") or 0) > (value(first, "lucid_consensus_round") or 0)


def test_after_a_consensus_stall_is_fixed_the_next_block_is_fresh_and_continues_the_heights(stack: Stack) -> None:
    # LucidBlockchainNoNewBlock resolves: the block after the stall carries the current time.
    if stack.lucid:
        _stall_is_refused(stack)
        return
    stack.sim.fault("blockchain-engine", "consensus_stall")
    stack.sim.advance(SLOT * 30)
    stalled = stack.probe("blockchain-engine")
    ts = value(stalled, "lucid_blockchain_latest_block_timestamp_seconds")
    assert ts is not None and time.time() - ts > SLOT * 30
    stack.sim.clear("blockchain-engine")
    fixed_at = time.time()
    fixed = stack.probe("blockchain-engine")
    slots_since = int((time.time() - fixed_at) / SLOT) + 1
    ts = value(fixed, "lucid_blockchain_latest_block_timestamp_seconds")
    assert ts is not None and ts >= fixed_at - SLOT
    height = value(stalled, "lucid_blockchain_block_height") or 0
    assert height <= (value(fixed, "lucid_blockchain_block_height") or 0) <= height + slots_since
    assert value(fixed, "lucid_consensus_reached") == 1


def test_consensus_failures_poot_validation_errors_show_collapsed_scores(stack: Stack) -> None:
    if stack.lucid:
        # The blockchain API has no PoOT route: the proofs are node-management's (test_nodes_status.py).
        assert "it applies to node-management" in stack.refused("blockchain-engine", "poot_collapsed")
        assert stack.blind("consensus_poot_scores", "lucid_consensus_poot_score_max") == set()
        return
    stack.sim.fault("blockchain-engine", "poot_collapsed")
    series = stack.probe("blockchain-engine")
    assert (value(series, "lucid_consensus_poot_score_max") or 1) < 0.1


def test_session_anchoring_failures_show_a_pending_backlog_and_no_new_anchor(stack: Stack) -> None:
    before = stack.probe("session-anchoring")
    if stack.lucid:
        assert value(before, "lucid_anchoring_sessions", state="pending") == 5  # a constant
        assert value(before, "lucid_anchoring_last_anchor_timestamp_seconds") is None  # its reply has no time
        reason = stack.refused("session-anchoring", "anchoring_backlog")
        assert reason.startswith("not expressible: the real anchoring status is a constant")
        # Anchoring is the blockchain API itself, and no route lists the Merkle trees.
        assert stack.blind("anchoring_blockchain_status", "lucid_anchoring_blockchain_connected") == \
            {"LucidAnchoringBlockchainDisconnected"}
        assert stack.blind("anchoring_merkle_trees", "lucid_anchoring_merkle_trees") == set()
        return
    assert value(before, "lucid_anchoring_blockchain_connected") == 1
    stack.sim.fault("session-anchoring", "anchoring_backlog")
    stack.probe("session-anchoring")
    stack.sim.advance(SLOT * 2.5)
    series = stack.probe("session-anchoring")
    pending = value(series, "lucid_anchoring_sessions", state="pending")
    assert pending is not None and pending > (value(before, "lucid_anchoring_sessions", state="pending") or 0) + 3
    last = value(series, "lucid_anchoring_last_anchor_timestamp_seconds")
    assert last is not None and time.time() - last > SLOT * 2
    assert value(series, "lucid_anchoring_blockchain_connected") == 0
    assert (value(series, "lucid_anchoring_merkle_trees", status="pending") or 0) > 0


def test_wrong_shape_reply_fails_only_that_check_with_reason_parse(stack: Stack) -> None:
    stack.sim.fault("blockchain-engine", "garbage")
    stack.probe("blockchain-engine")
    series = stack.probe("blockchain-engine")
    assert value(series, "lucid_probe_success", target="blockchain-engine/blocks_latest") == 0
    assert (value(series, "lucid_probe_errors_total", target="blockchain-engine/blocks_latest", reason="parse")
            or 0) >= 1
    other = stack.probe("session-anchoring")
    assert value(other, "lucid_probe_success", target="session-anchoring/anchoring_status") == 1
