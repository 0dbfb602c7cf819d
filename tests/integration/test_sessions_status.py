"""Session management (guide: Session Pipeline Failures, Chunk Processing Failures) against the sim."""

from __future__ import annotations

import time

import pytest

from ..servers_status import SLOT, Stack, _clear_faults, stack_fixture  # noqa: F401
from ..support import value

# Advancing the sim's clock moves everything that already happened in the sim that far into the
# past (the exporter's clock did not move): a timestamp read before an advance of A seconds is
# compared with one read after it on the sim's clock, i.e. shifted by A.


def test_healthy_pipeline_moves_sessions_through_states(stack: Stack) -> None:
    first = stack.probe("session-pipeline")
    stack.sim.advance(SLOT * 1.5)
    second = stack.probe("session-pipeline")
    t1 = value(first, "lucid_pipeline_last_transition_timestamp_seconds")
    t2 = value(second, "lucid_pipeline_last_transition_timestamp_seconds")
    assert t1 is not None and t2 is not None and t2 > t1 - SLOT * 1.5
    assert (value(second, "lucid_pipeline_sessions", state="recording") or 0) > 0


def test_session_pipeline_failures_sessions_not_processed_show_no_state_change(stack: Stack) -> None:
    stack.sim.fault("session-pipeline", "pipeline_stuck")
    first = stack.probe("session-pipeline")
    stack.sim.advance(SLOT * 2.5)
    second = stack.probe("session-pipeline")
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
    stack.sim.advance(1.5)
    second = stack.probe("chunk-processor")
    d1 = value(first, "lucid_chunk_queue_depth")
    d2 = value(second, "lucid_chunk_queue_depth")
    assert d1 is not None and d2 is not None and d2 >= d1 + 5
    assert value(second, "lucid_chunks_processed_total") == value(first, "lucid_chunks_processed_total")


def test_chunk_processing_failures_encryption_failures_show_encryption_not_ok(stack: Stack) -> None:
    assert value(stack.probe("chunk-processor"), "lucid_chunk_encryption_ok") == 1
    stack.sim.fault("chunk-processor", "encryption_failure")
    stack.probe("chunk-processor")
    stack.sim.advance(1.0)
    series = stack.probe("chunk-processor")
    assert value(series, "lucid_chunk_encryption_ok") == 0
    assert (value(series, "lucid_chunks_failed_total") or 0) > 0
