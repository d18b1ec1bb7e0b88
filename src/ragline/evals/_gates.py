"""Release gates: thresholds on a run's summary, e.g. ``factual_accuracy.token_f1 >= 0.6``.

A gate is ``KEY OP NUMBER`` with OP one of ``>= <= > < == !=``. KEY is one of:

- ``CATEGORY.METRIC``: the metric's mean over that category's cases (its pass rate
  when it has no values); ``all.METRIC`` is over every case;
- ``CATEGORY.METRIC.STAT`` or ``METRIC.STAT`` (over every case), STAT one of
  ``mean p50 p90 p95 p99 min max sum pass_rate n failures``, optionally with a unit
  suffix that is ignored (``latency.p95_ms``);
- ``CATEGORY.errors`` / ``CATEGORY.n``: pipeline errors / results in the category;
- ``CATEGORY.score`` (``CATEGORY.score.STAT``): the category's headline score, the
  mean over its cases of their headline metrics (:mod:`ragline.evals._headline`).

A gate whose key names nothing in the run fails (``missing``): a gate never passes
by default. A gate on a metric that could not be computed on any case fails saying
so (``n/a ... on any of the N cases``, with the reasons), never as if the metric
scored 0. Gates come from ``evals.gates`` in ragline.yaml or a YAML file holding a
list of such strings (or ``{gates: [...]}``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragline.errors import InputError

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9),
    "!=": lambda a, b: not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9),
    ">": operator.gt,
    "<": operator.lt,
}
_GATE = re.compile(
    r"^\s*([A-Za-z0-9_.\-@]+)\s*(>=|<=|==|!=|>|<)\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*$"
)
_STAT = re.compile(r"^(mean|p50|p90|p95|p99|min|max|sum|pass_rate|n|failures)(_[a-z]+)?$")
_ALL = "all"


@dataclass(frozen=True, slots=True)
class Gate:
    key: str
    op: str
    threshold: float
    source: str = ""  # "FILE:LINE" or "evals.gates[i]"

    def __str__(self) -> str:
        return f"{self.key} {self.op} {self.threshold:g}"


@dataclass(frozen=True, slots=True)
class GateResult:
    gate: Gate
    value: float | None
    passed: bool
    reason: str = ""  # why it failed: "below threshold", "missing: …"

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate": str(self.gate),
            "key": self.gate.key,
            "op": self.gate.op,
            "threshold": self.gate.threshold,
            "value": self.value,
            "passed": self.passed,
            "reason": self.reason,
            "source": self.gate.source,
        }


def parse_gate(text: str, *, source: str = "") -> Gate:
    m = _GATE.match(text) if isinstance(text, str) else None
    if m is None:
        where = f"{source}: " if source else ""
        raise InputError(
            f"{where}cannot parse gate {text!r}",
            hint="write KEY OP NUMBER, e.g. 'factual_accuracy.token_f1 >= 0.6' "
            "(OP is one of >= <= > < == !=)",
        )
    key, op, num = m.groups()
    if "." not in key:
        where = f"{source}: " if source else ""
        raise InputError(
            f"{where}gate key {key!r} needs a category or metric and a name",
            hint="e.g. 'safety.refusal == 1.0' or 'latency.p95_ms <= 3000'",
        )
    return Gate(key, op, float(num), source)


def parse_gates(items: Sequence[Any], *, source: str = "evals.gates") -> list[Gate]:
    return [parse_gate(str(item), source=f"{source}[{i}]") for i, item in enumerate(items)]


def load_gates(path: str | Path) -> list[Gate]:
    """A YAML list of gate strings (or ``gates: [...]``); errors name the line."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot read gates file {p}: {e.strerror or e}") from None
    try:
        node = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InputError(
            f"{p}{line}: not valid YAML ({getattr(e, 'problem', None) or e})",
            hint="write one '- KEY OP NUMBER' per line",
        ) from None
    if node is None:
        raise InputError(
            f"{p}: no gates in the file", hint="add lines like '- safety.refusal == 1.0'"
        )
    if isinstance(node, yaml.MappingNode):
        inner = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == "gates"]
        if not inner:
            raise InputError(f"{p}:1: expected a list of gates (or a 'gates:' key)")
        node = inner[0]
    if not isinstance(node, yaml.SequenceNode):
        raise InputError(
            f"{p}:{node.start_mark.line + 1}: expected a list of gates",
            hint="write one '- KEY OP NUMBER' per line",
        )
    gates: list[Gate] = []
    for item in node.value:
        where = f"{p}:{item.start_mark.line + 1}"
        if not isinstance(item, yaml.ScalarNode):
            raise InputError(f"{where}: a gate is one line of text, e.g. 'safety.refusal == 1.0'")
        gates.append(parse_gate(item.value, source=where))
    if not gates:
        raise InputError(
            f"{p}: no gates in the file", hint="add lines like '- safety.refusal == 1.0'"
        )
    return gates


def _lookup(summary: Mapping[str, Any], key: str) -> float | str:
    """The value a gate key names, or a string saying why there is none."""
    cats: Mapping[str, Any] = summary.get("categories", {})
    parts = key.split(".")

    def stat_of(cat: str, metric: str, stat: str | None) -> float | str:
        data = cats.get(cat)
        if data is None:
            return f"missing: no results in category {cat!r}"
        metrics = data["metrics"]
        st = metrics.get(metric)
        if st is None and stat is not None:
            unit = _STAT.match(stat)
            if unit and unit.group(2):
                st = metrics.get(metric + unit.group(2))
        if st is None:
            return f"missing: no metric {metric!r} in category {cat!r}"
        if stat is None:
            value = st.get("mean", st.get("pass_rate"))
        else:
            sm = _STAT.match(stat)
            if sm is None:
                return f"missing: unknown statistic {stat!r}"
            value = st.get(sm.group(1))
        if value is None:
            return _not_computed(metric, cat, st)
        return float(value)

    if len(parts) in (2, 3) and parts[1] == "score" and parts[0] != _ALL:
        return _score(cats, parts[0], parts[2] if len(parts) == 3 else None)
    if len(parts) == 2:
        a, b = parts
        if a in cats and b in ("errors", "n"):
            return float(cats[a][b])
        if a in cats and (b in cats[a]["metrics"] or not _STAT.match(b)):
            return stat_of(a, b, None)
        if _STAT.match(b):
            return stat_of(_ALL, a, b)
        return stat_of(a, b, None)
    if len(parts) == 3:
        return stat_of(parts[0], parts[1], parts[2])
    return f"missing: cannot read key {key!r}"


def _score(cats: Mapping[str, Any], cat: str, stat: str | None) -> float | str:
    """A category's headline score (or one of its statistics)."""
    data = cats.get(cat)
    if data is None:
        return f"missing: no results in category {cat!r}"
    score = data.get("score")
    if score is None:
        return f"missing: the run has no headline score for {cat!r} (made before scores; rerun)"
    sm = _STAT.match(stat) if stat is not None else None
    if stat is not None and (sm is None or sm.group(1) in ("pass_rate", "failures")):
        return f"missing: unknown statistic {stat!r} of {cat}.score"
    value = score.get(sm.group(1) if sm else "mean")
    if value is None:
        total = int(score.get("n", 0)) + int(score.get("na", 0))
        return (
            f"n/a: {cat}.score could not be computed on any of the {total} cases (none has "
            f"a value for {', '.join(score.get('metrics', []))}) — not a 0"
        )
    return float(value)


def _not_computed(metric: str, cat: str, st: Mapping[str, Any]) -> str:
    """Why a metric has no value to gate on: n/a on every case, and the reasons."""
    failures, skipped = int(st.get("failures", 0)), int(st.get("skipped", 0))
    total = int(st.get("n", 0)) + failures + skipped
    why = [f"{k}: {v}" for k, v in dict(st.get("failure_reasons", {})).items()]
    if skipped:
        why.append(f"skipped: {skipped}")
    reasons = f" ({', '.join(why)})" if why else ""
    return (
        f"n/a: {metric} could not be computed on any of the {total} cases in {cat!r}"
        f"{reasons} — there is no score to compare, not a 0; see the run's warnings"
    )


def evaluate_gates(summary: Mapping[str, Any], gates: Sequence[Gate]) -> list[GateResult]:
    out: list[GateResult] = []
    for gate in gates:
        value = _lookup(summary, gate.key)
        if isinstance(value, str):
            out.append(GateResult(gate, None, False, value))
            continue
        ok = _OPS[gate.op](value, gate.threshold)
        out.append(GateResult(gate, value, ok, "" if ok else f"{value:.4g} is not {gate}"))
    return out
