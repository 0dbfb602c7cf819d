"""The sim's clock, without sockets: advancing makes simulated time pass, and every stalled event
(blocks, anchors, sessions, chunks, resource samples, TRON blocks) is fresh again within one of its
periods once its fault is cleared, so that every staleness alert resolves (issue 12)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import jwt
import pytest

from lucid_sim.clock import ClockError, SimClock, Ticker
from lucid_sim.stack import SimStack
from lucid_sim.world import FAULT_KINDS, SIM_JWT_SECRET, STALLS, TRON_BLOCK_SECONDS, World, check_token, mint_token

SLOT = 1.0
STALL = 600.0  # seconds the sim's clock moves on while a fault stalls an event


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _world(**kw: float) -> tuple[World, SimStack]:
    world = World(slot_seconds=SLOT, **kw)
    stack = SimStack(extra_fault_kinds=FAULT_KINDS)  # not started: no port is bound
    world.attach(stack)
    return world, stack


# What each stalled event reports, read from the sim's answers: (events so far or None, latest time).
Reading = Callable[[World], tuple[int | None, float]]
READINGS: dict[str, tuple[Reading, float]] = {
    "chain": (lambda w: (w.latest_block()["height"], _epoch(w.latest_block()["timestamp"])), SLOT),
    "anchoring": (lambda w: (w.anchoring()["sessions"]["completed"], _epoch(w.anchoring()["last_anchor_time"])),
                  SLOT),
    "pipeline": (lambda w: (w.pipeline_status()["processed_sessions"],
                            _epoch(w.pipeline_status()["last_transition_time"])), SLOT),
    "chunks": (lambda w: (w.processing()["processed"], w.processing()["last_processed"]), SLOT / 10),
    "monitor": (lambda w: (None, w.monitoring_sample_time()), 1.0),
    "tron-client": (lambda w: w.tron_block(client=True), TRON_BLOCK_SECONDS),
}


def test_every_stalling_fault_has_a_reading() -> None:
    assert set(READINGS) == set(STALLS)


@pytest.mark.parametrize("event", sorted(STALLS))
def test_after_a_stall_is_cleared_the_latest_event_is_fresh_again_within_one_period(event: str) -> None:
    world, stack = _world()
    read, period = READINGS[event]
    service, kind = STALLS[event]
    stack.faults.add(service, kind)
    stalled_count, _ = read(world)
    world.advance(STALL)
    count, stamp = read(world)
    assert count == stalled_count  # nothing produced while stalled
    assert time.time() - stamp > STALL  # the stall shows as staleness, on the exporter's clock

    stack.faults.clear(service, kind)
    before = time.time()
    count, stamp = read(world)
    assert stamp >= before - period, f"{event}: latest event {before - stamp:.1f} s old after the stall cleared"
    if event == "tron-client":
        # Reconnected, the TRON client sees the network's latest block at once (it follows TronGrid).
        assert count == world.tron_block(client=False)[0]
    elif count is not None and stalled_count is not None:
        # Lucid's own events continue from where they stopped: no jump over the stall.
        ticks = int((time.time() - before) / period) + 1
        assert stalled_count <= count <= stalled_count + ticks


def test_a_block_after_a_consensus_stall_is_the_next_height_with_the_current_time() -> None:
    world, stack = _world()
    stack.faults.add("blockchain-engine", "consensus_stall")
    stalled = world.latest_block()
    world.advance(30 * SLOT)
    stack.faults.clear()
    world.advance(SLOT)  # one slot after the stall: one block
    block = world.latest_block()
    assert block["height"] == stalled["height"] + 1
    assert block["previous_hash"] == stalled["hash"]
    assert _epoch(block["timestamp"]) >= time.time() - SLOT


def test_advancing_a_healthy_sim_makes_blocks_rounds_and_samples_pass_with_fresh_timestamps() -> None:
    world, _ = _world()
    height, round_ = world.consensus_status()["block_height"], world.consensus_status()["current_round"]
    world.advance(10 * SLOT)
    status = world.consensus_status()
    assert status["block_height"] >= height + 10 and status["current_round"] >= round_ + 10
    now = time.time()
    assert now - SLOT <= _epoch(status["last_block_time"]) <= now
    assert now - 1.0 <= world.monitoring_sample_time() <= now


def test_advancing_makes_a_faults_duration_grow() -> None:
    world, stack = _world()
    stack.faults.add("chunk-processor", "chunk_queue_growing")
    queue = world.processing()["queue"]
    world.advance(10.0)
    assert world.since("chunk-processor", "chunk_queue_growing") >= 10.0
    assert world.processing()["queue"] >= queue + 50 - 2  # 5 a second; the queue's own jitter is 0..2


def test_advancing_past_the_rate_window_frees_the_gateway_limit() -> None:
    world, _ = _world()
    for _ in range(101):
        remaining, status, _ = world.hit("10.0.0.1")
    assert (remaining, status) == (0, 429)
    world.advance(61.0)
    remaining, status, _ = world.hit("10.0.0.1")
    assert status == 200 and remaining == 99


def test_the_monitoring_token_is_a_standard_hs256_jwt_that_expires_on_the_sims_clock() -> None:
    world, _ = _world(token_ttl=100.0)
    claims = jwt.decode(world.token, SIM_JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "lucid-exporter" and claims["role"] == "read_only"
    assert 0 < claims["exp"] - time.time() <= 100
    assert check_token(world.token, world.advanced)
    world.advance(101.0)
    assert not check_token(world.token, world.advanced)


@pytest.mark.parametrize("token", [
    "not-a-jwt",
    jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, "another-key-of-thirty-two-bytes-or-more",
               algorithm="HS256"),
    jwt.encode({"sub": "x"}, SIM_JWT_SECRET, algorithm="HS256"),  # no expiry
    mint_token(ttl=-10),
], ids=["not-a-jwt", "another-key", "no-expiry", "expired"])  # stable ids: xdist workers must collect alike
def test_a_token_the_sim_did_not_sign_or_that_expired_is_refused(token: str) -> None:
    assert not check_token(token)


@pytest.mark.parametrize("seconds", [-1.0, float("nan"), float("inf")])
def test_the_clock_moves_forward_only(seconds: float) -> None:
    clock = SimClock()
    with pytest.raises(ClockError):
        clock.advance(seconds)
    assert clock.advanced == 0.0


def test_a_ticker_resumes_at_the_current_tick_and_counts_on_from_where_it_stopped() -> None:
    ticker = Ticker(period=1.0)
    ticker.follow(10, stalled=True)
    assert (ticker.last(25), ticker.count(25)) == (10, 10)
    ticker.follow(25, stalled=False)
    assert (ticker.last(25), ticker.count(25)) == (25, 10)
    assert (ticker.last(26), ticker.count(26)) == (26, 11)
    follower = Ticker(period=1.0, catches_up=True)
    follower.follow(10, stalled=True)
    follower.follow(25, stalled=False)
    assert (follower.last(25), follower.count(25)) == (25, 25)
