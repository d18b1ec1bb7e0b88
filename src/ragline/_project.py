"""``ragline.Project``: the Python API (the CLI and the server are thin layers over it).

A facade: it builds nothing (:mod:`ragline._parts` does) and runs no flow of its own;
``ask``, ``ask_stream``, ``chat`` and ``search`` all run the tenant's pipeline of stages.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from ragline.types import Answer, Hit

if TYPE_CHECKING:
    from ragline.agent import Agent, AgentLimits, Tool
    from ragline.agent._memory import LongTermMemory
    from ragline.answer import AskOptions, AskRequest, Event, SearchOptions
    from ragline.answer._chat import ChatReply
    from ragline.config import Settings
    from ragline.embed import Embedder
    from ragline.evals._replay import ReplayQuery, ReplayReport
    from ragline.evals._types import Case
    from ragline.guards._rescan import RescanReport
    from ragline.ingest import IngestReport
    from ragline.models import Model
    from ragline.retrieve import SearchResult
    from ragline.retrieve._explain import RoutingExplanation
    from ragline.store import Backend, ConversationStore, EvalStore, Store, TicketStore
    from ragline.trace import Feedback, SpanRecord, TraceStats, TraceStore, TraceSummary


class Project:
    """A ragline project: a folder with ``ragline.yaml`` and (by default) ``ragline.db``.

    >>> project = Project("my-kb")                      # doctest: +SKIP
    >>> project.ingest(["docs/"])                       # doctest: +SKIP
    >>> print(project.ask("How long is the warranty?").text)  # doctest: +SKIP

    ``overrides`` take dotted keys (``{"retrieval.k": 8}``) and win over the file and
    environment, like CLI flags. ``store`` (a document store or a whole backend) and
    ``embedder`` inject ready-made parts (tests use ``MemoryStore`` and ``HashEmbedder``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = ".",
        *,
        settings: Settings | None = None,
        overrides: Mapping[str, Any] | None = None,
        config_file: str | os.PathLike[str] | None = None,
        store: Store | Backend | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        # Settings (pydantic) and the parts load here, not when ``ragline`` is imported.
        from ragline._parts import Parts
        from ragline.config import load_settings

        self.path = Path(path).resolve()
        self._overrides = dict(overrides or {})  # replay starts from these
        self._config_file = config_file
        self.settings = settings or load_settings(
            self.path, overrides=overrides, config_file=config_file
        )
        self.parts = Parts(self.path, self.settings, store=store, embedder=embedder)
        self.parts.view()  # checks the model specs now, not at the first ask
        if self.settings.experiments:
            self.parts.experiments  # noqa: B018  # checks every variant now, named

    def reopener(self) -> Callable[[], Project]:
        """A picklable callable that opens this project again, with these very settings,
        in another process (a Ray worker of ``ragline eval run --executor ray``)."""
        import functools

        return functools.partial(Project, self.path, settings=self.settings)

    # -- parts -------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        return self.parts.backend.documents

    @property
    def embedder(self) -> Embedder:
        return self.parts.embedder

    @property
    def trace_store(self) -> TraceStore:
        """Where this project's traces and feedback live (next to its documents)."""
        return self.parts.trace_store

    @property
    def conversations(self) -> ConversationStore:
        return self.parts.backend.conversations

    @property
    def tickets(self) -> TicketStore:
        """The agent's hand-off tickets per tenant (``ragline tickets``)."""
        return self.parts.backend.tickets

    @property
    def memory(self) -> LongTermMemory:
        """The agent's long-term memory per user (``memory:``; ``ragline memory``)."""
        return self.parts.memory

    @property
    def evals(self) -> EvalStore:
        """Where evaluation runs live (``evals.store``, else next to the documents)."""
        return self.parts.evals

    def tenant_or_default(self, tenant: str | None) -> str:
        return tenant or self.settings.default_tenant

    # -- documents ---------------------------------------------------------------------

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
        vector_field: str | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
        root: str | os.PathLike[str] | None = None,
        executor: str | None = None,
        workers: int | None = None,
    ) -> IngestReport:
        """Ingest files and folders; unchanged files are skipped, changed ones replaced.

        Document ids are paths relative to ``root`` (default: the project folder).
        ``executor``: ``local`` (default), ``ray`` or ``ray://HOST:PORT`` — embedding on
        ``workers`` Ray actors (default one per cluster CPU; see :mod:`ragline.batch`).
        ``vector_field`` loads JSONL records with precomputed vectors in that field, one
        chunk each, without embedding (:mod:`ragline.ingest._bulk`).
        """
        from ragline.batch._run import run_ingest
        from ragline.ingest import JsonFields

        fields = JsonFields(
            id_field, text_field or "text", title_field or "title", tuple(meta_fields or ())
        )
        return run_ingest(
            self.parts,
            [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths],
            tenant=self.tenant_or_default(tenant),
            fields=fields,
            sync=sync,
            vector_field=vector_field,
            on_progress=on_progress,
            root=root,
            executor=executor,
            workers=workers,
        )

    def rescan_guards(
        self,
        *,
        tenant: str | None = None,
        dry_run: bool = False,
        on_progress: Callable[[int, int, str], None] | None = None,
    ) -> RescanReport:
        """Rescore every stored chunk for injection under the current detector (every
        tenant's when ``tenant`` is None), writing the new scores into the chunks'
        metadata — no re-embedding, no re-ingest. ``dry_run`` only counts. Raises
        :class:`~ragline.errors.BusyError` while an ingest holds the tenant's documents.
        See :mod:`ragline.guards._rescan`."""
        from ragline.guards._rescan import rescan_project

        name = self.tenant_or_default(tenant) if tenant is not None else None
        return rescan_project(
            self.store, self.settings, name, dry_run=dry_run, on_progress=on_progress
        )

    def precompute_sentences(
        self,
        *,
        tenant: str | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
    ) -> int:
        """Embed and store the answer sentences of chunks already stored (every tenant's
        when ``tenant`` is None); return how many. Cheap to re-run."""
        return self.parts.precompute_sentences(tenant, on_progress=on_progress)

    def stats(self, *, tenant: str | None = None) -> dict[str, int]:
        s = self.store.stats(self.tenant_or_default(tenant))
        return {"documents": s.documents, "chunks": s.chunks}

    # -- answers: each builds an AskRequest and runs the tenant's pipeline -------------

    def retrieve(self, query: str, **options: Unpack[SearchOptions]) -> SearchResult:
        """Search with timings, per-retriever scores and the routing rules that fired."""
        request = self._request(query, **options)
        return self.parts.view(request.tenant, request.assignment).pipeline.search(request)

    def search(self, query: str, **options: Unpack[SearchOptions]) -> list[Hit]:
        """The best ``k`` chunks for ``query`` (hybrid BM25 + dense by default)."""
        return self.retrieve(query, **options).hits

    def ask(self, question: str, **options: Unpack[AskOptions]) -> Answer:
        """Answer from the knowledge base, every sentence cited, or say it can't.

        The request is traced (``answer.trace_id``; ``ragline traces show ID``).
        """
        request = self._request(question, **options)
        return self.parts.view(request.tenant, request.assignment).pipeline.ask(request)

    def ask_stream(self, question: str, **options: Unpack[AskOptions]) -> Iterator[Event]:
        """Answer as events: retrieval, delta…, citation…, then done — or error.

        A model failure mid-answer ends the stream with an ``ErrorEvent`` saying the
        text so far is partial. The whole stream is one trace; it ends when the stream
        does (also when it fails or the consumer stops early).
        """
        request = self._request(question, stream=True, **options)
        return self.parts.view(request.tenant, request.assignment).pipeline.stream(request)

    def chat(
        self, conversation_id: str | None, message: str, **options: Unpack[AskOptions]
    ) -> ChatReply:
        """Answer ``message`` in a stored conversation (a new one when the id is None);
        earlier turns give a follow-up its context. Both turns are stored."""
        request = self._request(message, conversation=conversation_id, **options)
        view = self.parts.view(request.tenant, request.assignment)
        return self.parts.chat.answer(view.pipeline, request, conversation_id)

    def chat_stream(
        self,
        conversation_id: str | None,
        message: str,
        *,
        stream: bool = True,
        **options: Unpack[AskOptions],
    ) -> Iterator[Event]:
        """:meth:`chat` as events: conversation, the answer's events, conversation
        (``stream=False``: the model is asked in one call, events come at the end)."""
        request = self._request(message, stream=stream, conversation=conversation_id, **options)
        view = self.parts.view(request.tenant, request.assignment)
        return self.parts.chat.stream(view.pipeline, request, conversation_id)

    def agent(
        self,
        *,
        tenant: str | None = None,
        model: Model | str | None = None,
        tools: Sequence[Tool | Callable[..., Any]] = (),
        limits: AgentLimits | None = None,
        memory: bool = True,
    ) -> Agent:
        """The support agent for ``tenant``: ``agent.run(message, user=…)`` or
        ``agent.stream(…)``. The model is ``model``, else ``agent.model``, else ``model:``;
        ``tools`` (typed functions or :class:`~ragline.agent.Tool`) join the built-ins,
        ``agent.tools`` and the tools of ``agent.mcp_servers``. Runs are bounded by
        ``agent:`` limits (or ``limits``), traced, and stored as conversations; with a
        ``user`` the agent recalls and records that user's long-term memory."""
        from ragline.agent._build import build_agent

        return build_agent(
            self, tenant=tenant, model=model, tools=tools, limits=limits, memory=memory
        )

    def _request(
        self,
        question: str,
        *,
        stream: bool = False,
        conversation: str | None = None,
        **options: Unpack[SearchOptions],
    ) -> AskRequest:
        """The request, with the experiment variant that answers it (``experiments:``)."""
        return self.parts.request(question, stream=stream, conversation=conversation, **options)

    # -- traces and feedback -------------------------------------------------------------

    def trace_stats(self) -> TraceStats | None:
        """This process's trace writer counters (queued, written, dropped…), if any."""
        return self.parts.tracer.stats if self.parts.tracer_started else None

    def flush_traces(self, timeout: float | None = 5.0) -> bool:
        """Wait (up to ``timeout`` seconds) until every finished span is stored (and the
        asks sampled for online quality scoring are scored)."""
        return self.parts.flush_traces(timeout)

    def get_trace(self, trace_id: str, *, tenant: str | None = None) -> list[SpanRecord]:
        """The spans of one trace, by start time; :class:`InputError` if there is none."""
        from ragline.trace._feedback import get_trace

        self.flush_traces(self.settings.tracing.flush_timeout_s)
        return get_trace(self.trace_store, trace_id, tenant=tenant)

    def list_traces(self, **filters: Any) -> list[TraceSummary]:
        """Recent traces, newest first: ``tenant``, ``since``, ``until``, ``status``,
        ``min_latency_ms``, ``text``, ``limit`` (as ``ragline traces list``)."""
        from ragline.trace._feedback import list_traces

        self.flush_traces(self.settings.tracing.flush_timeout_s)
        return list_traces(self.trace_store, **filters)

    def add_feedback(
        self, trace_id: str, kind: str, note: str | None = None, *, tenant: str | None = None
    ) -> Feedback:
        """Record feedback on the answer of a trace (id or unique prefix)."""
        from ragline.trace._feedback import add_feedback

        self.flush_traces(self.settings.tracing.flush_timeout_s)
        return add_feedback(self.trace_store, trace_id, kind, note, tenant=tenant)

    # -- the debugging loop: replay past asks, explain routing ------------------------

    def replay(
        self,
        query: ReplayQuery | None = None,
        *,
        overrides: Mapping[str, Any] | None = None,
        config_file: str | os.PathLike[str] | None = None,
        retrieval_only: bool = False,
        cases: Sequence[Case] = (),
        metrics: bool = True,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> ReplayReport:
        """Re-run traced asks (``query`` picks them; default: all) under this project's
        settings, or with dotted ``overrides`` / another ``config_file``, and compare
        each with its trace. Writes nothing: no documents, traces or feedback."""
        from ragline.evals._replay_project import replay_project

        return replay_project(
            self,
            query,
            overrides=overrides,
            config_file=config_file,
            retrieval_only=retrieval_only,
            cases=cases,
            metrics=metrics,
            on_progress=on_progress,
        )

    def explain_routing(
        self, query: str, *, tenant: str | None = None, k: int | None = None
    ) -> RoutingExplanation:
        """Which routing rules match ``query`` (and on which words), and the top ``k``
        hits with and without them. Nothing is traced."""
        from ragline.retrieve._explain import explain_routing

        name = self.tenant_or_default(tenant)
        retriever = self.parts.view(name).retriever
        return explain_routing(retriever, query, tenant=name, k=k)

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Flush and stop the trace writer (up to ``tracing.flush_timeout_s``), close stores."""
        self.parts.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
