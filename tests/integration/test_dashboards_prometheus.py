"""Every panel query of the dashboards against a real Prometheus that scrapes the real exporter.

Starts the simulated stack with its containers on a real Docker engine (``sim --docker``, the
engine of ``tests/servers_docker.py``), ``lucid-exporter serve`` pointed at it and Debian's
Prometheus (1 s scrape interval, temporary storage), waits for a few scrapes, then sends every panel query,
with its variables substituted, to ``/api/v1/query``:
- every query must parse;
- a query must return data when every metric it uses is in the exporter's /metrics output
  (Prometheus' own ``ALERTS`` counts as present: the alert panels add ``or vector(0)``).
Queries over metrics the exporter does not produce yet are printed; they fail only when
``ALL_PANELS_MUST_RETURN_DATA`` is True (flip it once every probe is merged).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from ..conftest import Exporter, Sim, start_exporter
from ..dashboards_support import committed_dashboards, generate, metrics_not_exported, queries
from ..fullstack import TEST_SERVER_GAPS, Foundation, start_foundation
from ..servers_docker import DockerEnv, docker_env, start_docker_sim  # noqa: F401 - fixture
from ..servers_prometheus import Prometheus, start_prometheus
from ..support import http_get, parse_metrics, scrape, value, wait_until

# The docker engine is shared: one xdist worker runs every test that uses it (see tests/conftest.py).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("docker")]

# Every panel must show data on the healthy stack (sim with its containers, the real foundation
# stores), except panels over metrics the test servers cannot produce: tests/fullstack.py lists
# those, each with its reason.
ALL_PANELS_MUST_RETURN_DATA = True

# Metrics produced on main today by the healthy sim stack; each must be used by some panel query
# that was required to (and did) return data. Extend as the probes are merged.
PRODUCED_BY_THE_HEALTHY_SIM = (
    "lucid_service_up", "lucid_service_degraded", "lucid_service_health_duration_seconds",
    "lucid_service_http_status", "lucid_probe_success", "lucid_probe_duration_seconds",
    "lucid_probe_errors_total", "lucid_exporter_build_info",
    # sim --docker: the containers, their networks and logs; the host side of the sim.
    "lucid_container_present", "lucid_container_running", "lucid_container_health_status",
    "lucid_container_restart_count", "lucid_container_oom_killed", "lucid_container_cpu_seconds_total",
    "lucid_container_memory_usage_bytes", "lucid_container_memory_limit_bytes", "lucid_docker_network_present",
    "lucid_tron_isolation_violations", "lucid_docker_disk_usage_bytes", "lucid_log_lines_total",
    "lucid_log_error_codes_total", "lucid_log_slow_lines_total", "lucid_log_auth_failure_lines_total",
    "lucid_dns_resolves", "lucid_tcp_connect_success", "lucid_tcp_connect_seconds",
    "lucid_host_filesystem_free_bytes", "lucid_backup_last_timestamp_seconds", "lucid_backup_last_size_bytes",
    # The real foundation stores.
    "lucid_mongodb_up", "lucid_mongodb_replset_member_state", "lucid_mongodb_index_present", "lucid_redis_up",
    "lucid_redis_memory_used_bytes", "lucid_redis_rate_limit_keys", "lucid_elasticsearch_up",
    "lucid_elasticsearch_cluster_health_status",
)
# Grafana's $__rate_interval is max(4 x scrape interval, $__interval + scrape interval).
RATE_INTERVAL = "1m"
INTERVAL = "15s"

DASHBOARDS = committed_dashboards()
T = TypeVar("T")


@dataclass
class Stack:
    sim: Sim
    foundation: Foundation
    exporter: Exporter
    prometheus: Prometheus
    exported: frozenset[str]  # sample names in the exporter's /metrics


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, docker_env: DockerEnv) -> Iterator[Stack]:  # noqa: F811
    tmp: Path = tmp_path_factory.mktemp("dashboards")
    sim, foundation, exporter = _retry(lambda: _sim_and_exporter(tmp, docker_env))
    prometheus = None
    try:
        metrics = f"{exporter.url}/metrics"
        host_port = exporter.url.removeprefix("http://")
        prometheus = _retry(lambda: start_prometheus(tmp, [host_port], scrape_interval="1s"))
        # A few scrapes, so that rate() and increase() over $__rate_interval have two samples or more.
        wait_until(lambda: _scrapes(prometheus) >= 5, timeout=60, interval=0.5, what="5 scrapes of the exporter")
        status, body = http_get(metrics)
        assert status == 200
        exported = frozenset(name for name, _ in parse_metrics(body))
        yield Stack(sim, foundation, exporter, prometheus, exported)
    finally:
        if prometheus is not None:
            prometheus.stop()
        exporter.proc.stop()
        foundation.stop()
        sim.proc.stop(timeout=60)


def _sim_and_exporter(tmp: Path, env: DockerEnv) -> tuple[Sim, Foundation, Exporter]:
    sim = start_docker_sim(tmp, env)
    exporter = foundation = None
    try:
        foundation = start_foundation(tmp / "foundation")
        exporter = start_exporter(tmp, foundation.config(sim.config))
        metrics = f"{exporter.url}/metrics"
        # A short fault, cleared before Prometheus starts, so that lucid_probe_errors_total exists
        # (it is only written once a probe has failed) while the stack itself is healthy again.
        sim.fault("auth-service", "error")
        wait_until(lambda: value(scrape(metrics), "lucid_probe_errors_total", target="auth-service") is not None,
                   what="a probe error counted")
        sim.clear()
        wait_until(lambda: value(scrape(metrics), "lucid_service_up", service="auth-service") == 1,
                   what="auth-service healthy again")
        return sim, foundation, exporter
    except BaseException:
        if exporter is not None:
            exporter.proc.stop()
        if foundation is not None:
            foundation.stop()
        sim.proc.stop(timeout=60)
        raise


def _retry(start: Callable[[], T], attempts: int = 3) -> T:
    """Start servers, again when that fails: a free port can be taken by another test process
    between the moment it is picked and the moment the server binds it."""
    for i in range(attempts):
        try:
            return start()
        except (RuntimeError, AssertionError, TimeoutError) as e:
            if i == attempts - 1:
                raise
            warnings.warn(f"starting the test servers failed ({e}); trying again", stacklevel=1)
            time.sleep(0.5)
    raise AssertionError("unreachable")


def _scrapes(p: Prometheus) -> float:
    res = p.result('count_over_time(lucid_exporter_build_info{job="lucid"}[1m])')
    return float(res[0]["value"][1]) if res else 0.0


def _queries(uid: str) -> list[queries.PanelQuery]:  # type: ignore[name-defined]
    return queries.panel_queries(DASHBOARDS[uid], rate_interval=RATE_INTERVAL, interval=INTERVAL)


def _missing(stack: Stack, q: queries.PanelQuery) -> set[str]:  # type: ignore[name-defined]
    """The metrics of ``q`` that the exporter does not produce (empty: ``q`` must return data)."""
    return metrics_not_exported(q.expr, stack.exported)


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_every_panel_query_parses_in_prometheus(stack: Stack, uid: str) -> None:
    errors = []
    for q in _queries(uid):
        answer = stack.prometheus.query(q.expr)
        if answer.get("status") != "success":
            errors.append(f"{q}\n    -> {answer.get('errorType')}: {answer.get('error')}")
    assert not errors, "queries Prometheus rejects:\n" + "\n".join(errors)


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_panels_over_exported_metrics_show_data(stack: Stack, uid: str) -> None:
    empty, not_yet, unexpected = [], [], []
    for q in _queries(uid):
        missing = _missing(stack, q)
        if missing:
            not_yet.append(f"{q}  (not exported yet: {', '.join(sorted(missing))})")
            if not missing <= set(TEST_SERVER_GAPS):
                unexpected.append(not_yet[-1])
            continue
        if not stack.prometheus.result(q.expr):
            empty.append(str(q))
    if not_yet:
        print(f"{uid}: {len(not_yet)} panel queries over metrics the test servers cannot produce "
              "(tests/fullstack.py TEST_SERVER_GAPS):\n  " + "\n  ".join(not_yet))
    assert not empty, "panel queries that return no data on the healthy sim stack:\n" + "\n".join(empty)
    if ALL_PANELS_MUST_RETURN_DATA:
        assert not unexpected, "panels whose metrics the exporter does not produce:\n" + "\n".join(unexpected)


def test_the_metrics_of_main_are_exported_and_shown_by_some_panel(stack: Stack) -> None:
    missing = [m for m in PRODUCED_BY_THE_HEALTHY_SIM if m not in stack.exported]
    assert not missing, f"the exporter does not produce {missing}"
    shown: set[str] = set()
    for uid in DASHBOARDS:
        for q in _queries(uid):
            names = generate.metric_names(q.expr)
            if names and not _missing(stack, q) and stack.prometheus.result(q.expr):
                shown |= names
    assert not [m for m in PRODUCED_BY_THE_HEALTHY_SIM if m not in shown]


def test_overview_shows_every_service_of_the_catalogue_up(stack: Stack) -> None:
    (q,) = [q for q in _queries("lucid-overview") if q.expr == 'lucid_service_up{cluster="auth"}']
    (series,) = stack.prometheus.result(q.expr)
    assert series["metric"]["service"] == "auth-service" and series["value"][1] == "1"
    firing = [q for q in _queries("lucid-overview") if "ALERTS" in q.expr]
    assert len(firing) == 3 * (len(generate.CLUSTERS) + 1)
    for q in firing:  # no alert rules loaded: every count is an explicit 0, not "No data"
        assert [s["value"][1] for s in stack.prometheus.result(q.expr)] == ["0"], q


def test_the_checks_catch_a_broken_query_and_a_panel_without_data(stack: Stack) -> None:
    assert stack.prometheus.query("sum(rate(lucid_probe_errors_total[1m])")["status"] == "error"
    assert stack.prometheus.query('lucid_service_up{service=~"$service"}')["status"] == "success"
    assert stack.prometheus.result('lucid_service_up{service="no-such-service"}') == []
