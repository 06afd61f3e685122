"""`LoopHistogram` exposes exactly what prometheus_client's `Histogram` exposes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from bdbexport.adapters.http.loop_histogram import LoopCounter, LoopHistogram
from bdbexport.adapters.http.metrics import STORE_BUCKETS

OPERATIONS = ("bdbs.get", "users.get")


def exposition(registry: CollectorRegistry) -> list[str]:
    """The text format, without the `_created` timestamps (they differ by nature)."""
    return [
        line for line in generate_latest(registry).decode().splitlines() if "_created{" not in line
    ]


@settings(deadline=None)  # a busy machine stalls an example now and then
@given(
    st.lists(
        st.tuples(
            st.sampled_from(OPERATIONS),
            st.one_of(
                st.sampled_from((0.0, *STORE_BUCKETS, 7.0)),  # on a bound, above them all
                st.floats(min_value=0, max_value=10, allow_nan=False),
            ),
        ),
        max_size=40,
    )
)
def test_the_exposition_is_the_one_of_a_prometheus_histogram(
    observations: list[tuple[str, float]],
) -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    name, help_text = "bdbexport_test_seconds", "A test histogram."
    reference = Histogram(name, help_text, ["operation"], buckets=STORE_BUCKETS, registry=theirs)
    loop = LoopHistogram(name, help_text, ["operation"], buckets=STORE_BUCKETS, registry=ours)
    for operation in OPERATIONS:  # zero series, declared up front
        reference.labels(operation=operation)
        loop.labels(operation=operation)
    for operation, seconds in observations:
        reference.labels(operation=operation).observe(seconds)
        loop.labels(operation=operation).observe(seconds)
    assert exposition(ours) == exposition(theirs)
    created = [line for line in generate_latest(ours).decode().splitlines() if "_created{" in line]
    assert len(created) == len(OPERATIONS)


def test_a_label_set_other_than_the_declared_one_is_refused() -> None:
    loop = LoopHistogram(
        "x_seconds", "x", ["operation"], buckets=(1.0,), registry=CollectorRegistry()
    )
    with pytest.raises(ValueError, match="operation"):
        loop.labels(route="/")


def test_a_name_registered_twice_is_refused_as_for_any_collector() -> None:
    registry = CollectorRegistry()
    LoopHistogram("x_seconds", "x", ["operation"], buckets=(1.0,), registry=registry)
    with pytest.raises(ValueError, match="Duplicated"):
        Histogram("x_seconds", "x", ["operation"], registry=registry)


@settings(deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(min_value=1e-9, max_value=1e15, allow_nan=False, allow_infinity=False),
            st.integers(min_value=1, max_value=10**12).map(float),
        ),
        min_size=1,
        max_size=6,
        unique=True,
    )
)
def test_bucket_bounds_are_written_as_the_client_library_writes_them(bounds: list[float]) -> None:
    """Our `le` labels (written without the library's private helper) are its own."""
    bounds = sorted(bounds)
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    Histogram("b_seconds", "b", ["operation"], buckets=bounds, registry=theirs).labels("x")
    LoopHistogram("b_seconds", "b", ["operation"], buckets=bounds, registry=ours).labels(
        operation="x"
    )
    assert exposition(ours) == exposition(theirs)


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(OPERATIONS),
            st.one_of(st.just(1.0), st.floats(min_value=0, max_value=1e6, allow_nan=False)),
        ),
        max_size=40,
    )
)
def test_the_loop_counter_is_exposed_as_a_prometheus_counter(
    increments: list[tuple[str, float]],
) -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    reference = Counter("bdbexport_test", "A test counter.", ["operation"], registry=theirs)
    loop = LoopCounter("bdbexport_test", "A test counter.", ["operation"], registry=ours)
    for operation in OPERATIONS:
        reference.labels(operation=operation)
        loop.labels(operation=operation)
    for operation, amount in increments:
        reference.labels(operation=operation).inc(amount)
        loop.labels(operation=operation).inc(amount)
    assert exposition(ours) == exposition(theirs)
    created = [line for line in generate_latest(ours).decode().splitlines() if "_created{" in line]
    assert len(created) == len(OPERATIONS)


def test_a_counter_named_with_its_suffix_is_refused() -> None:
    with pytest.raises(ValueError, match="_total"):
        LoopCounter("x_total", "x", [], registry=CollectorRegistry())
