"""RDP services (guide: RDP Connection Failures, Resource Monitoring Failures) against the sim, under both
personalities. The real resource monitor serves no last-collection time (only a collection_active flag):
its stall, which the real code can show, is invisible to the lucid profile, and LucidResourceMonitorStale
is reported blind."""

from __future__ import annotations

import time

from ..servers_status import Stack, _clear_faults, stack_fixture  # noqa: F401
from ..support import value


def test_healthy_rdp_manager_allocates_ports_from_the_pool(stack: Stack) -> None:
    series = stack.probe("rdp-manager")
    allocated = value(series, "lucid_rdp_ports", state="allocated")
    available = value(series, "lucid_rdp_ports", state="available")
    assert allocated is not None and available is not None and allocated > 0 and available > 0
    assert value(series, "lucid_rdp_sessions_active") == allocated


def test_rdp_connection_failures_port_allocation_failures_show_no_port_available(stack: Stack) -> None:
    stack.sim.fault("rdp-manager", "port_pool_exhausted")
    series = stack.probe("rdp-manager")
    assert value(series, "lucid_rdp_ports", state="available") == 0
    assert (value(series, "lucid_rdp_ports", state="allocated") or 0) > 0


def _stall_is_blind(stack: Stack) -> None:
    stack.sim.fault("resource-monitor", "monitoring_stalled")
    assert stack.blind("monitoring_status", "lucid_resource_monitor_last_sample_timestamp_seconds") == {
        "LucidResourceMonitorStale"}


def test_resource_monitoring_failures_metrics_not_collected_show_a_stale_sample(stack: Stack) -> None:
    if stack.lucid:
        _stall_is_blind(stack)
        return
    fresh = value(stack.probe("resource-monitor"), "lucid_resource_monitor_last_sample_timestamp_seconds")
    assert fresh is not None and time.time() - fresh < 3
    stack.sim.fault("resource-monitor", "monitoring_stalled")
    stack.probe("resource-monitor")
    stack.sim.advance(2.5)
    stale = value(stack.probe("resource-monitor"), "lucid_resource_monitor_last_sample_timestamp_seconds")
    assert stale is not None and time.time() - stale > 2


def test_after_monitoring_resumes_the_sample_is_fresh_again(stack: Stack) -> None:
    # LucidResourceMonitorStale resolves once the monitor collects again.
    if stack.lucid:
        _stall_is_blind(stack)
        return
    stack.sim.fault("resource-monitor", "monitoring_stalled")
    stack.sim.advance(60)
    stale = value(stack.probe("resource-monitor"), "lucid_resource_monitor_last_sample_timestamp_seconds")
    assert stale is not None and time.time() - stale > 60
    stack.sim.clear("resource-monitor")
    resumed_at = time.time()
    fresh = value(stack.probe("resource-monitor"), "lucid_resource_monitor_last_sample_timestamp_seconds")
    assert fresh is not None and fresh >= resumed_at - 1.0  # collection_interval: 1 s
