"""The ``support:`` section of ``ragline.yaml``: which support checker judges whether a
passage backs a sentence, everywhere one is needed — the cite stage (citation
verification, hence the ``citation`` guard and the monitor's online scores) and the
``faithfulness`` / ``citation_*`` eval metrics. Re-exported by :mod:`ragline.config`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ragline._config_base import _Strict


class SupportSettings(_Strict):
    checker: Literal["facts", "similarity"] = Field(
        "facts",
        description="facts: the built-in fitted word-overlap model plus name/figure/role "
        "rules (offline, no model); similarity: lexical overlap + embedding cosine (the "
        "checker before 0.x)",
    )
    eval_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="evals: the support a sentence needs (default: the checker's calibrated "
        "eval threshold; answers use answer.min_support)",
    )


__all__ = ["SupportSettings"]
