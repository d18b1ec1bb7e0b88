"""Prometheus metrics of one server process (``GET /metrics``).

Request counts and latency per route template (``/v1/traces/{trace_id}``, never the
raw path, so cardinality stays bounded), asks per tenant and outcome (answered,
abstained, blocked, error), guard triggers per guard, action, stage and tenant (and
guards that raised), tokens, requests running and waiting, requests shed, and the
trace writer's counters (spans dropped are an alert-worthy number).

Latency histograms: ``ragline_ask_duration_seconds{tenant,outcome}`` (one ask, end to
end) and ``ragline_stage_duration_seconds{stage,tenant}`` (each timed step of the
pipeline: embed_query, keyword, dense, fusion, mmr, then score and compose (extractive)
or generate, first_token and cite (a model), and the retrieval and answer phases),
so P95s come from buckets, not averages.
Notifications: ``ragline_notifications_total{notifier,outcome}``. Experiments:
``ragline_experiment_asks_total{experiment,variant,outcome}`` (the served answers of each
variant) and ``ragline_shadow_runs_total{experiment,variant,outcome}`` (``mode: shadow``:
queued, ran, failed, dropped, expired). Under ``--workers N``
every number is the sum over the workers (:mod:`ragline.server._metrics_mp`).
``ragline_instance_info{instance} 1`` names the replica (``RAGLINE_INSTANCE``,
``server.instance``, else ``hostname:port``); when a name is set, every series also
carries ``instance``, so replicas scraped through one address stay apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragline.server._agent_metrics import AgentMetrics
from ragline.server._metrics_mp import StateMirror, multiprocess_dir, scrape_registry

if TYPE_CHECKING:
    from ragline.agent import AgentRun
    from ragline.server._state import ServerState
    from ragline.types import Answer

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# pipeline steps take from well under a millisecond (fusion) to a minute (a local LLM)
_STAGE_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
)  # fmt: skip
#: timings that are not one step: the whole ask (its own histogram), the model's load
_NOT_STAGES = frozenset({"total", "load_model"})


class _StateCollector(Collector):
    def __init__(
        self,
        stats: Callable[[], Any],
        shed: Callable[[], int],
        rerank_fallbacks: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self._stats = stats
        self._shed = shed
        self._rerank_fallbacks = rerank_fallbacks

    def collect(self) -> Iterator[Any]:
        yield CounterMetricFamily(
            "ragline_requests_shed", "requests refused with 503 (overload)", value=self._shed()
        )
        if self._rerank_fallbacks is not None:
            family = CounterMetricFamily(
                "ragline_rerank_fallbacks",
                "asks whose reranker failed and kept the fused order, by reason",
                labels=["reason"],
            )
            for reason, n in sorted(self._rerank_fallbacks().items()):
                family.add_metric([reason], n)
            yield family
        s = self._stats()
        if s is None:
            return
        for name, help_ in (
            ("written", "trace spans stored"),
            ("dropped_queue_full", "trace spans dropped because the queue was full"),
            ("dropped_write_failed", "trace spans dropped because a write failed"),
            ("write_errors", "failed trace batches"),
        ):
            yield CounterMetricFamily(f"ragline_trace_spans_{name}", help_, value=getattr(s, name))
        yield GaugeMetricFamily(
            "ragline_trace_queue_pending", "trace spans waiting to be written", value=s.pending
        )


class _Instance(Collector):
    """Every series of ``source`` plus ``ragline_instance_info{instance} 1`` (which
    replica answered the scrape); with ``label``, ``instance="…"`` on every series too,
    so replicas scraped through one address (a load balancer, a federation) stay apart."""

    def __init__(self, source: CollectorRegistry, instance: str, *, label: bool) -> None:
        self._source = source
        self._instance = instance
        self._label = label

    def collect(self) -> Iterator[Any]:
        if self._instance:
            info = GaugeMetricFamily(
                "ragline_instance_info", "this replica's name (always 1)", labels=["instance"]
            )
            info.add_metric([self._instance], 1.0)
            yield info
        for family in self._source.collect():
            if self._label:
                family.samples = [
                    sample._replace(labels={**sample.labels, "instance": self._instance})
                    for sample in family.samples
                ]
            yield family


class Metrics:
    def __init__(self, state: ServerState) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call] # *_created series double the output for no use here
        self.registry = CollectorRegistry()
        # a stand-in state (tests) may have no name: then no info series, no label
        self._instance: str = getattr(state, "instance", "")
        self._label: bool = getattr(state, "instance_labelled", False)
        r = self.registry
        self.requests = Counter(
            "ragline_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "ragline_http_request_duration_seconds",
            "time to the end of the response",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        # server.metrics_tenant_labels: false → no tenant label (one total per outcome)
        self._by_tenant = state.settings.server.metrics_tenant_labels
        tenant = ["tenant"] if self._by_tenant else []
        self.asks = Counter(
            "ragline_asks", "answers by tenant and outcome", [*tenant, "outcome"], registry=r
        )
        self.tokens = Counter(
            "ragline_model_tokens", "model tokens by tenant", [*tenant, "kind"], registry=r
        )
        self.guard_triggers = Counter(
            "ragline_guard_triggers",
            "guard verdicts that flagged, redacted or blocked, by guard, action and stage",
            ["guard", "action", "stage", *tenant],
            registry=r,
        )
        self.guard_errors = Counter(
            "ragline_guard_errors",
            "guards that raised or ran past their timeout_ms (reason guard.error or "
            "guard.timeout; their on_error policy blocked or allowed the text)",
            ["guard", "stage", "reason", *tenant],
            registry=r,
        )
        self.stage = Histogram(
            "ragline_ask_stage_seconds",
            "time spent per ask stage",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ask_duration = Histogram(
            "ragline_ask_duration_seconds",
            "time to answer one ask, end to end, by tenant and outcome",
            [*tenant, "outcome"],
            buckets=_STAGE_BUCKETS,
            registry=r,
        )
        self.stage_duration = Histogram(
            "ragline_stage_duration_seconds",
            "time spent in each timed step of the ask pipeline",
            ["stage", *tenant],
            buckets=_STAGE_BUCKETS,
            registry=r,
        )
        self.notifications = Counter(
            "ragline_notifications",
            "alert notifications by notifier and outcome (sent, failed, retried, dropped)",
            ["notifier", "outcome"],
            registry=r,
        )
        self.agent = AgentMetrics(r, tenant)
        self.variant_asks = Counter(
            "ragline_experiment_asks",
            "served answers by experiment, variant and outcome",
            ["experiment", "variant", "outcome"],
            registry=r,
        )
        self.shadow_runs = Counter(
            "ragline_shadow_runs",
            "shadow runs (mode: shadow) by experiment, variant and outcome "
            "(queued, ran, failed, dropped, expired)",
            ["experiment", "variant", "outcome"],
            registry=r,
        )
        parts = getattr(state.project, "parts", None)
        if parts is not None and any(e.mode == "shadow" for e in state.settings.experiments):
            parts.shadows.listen(lambda e, v, o: self.shadow_runs.labels(e, v, o).inc())
        rerank_fallbacks = getattr(parts, "rerank_fallbacks", None)
        folder = multiprocess_dir()
        self._mirror: StateMirror | None = None
        if folder is None:
            running = Gauge("ragline_requests_running", "requests doing work now", registry=r)
            running.set_function(lambda: state.admission.running)
            waiting = Gauge("ragline_requests_waiting", "requests waiting for a slot", registry=r)
            waiting.set_function(lambda: state.admission.waiting)
            r.register(
                _StateCollector(
                    state.project.trace_stats, lambda: state.admission.shed, rerank_fallbacks
                )
            )
        else:  # --workers N: a scrape adds up every worker's files
            self._mirror = StateMirror(
                r,
                admission=lambda: state.admission,
                stats=state.project.trace_stats,
                rerank_fallbacks=rerank_fallbacks,
            )
            self.registry = scrape_registry(folder)

    def sync(self) -> None:
        """Multiprocess mode: copy this worker's plain-number state into its files."""
        if self._mirror is not None:
            self._mirror.sync()

    def exposition(self) -> bytes:
        """The Prometheus text of ``/metrics`` (every worker's numbers, added up)."""
        from prometheus_client import generate_latest

        self.sync()
        exposed = CollectorRegistry(auto_describe=False)
        exposed.register(_Instance(self.registry, self._instance, label=self._label))
        return generate_latest(exposed)

    def count_notification(self, notifier: str, outcome: str) -> None:
        self.notifications.labels(notifier, outcome).inc()

    def observe_agent_run(self, tenant: str, run: AgentRun) -> None:
        self.agent.observe(self._tenant(tenant), run)

    def _tenant(self, tenant: str) -> tuple[str, ...]:
        return (tenant,) if self._by_tenant else ()

    def observe_answer(self, tenant: str, answer: Answer) -> None:
        outcome = "blocked" if answer.blocked else "abstained" if answer.abstained else "answered"
        self.asks.labels(*self._tenant(tenant), outcome).inc()
        if answer.experiment and answer.variant:
            self.variant_asks.labels(answer.experiment, answer.variant, outcome).inc()
        for trigger in answer.guards:
            labels = self._tenant(tenant)
            if trigger.action != "allow":
                self.guard_triggers.labels(
                    trigger.guard, trigger.action, trigger.stage, *labels
                ).inc()
            if trigger.error is not None:
                reason = next((r for r in trigger.reasons if r.startswith("guard.")), "guard.error")
                self.guard_errors.labels(trigger.guard, trigger.stage, reason, *labels).inc()
        for stage in ("retrieval", "answer"):
            ms = answer.timings_ms.get(stage)
            if ms is not None:
                self.stage.labels(stage).observe(ms / 1000.0)
        for stage, ms in answer.timings_ms.items():
            if stage not in _NOT_STAGES:
                self.stage_duration.labels(stage, *self._tenant(tenant)).observe(ms / 1000.0)
        total_ms = answer.timings_ms.get("total")
        if total_ms is not None:
            self.ask_duration.labels(*self._tenant(tenant), outcome).observe(total_ms / 1000.0)
        usage = answer.usage or {}
        for kind in ("prompt_tokens", "completion_tokens"):
            n = usage.get(kind)
            if n:
                self.tokens.labels(*self._tenant(tenant), kind.removesuffix("_tokens")).inc(n)

    def observe_error(self, tenant: str) -> None:
        self.asks.labels(*self._tenant(tenant), "error").inc()

    def event_observer(self, tenant: str) -> Callable[[Any], None]:
        """For a stream of answer events: count its ``done`` or ``error``."""

        def observe(event: Any) -> None:
            if event.type == "done":
                self.observe_answer(tenant, event.answer)
            elif event.type == "error":
                self.observe_error(tenant)

        return observe


class MetricsMiddleware:
    """Counts every HTTP request by route template; a pure ASGI middleware (cheap)."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], Metrics | None]) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            m = self.metrics()
            if m is not None:
                route = scope.get("route")
                path = getattr(route, "path", None) or "unmatched"
                method = scope.get("method", "GET")
                m.requests.labels(method, path, str(status)).inc()
                m.latency.labels(method, path).observe(time.perf_counter() - start)
                m.sync()
