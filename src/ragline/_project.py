"""``ragline.Project``: the Python API the CLI (and later the server) is a thin layer over."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragline.config import Settings, load_settings
from ragline.store._filters import Condition, parse_filter
from ragline.types import Answer, Hit

if TYPE_CHECKING:
    from ragline.answer import Event, ExtractiveAnswerer, GroundedAnswerer
    from ragline.embed import Embedder
    from ragline.ingest import IngestReport
    from ragline.retrieve import Retriever, SearchResult
    from ragline.store import Store

FilterSpec = str | Condition | Mapping[str, Any]


def to_conditions(filters: Iterable[FilterSpec] | Mapping[str, Any] | None) -> list[Condition]:
    """Accept ``["doc_type=finance"]``, ``[Condition(...)]`` or ``{"doc_type": "finance"}``."""
    if not filters:
        return []
    if isinstance(filters, Mapping):
        filters = [filters]
    out: list[Condition] = []
    for f in filters:
        if isinstance(f, Condition):
            out.append(f)
        elif isinstance(f, str):
            out.append(parse_filter(f))
        else:
            for key, value in f.items():
                if isinstance(value, (list, tuple, set)):
                    out.append(Condition(key, "in", tuple(value)))
                else:
                    out.append(Condition(key, "eq", value))
    return out


class Project:
    """A ragline project: a folder with ``ragline.yaml`` and (by default) ``ragline.db``.

    >>> project = Project("my-kb")                      # doctest: +SKIP
    >>> project.ingest(["docs/"])                       # doctest: +SKIP
    >>> print(project.ask("How long is the warranty?").text)  # doctest: +SKIP

    ``overrides`` take dotted keys (``{"retrieval.k": 8}``) and win over the file and
    environment, like CLI flags. ``store`` and ``embedder`` inject ready-made parts
    (tests use ``MemoryStore`` and ``HashEmbedder``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = ".",
        *,
        settings: Settings | None = None,
        overrides: Mapping[str, Any] | None = None,
        config_file: str | os.PathLike[str] | None = None,
        store: Store | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.path = Path(path).resolve()
        self.settings = settings or load_settings(
            self.path, overrides=overrides, config_file=config_file
        )
        self._store = store
        self._embedder = embedder
        self._retriever: Retriever | None = None
        self._load_ms: float | None = None
        self._answerer: ExtractiveAnswerer | GroundedAnswerer | None = None
        if self.uses_llm:
            self._check_model_specs()

    # ------------------------------------------------------------------ parts

    @property
    def store(self) -> Store:
        if self._store is None:
            from ragline.store import open_store

            self._store = open_store(self.settings.store, base_dir=str(self.path))
        return self._store

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from ragline.embed import make_embedder

            self._embedder = make_embedder(self.settings.embedder, self.settings.embedding)
        return self._embedder

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            from ragline.retrieve import Retriever

            self._retriever = Retriever(self.store, self.embedder, self.settings)
        return self._retriever

    @property
    def uses_llm(self) -> bool:
        """False for the offline ``extractive`` answerer, True for any language model."""
        return self.settings.model != "extractive"

    def _check_model_specs(self) -> None:
        specs = (
            [self.settings.model] if isinstance(self.settings.model, str) else self.settings.model
        )
        from ragline.models._factory import check_spec

        for spec in specs:
            check_spec(spec)

    @property
    def answerer(self) -> ExtractiveAnswerer | GroundedAnswerer:
        """The extractive answerer, or a grounded LLM answerer for any other ``model:``."""
        if self._answerer is None:
            if not self.uses_llm:
                from ragline.answer import ExtractiveAnswerer

                self._answerer = ExtractiveAnswerer(self.embedder, self.settings.answer)
            else:
                self._answerer = self._grounded_answerer()
        return self._answerer

    def _grounded_answerer(self) -> GroundedAnswerer:
        from ragline.answer import GroundedAnswerer
        from ragline.models import Model, build_model, make_model, price_for, response_cache_for
        from ragline.models._extractive import ExtractiveModel

        spec = self.settings.model
        first = spec if isinstance(spec, str) else spec[0]
        ms = self.settings.model_settings(first)
        a = self.settings.answer
        template, budget = a.template, a.token_budget
        if first.partition(":")[0] == "local":
            # a base model: the completion-style template, and a budget that fits its window
            from ragline.models._local import PROMPT_TEMPLATE

            if "template" not in a.model_fields_set:
                template = PROMPT_TEMPLATE
            window = ms.context_window or 2048
            budget = min(budget, max(window - ms.max_tokens, 256))

        def make(name: str, settings: Settings) -> Model:
            if name == "extractive":  # in a fallback chain: share the project's embedder
                return ExtractiveModel(self.embedder, settings.answer)
            return make_model(name, settings)

        return GroundedAnswerer(
            build_model(spec, self.settings, make=make, cache=response_cache_for(self.store)),
            self.embedder,
            template=template,
            token_budget=budget,
            max_tokens=ms.max_tokens,
            temperature=ms.temperature,
            min_support=a.min_support,
            attribute_min=a.attribute_min,
            price=price_for(first, ms) if isinstance(spec, str) else None,
        )

    def _load_models(self) -> float:
        """Load the embedder's model once, so query timings don't include it."""
        if self._load_ms is None:
            t0 = time.perf_counter()
            load = getattr(self.embedder, "load", None)
            if callable(load):
                load()
            self._load_ms = (time.perf_counter() - t0) * 1000
            return self._load_ms
        return 0.0

    def tenant_or_default(self, tenant: str | None) -> str:
        return tenant or self.settings.default_tenant

    # ------------------------------------------------------------------ API

    def ingest(
        self,
        paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
        *,
        tenant: str | None = None,
        sync: bool = False,
        id_field: str | None = None,
        text_field: str | None = None,
        title_field: str | None = None,
        meta_fields: Sequence[str] | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
    ) -> IngestReport:
        """Ingest files and folders; unchanged files are skipped, changed ones replaced."""
        from ragline.ingest import Ingestor, JsonFields

        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        fields: dict[str, Any] = {}
        if id_field:
            fields["id_field"] = id_field
        if text_field:
            fields["text_field"] = text_field
        if title_field:
            fields["title_field"] = title_field
        if meta_fields:
            fields["meta_fields"] = list(meta_fields)
        ingestor = Ingestor(self.store, self.embedder, self.settings.ingest, project_dir=self.path)
        return ingestor.ingest(
            [Path(p) for p in paths],
            tenant=self.tenant_or_default(tenant),
            sync=sync,
            json_fields=JsonFields(**fields),
            on_progress=on_progress,
        )

    def retrieve(
        self,
        query: str,
        *,
        tenant: str | None = None,
        k: int | None = None,
        filters: Iterable[FilterSpec] | Mapping[str, Any] | None = None,
        mode: str | None = None,
    ) -> SearchResult:
        """Search with timings, per-retriever scores and the routing rules that fired."""
        load_ms = self._load_models()
        result = self.retriever.search(
            query,
            tenant=self.tenant_or_default(tenant),
            k=k,
            filters=to_conditions(filters),
            mode=mode,
        )
        if load_ms:
            result.timings_ms["load_model"] = load_ms
        return result

    def search(
        self,
        query: str,
        *,
        tenant: str | None = None,
        k: int | None = None,
        filters: Iterable[FilterSpec] | Mapping[str, Any] | None = None,
        mode: str | None = None,
    ) -> list[Hit]:
        """The best ``k`` chunks for ``query`` (hybrid BM25 + dense by default)."""
        return self.retrieve(query, tenant=tenant, k=k, filters=filters, mode=mode).hits

    def ask(
        self,
        question: str,
        *,
        tenant: str | None = None,
        k: int | None = None,
        filters: Iterable[FilterSpec] | Mapping[str, Any] | None = None,
    ) -> Answer:
        """Answer from the knowledge base, every sentence cited, or say it can't."""
        tenant_name = self.tenant_or_default(tenant)
        load_ms = self._load_models()
        t0 = time.perf_counter()
        result = self.retrieve(question, tenant=tenant_name, k=k, filters=filters)
        t1 = time.perf_counter()
        from ragline.answer import ExtractiveAnswerer

        answerer = self.answerer
        if isinstance(answerer, ExtractiveAnswerer):
            answer = answerer.answer(
                question, result.hits, query_vector=result.query_vector, tenant=tenant_name
            )
        else:
            generated = answerer.answer(question, result.hits, tenant=tenant_name)
            answer = generated.answer
            answer.usage = _usage_dict(generated.usage)
            answer.cost_usd = generated.cost_usd
            answer.prompt_version = generated.prompt_version
        t2 = time.perf_counter()
        timings = dict(result.timings_ms)
        timings["retrieval"] = (t1 - t0) * 1000
        timings["answer"] = (t2 - t1) * 1000
        timings["total"] = (t2 - t0) * 1000
        if load_ms:
            timings["load_model"] = load_ms  # once per process, not part of total
        answer.timings_ms = {**answer.timings_ms, **timings}
        return answer

    def ask_stream(
        self,
        question: str,
        *,
        tenant: str | None = None,
        k: int | None = None,
        filters: Iterable[FilterSpec] | Mapping[str, Any] | None = None,
    ) -> Iterator[Event]:
        """Answer as events: retrieval, delta…, citation…, then done — or error.

        A model failure mid-answer ends the stream with an ``ErrorEvent`` saying the
        text so far is partial. The extractive answerer yields its whole answer as
        one delta.
        """
        from ragline.answer import (
            CitationEvent,
            DeltaEvent,
            DoneEvent,
            ExtractiveAnswerer,
            RetrievalEvent,
        )

        tenant_name = self.tenant_or_default(tenant)
        self._load_models()
        result = self.retrieve(question, tenant=tenant_name, k=k, filters=filters)
        answerer = self.answerer
        if isinstance(answerer, ExtractiveAnswerer):
            answer = answerer.answer(
                question, result.hits, query_vector=result.query_vector, tenant=tenant_name
            )
            answer.timings_ms = {**result.timings_ms, **answer.timings_ms}
            yield RetrievalEvent(result.hits)
            yield DeltaEvent(answer.text)
            for i, s in enumerate(answer.sentences):
                yield CitationEvent(i, list(s.citations), s.support, s.text)
            yield DoneEvent(answer, cost_usd=0.0, timings_ms=answer.timings_ms)
            return
        for event in answerer.stream(question, result.hits, tenant=tenant_name):
            if isinstance(event, DoneEvent):
                answer = event.answer
                answer.timings_ms = {**result.timings_ms, **event.timings_ms, **answer.timings_ms}
                answer.usage = _usage_dict(event.usage)
                answer.cost_usd = event.cost_usd
            yield event

    def stats(self, *, tenant: str | None = None) -> dict[str, int]:
        s = self.store.stats(self.tenant_or_default(tenant))
        return {"documents": s.documents, "chunks": s.chunks}

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _usage_dict(usage: Any) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "estimated": usage.estimated,
    }
