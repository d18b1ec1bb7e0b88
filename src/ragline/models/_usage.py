"""``UsageTotals`` and ``CostTracker``: tokens and cost summed over the calls of an ask.

- ``cost_usd`` sums the calls whose cost is known; ``unpriced_calls`` counts the
  others (a model with no price), so a total is never silently too low.
- A cache hit counts as a call and a ``cached_call`` but adds no tokens and no cost
  (nothing was sent to the provider).
- ``estimated`` is true when any call's token counts were estimated.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Concatenate, ParamSpec

from ragline.models._base import Completion, Delta, Messages, Model, Tools, Usage
from ragline.models._wrap import ModelWrapper

P = ParamSpec("P")


@dataclass(slots=True)
class UsageTotals:
    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0
    estimated: bool = False
    latency_ms: float = 0.0
    models: list[str] = field(default_factory=list)  # distinct, in first-use order

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def cost_known(self) -> bool:
        """True when every non-cached call had a price."""
        return self.unpriced_calls == 0

    def add_usage(
        self,
        usage: Usage | None,
        *,
        model: str = "",
        cost_usd: float | None = None,
        cached: bool = False,
        latency_ms: float = 0.0,
    ) -> None:
        self.calls += 1
        self.latency_ms += latency_ms
        if model and model not in self.models:
            self.models.append(model)
        if cached:
            self.cached_calls += 1
            return
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens
            self.completion_tokens += usage.completion_tokens
            self.estimated = self.estimated or usage.estimated
        if cost_usd is None:
            self.unpriced_calls += 1
        else:
            self.cost_usd += cost_usd

    def add(self, completion: Completion) -> None:
        self.add_usage(
            completion.usage,
            model=completion.model,
            cost_usd=completion.cost_usd,
            cached=completion.cached,
            latency_ms=completion.latency_ms,
        )

    def copy(self) -> UsageTotals:
        return replace(self, models=list(self.models))


def _locked(
    method: Callable[Concatenate[UsageTotals, P], None],
) -> Callable[Concatenate[CostTracker, P], None]:
    """A :class:`UsageTotals` method as a :class:`CostTracker` one: same signature and
    docstring, run on the tracker's totals under its lock."""

    @functools.wraps(method)
    def locked(self: CostTracker, /, *args: P.args, **kwargs: P.kwargs) -> None:
        with self._lock:
            method(self._totals, *args, **kwargs)

    return locked


class CostTracker:
    """A thread-safe :class:`UsageTotals` accumulator; one per ask.

    ``tracker.add(completion)`` by hand, or ``tracker.track(model)`` to record every
    call made through the returned model (streams: from the final delta's usage,
    priced with ``price`` when given).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals = UsageTotals()

    add = _locked(UsageTotals.add)
    add_usage = _locked(UsageTotals.add_usage)

    @property
    def totals(self) -> UsageTotals:
        """A snapshot (later calls do not change it)."""
        with self._lock:
            return self._totals.copy()

    def reset(self) -> None:
        with self._lock:
            self._totals = UsageTotals()

    def track(
        self, model: Model, *, price: Callable[[Usage], float | None] | None = None
    ) -> TrackingModel:
        return TrackingModel(model, self, price=price)


class TrackingModel(ModelWrapper):
    """Records every call's usage and cost into a :class:`CostTracker`."""

    def __init__(
        self,
        inner: Model,
        tracker: CostTracker,
        *,
        price: Callable[[Usage], float | None] | None = None,
    ) -> None:
        super().__init__(inner)
        self.tracker = tracker
        self._price = price

    def complete(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Completion:
        result = self.inner.complete(messages, tools=tools, **options)
        self.tracker.add(result)
        return result

    def stream(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Iterator[Delta]:
        for delta in self.inner.stream(messages, tools=tools, **options):
            if delta.usage is not None:
                cost = self._price(delta.usage) if self._price is not None else None
                self.tracker.add_usage(delta.usage, model=self.name, cost_usd=cost)
            yield delta
