"""Client metrics for prometheus_client (an optional dependency):

    from prometheus_client import REGISTRY
    from secretkit.prometheus import SecretkitCollector
    REGISTRY.register(SecretkitCollector(client))

Exports, per client: ``secretkit_reads_total{backend,outcome}``,
``secretkit_backend_calls_total{backend}``, the histogram
``secretkit_backend_read_seconds{backend}``, ``secretkit_cache_entries`` and
``secretkit_lease_ttl_seconds{reference}``. Without prometheus_client,
``client.metrics_text()`` gives the same in the text exposition format.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from ._native import Client


class SecretkitCollector(Collector):
    """Reads ``client.metrics()`` at each scrape; holds no state of its own."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def collect(self) -> Iterator[Any]:
        m = self.client.metrics()
        reads = CounterMetricFamily(
            "secretkit_reads",
            "Accesses and lease actions by backend and outcome.",
            labels=["backend", "outcome"],
        )
        for backend, outcome, n in m["reads"]:
            reads.add_metric([backend, outcome], n)
        yield reads
        calls = CounterMetricFamily(
            "secretkit_backend_calls", "Calls made to each backend.", labels=["backend"]
        )
        for backend, n in sorted(m["backend_calls"].items()):
            calls.add_metric([backend], n)
        yield calls
        latency = HistogramMetricFamily(
            "secretkit_backend_read_seconds",
            "Backend read latency, retries included.",
            labels=["backend"],
        )
        for backend, h in sorted(m["latency"].items()):
            buckets = [("+Inf" if le == float("inf") else repr(le), n) for le, n in h["buckets"]]
            latency.add_metric([backend], buckets, h["sum"])
        yield latency
        yield GaugeMetricFamily(
            "secretkit_cache_entries", "Values in the cache.", value=m["cache_entries"]
        )
        leases = GaugeMetricFamily(
            "secretkit_lease_ttl_seconds",
            "Time left on each Vault lease held.",
            labels=["reference"],
        )
        for reference, left in sorted(m["leases"].items()):
            leases.add_metric([reference], left)
        yield leases
