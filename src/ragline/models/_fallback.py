"""``FallbackModel``: try a chain of models in order until one answers.

``model: [openai:gpt-4o-mini, local]`` in ragline.yaml becomes
``FallbackModel([wrap_model(openai…), wrap_model(local)])``.

- It moves to the next model on *any* :class:`ProviderError` — retryable or not
  (a 400 from one provider may be fine for another; an open circuit or a rate-limit
  wait should not block the answer) — and on :class:`ConfigError` (a missing API
  key or a bad ``base_url`` for one model should not stop the others). Other
  exceptions (bugs, ``KeyboardInterrupt``) propagate at once. ``fall_through_on``
  changes the set.
- The answering model's :class:`Completion` is returned as is; its ``model`` field
  names the model that answered (set to that chain member's name if the provider
  left it empty).
- A stream falls back only if the failing model yielded nothing yet; after its first
  delta an error reaches the caller (never a silently spliced answer). ``Delta``
  has no model field: pass ``on_fallback`` to learn which models were skipped — the
  answering model is the first one not reported.
- When every model fails, :class:`FallbackError` lists each model's error.
- ``answered_by`` is the name of the member that answered the last call made *in
  this thread* (None before any success), so callers can report it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ragline.errors import ConfigError, ProviderError
from ragline.models._base import Completion, Delta, Messages, Model, Tools
from ragline.models._wrap import FallbackError

log = logging.getLogger("ragline.models")


class FallbackModel:
    """Ask ``models[0]``; on failure ``models[1]``, and so on."""

    def __init__(
        self,
        models: Sequence[Model],
        *,
        fall_through_on: tuple[type[BaseException], ...] = (ProviderError, ConfigError),
        on_fallback: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        if not models:
            raise ConfigError(
                "a fallback chain needs at least one model",
                hint="set model: to a name or a list like [openai:gpt-4o-mini, local]",
            )
        self.models = tuple(models)
        self.name = (
            self.models[0].name
            if len(self.models) == 1
            else "fallback(" + ", ".join(m.name for m in self.models) + ")"
        )
        self.fall_through_on = fall_through_on
        self._on_fallback = on_fallback
        self._local = threading.local()

    @property
    def answered_by(self) -> str | None:
        """The chain member that answered this thread's last successful call."""
        return getattr(self._local, "answered_by", None)

    def _failed(
        self, model: Model, error: BaseException, errors: list[tuple[str, BaseException]]
    ) -> None:
        errors.append((model.name, error))
        log.warning("model %s failed, trying the next one: %s", model.name, error)
        if self._on_fallback is not None:
            self._on_fallback(model.name, error)

    def complete(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Completion:
        errors: list[tuple[str, BaseException]] = []
        for model in self.models:
            try:
                result = model.complete(messages, tools=tools, **options)
            except self.fall_through_on as e:
                self._failed(model, e, errors)
                continue
            if not result.model:
                result.model = model.name
            self._local.answered_by = model.name
            return result
        raise FallbackError(errors) from errors[-1][1]

    def stream(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Iterator[Delta]:
        errors: list[tuple[str, BaseException]] = []
        for model in self.models:
            yielded = False
            try:
                for delta in model.stream(messages, tools=tools, **options):
                    yielded = True
                    if delta.finish_reason is not None:
                        self._local.answered_by = model.name
                    yield delta
                return
            except self.fall_through_on as e:
                if yielded:
                    raise
                self._failed(model, e, errors)
        raise FallbackError(errors) from errors[-1][1]

    def close(self) -> None:
        for model in self.models:
            close = getattr(model, "close", None)
            if callable(close):
                close()

    def __repr__(self) -> str:
        return f"FallbackModel({list(self.models)!r})"
