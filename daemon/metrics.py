"""Prometheus metrics of one daemon process (served at ``GET /metrics``).

Each :class:`Metrics` owns its registry, so several daemons can live in one
test process without clashing.
"""

from __future__ import annotations

from typing import NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class TenantCalls(NamedTuple):
    """One tenant's children of ``calld_calls_admitted`` and ``calld_live_calls``."""

    admitted: Counter
    live: Gauge


class Metrics:
    def __init__(self) -> None:
        self._tenant_calls: dict[int, TenantCalls] = {}
        self.registry = CollectorRegistry()
        r = self.registry
        self.calls_admitted = Counter("calld_calls_admitted", "Calls that got a line", ["tenant"], registry=r)
        self.calls_rejected = Counter(
            "calld_calls_rejected",
            "Calls turned away, by reason (busy, not_in_service, unavailable, protocol)",
            ["reason"],
            registry=r,
        )
        self.live_calls = Gauge("calld_live_calls", "Calls holding a line on this node", ["tenant"], registry=r)
        self.esl_sessions = Gauge("calld_esl_sessions", "Open outbound event-socket sessions", registry=r)
        self.esl_sessions_total = Counter(
            "calld_esl_sessions_accepted", "Outbound event-socket sessions accepted", registry=r
        )
        self.esl_protocol_errors = Counter(
            "calld_esl_protocol_errors", "Sessions ended by malformed or hostile ESL input", registry=r
        )
        self.db_errors = Counter("calld_db_errors", "Database failures at call time (the call was refused)", registry=r)
        self.first_command_latency = Histogram(
            "calld_connect_to_first_command_seconds",
            "From the CHANNEL_DATA reply to the first call-control command we sent",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.cutoffs = Counter("calld_cutoffs", "Talks ended because the money ran out", registry=r)
        self.cutoff_lag = Histogram(
            "calld_cutoff_lag_seconds",
            "Counsellor leg hung up minus the deadline",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r,
        )
        self.cutoff_sent_lag = Histogram(
            "calld_cutoff_sent_lag_seconds",
            "The cut's uuid_kill written minus the deadline (the daemon's own part of calld_cutoff_lag_seconds)",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r,
        )
        self.loop_lag = Histogram(
            "calld_event_loop_lag_seconds",
            "How late the event loop ran a timer (sampled every 25 ms): every call's timing shares it",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
            registry=r,
        )
        self.hunts = Counter("calld_hunts", "Hunts for a counsellor, by outcome", ["outcome"], registry=r)
        self.billed_seconds = Counter("calld_billed_seconds", "Billed talk seconds", ["tenant"], registry=r)
        self.revenue_yen = Counter("calld_revenue_yen", "Yen charged to callers", ["tenant"], registry=r)
        self.uncollected_yen = Counter(
            "calld_uncollected_yen", "Talk cost beyond a caller's money (not booked)", ["tenant"], registry=r
        )
        self.lines_reaped = Counter(
            "calld_lines_reaped", "Lines freed because their node died or restarted", registry=r
        )
        self.forwards_refused = Counter(
            "calld_forwards_refused",
            "IVR forwards not dialled, by reason: concurrent_legs, daily_minutes (the fraud guard)"
            " or the destination policy's code (premium_rate, international, …)",
            ["tenant", "reason"],
            registry=r,
        )
        self.background_rows_written = Counter(
            "calld_background_rows_written",
            "Rows that are no money (refused attempts, IVR call log) written by the batching writer, by kind",
            ["kind"],
            registry=r,
        )
        self.background_rows_dropped = Counter(
            "calld_background_rows_dropped",
            "Rows the batching writer's full queue turned away, unwritten, by kind",
            ["kind"],
            registry=r,
        )
        self.background_rows_failed = Counter(
            "calld_background_rows_failed",
            "Rows the batching writer gave up on (database error, timeout, no database, stop), by kind",
            ["kind"],
            registry=r,
        )

    def tenant_calls(self, tenant_id: int) -> TenantCalls:
        """The tenant's call counters, looked up once per process rather than per call.

        ``labels()`` formats the label, takes a lock and builds a tuple each time: three
        times per call.  A child lives as long as its metric (nothing here removes one).
        """
        found = self._tenant_calls.get(tenant_id)
        if found is None:
            tenant = str(tenant_id)
            found = self._tenant_calls[tenant_id] = TenantCalls(
                self.calls_admitted.labels(tenant), self.live_calls.labels(tenant)
            )
        return found
