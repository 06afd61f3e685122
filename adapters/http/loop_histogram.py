"""A Prometheus histogram and counter for series only the event loop observes: one
bisect and two additions an observation, one addition an increment, no lock.

prometheus_client's `Histogram` takes a lock for the sum and another for the bucket,
through four Python calls: about a microsecond an observation, and the event loop
observes its store calls on every request. The loop is one thread, so the series it
alone observes need no lock. A scrape (in any thread) reads the counts as they are:
it may miss an observation being made, never counts one twice, and `_count` is the
sum of the buckets it read, so buckets and count always agree.

The exposition is the one `Histogram` gives (`_bucket` per `le`, `+Inf` included,
`_count`, `_sum`, `_created`), so dashboards and alerts cannot tell them apart.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric


def le_label(bound: float) -> str:
    """A bucket bound as Prometheus clients write it (Go's float format: `0.0001`,
    `2.5`, `1e+06`, `+Inf`), so the `le` labels match `Histogram`'s exactly. Written
    here: the client library's own helper is not part of its public API."""
    if math.isinf(bound):
        return "+Inf" if bound > 0 else "-Inf"
    if math.isnan(bound):
        return "NaN"
    text = repr(float(bound))
    dot = text.find(".")
    if bound > 0 and dot > 6:  # Go turns to an exponent from a million on
        digits = (text[:dot] + text[dot + 1 :]).rstrip("0")
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


class LoopHistogramChild:
    """One labelled series: counts per bucket (not cumulative), their sum."""

    __slots__ = ("_bounds", "counts", "created", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        """Per bucket; the last one is above every bound (`+Inf` alone)."""
        self.sum = 0.0
        self.created = time.time()

    def observe(self, amount: float) -> None:
        # The first bucket whose bound is >= amount, as Prometheus' `le` means.
        self.counts[bisect_left(self._bounds, amount)] += 1
        self.sum += amount


class LoopHistogram:
    """A labelled histogram family, registered on `registry` as a collector."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        *,
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = tuple(labelnames)
        self._bounds = tuple(sorted(float(bound) for bound in buckets if bound != math.inf))
        self._le = (*(le_label(bound) for bound in self._bounds), "+Inf")
        self._children: dict[tuple[str, ...], LoopHistogramChild] = {}
        registry.register(self)

    def labels(self, **labels: str) -> LoopHistogramChild:
        """The series of these label values (created at zero on first use)."""
        if set(labels) != set(self._labelnames):
            raise ValueError(f"{self._name} takes the labels {self._labelnames}")
        key = tuple(str(labels[name]) for name in self._labelnames)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = LoopHistogramChild(self._bounds)
        return child

    def describe(self) -> Iterable[Metric]:
        return [Metric(self._name, self._documentation, "histogram")]

    def collect(self) -> Iterable[Metric]:
        metric = Metric(self._name, self._documentation, "histogram")
        for key, child in list(self._children.items()):
            series = dict(zip(self._labelnames, key, strict=True))
            total = 0
            for le, count in zip(self._le, list(child.counts), strict=True):
                total += count
                metric.add_sample(f"{self._name}_bucket", {**series, "le": le}, total)
            metric.add_sample(f"{self._name}_count", series, total)
            metric.add_sample(f"{self._name}_sum", series, child.sum)
            metric.add_sample(f"{self._name}_created", series, child.created)
        return [metric]


class LoopCounterChild:
    """One labelled series of a `LoopCounter`: an addition an increment, no lock."""

    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.created = time.time()

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class LoopCounter:
    """A labelled counter family for series only the event loop increments (the
    requests answered, one a request), exposed as `Counter` exposes one (`_total`,
    `_created`); registered on `registry` as a collector. `name` is without `_total`."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        *,
        registry: CollectorRegistry,
    ) -> None:
        if name.endswith("_total"):
            raise ValueError(f"{name}: name the counter without its _total suffix")
        self._name = name
        self._documentation = documentation
        self._labelnames = tuple(labelnames)
        self._children: dict[tuple[str, ...], LoopCounterChild] = {}
        registry.register(self)

    def labels(self, **labels: str) -> LoopCounterChild:
        """The series of these label values (created at zero on first use)."""
        if set(labels) != set(self._labelnames):
            raise ValueError(f"{self._name} takes the labels {self._labelnames}")
        key = tuple(str(labels[name]) for name in self._labelnames)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = LoopCounterChild()
        return child

    def describe(self) -> Iterable[Metric]:
        return [Metric(self._name, self._documentation, "counter")]

    def collect(self) -> Iterable[Metric]:
        metric = Metric(self._name, self._documentation, "counter")
        for key, child in list(self._children.items()):
            series = dict(zip(self._labelnames, key, strict=True))
            metric.add_sample(f"{self._name}_total", series, child.value)
            metric.add_sample(f"{self._name}_created", series, child.created)
        return [metric]
