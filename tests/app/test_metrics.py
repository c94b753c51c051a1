"""A tenant's call counters, looked up once: the same children ``labels()`` gives, per tenant."""

from __future__ import annotations

from daemon.metrics import Metrics


def test_a_tenants_cached_counters_are_its_labelled_children() -> None:
    metrics = Metrics()
    first = metrics.tenant_calls(7)
    assert metrics.tenant_calls(7) is first
    first.admitted.inc()
    first.live.inc()
    first.live.inc()
    first.live.dec()
    metrics.tenant_calls(8).admitted.inc()
    value = metrics.registry.get_sample_value
    assert value("calld_calls_admitted_total", {"tenant": "7"}) == 1.0
    assert value("calld_live_calls", {"tenant": "7"}) == 1.0
    assert value("calld_calls_admitted_total", {"tenant": "8"}) == 1.0
    metrics.calls_admitted.labels("7").inc()  # elsewhere, the plain way: one counter
    assert value("calld_calls_admitted_total", {"tenant": "7"}) == 2.0
