"""``ragline.Project``: the Python API the CLI (and later the server) is a thin layer over."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragline.config import Settings, load_settings
from ragline.store._filters import Condition, parse_filter
from ragline.types import Answer, Hit

if TYPE_CHECKING:
    from ragline.answer import Event, ExtractiveAnswerer, GroundedAnswerer
    from ragline.answer._sentence_store import SentenceStore
    from ragline.embed import Embedder
    from ragline.ingest import IngestReport
    from ragline.retrieve import Retriever, SearchResult
    from ragline.store import Store
    from ragline.store._conversations import ConversationStore
    from ragline.trace import SpanRecord, Tracer, TraceStats, TraceStore, TraceSummary
    from ragline.trace._tracer import NoopSpan, Span

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
        self._tracer: Tracer | None = None
        self._trace_store: TraceStore | None = None
        self._conversations: ConversationStore | None = None
        self._sentence_vectors: SentenceStore | None = None
        self._parent: Project | None = None
        self._views: dict[str, Project] = {}
        self._views_lock = threading.Lock()
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

                self._answerer = ExtractiveAnswerer(
                    self.embedder, self.settings.answer, sentence_store=self.sentence_vectors
                )
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

    def for_tenant(self, tenant: str | None) -> Project:
        """This project as ``tenant`` sees it: its model, prompt, k and routing overrides.

        Returns ``self`` when the tenant has no overrides; otherwise a view (made once)
        that shares the store, embedder, tracer and conversations of this project.
        """
        name = self.tenant_or_default(tenant)
        settings = self.settings.for_tenant(name)
        if settings is self.settings:
            return self
        with self._views_lock:
            view = self._views.get(name)
            if view is None:
                view = Project(
                    self.path, settings=settings, store=self.store, embedder=self.embedder
                )
                view._parent = self
                view._tracer = self.tracer
                view._trace_store = self.trace_store
                view._load_ms = self._load_ms
                self._views[name] = view
        return view

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
        tenant_name = self.tenant_or_default(tenant)
        ingestor = Ingestor(
            self.store,
            self.embedder,
            self.settings.ingest,
            project_dir=self.path,
            on_embedded=self._sentence_hook(tenant_name),
        )
        with self._root_span("ragline.ingest", "ingest", tenant_name) as sp:
            if sp.is_recording:
                sp.update(
                    {
                        "ragline.tenant": tenant_name,
                        "ragline.ingest.paths": [str(p) for p in paths],
                        "ragline.ingest.sync": sync,
                        "ragline.embedder": self.settings.embedder,
                    }
                )
            report = ingestor.ingest(
                [Path(p) for p in paths],
                tenant=tenant_name,
                sync=sync,
                json_fields=JsonFields(**fields),
                on_progress=on_progress,
            )
            if sp.is_recording:
                sp.update(_ingest_attrs(report))
        return report

    def _sentence_hook(self, tenant: str) -> Callable[[str, list[Any]], int] | None:
        """Ingest's hook that precomputes sentence vectors, if this tenant's answers use them."""
        view = self.for_tenant(tenant)
        if view.uses_llm or not view.settings.answer.precompute_sentences:
            return None
        from ragline.answer import ExtractiveTuning
        from ragline.answer._sentence_store import precompute_sentences

        sentences, embedder = self.sentence_vectors, self.embedder
        min_words, batch = ExtractiveTuning().min_words, self.settings.ingest.batch_size * 4

        def hook(tenant_name: str, chunks: list[Any]) -> int:
            return precompute_sentences(
                sentences, embedder, tenant_name, chunks, min_words=min_words, batch_size=batch
            )

        return hook

    def precompute_sentences(
        self,
        *,
        tenant: str | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
    ) -> int:
        """Embed and store the answer sentences of chunks already in the store; return how many.

        For a store ingested before sentence vectors were precomputed (or with
        ``answer.precompute_sentences: false``): afterwards a never-seen question embeds
        only itself. Sentences already stored are skipped, so it is cheap to re-run.
        ``tenant=None`` does every tenant in the store. ``on_progress(done, total,
        document_id)`` is called per document.
        """
        from ragline.answer import ExtractiveTuning
        from ragline.answer._sentence_store import precompute_sentences

        self._load_models()
        tenants = [tenant] if tenant is not None else self.store.tenants()
        sentences, embedder, store = self.sentence_vectors, self.embedder, self.store
        min_words, batch = ExtractiveTuning().min_words, self.settings.ingest.batch_size * 4
        total = 0
        for name in tenants:
            docs = store.list_documents(name)
            for i in range(0, len(docs), 64):
                group = docs[i : i + 64]
                ids = [f"{d.id}#{n}" for d in group for n in range(d.chunk_count)]
                total += precompute_sentences(
                    sentences,
                    embedder,
                    name,
                    store.get_chunks(name, ids),
                    min_words=min_words,
                    batch_size=batch,
                )
                if on_progress is not None:
                    on_progress(i + len(group), len(docs), group[-1].id)
        return total

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
        tenant_name = self.tenant_or_default(tenant)
        with self._root_span("ragline.search", "search", tenant_name) as sp:
            if sp.is_recording:
                sp.update({"ragline.query": query, "ragline.tenant": tenant_name})
            return self._retrieve(query, tenant_name, k, filters, mode)

    def _retrieve(
        self,
        query: str,
        tenant: str,
        k: int | None,
        filters: Iterable[FilterSpec] | Mapping[str, Any] | None,
        mode: str | None = None,
    ) -> SearchResult:
        load_ms = self._load_models()
        result = self.retriever.search(
            query, tenant=tenant, k=k, filters=to_conditions(filters), mode=mode
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
        """Answer from the knowledge base, every sentence cited, or say it can't.

        The request is traced (``answer.trace_id``; ``ragline traces show ID``).
        """
        tenant_name = self.tenant_or_default(tenant)
        with self._root_span("ragline.ask", "ask", tenant_name) as sp:
            if sp.is_recording:
                sp.update(self._ask_attrs(question, tenant_name, k, filters))
            answer = self._ask(question, tenant_name, k, filters)
            if sp.is_recording:
                sp.update(_answer_attrs(answer))
                answer.trace_id = sp.trace_id
        return answer

    def _ask_attrs(
        self,
        question: str,
        tenant: str,
        k: int | None,
        filters: Iterable[FilterSpec] | Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        from ragline.trace._attrs import condition

        model = self.settings.model
        return {
            "ragline.question": question,
            "ragline.tenant": tenant,
            "gen_ai.request.model": model if isinstance(model, str) else ",".join(model),
            "ragline.retrieval.k": k if k is not None else self.settings.retrieval.k,
            "ragline.filters": [condition(c) for c in to_conditions(filters)],
        }

    def _answer_step(self, question: str, tenant: str, result: SearchResult) -> Answer:
        from ragline.answer import ExtractiveAnswerer
        from ragline.trace import span
        from ragline.trace._attrs import sentences

        answerer = self.answerer
        with span("ragline.answer", "answer") as sp:
            if isinstance(answerer, ExtractiveAnswerer):
                sp.set("ragline.answerer", "extractive")
                answer = answerer.answer(
                    question, result.hits, query_vector=result.query_vector, tenant=tenant
                )
            else:
                sp.set("ragline.answerer", "grounded")
                generated = answerer.answer(question, result.hits, tenant=tenant)
                answer = generated.answer
                answer.usage = _usage_dict(generated.usage)
                answer.cost_usd = generated.cost_usd
                answer.prompt_version = generated.prompt_version
            if sp.is_recording:
                sp.update(
                    {
                        "ragline.answer": answer.text,
                        "ragline.abstained": answer.abstained,
                        "ragline.support": round(answer.support, 6),
                        "ragline.sentences": sentences(answer.sentences),
                    }
                )
        return answer

    def _ask(
        self,
        question: str,
        tenant_name: str,
        k: int | None,
        filters: Iterable[FilterSpec] | Mapping[str, Any] | None,
    ) -> Answer:
        load_ms = self._load_models()
        t0 = time.perf_counter()
        result = self._retrieve(question, tenant_name, k, filters)
        t1 = time.perf_counter()
        answer = self._answer_step(question, tenant_name, result)
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

        The whole stream is one trace; its root span ends when the stream does (also
        when it fails or the consumer stops early). ``DoneEvent.answer.trace_id``
        names it.
        """
        from ragline.answer import DoneEvent, ErrorEvent
        from ragline.trace._tracer import iterate_in

        tenant_name = self.tenant_or_default(tenant)
        sp = self._root_span("ragline.ask", "ask", tenant_name)
        try:
            if sp.is_recording:
                sp.update(self._ask_attrs(question, tenant_name, k, filters))
                sp.set("ragline.stream", True)
            for event in iterate_in(sp, self._ask_stream(question, tenant_name, k, filters)):
                if isinstance(event, DoneEvent) and sp.is_recording:
                    sp.update(_answer_attrs(event.answer))
                    event.answer.trace_id = sp.trace_id
                elif isinstance(event, ErrorEvent):
                    sp.set_status("error", event.message)
                    sp.set("ragline.answer.partial", event.partial_text)
                yield event
        except GeneratorExit:
            sp.set("ragline.stream.abandoned", True)
            raise
        except BaseException as e:
            sp.record_exception(e)
            raise
        finally:
            sp.end()

    def _ask_stream(
        self,
        question: str,
        tenant_name: str,
        k: int | None,
        filters: Iterable[FilterSpec] | Mapping[str, Any] | None,
    ) -> Iterator[Event]:
        from ragline.answer import (
            CitationEvent,
            DeltaEvent,
            DoneEvent,
            ExtractiveAnswerer,
            RetrievalEvent,
        )

        self._load_models()
        result = self._retrieve(question, tenant_name, k, filters)
        answerer = self.answerer
        if isinstance(answerer, ExtractiveAnswerer):
            answer = self._answer_step(question, tenant_name, result)
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

    # ------------------------------------------------------------------ tracing

    @property
    def trace_store(self) -> TraceStore:
        """Where this project's traces and feedback live (the store's database file)."""
        if self._trace_store is None:
            from ragline.trace._setup import trace_store_for

            self._trace_store = trace_store_for(self.store, self.settings)
        return self._trace_store

    @property
    def tracer(self) -> Tracer:
        """The project's tracer (a no-op one when ``tracing.enabled`` is false)."""
        if self._tracer is None:
            from ragline.trace._setup import build_tracer
            from ragline.trace._tracer import NOOP_TRACER

            if not self.settings.tracing.enabled:
                self._tracer = NOOP_TRACER
            else:
                self._tracer = build_tracer(self.trace_store, self.settings)
        return self._tracer

    def trace_stats(self) -> TraceStats | None:
        """This process's trace writer counters (queued, written, dropped…), if any."""
        return self._tracer.stats if self._tracer is not None else None

    def flush_traces(self, timeout: float | None = 5.0) -> bool:
        """Wait (up to ``timeout`` seconds) until every finished span is stored."""
        return self._tracer.flush(timeout) if self._tracer is not None else True

    def get_trace(self, trace_id: str, *, tenant: str | None = None) -> list[SpanRecord]:
        """The spans of one trace, by start time; :class:`InputError` if there is none."""
        from ragline.trace._errors import TraceNotFoundError

        self.flush_traces(self.settings.tracing.flush_timeout_s)
        tid = (trace_id or "").strip().lower()
        spans = self.trace_store.get_trace(tid, tenant=tenant) if tid else []
        if not spans:
            raise TraceNotFoundError(trace_id, tenant)
        return spans

    def list_traces(
        self,
        *,
        tenant: str | None = None,
        since: float | None = None,
        until: float | None = None,
        status: str | None = None,
        min_latency_ms: float | None = None,
        text: str | None = None,
        limit: int = 50,
    ) -> list[TraceSummary]:
        """Recent traces, newest first (filters as ``ragline traces list``)."""
        from ragline.errors import InputError

        if status not in (None, "ok", "error"):
            raise InputError(f"unknown trace status {status!r}", hint="use ok or error")
        self.flush_traces(self.settings.tracing.flush_timeout_s)
        return self.trace_store.list_traces(
            tenant=tenant,
            since=since,
            until=until,
            status=status,  # type: ignore[arg-type]
            min_latency_ms=min_latency_ms,
            text=text,
            limit=limit,
        )

    def _root_span(self, name: str, kind: str, tenant: str) -> Span | NoopSpan:
        """A new span for a request (a child if a trace is already active)."""
        try:
            return self.tracer.span(name, kind, tenant=tenant)
        except Exception:  # tracing never stops a request (e.g. trace store unopenable)
            import logging

            logging.getLogger("ragline.trace").exception("tracing is unavailable")
            from ragline.trace._tracer import NOOP_TRACER

            self._tracer = NOOP_TRACER
            return NOOP_TRACER.span(name, kind)

    @property
    def conversations(self) -> ConversationStore:
        """Multi-turn chat histories (in the store's database; memory for memory stores)."""
        if self._parent is not None:
            return self._parent.conversations
        if self._conversations is None:
            from ragline.store._conversations_open import conversation_store_for

            self._conversations = conversation_store_for(self.store)
        return self._conversations

    @property
    def sentence_vectors(self) -> SentenceStore:
        """The extractive answerer's sentence vectors (in the store's database; memory for
        memory stores)."""
        if self._parent is not None:
            return self._parent.sentence_vectors
        if self._sentence_vectors is None:
            from ragline.answer._sentence_store import sentence_store_for

            self._sentence_vectors = sentence_store_for(self.store)
        return self._sentence_vectors

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Flush and stop the trace writer (up to ``tracing.flush_timeout_s``), close stores."""
        if self._parent is not None:
            return  # a tenant view: the parent owns (and closes) the shared parts
        if self._conversations is not None:
            self._conversations.close()
        if self._sentence_vectors is not None:
            self._sentence_vectors.close()
        if self._tracer is not None:
            self._tracer.close(self.settings.tracing.flush_timeout_s)
        elif self._trace_store is not None:
            self._trace_store.close()
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


def _answer_attrs(answer: Answer) -> dict[str, Any]:
    """What the root span of an ask records about its answer."""
    attrs: dict[str, Any] = {
        "ragline.answer": answer.text,
        "ragline.abstained": answer.abstained,
        "ragline.support": round(answer.support, 6),
        "ragline.answer.model": answer.model,
        "ragline.retrieved.chunk_ids": [h.chunk.id for h in answer.hits],
        "ragline.retrieved.document_ids": [h.chunk.document_id for h in answer.hits],
        "ragline.references": [r.chunk_id for r in answer.references],
        "ragline.timings_ms": {k: round(v, 3) for k, v in answer.timings_ms.items()},
    }
    if answer.usage:
        attrs["gen_ai.usage.input_tokens"] = answer.usage.get("prompt_tokens")
        attrs["gen_ai.usage.output_tokens"] = answer.usage.get("completion_tokens")
    if answer.cost_usd is not None:
        attrs["ragline.cost_usd"] = answer.cost_usd
    if answer.prompt_version:
        attrs["ragline.prompt.version"] = answer.prompt_version
    return attrs


def _ingest_attrs(report: IngestReport) -> dict[str, Any]:
    out: dict[str, Any] = {f"ragline.ingest.{k}": v for k, v in report.totals().items()}
    out["ragline.ingest.chunks_embedded"] = report.chunks_embedded
    out["ragline.ingest.files"] = len(report.files)
    if not report.ok:
        out["ragline.ingest.failed_files"] = [f.path for f in report.files if f.status == "failed"][
            :50
        ]
    return out
