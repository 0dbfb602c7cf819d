"""prometheus_client Collector: fresh metric families from one round of probe results."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from .metrics import Sample

log = logging.getLogger("lucid_exporter.collector")


class RoundCollector(Collector):
    """Yields one family per metric name, built anew for this scrape.

    Samples of the same name from many probes (``lucid_service_up`` of every service)
    merge into one family. A duplicate series keeps its first value: the exposition
    format forbids duplicates, and one bad probe must not break the whole scrape.
    """

    def __init__(self, samples: Iterable[Sample]) -> None:
        self._samples = list(samples)

    def collect(self) -> Iterator[Metric]:
        by_name: dict[str, list[Sample]] = {}
        for s in self._samples:
            by_name.setdefault(s.name, []).append(s)
        for name, samples in sorted(by_name.items()):
            label_names = sorted({k for s in samples for k in s.labels})
            help_text = next((s.help for s in samples if s.help), name)
            family: GaugeMetricFamily | CounterMetricFamily
            if samples[0].type == "counter":
                family = CounterMetricFamily(name.removesuffix("_total"), help_text, labels=label_names)
            else:
                family = GaugeMetricFamily(name, help_text, labels=label_names)
            seen: set[tuple[str, ...]] = set()
            for s in samples:
                values = tuple(str(s.labels.get(k, "")) for k in label_names)
                if values in seen:
                    log.debug("duplicate series dropped: %s%s", name, dict(zip(label_names, values, strict=True)))
                    continue
                seen.add(values)
                family.add_metric(list(values), s.value)
            yield family


def render(samples: Iterable[Sample], accept: str | None) -> tuple[bytes, str]:
    """Exposition bytes and content type, OpenMetrics when the scraper asks for it."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RoundCollector(samples))
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
