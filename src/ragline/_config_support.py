"""The ``support:`` section of ``ragline.yaml``: which support checker judges whether a
passage backs a sentence, everywhere one is needed — the cite stage (citation
verification, hence the ``citation`` guard and the monitor's online scores) and the
``faithfulness`` / ``citation_*`` eval metrics. Re-exported by :mod:`ragline.config`.

``facts`` (the default) and ``similarity`` are built in and offline and judge answers
and evals alike; ``nli`` (an NLI cross-encoder from a local folder, ``model_dir``,
relative to the project folder) and ``judge`` (a language model, ``model``; default
``evals.judge``) judge the eval metrics.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ragline._config_base import _Strict

SupportCheckerName = Literal["facts", "similarity", "nli", "judge"]


class SupportSettings(_Strict):
    checker: SupportCheckerName = Field(
        "facts",
        description="facts: the built-in fitted word-overlap model plus name/figure/role "
        "rules (offline, no model); similarity: lexical overlap + embedding cosine (the "
        "checker before 0.x); nli: an ONNX NLI model in model_dir (evals); judge: a "
        "language model (evals)",
    )
    eval_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="evals, facts/similarity: the support a sentence needs (default: the "
        "checker's calibrated eval threshold; answers use answer.min_support)",
    )
    threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="nli: the entailment probability a sentence needs (default 0.5)",
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
