"""The exposition: our encoder writes what prometheus_client writes, byte for byte, for what probes return.

The encoder exists for speed (docs/performance.md); prometheus_client stays the reference: every
generated round of samples (gauges and counters, any labels and values, escapes, duplicates,
missing labels, odd floats) renders identically through both, in both formats Prometheus asks for.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from lucid_exporter.collector import _group, families, go_float, negotiate, prepare, render, render_lines
from lucid_exporter.metrics import Sample, counter, gauge

PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
ACCEPTS = [
    PROMETHEUS_ACCEPT,
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "",
    "application/openmetrics-text",
    "application/openmetrics-text;version=0.0.1",
    "application/openmetrics-text; version=1.0.0; escaping=allow-utf-8",
    "application/openmetrics-text;version=1.0.0;escaping=values",
    "application/openmetrics-text;version=1.0.0;escaping=dots",
    "application/openmetrics-text;version=2.0.0",
    "text/plain;version=1.0.0;escaping=underscores",
    "*/*",
]


def reference(samples: list[Sample], accept: str) -> tuple[bytes, str]:
    """What prometheus_client's own encoder writes for the same samples."""
    by_name = _group(samples)

    class Round(Collector):
        def collect(self):  # type: ignore[no-untyped-def]
            return families(by_name)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Round())
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


names = st.sampled_from(["lucid_service_up", "lucid_probe_duration_seconds", "lucid_redis_db_keys",
                         "lucid_probe_errors_total", "lucid_mongodb_op_counters_total", "lucid_x:rate5m"])
label_names = st.sampled_from(["service", "cluster", "probe", "target", "reason", "db", "_hidden", "a1"])
label_values = st.text(alphabet=st.sampled_from(['a', 'Z', '0', '-', '/', ' ', '"', '\\', '\n', 'é', '{', '=', ',']),
                       max_size=6)
values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**12, 10**12).map(float),
                   st.sampled_from([0.0, -0.0, 1.0, 1e6, 1234567.0, 12345678.9, 1e-7, 0.1, 2.5e21]))
helps = st.text(alphabet=st.sampled_from(['a', ' ', '"', '\\', '\n', '(', 'é']), max_size=8)


@st.composite
def a_sample(draw: st.DrawFn) -> Sample:
    name = draw(names)
    labels = draw(st.dictionaries(label_names, label_values, max_size=3))
    kind = "counter" if name.endswith("_total") else "gauge"
    return Sample(name, draw(values), labels, draw(helps), kind)


@settings(max_examples=300, deadline=None)
@given(st.lists(a_sample(), max_size=25), st.sampled_from(ACCEPTS))
def test_every_round_renders_as_prometheus_client_renders_it(samples: list[Sample], accept: str) -> None:
    ours = render(samples, accept)
    assert ours == reference(samples, accept)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(a_sample(), max_size=6), max_size=8), st.sampled_from(ACCEPTS))
def test_lines_written_per_probe_result_render_as_the_whole_round_at_once(results: list[list[Sample]],
                                                                         accept: str) -> None:
    # Each result's lines are written when it comes in; a scrape only puts them together.
    together = render([s for r in results for s in r], accept)
    assert render_lines([prepare(r) for r in results], accept) == together


def test_prometheus_gets_openmetrics_and_a_browser_gets_text() -> None:
    assert negotiate(PROMETHEUS_ACCEPT)[0] is True
    assert render([], PROMETHEUS_ACCEPT)[1] == ("application/openmetrics-text; version=1.0.0; charset=utf-8; "
                                                "escaping=underscores")
    assert render([], "text/html,*/*")[1] == "text/plain; version=0.0.4; charset=utf-8"


def test_a_duplicate_series_keeps_its_first_value_and_missing_labels_are_empty() -> None:
    body, _ = render([gauge("lucid_service_up", 1, "up", service="a"), gauge("lucid_service_up", 0, "up", service="a"),
                      gauge("lucid_service_up", 0, "up"), counter("lucid_probe_errors_total", 3, "errors", reason="x")],
                     PROMETHEUS_ACCEPT)
    text = body.decode()
    assert 'lucid_service_up{service="a"} 1.0\n' in text and 'service="a"} 0.0' not in text
    assert 'lucid_service_up{service=""} 0.0\n' in text
    assert "# TYPE lucid_probe_errors counter\n" in text and 'lucid_probe_errors_total{reason="x"} 3.0\n' in text
    assert text.endswith("# EOF\n")
    parsed = {f.name: f for f in text_string_to_metric_families(text)}
    assert parsed["lucid_service_up"].samples[0].labels == {"service": "a"}


def test_values_are_written_as_go_writes_them() -> None:
    assert [go_float(v) for v in (1.0, 0.5, 1e6, 12345678.0, math.inf, -math.inf, math.nan, -3.0)] == \
        ["1.0", "0.5", "1e+06", "1.2345678e+07", "+Inf", "-Inf", "NaN", "-3.0"]
