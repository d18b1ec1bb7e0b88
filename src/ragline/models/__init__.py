"""Models: the ``Model`` protocol, providers, resilience wrappers, usage and cost.

``make_model("openai:gpt-4o-mini", settings)`` builds a provider from a spec; the
HTTP providers (``OpenAIModel``, ``AnthropicModel``) are imported on first use.
Test doubles live in :mod:`ragline.testing` (``FakeModel``, ``FunctionModel``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragline._lazy import lazy_exports
from ragline.models._base import (
    Completion,
    Delta,
    FinishReason,
    Message,
    Model,
    Role,
    ToolCall,
    ToolSpec,
    Usage,
)
from ragline.models._breaker import CircuitBreakerModel, CircuitState
from ragline.models._cache import (
    CachedModel,
    MemoryResponseCache,
    ResponseCache,
    cache_key,
)
from ragline.models._errors import (
    MalformedResponse,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimitError,
    RealRequestsBlocked,
    RequestRejected,
    StreamInterrupted,
    StreamStalled,
)
from ragline.models._factory import make_model
from ragline.models._fallback import FallbackModel
from ragline.models._pricing import PRICES, Price, cost_usd, price_for
from ragline.models._ratelimit import RateLimitedModel
from ragline.models._resilience import UnavailableModel, build_model, unwrap, wrap_model
from ragline.models._retry import RetryingModel
from ragline.models._usage import CostTracker, TrackingModel, UsageTotals
from ragline.models._wrap import CircuitOpenError, FallbackError, RateLimitWaitError

if TYPE_CHECKING:
    from ragline.models._anthropic import AnthropicModel
    from ragline.models._openai import OpenAIModel

__all__ = [
    "PRICES",
    "AnthropicModel",
    "CachedModel",
    "CircuitBreakerModel",
    "CircuitOpenError",
    "CircuitState",
    "Completion",
    "CostTracker",
    "Delta",
    "FallbackError",
    "FallbackModel",
    "FinishReason",
    "MalformedResponse",
    "MemoryResponseCache",
    "Message",
    "Model",
    "OpenAIModel",
    "Price",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RateLimitError",
    "RateLimitWaitError",
    "RateLimitedModel",
    "RealRequestsBlocked",
    "RequestRejected",
    "ResponseCache",
    "RetryingModel",
    "Role",
    "StreamInterrupted",
    "StreamStalled",
    "ToolCall",
    "ToolSpec",
    "TrackingModel",
    "UnavailableModel",
    "Usage",
    "UsageTotals",
    "build_model",
    "cache_key",
    "cost_usd",
    "make_model",
    "price_for",
    "unwrap",
    "wrap_model",
]

# httpx and the provider modules load only when a provider is used.
__getattr__ = lazy_exports(
    __name__,
    {"AnthropicModel": "ragline.models._anthropic", "OpenAIModel": "ragline.models._openai"},
)
