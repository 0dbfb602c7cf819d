"""Session management (guide: Session Pipeline Failures, Chunk Processing Failures) against the sim, under
both personalities. The real pipeline serves its pipelines by state but no last-transition time and no
processed counter (its timestamp is the event loop's clock); the real chunk processor counts failed
chunks without naming encryption, and refreshes its queue size every 10 s."""

from __future__ import annotations

import time

import pytest

from ..servers_status import SLOT, Stack, _clear_faults, stack_fixture  # noqa: F401
from ..support import Series, value

# Advancing the sim's clock moves everything that already happened in the sim that far into the
# past (the exporter's clock did not move): a timestamp read before an advance of A seconds is
# compared with one read after it on the sim's clock, i.e. shifted by A.


def _by_state(series: Series) -> dict[str, float]:
    return {dict(lbl)["state"]: v for (n, lbl), v in series.items() if n == "lucid_pipeline_sessions"}


def test_healthy_pipeline_moves_sessions_through_states(stack: Stack) -> None:
    if stack.lucid:
        # A pipeline goes through its 11 states in as many slots: past that the pipelines of every age
        # are there, whenever the sim started.
        stack.sim.advance(SLOT * 11)
    first = stack.probe("session-pipeline")
    stack.sim.advance(SLOT * 1.5)
    second = stack.probe("session-pipeline")
    if stack.lucid:
        # One state per slot: the counts by state move; no pipeline is in error.
        assert (value(second, "lucid_pipeline_sessions", state="active") or 0) > 0
        assert _by_state(second) != _by_state(first)
        assert value(second, "lucid_pipeline_sessions", state="error") == 0
        return
    t1 = value(first, "lucid_pipeline_last_transition_timestamp_seconds")
    t2 = value(second, "lucid_pipeline_last_transition_timestamp_seconds")
    assert t1 is not None and t2 is not None and t2 > t1 - SLOT * 1.5
    assert (value(second, "lucid_pipeline_sessions", state="recording") or 0) > 0


def test_session_pipeline_failures_sessions_not_processed_show_no_state_change(stack: Stack) -> None:
    stack.sim.fault("session-pipeline", "pipeline_stuck")
    first = stack.probe("session-pipeline")
    stack.sim.advance(SLOT * 2.5)
    second = stack.probe("session-pipeline")
    if stack.lucid:
        # No pipeline changes state and new ones stay "created" (the guide's "initializing"); no transition
        # time or processed counter is served, so those series are not there to stop.
        before, after = _by_state(first), _by_state(second)
        assert after.pop("created") > before.pop("created")
        assert after == before
        assert stack.blind("pipeline_status", "lucid_pipeline_last_transition_timestamp_seconds",
                           "lucid_pipeline_sessions_processed_total") == {"LucidSessionPipelineStuck"}
        return
    last = value(second, "lucid_pipeline_last_transition_timestamp_seconds")
    before = value(first, "lucid_pipeline_last_transition_timestamp_seconds")
    assert last is not None and before is not None
    assert last == pytest.approx(before - SLOT * 2.5, abs=0.002)  # the same transition (ms in the body)
    assert time.time() - last > SLOT * 2
    assert value(second, "lucid_pipeline_sessions_processed_total") == \
        value(first, "lucid_pipeline_sessions_processed_total")
    assert (value(second, "lucid_pipeline_sessions", state="initializing") or 0) > \
        (value(first, "lucid_pipeline_sessions", state="initializing") or 0)


def test_chunk_processing_failures_chunks_not_processed_show_a_growing_queue(stack: Stack) -> None:
    stack.sim.fault("chunk-processor", "chunk_queue_growing")
    first = stack.probe("chunk-processor")
    # The real processor refreshes queue_size every 10 s: past two refreshes the growth shows whatever
    # the phase of its refresh.
    stack.sim.advance(21 if stack.lucid else 1.5)
    second = stack.probe("chunk-processor")
    d1 = value(first, "lucid_chunk_queue_depth")
    d2 = value(second, "lucid_chunk_queue_depth")
    assert d1 is not None and d2 is not None and d2 >= d1 + 5
    assert value(second, "lucid_chunks_processed_total") == value(first, "lucid_chunks_processed_total")


def test_chunk_processing_failures_encryption_failures_show_encryption_not_ok(stack: Stack) -> None:
    before = stack.probe("chunk-processor")
    assert value(before, "lucid_chunk_encryption_ok") == (None if stack.lucid else 1)
    stack.sim.fault("chunk-processor", "encryption_failure")
    stack.probe("chunk-processor")
    stack.sim.advance(1.0)
    series = stack.probe("chunk-processor")
    if stack.lucid:
        # An encryption failure is only a failed chunk there: the count grows, the cause is not named.
        assert (value(series, "lucid_chunks_failed_total") or 0) > (value(before, "lucid_chunks_failed_total") or 0)
        assert stack.blind("processing_encryption", "lucid_chunk_encryption_ok") == {"LucidChunkEncryptionFailing"}
        return
    assert value(series, "lucid_chunk_encryption_ok") == 0
    assert (value(series, "lucid_chunks_failed_total") or 0) > 0
