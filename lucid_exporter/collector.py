"""The exposition: one round of samples as Prometheus text or OpenMetrics, fresh on every scrape.

Samples of the same name from many probes (``lucid_service_up`` of every service) merge into one
family. A duplicate series keeps its first value: the exposition format forbids duplicates, and
one bad probe must not break the whole scrape.

The bytes are written by a small encoder of our own (:func:`encode`) rather than by
prometheus_client's ``generate_latest``: our samples are flat gauges and counters without
timestamps, exemplars or histograms, and building prometheus_client's metric families only to
walk them again cost a quarter of a 250-service scrape's CPU (its OpenMetrics writer escapes
every name character by character), and importing ``prometheus_client.exposition`` (an HTTP and
WSGI server with it) a sixth of the start-up. Its output is byte for byte prometheus_client's
(tests/unit/test_exposition.py compares the two on generated samples); the rare request that the
encoder does not cover (a name with a character other than a letter, digit or underscore, the ``dots`` and ``values``
escapings) goes to prometheus_client as before.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

from .metrics import Sample

if TYPE_CHECKING:
    from prometheus_client.core import Metric

log = logging.getLogger("lucid_exporter.collector")

CONTENT_TYPE_TEXT = "text/plain; version=0.0.4; charset=utf-8"
CONTENT_TYPE_OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
ESCAPINGS = ("allow-utf-8", "underscores", "dots", "values")
# Names in this set print unchanged under the ``underscores`` and ``allow-utf-8`` escapings (a
# colon, legal in a metric name but reserved for recording rules, is not: prometheus_client
# writes it in the HELP line and as ``_`` in the samples of an OpenMetrics exposition).
_PLAIN_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


# ---------------------------------------------------------------- content negotiation


def _param(tokens: list[str], key: str) -> str:
    for tok in tokens:
        if "=" in tok:
            k, value = tok.strip().split("=", 1)
            if k == key:
                return value
    return ""


def _escaping(tokens: list[str]) -> str:
    value = _param(tokens, "escaping")
    return value if value in ESCAPINGS else "underscores"


def _version_at_least_1(version: str) -> bool:
    parts: list[int | str] = []
    for part in version.split("."):
        try:
            parts.append(int(part))
        except ValueError:
            parts.append(part)
    try:
        return tuple(parts) >= (1, 0, 0)
    except TypeError:  # "a.b.c": not a version this exporter can serve
        return False


def negotiate(accept: str | None) -> tuple[bool, str, str]:
    """(OpenMetrics?, escaping, content type) for an Accept header, as prometheus_client's
    ``choose_encoder`` decides: OpenMetrics 1.0.0 for Prometheus, text 0.0.4 otherwise."""
    for accepted in (accept or "").split(","):
        tokens = accepted.split(";")
        media = tokens[0].strip()
        if media == "application/openmetrics-text":
            version = _param(tokens, "version")
            if not version:
                return True, "underscores", CONTENT_TYPE_OPENMETRICS
            if _version_at_least_1(version):
                escaping = _escaping(tokens)
                return True, escaping, (f"application/openmetrics-text; version={version}; charset=utf-8; "
                                        f"escaping={escaping}")
        elif media == "text/plain":
            version = _param(tokens, "version")
            if version and _version_at_least_1(version):
                escaping = _escaping(tokens)
                return False, escaping, f"text/plain; version=1.0.0; charset=utf-8; escaping={escaping}"
    return False, "underscores", CONTENT_TYPE_TEXT


# ---------------------------------------------------------------- the encoder


def go_float(value: float) -> str:
    """A sample value as Go (and prometheus_client's ``floatToGoString``) writes it."""
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if value != value:
        return "NaN"
    s = repr(value)
    dot = s.find(".")
    # Go switches to exponents sooner than Python.
    if value > 0 and dot > 6:
        mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1:]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return s


def _label_value(v: str) -> str:
    if "\\" in v or "\n" in v or '"' in v:
        return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return v


def _group(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    by_name: dict[str, list[Sample]] = {}
    for s in samples:
        group = by_name.get(s.name)
        if group is None:
            by_name[s.name] = [s]
        else:
            group.append(s)
    return by_name


@lru_cache(maxsize=4096)
def _plain(name: str) -> bool:
    return _PLAIN_NAME.match(name) is not None


class Line:
    """One sample with its exposition line, written once: when its probe's result comes in (while
    the other probes of the scrape are still waiting for their answers), and then served from
    cache as long as the result is. The line is the same in both formats."""

    __slots__ = ("keys", "plain", "sample", "text", "values")

    def __init__(self, sample: Sample) -> None:
        self.sample = sample
        labels = sample.labels
        shape = _SHAPES.get((sample.name, sample.type, tuple(labels)))
        if shape is None:
            shape = _shape(sample.name, sample.type, tuple(labels))
        self.keys, self.plain, template = shape
        values = tuple([labels[k] if type(labels[k]) is str else str(labels[k]) for k in self.keys])
        self.values: tuple[str, ...] = values
        if values and _NEEDS_ESCAPE.search("".join(values)):
            values = tuple([_label_value(v) for v in values])
        self.text = template.format(*values, go_float(sample.value))


    @classmethod
    def known(cls, sample: Sample, keys: tuple[str, ...], values: tuple[str, ...], prefix: str) -> Line:
        """A line whose labels the caller has written once already (``prefix``: the name and the
        labels, up to the value): the exporter's own series per probe and run."""
        line = cls.__new__(cls)
        line.sample, line.keys, line.values, line.plain = sample, keys, values, True
        line.text = f"{prefix}{go_float(sample.value)}\n"
        return line


# (metric name, type, label names in the sample's order) -> (sorted label names, plain?, line template):
# the same few hundred shapes come back on every scrape.
_SHAPES: dict[tuple[str, str, tuple[str, ...]], tuple[tuple[str, ...], bool, str]] = {}
_NEEDS_ESCAPE = re.compile(r'["\\\n]')


def _shape(name: str, kind: str, order: tuple[str, ...]) -> tuple[tuple[str, ...], bool, str]:
    keys = tuple(sorted(order))
    plain = _plain(name) and all(_plain(k) for k in keys)
    sample_name = name + "_total" if kind == "counter" and not name.endswith("_total") else name
    braced = sample_name.replace("{", "{{").replace("}", "}}")
    if keys:
        inner = ",".join(f'{k.replace("{", "{{").replace("}", "}}")}="{{}}"' for k in keys)
        template = f"{braced}{{{{{inner}}}}} {{}}\n"
    else:
        template = f"{braced} {{}}\n"
    shape = (keys, plain, template)
    if len(_SHAPES) < 65536:  # bounded whatever a misbehaving check returns
        _SHAPES[(name, kind, order)] = shape
    return shape


def _line(sample_name: str, keys: tuple[str, ...] | list[str], values: tuple[str, ...], value: float) -> str:
    if not keys:
        return f"{sample_name} {go_float(value)}\n"
    inner = ",".join([f'{k}="{_label_value(v)}"' for k, v in zip(keys, values, strict=True)])
    return f"{sample_name}{{{inner}}} {go_float(value)}\n"


def prepare(samples: Iterable[Sample]) -> list[Line]:
    """The lines of a probe's samples (see :class:`Line`)."""
    return [Line(s) for s in samples]


def encode(by_name: dict[str, list[Line]], openmetrics: bool) -> bytes:
    """The exposition of lines grouped by metric name, every name plain (``Line.plain``)."""
    out: list[str] = []
    append = out.append
    for name in sorted(by_name):
        group = by_name[name]
        first = group[0].sample
        counter = first.type == "counter"
        family = name.removesuffix("_total") if counter else name
        help_text = first.help or next((line.sample.help for line in group if line.sample.help), name)
        if openmetrics:
            help_text = help_text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
            header = family
        else:
            help_text = help_text.replace("\\", "\\\\").replace("\n", "\\n")
            header = family + "_total" if counter else family
        append(f"# HELP {header} {help_text}\n# TYPE {header} {'counter' if counter else 'gauge'}\n")
        keys = group[0].keys
        if len(group) == 1:
            append(group[0].text)
            continue
        seen: set[tuple[str, ...]] = set()
        if all(line.keys == keys for line in group):
            # The common case: every series of the family has the same label names.
            for line in group:
                if line.values in seen:
                    log.debug("duplicate series dropped: %s%s", name, dict(zip(keys, line.values, strict=True)))
                    continue
                seen.add(line.values)
                append(line.text)
            continue
        # Series with different label names: every series gets every name, "" where it has none.
        label_names = sorted({k for line in group for k in line.keys})
        sample_name = family + "_total" if counter else family
        for line in group:
            labels = dict(zip(line.keys, line.values, strict=True))
            values = tuple([labels.get(k, "") for k in label_names])
            if values in seen:
                log.debug("duplicate series dropped: %s%s", name, dict(zip(label_names, values, strict=True)))
                continue
            seen.add(values)
            append(_line(sample_name, label_names, values, line.sample.value))
    if openmetrics:
        append("# EOF\n")
    return "".join(out).encode("utf-8")


def render_lines(groups: Iterable[list[Line]], accept: str | None) -> tuple[bytes, str]:
    """Exposition bytes and content type of prepared lines (one list per probe result), OpenMetrics
    when the scraper asks for it."""
    openmetrics, escaping, content_type = negotiate(accept)
    by_name: dict[str, list[Line]] = {}
    plain = True
    for lines in groups:
        for line in lines:
            group = by_name.get(line.sample.name)
            if group is None:
                by_name[line.sample.name] = [line]
            else:
                group.append(line)
            plain = plain and line.plain
    if plain and escaping in ("underscores", "allow-utf-8"):
        return encode(by_name, openmetrics), content_type
    samples = {name: [line.sample for line in group] for name, group in by_name.items()}
    return _render_with_prometheus_client(samples, accept), content_type


def render(samples: Iterable[Sample], accept: str | None) -> tuple[bytes, str]:
    """Exposition bytes and content type, OpenMetrics when the scraper asks for it."""
    return render_lines([prepare(samples)], accept)


# ---------------------------------------------------------------- prometheus_client, for the rest


def families(by_name: dict[str, list[Sample]]) -> Iterator[Metric]:
    """prometheus_client metric families of grouped samples (one per name, duplicates dropped)."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

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
                continue
            seen.add(values)
            family.add_metric(list(values), s.value)
        yield family


def _render_with_prometheus_client(by_name: dict[str, list[Sample]], accept: str | None) -> bytes:
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import choose_encoder
    from prometheus_client.registry import Collector

    class RoundCollector(Collector):
        def collect(self) -> Iterator[Metric]:
            return families(by_name)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(RoundCollector())
    encoder, _ = choose_encoder(accept or "")
    return encoder(registry)
