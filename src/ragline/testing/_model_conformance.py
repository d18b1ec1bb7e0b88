"""``ModelConformance``: the shared test suite every :class:`~ragline.models.Model` must pass.

Subclass it in a provider's test module and provide a ``model`` fixture: a model
scripted or configured to answer ``prompt`` (the fixture, overridable) the same way
on every call — a test makes at most three calls::

    class TestMyModel(ModelConformance):
        @pytest.fixture
        def model(self) -> Iterator[Model]:
            m = MyModel(base_url=server.url())
            yield m
            m.close()

Optional fixtures, each skipping its tests unless a subclass provides it:

- ``failing_model`` — a model whose every call fails (a 5xx, a scripted error): its
  ``complete`` and ``stream`` must raise a :class:`~ragline.errors.ProviderError`.
- ``interrupted_model`` — a model whose stream breaks after yielding some text (a
  dropped connection): the error must carry exactly that text as ``partial_text``,
  so the caller knows the answer is partial.

Class settings: ``options`` are passed to every call (``{"max_tokens": 8}`` for a
slow real model); set ``stream_matches_complete = False`` for a model that cannot
answer a stream and a completion with the same text (sampling), which then only has
to stream some text.

What every model does, and these tests check: ``complete`` returns a
:class:`~ragline.models.Completion` with text, an allowed ``finish_reason`` and
non-negative usage (reported or estimated); ``stream`` yields text deltas and ends
with exactly one final delta carrying ``finish_reason`` and ``usage``, nothing after
it; a stream closed early does not raise, and the model answers the next call; the
generic options (``temperature``, ``max_tokens``, ``top_p``, ``seed``) are accepted;
``name`` is a non-empty spec like ``openai:gpt-4o-mini`` or ``local``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, get_args

import pytest

from ragline.errors import ProviderError
from ragline.models._base import Completion, Delta, FinishReason, Message, Model, Usage

FINISH_REASONS: frozenset[str] = frozenset(get_args(FinishReason))
GENERIC_OPTIONS: Mapping[str, Any] = {"temperature": 0.0, "max_tokens": 32, "top_p": 1.0, "seed": 7}


def _check_usage(usage: Usage | None, where: str) -> None:
    assert isinstance(usage, Usage), f"{where} carries no Usage: {usage!r}"
    for field in ("prompt_tokens", "completion_tokens"):
        count = getattr(usage, field)
        assert isinstance(count, int) and count >= 0, f"{where}: {field} = {count!r}"


def _check_stream(deltas: Sequence[Delta]) -> Delta:
    """The stream's final delta, after checking it is the only one and comes last."""
    assert deltas, "the stream yielded nothing"
    assert all(isinstance(d, Delta) for d in deltas), deltas
    finishing = [i for i, d in enumerate(deltas) if d.finish_reason is not None]
    assert finishing == [len(deltas) - 1], (
        f"exactly one delta, the last, must carry finish_reason; got it at {finishing} "
        f"of {len(deltas)}"
    )
    with_usage = [i for i, d in enumerate(deltas) if d.usage is not None]
    assert with_usage == [len(deltas) - 1], (
        f"usage comes once, on the final delta; got it at {with_usage} of {len(deltas)}"
    )
    final = deltas[-1]
    assert final.finish_reason in FINISH_REASONS, final.finish_reason
    _check_usage(final.usage, "the final delta")
    return final


class ModelConformance:
    """Contract tests for :class:`ragline.models.Model` implementations."""

    #: passed to every call (e.g. a small ``max_tokens`` for a slow real model)
    options: ClassVar[Mapping[str, Any]] = {}
    #: False when a stream cannot repeat the completion's text (a sampling model)
    stream_matches_complete: ClassVar[bool] = True

    @pytest.fixture
    def model(self) -> Model:
        raise NotImplementedError("subclasses provide a `model` fixture")

    @pytest.fixture
    def prompt(self) -> list[Message]:
        """What the tests ask; override it for a model that needs a particular prompt."""
        return [Message("user", "What is the capital of France?")]

    @pytest.fixture
    def failing_model(self) -> Model:
        pytest.skip("this model cannot be made to fail (no `failing_model` fixture)")

    @pytest.fixture
    def interrupted_model(self) -> Model:
        pytest.skip("this model's stream cannot be broken (no `interrupted_model` fixture)")

    # -- the protocol ----------------------------------------------------------------

    def test_satisfies_the_protocol_and_names_its_spec(self, model: Model) -> None:
        assert isinstance(model, Model)
        name = model.name
        assert isinstance(name, str) and name.strip() == name and name, repr(name)
        provider, colon, rest = name.partition(":")
        assert not colon or (provider and rest), f"{name!r} is not a provider:model spec"

    def test_complete_answers_with_text_finish_reason_and_usage(
        self, model: Model, prompt: list[Message]
    ) -> None:
        completion = model.complete(prompt, **self.options)
        assert isinstance(completion, Completion)
        assert isinstance(completion.text, str) and completion.text.strip(), completion
        assert completion.finish_reason in FINISH_REASONS, completion.finish_reason
        _check_usage(completion.usage, "the completion")
        assert isinstance(completion.model, str) and completion.model, completion
        assert completion.cost_usd is None or completion.cost_usd >= 0, completion.cost_usd
        assert completion.latency_ms >= 0, completion.latency_ms

    # -- streams ---------------------------------------------------------------------

    def test_stream_yields_text_then_exactly_one_final_delta(
        self, model: Model, prompt: list[Message]
    ) -> None:
        deltas = list(model.stream(prompt, **self.options))
        _check_stream(deltas)
        assert "".join(d.text for d in deltas).strip(), f"no text in {deltas}"

    def test_stream_text_is_what_complete_returns(
        self, model: Model, prompt: list[Message]
    ) -> None:
        if not self.stream_matches_complete:
            pytest.skip("this model's stream need not repeat its completion")
        completion = model.complete(prompt, **self.options)
        deltas = list(model.stream(prompt, **self.options))
        final = _check_stream(deltas)
        assert "".join(d.text for d in deltas) == completion.text
        assert final.finish_reason == completion.finish_reason

    def test_a_stream_closed_early_does_not_raise(
        self, model: Model, prompt: list[Message]
    ) -> None:
        stream = model.stream(prompt, **self.options)
        assert isinstance(next(stream), Delta)
        close = getattr(stream, "close", None)
        if callable(close):
            close()  # what a consumer that stops reading (or garbage collection) does
        assert model.complete(prompt, **self.options).text.strip(), "no answer after a close"

    def test_accepts_the_generic_options(self, model: Model, prompt: list[Message]) -> None:
        options = {**GENERIC_OPTIONS, **self.options}
        assert model.complete(prompt, **options).text.strip()
        _check_stream(list(model.stream(prompt, **options)))

    # -- failures --------------------------------------------------------------------

    def test_a_failed_call_raises_a_provider_error(
        self, failing_model: Model, prompt: list[Message]
    ) -> None:
        with pytest.raises(ProviderError) as info:
            failing_model.complete(prompt, **self.options)
        assert info.value.message.strip(), "the error says nothing"

    def test_a_failed_stream_raises_a_provider_error_and_never_looks_finished(
        self, failing_model: Model, prompt: list[Message]
    ) -> None:
        _, error = self._stream_until_it_fails(failing_model, prompt)
        assert error.message.strip(), "the error says nothing"

    def test_a_broken_stream_carries_the_text_it_yielded(
        self, interrupted_model: Model, prompt: list[Message]
    ) -> None:
        seen, error = self._stream_until_it_fails(interrupted_model, prompt)
        text = "".join(d.text for d in seen)
        assert text, "`interrupted_model` must break after yielding some text"
        assert getattr(error, "partial_text", None) == text, error

    def _stream_until_it_fails(
        self, model: Model, prompt: list[Message]
    ) -> tuple[list[Delta], ProviderError]:
        """The deltas a failing stream yielded (none of them final), and its error."""
        seen: list[Delta] = []
        with pytest.raises(ProviderError) as info:
            seen.extend(model.stream(prompt, **self.options))
        assert all(d.finish_reason is None for d in seen), f"a final delta before the error: {seen}"
        return seen, info.value
