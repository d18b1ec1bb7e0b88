"""The configuration fingerprint of an evaluation run, and the cache keys built on it.

The fingerprint is a JSON object naming everything that can change what the
pipeline answers: embedder, model spec(s) and their generation settings, the prompt
template's content hash, retrieval, answer and routing settings, the ragline version
and the knowledge base's content (document ids and content hashes of every tenant
the dataset uses). ``pipeline_hash`` hashes all of it; a case's cache key adds its
question, tenant and repeat index. Any change anywhere is a different key: the cache
can only ever return an output the same configuration produced.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.evals._types import Case, Metric


def stable_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def digest(data: Any, length: int = 16) -> str:
    text = data if isinstance(data, str) else stable_json(data)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def file_hash(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def cases_hash(cases: Sequence[Case]) -> str:
    return digest([c.model_dump(mode="json") for c in cases])


def case_hash(case: Case) -> str:
    # a case without an agent block hashes as before the field existed (stored
    # results stay reusable)
    return digest(case.model_dump(mode="json", exclude={"agent"} if case.agent is None else None))


def cache_key(pipeline_hash: str, case: Case, repeat_index: int) -> str:
    parts: list[Any] = [pipeline_hash, case.tenant, case.question, repeat_index]
    if case.agent is not None:  # earlier sessions and injected faults change the run
        parts.append(case.agent.model_dump(mode="json"))
    return digest(parts, 32)


def metrics_key(metrics: Iterable[Metric], extra: Mapping[str, Any] | None = None) -> str:
    """Which metrics (name, version) scored a result, plus e.g. the judge model."""
    return digest([sorted((m.name, m.version) for m in metrics), dict(extra or {})])


def pipeline_hash(fingerprint: Mapping[str, Any]) -> str:
    """The hash of everything in the fingerprint except the dataset."""
    return digest({k: v for k, v in fingerprint.items() if k != "dataset"}, 32)


def _prompt_version(project: Project) -> str:
    view = project.parts.view()
    if not view.uses_llm:
        return "extractive"
    try:
        template = getattr(view.answerer, "template", None)
        version = getattr(template, "version", None)
        if isinstance(version, str):
            return version
    except Exception:
        pass
    from ragline.answer._prompts import PromptTemplate

    return PromptTemplate.load(project.settings.answer.template).version


def knowledge_base(project: Project, tenants: Iterable[str]) -> dict[str, str]:
    """Per tenant, a hash of its documents' ids, content hashes and embedders."""
    out: dict[str, str] = {}
    for tenant in sorted(set(tenants)):
        docs = project.store.list_documents(tenant)
        out[tenant] = digest(
            sorted((d.id, d.content_hash, d.embedder or "", d.chunk_count) for d in docs)
        )
    return out


def project_fingerprint(project: Project, tenants: Iterable[str]) -> dict[str, Any]:
    """What determines the answers of ``project`` to the dataset's questions."""
    from ragline._version import __version__

    s = project.settings
    specs = [s.model] if isinstance(s.model, str) else list(s.model)
    return {
        "target": "project",
        "ragline_version": __version__,
        "embedder": s.embedder,
        "embedding": s.embedding.model_dump(mode="json", exclude={"api_key_env"}),
        "model": s.model,
        "models": {
            spec: s.model_settings(spec).model_dump(
                mode="json",
                include={"max_tokens", "temperature", "context_window", "model_path"},
            )
            for spec in specs
            if spec != "extractive"
        },
        "prompt_version": _prompt_version(project),
        "retrieval": s.retrieval.model_dump(mode="json"),
        "answer": s.answer.model_dump(mode="json"),
        "routing": [r.model_dump(mode="json") for r in s.routing],
        "guards": s.guards.model_dump(mode="json"),  # a blocked ask is a different answer
        "tenants": {
            t: s.tenant(t).model_dump(mode="json", exclude={"api_keys_env"})
            for t in sorted(set(tenants))
        },
        "knowledge_base": knowledge_base(project, tenants),
    }


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}`` (lists stay values)."""
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}{key}."))
        if not data and prefix:
            out[prefix[:-1]] = {}
        return out
    return {prefix[:-1]: data}


def diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, value in a, value in b) for every dotted key whose values differ."""
    fa, fb = flatten(a), flatten(b)
    missing = object()
    rows: list[tuple[str, Any, Any]] = []
    for key in sorted(set(fa) | set(fb)):
        va, vb = fa.get(key, missing), fb.get(key, missing)
        if va != vb:
            rows.append((key, None if va is missing else va, None if vb is missing else vb))
    return rows
