"""The ``support:`` section of ``ragline.yaml``: which checker decides whether a
passage supports a sentence (:mod:`ragline.evals._metrics._support`). Re-exported by
:mod:`ragline.config`.

``scorer`` is the built-in offline checker; ``nli`` an NLI cross-encoder from a local
folder (``model_dir``, relative to the project folder); ``judge`` a language model
(``model``, a model spec; default ``evals.judge``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ragline._config_base import _Strict

SupportCheckerName = Literal["scorer", "nli", "judge"]


class SupportSettings(_Strict):
    """The support checker used by the citation and faithfulness metrics."""

    checker: SupportCheckerName = Field(
        "scorer",
        description="scorer (built in, offline), nli (an ONNX NLI model in model_dir) or "
        "judge (a language model)",
    )
    threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="support score (nli: entailment probability) a sentence needs "
        "(default: the checker's own)",
    )
    model_dir: str | None = Field(
        None,
        description="nli: a folder with model.onnx, tokenizer.json and config.json "
        "(relative paths are from the project folder)",
    )
    max_length: int = Field(512, ge=16, le=8192, description="nli: tokens per model input")
    max_windows: int = Field(
        8, ge=1, le=256, description="nli: windows of a long passage read, at most"
    )
    model: str | None = Field(None, description="judge: the model spec (default: evals.judge)")
    batch_size: int = Field(1, ge=1, le=64, description="judge: items per prompt")
    timeout_s: float | None = Field(
        None, gt=0, description="judge: a call running longer is a judge_timeout failure"
    )

    @model_validator(mode="after")
    def _needs(self) -> SupportSettings:
        if self.checker == "nli" and not (self.model_dir or "").strip():
            raise ValueError(
                "support.checker nli needs support.model_dir: a folder with model.onnx, "
                "tokenizer.json and config.json"
            )
        return self


__all__ = ["SupportCheckerName", "SupportSettings"]
