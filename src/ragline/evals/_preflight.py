"""Before a run: what in the dataset cannot score anything against this store.

A case whose gold documents (or gold chunks) are not in the store scores ``hit@k 0``
and ``recall@k 0`` however good retrieval is, and a case asked of a tenant with no
documents can only abstain. Run as-is, either reads as a regression; :func:`check_dataset`
finds them so ``ragline eval run`` can say so, the run record keeps them (see
:mod:`ragline.evals._warnings`) and ``--strict`` can refuse to run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragline.errors import EvalWarningsError
from ragline.evals._types import Case
from ragline.evals._warnings import RunWarning
from ragline.store._base import Store

#: examples named in a warning
EXAMPLES = 2


@dataclass(frozen=True, slots=True)
class DatasetCheck:
    """What :func:`check_dataset` found."""

    cases: int
    cases_with_gold: int = 0
    #: case id → its gold document ids that are not in the store
    missing_gold: dict[str, list[str]] = field(default_factory=dict)
    #: tenant → how many cases ask it, for tenants that hold no documents
    empty_tenants: dict[str, int] = field(default_factory=dict)
    cases_with_gold_chunks: int = 0
    #: case id → its gold chunk ids that are not in the store
    missing_gold_chunks: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.missing_gold and not self.empty_tenants and not self.missing_gold_chunks

    def warnings(self) -> list[str]:
        """One line per problem, saying what it does to the scores and what to do."""
        return [w.message for w in self.run_warnings()]

    def run_warnings(self) -> list[RunWarning]:
        """The problems as :class:`RunWarning` records (counts, examples, message)."""
        out: list[RunWarning] = []
        if self.missing_gold:
            n, of = len(self.missing_gold), self.cases_with_gold
            examples = "; ".join(
                f"{case}: {', '.join(ids[:EXAMPLES])}"
                for case, ids in list(self.missing_gold.items())[:EXAMPLES]
            )
            lead = (
                f"none of the {of} cases' gold documents are in the store"
                if n == of
                else f"{n} of {of} cases name gold documents that are not in the store"
            )
            out.append(
                RunWarning(
                    "missing_gold",
                    f"{lead} (e.g. {examples}): their hit@k and recall@k score 0 — ingest "
                    "the documents under the ids the dataset uses (run from the folder the "
                    "ids are relative to) or fix gold_doc_ids",
                    n,
                    of,
                    examples=_first_ids(self.missing_gold),
                )
            )
        if self.missing_gold_chunks:
            n, of = len(self.missing_gold_chunks), self.cases_with_gold_chunks
            examples = "; ".join(
                f"{case}: {', '.join(ids[:EXAMPLES])}"
                for case, ids in list(self.missing_gold_chunks.items())[:EXAMPLES]
            )
            out.append(
                RunWarning(
                    "missing_gold_chunks",
                    f"{n} of {of} cases name gold chunks that are not in the store (e.g. "
                    f"{examples}): chunk-level retrieval scores count them as missed — "
                    "chunk ids change when a document is re-chunked; re-derive "
                    "gold_chunk_ids or use gold_doc_ids",
                    n,
                    of,
                    examples=_first_ids(self.missing_gold_chunks),
                )
            )
        for tenant, n in self.empty_tenants.items():
            out.append(
                RunWarning(
                    "empty_tenant",
                    f"tenant {tenant!r} has no documents "
                    f"({n} {'case asks' if n == 1 else 'cases ask'} it): "
                    "they can only abstain — ingest into it, or set the cases' tenant",
                    n,
                    self.cases,
                    subject=tenant,
                )
            )
        return out

    def strict_error(self) -> EvalWarningsError:
        """What ``strict`` raises for these problems, before anything runs."""
        from ragline.evals._warnings import strict_line

        return EvalWarningsError(
            f"--strict: {strict_line(self.run_warnings())}",
            hint="nothing was run; fix the dataset or the store, or run without "
            "--strict to score anyway",
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "cases": self.cases,
            "cases_with_gold": self.cases_with_gold,
            "cases_missing_gold": len(self.missing_gold),
            "missing_gold": self.missing_gold,
            "empty_tenants": self.empty_tenants,
            "cases_with_gold_chunks": self.cases_with_gold_chunks,
            "cases_missing_gold_chunks": len(self.missing_gold_chunks),
            "missing_gold_chunks": self.missing_gold_chunks,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetCheck:
        """The check as stored in a run's summary (``to_dict``)."""
        return cls(
            cases=int(data.get("cases", 0)),
            cases_with_gold=int(data.get("cases_with_gold", 0)),
            missing_gold={str(k): list(v) for k, v in data.get("missing_gold", {}).items()},
            empty_tenants={str(k): int(v) for k, v in data.get("empty_tenants", {}).items()},
            cases_with_gold_chunks=int(data.get("cases_with_gold_chunks", 0)),
            missing_gold_chunks={
                str(k): list(v) for k, v in data.get("missing_gold_chunks", {}).items()
            },
        )


def _first_ids(missing: dict[str, list[str]]) -> tuple[str, ...]:
    """The first few missing ids, each once."""
    out: list[str] = []
    for ids in missing.values():
        out += [i for i in ids if i not in out]
        if len(out) >= EXAMPLES:
            break
    return tuple(out[:EXAMPLES])


def check_dataset(
    store: Store, cases: Sequence[Case], tenant_of: Callable[[str | None], str]
) -> DatasetCheck:
    """Look up every case's gold document ids and tenant in ``store`` (``tenant_of``
    maps a case's tenant, None for the default, to the tenant it is asked of)."""
    known: dict[str, set[str]] = {}
    asked: dict[str, int] = {}
    missing: dict[str, list[str]] = {}
    missing_chunks: dict[str, list[str]] = {}
    with_gold = with_chunks = 0
    for case in cases:
        tenant = tenant_of(case.tenant)
        asked[tenant] = asked.get(tenant, 0) + 1
        if case.gold_chunk_ids:
            with_chunks += 1
            found = {c.id for c in store.get_chunks(tenant, case.gold_chunk_ids)}
            absent_chunks = [c for c in case.gold_chunk_ids if c not in found]
            if absent_chunks:
                missing_chunks[case.id] = absent_chunks
        if not case.gold_doc_ids:
            continue
        with_gold += 1
        if tenant not in known:
            known[tenant] = {d.id for d in store.list_documents(tenant)}
        absent = [d for d in case.gold_doc_ids if d not in known[tenant]]
        if absent:
            missing[case.id] = absent
    empty = {t: n for t, n in asked.items() if store.stats(t).documents == 0}
    return DatasetCheck(len(cases), with_gold, missing, empty, with_chunks, missing_chunks)
