"""Before a run: what in the dataset cannot score anything against this store.

A case whose gold documents are not in the store scores ``hit@k 0`` and ``recall@k 0``
however good retrieval is, and a case asked of a tenant with no documents can only
abstain. Run as-is, either reads as a regression; :func:`check_dataset` finds them so
``ragline eval run`` can say so (and ``--strict`` can refuse to run).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ragline.evals._types import Case
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

    @property
    def ok(self) -> bool:
        return not self.missing_gold and not self.empty_tenants

    def warnings(self) -> list[str]:
        """One line per problem, saying what it does to the scores and what to do."""
        out: list[str] = []
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
                f"{lead} (e.g. {examples}): their hit@k and recall@k score 0 — ingest the "
                "documents under the ids the dataset uses (run from the folder the ids are "
                "relative to) or fix gold_doc_ids"
            )
        for tenant, n in self.empty_tenants.items():
            out.append(
                f"tenant {tenant!r} has no documents "
                f"({n} {'case asks' if n == 1 else 'cases ask'} it): "
                "they can only abstain — ingest into it, or set the cases' tenant"
            )
        return out

    def to_dict(self) -> dict[str, object]:
        return {
            "cases": self.cases,
            "cases_with_gold": self.cases_with_gold,
            "cases_missing_gold": len(self.missing_gold),
            "missing_gold": self.missing_gold,
            "empty_tenants": self.empty_tenants,
        }


def check_dataset(
    store: Store, cases: Sequence[Case], tenant_of: Callable[[str | None], str]
) -> DatasetCheck:
    """Look up every case's gold document ids and tenant in ``store`` (``tenant_of``
    maps a case's tenant, None for the default, to the tenant it is asked of)."""
    known: dict[str, set[str]] = {}
    asked: dict[str, int] = {}
    missing: dict[str, list[str]] = {}
    with_gold = 0
    for case in cases:
        tenant = tenant_of(case.tenant)
        asked[tenant] = asked.get(tenant, 0) + 1
        if not case.gold_doc_ids:
            continue
        with_gold += 1
        if tenant not in known:
            known[tenant] = {d.id for d in store.list_documents(tenant)}
        absent = [d for d in case.gold_doc_ids if d not in known[tenant]]
        if absent:
            missing[case.id] = absent
    empty = {t: n for t, n in asked.items() if store.stats(t).documents == 0}
    return DatasetCheck(len(cases), with_gold, missing, empty)
