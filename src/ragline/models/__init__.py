"""Models: the ``Model`` protocol, providers, resilience wrappers, usage and cost.

``make_model("openai:gpt-4o-mini", settings)`` builds a provider from a spec; the
HTTP providers (``OpenAIModel``, ``AnthropicModel``) are imported on first use.
Test doubles live in :mod:`ragline.testing` (``FakeModel``, ``FunctionModel``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
from ragline.models._pricing import PRICES, Price, cost_usd, price_for

# --- resilience wrappers (RetryingModel, FallbackModel, …): the lead adds their
# --- imports and names here, from the resilience helper's report.

if TYPE_CHECKING:
    from ragline.models._anthropic import AnthropicModel
    from ragline.models._openai import OpenAIModel

__all__ = [
    "PRICES",
    "AnthropicModel",
    "Completion",
    "Delta",
    "FinishReason",
    "MalformedResponse",
    "Message",
    "Model",
    "OpenAIModel",
    "Price",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RateLimitError",
    "RealRequestsBlocked",
    "RequestRejected",
    "Role",
    "StreamInterrupted",
    "StreamStalled",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "cost_usd",
    "make_model",
    "price_for",
    # --- resilience names go here
]


def __getattr__(name: str) -> Any:
    # httpx and the provider modules load only when a provider is used.
    if name == "OpenAIModel":
        from ragline.models._openai import OpenAIModel

        return OpenAIModel
    if name == "AnthropicModel":
        from ragline.models._anthropic import AnthropicModel

        return AnthropicModel
    raise AttributeError(f"module 'ragline.models' has no attribute {name!r}")
