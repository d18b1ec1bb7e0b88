"""The one place that builds a project's parts from its settings, once.

:class:`Parts` holds what every tenant shares: the storage :class:`Backend` of the
store URL (documents, traces, conversations, sentence vectors, evaluation runs, the
response cache), the embedder and the tracer. :class:`View` is what one tenant's
asks run on — its settings (model, prompt, k, routing and language overrides), its
retriever, its answerer and its :class:`Pipeline` of stages — a cheap overlay on the
shared parts, made once per tenant that has overrides (the others share one).

Backends are chosen from the URL by :func:`ragline.store.open_backend`; answerers are
chosen from ``model:`` here, and nowhere else in ragline.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ragline._time import elapsed_ms
from ragline.config import Settings

if TYPE_CHECKING:
    from ragline.agent._memory import LongTermMemory
    from ragline.answer import Answerer, AskRequest, Pipeline
    from ragline.answer._chat import Chat
    from ragline.embed import Embedder
    from ragline.guards._policy import GuardSet
    from ragline.ingest import Ingestor
    from ragline.models import Model
    from ragline.monitor._quality import QualityResources
    from ragline.prompts import PromptRegistry
    from ragline.prompts._experiments import Assignment, Experiments
    from ragline.prompts._shadow import Shadows
    from ragline.rerank import Reranker
    from ragline.retrieve import Retriever
    from ragline.retrieve._rewrite import FollowUpRewriter
    from ragline.store import Backend, EvalStore, Store, TraceStore
    from ragline.trace import Tracer
    from ragline.types import Answer

log = logging.getLogger("ragline")


class Parts:
    """A project's shared parts, each made on first use (thread-safe).

    ``store`` injects a ready :class:`Backend`, or a document :class:`Store` whose other
    families then live in memory; ``embedder`` injects an embedder (tests use both).
    """

    def __init__(
        self,
        path: Path,
        settings: Settings,
        *,
        store: Backend | Store | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        from ragline.store import Backend

        self.path = path
        self.settings = settings
        # a bad spec fails every command at once, not only those that embed or search
        if embedder is None:
            from ragline.embed import parse_embedder_spec

            parse_embedder_spec(settings.embedder)
        if store is None:
            from ragline.store._open import backend_kind

            backend_kind(settings.store)
        self._lock = threading.RLock()
        self._backend: Backend | None = None
        if isinstance(store, Backend):
            self._backend = store
        elif store is not None:
            from ragline.store.memory import MemoryBackend

            self._backend = MemoryBackend(store, base_dir=path)
        self._embedder = embedder
        self._memo: Embedder | None = None
        self._tracer: Tracer | None = None
        self._trace_store: TraceStore | None = None
        self._evals: EvalStore | None = None
        self._evals_backend: Backend | None = None  # when evals.store names another store
        self._chat: Chat | None = None
        self._memory: LongTermMemory | None = None
        self._canary: str | None = None
        self._mask: tuple[frozenset[str], Callable[[str], str]] | None = None
        self._canaries: set[str] = set()  #: tenants' own canaries (guards.leak.canary)
        self._load_ms: float | None = None
        self._views: dict[str, View] = {}
        self._prompts: PromptRegistry | None = None
        self._experiments: Experiments | None = None
        self._shadows: Shadows | None = None

    # -- shared parts ----------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    from ragline.store import open_backend

                    self._backend = open_backend(
                        self.settings.store,
                        base_dir=self.path,
                        trace_busy_timeout_ms=self.settings.tracing.write_timeout_ms,
                        ann_threshold=self.settings.retrieval.ann_threshold,
                    )
        return self._backend

    @property
    def embedder(self) -> Embedder:
        """The project's embedder, wrapped so that an ask's stages embed each text once
        (:mod:`ragline.embed._memo`)."""
        if self._memo is None:
            with self._lock:
                if self._memo is None:
                    from ragline.embed._memo import MemoEmbedder

                    inner = self._embedder
                    if inner is None:
                        from ragline.embed import make_embedder

                        inner = make_embedder(self.settings.embedder, self.settings.embedding)
                    self._embedder = inner
                    self._memo = cast("Embedder", MemoEmbedder(inner))
        return self._memo

    def load_models(self) -> float:
        """Load the embedder's model once; the milliseconds it took (0 after the first)."""
        if self._load_ms is not None:
            return 0.0
        start = time.perf_counter()
        load = getattr(self.embedder, "load", None)
        if callable(load):
            load()
        self._load_ms = elapsed_ms(start)
        return self._load_ms

    def ingestor(
        self,
        tenant: str,
        *,
        root: str | os.PathLike[str] | None = None,
        embedder: Embedder | None = None,
        flush_chunks: int | None = None,
    ) -> Ingestor:
        """An ingestor into ``tenant``'s documents; ids are paths relative to ``root``
        (default: the project folder). ``embedder`` replaces the project's for this
        ingest (a pool of Ray actors with the same model: ``--executor ray``)."""
        from ragline.ingest import Ingestor

        return Ingestor(
            self.backend.documents,
            embedder or self.embedder,
            self.settings.ingest,
            project_dir=root if root is not None else self.path,
            on_embedded=self.view(tenant).sentence_hook(embedder),
            tracer=self.tracer,
            flush_chunks=flush_chunks,
        )

    def embedder_factory(self) -> Callable[[], Embedder]:
        """A picklable callable that builds this project's embedder in another process
        (a Ray actor): from the settings, or a copy of an injected embedder."""
        import functools

        if self._embedder is not None:
            return functools.partial(_same, self._embedder)
        from ragline.embed import make_embedder

        return functools.partial(make_embedder, self.settings.embedder, self.settings.embedding)

    def precompute_sentences(
        self,
        tenant: str | None = None,
        *,
        on_progress: Callable[[int, int, str], None] | None = None,
    ) -> int:
        """Embed and store the answer sentences of stored chunks (every tenant's when
        ``tenant`` is None); how many."""
        from ragline.answer._sentence_vectors import backfill_sentences

        self.load_models()
        store = self.backend.documents
        tenants = [tenant] if tenant is not None else store.tenants()
        batch = self.settings.ingest.batch_size * 4
        return backfill_sentences(
            store,
            self.backend.sentences,
            self.embedder,
            tenants,
            batch_size=batch,
            on_progress=on_progress,
        )

    @property
    def trace_store(self) -> TraceStore:
        """Where traces and feedback go: the backend's, also feeding the per-minute
        rollups (``monitor.rollups``; see :mod:`ragline.monitor._recorder`)."""
        if self._trace_store is None:
            with self._lock:
                if self._trace_store is None:
                    from ragline.monitor._setup import monitored_trace_store

                    self._trace_store = monitored_trace_store(
                        self.backend, self.settings, quality=self._quality_resources
                    )
        return self._trace_store

    def _quality_resources(self) -> QualityResources:
        """What online quality scoring reads (built on its thread, on first use)."""
        from ragline.evals._metrics._support_factory import build_support_checker
        from ragline.monitor._quality import QualityResources

        self.load_models()
        judge = None
        spec = self.settings.monitor.quality.judge_model
        if "judge" in self.settings.monitor.quality.metrics and spec:
            from ragline.evals._metrics._support_judge import JudgeSupport
            from ragline.models import build_model

            judge = JudgeSupport(build_model(spec, self.settings), timeout_s=60.0)
        support = build_support_checker(self.settings, embedder=self.embedder, base_dir=self.path)
        return QualityResources(self.backend.documents, self.embedder, support, judge)

    def request(
        self,
        question: str,
        *,
        stream: bool = False,
        conversation: str | None = None,
        **options: Any,
    ) -> AskRequest:
        """An ask's request, with the experiment variant that answers it."""
        from ragline.answer import AskRequest

        forced = options.pop("variant", None)
        request = AskRequest.build(question, self.settings.default_tenant, stream, **options)
        if not self.settings.experiments and not forced:
            return request
        return self.experiments.assign_request(request, conversation=conversation, forced=forced)

    def candidate(self, settings: Settings) -> Parts:
        """Parts for other ``settings`` sharing this project's open store and loaded
        embedder (a replay's candidate; never closed: they are ours)."""
        return Parts(self.path, settings, store=self.backend, embedder=self.embedder)

    def flush_traces(self, timeout: float | None = 5.0) -> bool:
        """Wait until every finished span is stored and the sampled asks are scored."""
        if self._tracer is None:
            return True
        done = self._tracer.flush(timeout)
        flush_quality = getattr(self._trace_store, "flush_quality", None)
        return (flush_quality(timeout) if callable(flush_quality) else True) and done

    @property
    def tracer(self) -> Tracer:
        """The tracer (a no-op one when ``tracing.enabled`` is false, or the trace store
        cannot be opened: tracing never stops a request)."""
        if self._tracer is None:
            with self._lock:
                if self._tracer is None:
                    self._tracer = self._build_tracer()
        return self._tracer

    @tracer.setter
    def tracer(self, tracer: Tracer) -> None:
        self._tracer = tracer

    def _build_tracer(self) -> Tracer:
        from ragline.trace._setup import build_tracer
        from ragline.trace._tracer import NOOP_TRACER

        if not self.settings.tracing.enabled:
            return NOOP_TRACER
        try:
            return build_tracer(self.trace_store, self.settings, mask=self._canary_mask)
        except Exception as e:
            log.warning("tracing is unavailable: %s", e)
            return NOOP_TRACER

    @property
    def tracer_started(self) -> bool:
        return self._tracer is not None

    @property
    def evals(self) -> EvalStore:
        """Where evaluation runs live: ``evals.store`` if set, else the project's backend."""
        if self._evals is None:
            with self._lock:
                if self._evals is None:
                    self._evals = self._open_evals()
        return self._evals

    def _open_evals(self) -> EvalStore:
        url = self.settings.evals.store
        if not url:
            return self.backend.evals
        from ragline.errors import ConfigError
        from ragline.store import open_backend
        from ragline.store._open import backend_kind

        try:
            kind = backend_kind(url)
        except ConfigError:
            kind = "unknown"
        if kind not in ("sqlite", "postgres"):
            raise ConfigError(
                f"evals.store {url!r} is not a SQLite or PostgreSQL URL",
                hint="use sqlite:///evals.db or postgresql://user@host/db",
            )
        self._evals_backend = open_backend(url, base_dir=self.path)
        return self._evals_backend.evals

    @property
    def prompts(self) -> PromptRegistry:
        """The project's prompts (shipped and ``prompts/*.md``), versions and labels."""
        if self._prompts is None:
            with self._lock:
                if self._prompts is None:
                    from ragline.prompts import PromptRegistry

                    self._prompts = PromptRegistry(
                        self.backend.prompts,
                        self.path,
                        default_tenant=self.settings.default_tenant,
                    )
        return self._prompts

    @property
    def experiments(self) -> Experiments:
        """The variant of each request (``experiments:``), every variant checked once:
        its tenants exist, its prompt and settings make a working view."""
        if self._experiments is None:
            with self._lock:
                if self._experiments is None:
                    from ragline.prompts._experiments import Experiments, check_experiments

                    def build(tenant: str | None, assignment: Assignment) -> None:
                        view = self.view(tenant, assignment)
                        if view.uses_llm:
                            _ = view.answerer

                    check_experiments(self.settings, lookup=self.prompts.lookup, build=build)
                    self._experiments = Experiments(self.settings.experiments)
        return self._experiments

    @property
    def shadows(self) -> Shadows:
        """The background runs of ``mode: shadow`` variants (:mod:`ragline.prompts._shadow`)."""
        if self._shadows is None:
            with self._lock:
                if self._shadows is None:
                    from ragline.prompts._shadow import Shadows

                    def run(request: AskRequest) -> object:
                        view = self.view(request.tenant, request.assignment)
                        return view.pipeline.ask(request)

                    self._shadows = Shadows(list(self.settings.experiments), run)
        return self._shadows

    def answered(self, request: AskRequest, answer: Answer) -> None:
        """Every pipeline's hook after an answer: queue the request's shadow variants."""
        if request.assignment is not None and request.assignment.shadows:
            self.shadows.submit(request, answer)

    @property
    def chat(self) -> Chat:
        if self._chat is None:
            from ragline.answer._chat import Chat

            self._chat = Chat(
                self.backend.conversations,
                max_question_chars=self.settings.server.max_question_chars,
            )
        return self._chat

    @property
    def memory(self) -> LongTermMemory:
        """The agent's long-term memory (``memory:``) on the backend's user memory."""
        if self._memory is None:
            with self._lock:
                if self._memory is None:
                    from ragline.agent._memory import build_memory

                    self._memory = build_memory(
                        self.backend.user_memory, self.embedder, self.settings
                    )
        return self._memory

    @property
    def canary(self) -> str:
        """The system-prompt canary of this deployment: ``guards.leak.canary``, else the
        one made once in the project folder (``.ragline/canary``)."""
        if self._canary is None:
            with self._lock:
                if self._canary is None:
                    from ragline.guards._leak import project_canary

                    configured = self.settings.guards.leak.canary
                    self._canary = configured or project_canary(self.path)
        return self._canary

    def note_canary(self, canary: str) -> None:
        """A tenant's own canary: traces mask it too."""
        self._canaries.add(canary)

    def _canary_mask(self) -> Callable[[str], str] | None:
        """What traces apply to content: every canary in use masked, once there is one."""
        known = {self._canary, self.settings.guards.leak.canary, *self._canaries}
        canaries = frozenset(c for c in known if c)
        if not canaries:
            return None
        if self._mask is None or self._mask[0] != canaries:
            from ragline.guards._leak import canary_mask

            masks = [canary_mask(c) for c in sorted(canaries)]

            def mask(text: str) -> str:
                for one in masks:
                    text = one(text)
                return text

            self._mask = (canaries, mask)
        return self._mask[1]

    # -- per tenant --------------------------------------------------------------------

    def view(self, tenant: str | None = None, assignment: Assignment | None = None) -> View:
        """What ``tenant``'s asks run on (made once; tenants without overrides share one),
        with the overrides of an experiment's variant when ``assignment`` names one."""
        name = tenant or self.settings.default_tenant
        settings = self.settings.for_tenant(name)
        key = name if settings is not self.settings else ""
        if assignment is not None:
            experiment = self.settings.experiments.find(assignment.experiment)
            if experiment is not None:
                settings = experiment.apply(settings, assignment.variant)
                key = f"{key}\x00{assignment.experiment}\x00{assignment.variant}"
        found = self._views.get(key)
        if found is None:
            with self._lock:
                found = self._views.get(key)
                if found is None:
                    found = self._views[key] = View(self, settings)
        return found

    def rerank_fallbacks(self) -> dict[str, int]:
        """How often a reranker failed and the fused order was kept, by reason
        (``rerank.error``, ``rerank.timeout``), over every tenant's pipeline."""
        out: dict[str, int] = {}
        for view in list(self._views.values()):
            pipeline = view._pipeline
            for stage in pipeline.stages if pipeline is not None else ():
                for reason, n in dict(getattr(stage, "fallbacks", {})).items():
                    out[reason] = out.get(reason, 0) + n
        return out

    def close(self) -> None:
        """Let queued shadow runs finish, flush and stop the trace writer (each up to
        ``tracing.flush_timeout_s``), close stores."""
        if self._shadows is not None:
            self._shadows.close(self.settings.tracing.flush_timeout_s)
        if self._tracer is not None:
            self._tracer.close(self.settings.tracing.flush_timeout_s)
        if self._evals_backend is not None:
            self._evals_backend.close()
        if self._backend is not None:
            self._backend.close()


def _language_detector(codes: Any) -> Any:
    """Ingest's language detector, for the answer-language guard."""
    from ragline.ingest._enrich import LanguageDetector

    return LanguageDetector(codes)


class View:
    """One tenant's settings and the parts that depend on them (see the module docstring)."""

    def __init__(self, parts: Parts, settings: Settings) -> None:
        self.parts = parts
        self.settings = settings
        self._retriever: Retriever | None = None
        self._answerer: Answerer | None = None
        self._pipeline: Pipeline | None = None
        self._guards_warm = False
        self._guards: GuardSet | None = None
        if self.uses_llm:
            from ragline.models._factory import check_spec

            for spec in self.model_specs:
                check_spec(spec)
            parts.prompts.answer_prompt(settings.answer.template, base_dir=parts.path)
        injection = settings.guards.injection
        from ragline.guards._policy import classifier_on

        if injection.enabled and classifier_on(injection, settings.embedder):
            from ragline.guards._policy import check_classifier

            check_classifier(settings.embedder)  # a bad setting or weights file: now
        banned = settings.guards.banned
        if banned.enabled and banned.similarity is not None:
            from ragline.guards._policy import check_similarity

            check_similarity(settings.embedder)  # topic similarity needs MiniLM: now
        if settings.guards.http or settings.guards.judge:
            from ragline.guards._policy import check_guards

            check_guards(settings.guards)  # an unset header variable: now
        if settings.guards.custom:
            _ = self.guards  # a user's guard is imported and checked against the protocol now
        if settings.retrieval.reranker != "none":
            from ragline.rerank import check_reranker

            check_reranker(settings.retrieval, base_dir=parts.path)  # a bad folder: now, named
        if settings.support.checker in ("nli", "judge"):
            from ragline.evals._metrics._support_factory import check_support

            check_support(settings, base_dir=parts.path)  # a bad NLI folder or judge: now, named
        self._reranker: Reranker | None = None
        if settings.retrieval.reranker.startswith("cross-encoder:"):
            getattr(self.reranker, "load", lambda: None)()  # not a cross-encoder: now, named
        schema = settings.guards.schema_
        if schema.enabled and schema.path:
            from ragline.guards._schema import load_schema

            load_schema(schema.path, base_dir=parts.path)  # a bad schema file: now, named

    @property
    def model_specs(self) -> list[str]:
        model = self.settings.model
        return [model] if isinstance(model, str) else list(model)

    @property
    def uses_llm(self) -> bool:
        """False for the offline ``extractive`` answerer, True for any language model."""
        return self.settings.model != "extractive"

    @property
    def canary(self) -> str | None:
        """The canary the answerer's system prompt carries (LLM answers with the leak
        guard on; the extractive answerer has no prompt)."""
        leak = self.settings.guards.leak
        if not leak.enabled:
            return None
        if leak.canary:
            self.parts.note_canary(leak.canary)
            return leak.canary
        return self.parts.canary

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            from ragline.retrieve import Retriever

            p = self.parts
            self._retriever = Retriever(p.backend.documents, p.embedder, self.settings)
        return self._retriever

    @property
    def reranker(self) -> Reranker | None:
        """This tenant's reranker (``retrieval.reranker``), None for ``none``."""
        if self._reranker is None and self.settings.retrieval.reranker != "none":
            with self.parts._lock:
                if self._reranker is None:
                    from ragline.rerank import make_reranker

                    self._reranker = make_reranker(
                        self.settings.retrieval, base_dir=self.parts.path, model=self.guard_model
                    )
        return self._reranker

    @property
    def answerer(self) -> Answerer:
        """The extractive answerer, or a grounded LLM answerer for any other ``model:``."""
        if self._answerer is None:
            self._answerer = self._build_answerer()
        return self._answerer

    @answerer.setter
    def answerer(self, answerer: Answerer) -> None:
        self._answerer = answerer
        self._pipeline = None  # the stages hold the answerer

    @property
    def guards(self) -> GuardSet:
        """This tenant's guards, built once (the pipeline and ``ragline guards`` use them)."""
        if self._guards is None:
            from ragline.guards._policy import build_guards
            from ragline.trace._tracer import span

            s, tenants = self.settings, self.parts.settings.tenants
            answerer = self.answerer  # the leak check looks for its canary and system prompt
            self._guards = build_guards(
                s.guards,
                embedder=lambda: self.parts.embedder,
                embedder_spec=s.embedder,
                models=self.guard_model,
                span=span,
                canary=getattr(answerer, "canary", None) or s.guards.leak.canary,
                system_prompt=str(getattr(answerer, "system_prompt", "") or ""),
                candidates=s.ingest.languages,
                language_detector=_language_detector,
                tenant_languages=[t.languages for t in tenants.values() if t.languages],
                base_dir=self.parts.path,
            )
        return self._guards

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            from ragline.answer import Pipeline, Stage
            from ragline.answer._stages import (
                Analyze,
                Cite,
                Generate,
                GuardDocuments,
                GuardIn,
                GuardOut,
                Rerank,
                Retrieve,
            )

            s, retriever, answerer = self.settings, self.retriever, self.answerer
            limit = s.server.max_question_chars
            guards = self.guards
            rerank = s.retrieval.reranker != "none"
            tenants = self.parts.settings
            guard_out = GuardOut(guards, languages=lambda t: tenants.tenant(t).languages or ())
            retrieval: list[Stage] = [
                GuardIn(guards),
                Analyze(retriever, max_question_chars=limit, rewriter=self.rewriter),
                Retrieve(retriever, candidates=s.retrieval.rerank_candidates if rerank else 0),
                Rerank(
                    self.reranker,
                    candidates=s.retrieval.rerank_candidates,
                    default_k=s.retrieval.k,
                    on_error=s.retrieval.rerank_on_error,
                ),
                GuardDocuments(guards),
            ]
            answering: list[Stage] = [Generate(answerer), Cite(answerer), guard_out]
            self._pipeline = Pipeline(
                retrieval,
                answering,
                tracer=lambda: self.parts.tracer,
                max_question_chars=limit,
                default_k=s.retrieval.k,
                attributes={"gen_ai.request.model": ",".join(self.model_specs)},
                warmup=self.warm,
                watch=guard_out.watch,
                answered=self.parts.answered,
            )
        return self._pipeline

    @property
    def rewriter(self) -> FollowUpRewriter:
        """How this tenant's follow-ups are rewritten (``chat.rewrite``)."""
        from ragline.retrieve._rewrite import FollowUpRewriter, rewrite_mode

        chat = self.settings.chat
        spec = chat.rewrite_model or self.model_specs[0]
        mode = rewrite_mode(chat.rewrite, rewrite_model=chat.rewrite_model, answer_model=spec)
        if mode != "llm":
            return FollowUpRewriter(mode)
        if spec == "extractive":
            from ragline.errors import ConfigError

            raise ConfigError(
                f"chat.rewrite: llm needs a language model, and the answer model is {spec!r}",
                hint="set chat.rewrite_model (e.g. openai:gpt-4o-mini), or chat.rewrite: rule",
            )
        return FollowUpRewriter("llm", self.guard_model(spec, chat.rewrite_timeout_ms))

    def warm(self) -> float:
        """Load the embedder's model and what the guards load lazily (the language
        check's detector), once: the milliseconds it took (0 after the first). Guards
        run within a time budget, so they must not load models in their first check."""
        ms = self.parts.load_models()
        if not self._guards_warm:
            start = time.perf_counter()
            self.guards.warm()
            self._guards_warm = True
            ms += elapsed_ms(start)
        return ms

    def guard_model(self, spec: str, timeout_ms: float) -> Model:
        """A guard's model (the LLM judge): this tenant's ``models:`` options and the
        project's response cache, its timeouts capped at the guard's budget."""
        from ragline.guards._judge import judge_model

        cached = self.settings.model_settings(spec).cache_ttl_s > 0
        cache = self.parts.backend.response_cache if cached else None
        return judge_model(spec, timeout_ms, self.settings, cache=cache)

    def sentence_hook(
        self, embedder: Embedder | None = None
    ) -> Callable[[str, list[Any]], int] | None:
        """Ingest's hook that precomputes sentence vectors, if this tenant's answers use
        them (with ``embedder``, default the project's)."""
        if self.uses_llm or not self.settings.answer.precompute_sentences:
            return None
        from ragline.answer._sentence_vectors import sentence_hook

        p = self.parts
        return sentence_hook(
            p.backend.sentences,
            embedder or p.embedder,
            batch_size=self.settings.ingest.batch_size * 4,
        )

    def _build_answerer(self) -> Answerer:
        from ragline.answer import ExtractiveAnswerer

        p = self.parts
        if not self.uses_llm:
            from ragline.guards._policy import instruction_threshold

            return ExtractiveAnswerer(
                p.embedder,
                self.settings.answer,
                sentence_store=p.backend.sentences,
                instruction_threshold=instruction_threshold(self.settings.guards),
            )
        return self._grounded()

    def _grounded(self) -> Answerer:
        from ragline.answer import GroundedAnswerer
        from ragline.answer._extractive_model import ExtractiveModel
        from ragline.answer._support_model import make_scorer
        from ragline.models import build_model, make_model, price_for

        s, p = self.settings, self.parts
        spec = s.model
        first = self.model_specs[0]
        ms = s.model_settings(first)
        a = s.answer
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
                from ragline.guards._policy import instruction_threshold

                threshold = instruction_threshold(settings.guards)
                return ExtractiveModel(p.embedder, settings.answer, instruction_threshold=threshold)
            return make_model(name, settings)

        prompt, resolve = p.prompts.answer_prompt(template, base_dir=p.path)
        return GroundedAnswerer(
            build_model(spec, s, make=make, cache=p.backend.response_cache),
            p.embedder,
            template=prompt,
            prompts=resolve,
            token_budget=budget,
            max_tokens=ms.max_tokens,
            temperature=ms.temperature,
            min_support=a.min_support,
            attribute_min=a.attribute_min,
            unsupported=a.unsupported,
            scorer=make_scorer(s.support.checker, p.embedder),
            price=price_for(first, ms) if isinstance(spec, str) else None,
            canary=self.canary,
        )


def _same(embedder: Embedder) -> Embedder:
    """The embedder itself (unpickled in a worker: a copy of an injected embedder)."""
    return embedder
