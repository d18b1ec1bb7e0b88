"""The shared shape of a metric: applies → score, with every failure typed.

A subclass implements :meth:`BaseMetric.compute`; :meth:`BaseMetric.score` wraps it so
that nothing escapes: a pipeline error on the case becomes ``failure="pipeline_error"``,
a :class:`MetricFailure` becomes its reason, any other exception becomes
``failure="error: <Type>: <message>"``, and a non-finite value becomes
``failure="non_finite"``. A metric never returns NaN.
"""

from __future__ import annotations

import math
from typing import Any

from ragline.evals._types import Case, CaseOutput, MetricResult


class MetricFailure(Exception):
    """Raised inside a metric to record a typed failure (``reason``) for the case."""

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


class MetricSkipped(Exception):
    """Raised inside a metric when it does not apply to this output (e.g. an abstention)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BaseMetric:
    """Base class; ``name`` and ``version`` identify the metric in stored results.

    ``version`` changes whenever the metric's definition changes, so two runs scored
    by different definitions are not compared silently.
    """

    name: str = ""
    version: str = "1"
    #: when False, a case whose pipeline failed records failure "pipeline_error"
    scores_errors: bool = False

    def applies(self, case: Case) -> bool:
        return True

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        raise NotImplementedError

    def score(self, case: Case, output: CaseOutput) -> MetricResult:
        if output.error is not None and not self.scores_errors:
            return self.fail("pipeline_error", error=output.error)
        try:
            result = self.compute(case, output)
        except MetricFailure as e:
            return self.fail(e.reason, **e.details)
        except MetricSkipped as e:
            return MetricResult(self.name, self.version, skipped=e.reason)
        except Exception as e:  # a metric bug must not stop the run: record it
            return self.fail(f"error: {type(e).__name__}: {e}")
        if result.value is not None and not math.isfinite(result.value):
            return self.fail("non_finite", value=repr(result.value))
        return result

    def result(self, value: float, *, passed: bool | None = None, **details: Any) -> MetricResult:
        return MetricResult(
            self.name, self.version, value=float(value), passed=passed, details=details
        )

    def fail(self, reason: str, **details: Any) -> MetricResult:
        return MetricResult(self.name, self.version, failure=reason, details=details)

    def __repr__(self) -> str:
        return f"<metric {self.name} v{self.version}>"
