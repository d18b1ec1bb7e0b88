"""Resilience for any :class:`Model`: ``wrap_model`` composes the wrappers.

Each wrapper is itself a ``Model`` (same ``name``), so they compose freely:

- :class:`~ragline.models._retry.RetryingModel` — jittered exponential backoff,
  ``Retry-After``, retryable errors only, never mid-stream.
- :class:`~ragline.models._breaker.CircuitBreakerModel` — closed / open / half-open.
- :class:`~ragline.models._ratelimit.RateLimitedModel` — requests and tokens per minute.
- :class:`~ragline.models._fallback.FallbackModel` — a chain of models.
- :class:`~ragline.models._cache.CachedModel` — a response cache with a TTL.
- :class:`~ragline.models._usage.CostTracker` — usage and cost totals per ask.

:func:`build_model` turns ``model:`` from ragline.yaml (one spec or a chain) into a
wrapped model; :func:`wrap_model` wraps one provider.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn

from ragline.config import ModelSettings, Settings
from ragline.errors import ConfigError
from ragline.models._base import Completion, Delta, Messages, Model, Tools
from ragline.models._breaker import CircuitBreakerModel
from ragline.models._cache import CachedModel, ResponseCache
from ragline.models._fallback import FallbackModel
from ragline.models._ratelimit import RateLimitedModel
from ragline.models._retry import RetryingModel

log = logging.getLogger("ragline.models")


def wrap_model(
    inner: Model,
    settings: ModelSettings,
    *,
    cache: ResponseCache | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> Model:
    """Wrap a provider with the resilience layers its settings ask for.

    From the caller inwards::

        cache → circuit breaker → retries → rate limit → provider

    - **Cache outermost**: a hit costs nothing and must not wait for rate-limit
      budget, count toward the circuit, or be refused by an open circuit. Caching
      only happens when ``cache`` is given and ``settings.cache_ttl_s`` > 0.
    - **Circuit breaker outside the retries**: it counts failed *calls* (a retry
      sequence that ended in failure), and while open it fails fast *before* any
      retry sleeps or rate-limit waits — so a fallback model answers at once.
    - **Retries outside the rate limit**: every attempt, retries included, is one
      real request and pays its request and token budget, so retrying a 429 cannot
      overrun the limit (the order ``rate limit → retries`` would let retries
      bypass it).
    - **Rate limit innermost**, right next to the provider, pacing actual requests.
      It is only added when ``requests_per_minute`` or ``tokens_per_minute`` is set.

    A fallback chain wraps each member separately:
    ``FallbackModel([wrap_model(a, sa, …), wrap_model(b, sb, …)])``, so each keeps
    its own circuit and budget. Build the wrapped model **once per process** per
    model spec: circuit and rate-limit state live in the wrappers.
    """
    model: Model = inner
    if settings.requests_per_minute or settings.tokens_per_minute:
        model = RateLimitedModel(
            model,
            requests_per_minute=settings.requests_per_minute,
            tokens_per_minute=settings.tokens_per_minute,
            clock=clock,
            sleep=sleep,
        )
    if settings.max_retries > 0:
        model = RetryingModel(
            model,
            max_retries=settings.max_retries,
            backoff_initial_s=settings.backoff_initial_s,
            backoff_max_s=settings.backoff_max_s,
            sleep=sleep,
            rng=rng,
        )
    model = CircuitBreakerModel(
        model, failures=settings.circuit_failures, reset_s=settings.circuit_reset_s, clock=clock
    )
    if cache is not None and settings.cache_ttl_s > 0:
        model = CachedModel(model, cache, ttl_s=settings.cache_ttl_s)
    return model


def unwrap(model: Model) -> Model:
    """The provider under any resilience wrappers (``inner`` of ``inner`` …)."""
    while True:
        inner = getattr(model, "inner", None)
        if inner is None:
            return model
        model = inner


class UnavailableModel:
    """A chain member that could not be built (e.g. its API key is not set).

    Every call raises the construction error again, so a :class:`FallbackModel`
    moves on to the next model and the final error still names the cause.
    """

    def __init__(self, name: str, error: ConfigError) -> None:
        self.name = name
        self.error = error

    def _raise(self) -> NoReturn:
        raise ConfigError(self.error.message, hint=self.error.hint)

    def complete(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Completion:
        self._raise()

    def stream(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Iterator[Delta]:
        self._raise()

    def __repr__(self) -> str:
        return f"UnavailableModel({self.name!r})"


def build_model(
    spec: str | Sequence[str],
    settings: Settings | None = None,
    *,
    make: Callable[[str, Settings], Model] | None = None,
    cache: ResponseCache | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> Model:
    """The answer model for ``model:`` in ragline.yaml: one spec or a fallback chain.

    Each spec is built with ``make`` (default :func:`ragline.models.make_model`) and
    wrapped by :func:`wrap_model` with its own ``settings.models[spec]``. A single
    spec's construction error is raised at once. In a chain, a member that cannot
    be built (:class:`ConfigError`: a missing key, a bad ``base_url``, an unknown
    name) is logged and kept as an :class:`UnavailableModel`, so the others still
    answer; only when no member can be built is a ConfigError naming each cause raised.
    """
    settings = settings or Settings()
    if make is None:
        from ragline.models._factory import make_model

        make = make_model
    specs = [spec] if isinstance(spec, str) else list(spec)
    if not specs:
        raise ConfigError(
            "model: is an empty list",
            hint="name a model, or a chain like [openai:gpt-4o-mini, local]",
        )

    def wrapped(name: str) -> Model:
        return wrap_model(
            make(name, settings),
            settings.model_settings(name),
            cache=cache,
            clock=clock,
            sleep=sleep,
            rng=rng,
        )

    if len(specs) == 1:
        return wrapped(specs[0])
    members: list[Model] = []
    errors: list[ConfigError] = []
    for name in specs:
        try:
            members.append(wrapped(name))
        except ConfigError as e:
            log.warning("model %s is unavailable, the chain skips it: %s", name, e)
            errors.append(e)
            members.append(UnavailableModel(name, e))
    if len(errors) == len(specs):
        raise ConfigError(
            "no model of the fallback chain can be built — "
            + "; ".join(f"{name}: {e.message}" for name, e in zip(specs, errors, strict=True)),
            hint=errors[0].hint,
        )
    return FallbackModel(members)
