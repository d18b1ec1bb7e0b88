"""One error tree. Every message says what went wrong and how to fix it.

The CLI catches :class:`RaglineError` and prints ``str(error)`` on one line.
"""

from __future__ import annotations


class RaglineError(Exception):
    """Base of every error ragline raises on purpose."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} — {self.hint}"
        return self.message


class ConfigError(RaglineError):
    """ragline.yaml, an environment variable or a CLI flag is invalid."""


class InputError(RaglineError):
    """A user-supplied file or value cannot be used."""


class UnsupportedFormatError(InputError):
    """A file extension ragline cannot read."""


class EmptyDocumentError(InputError):
    """A file with no text in it."""


class FileTooLargeError(InputError):
    """A file over the configured size limit."""


class EncodingError(InputError):
    """A text file that is not valid UTF-8."""


class CorruptDocumentError(InputError):
    """A file whose contents do not match its format (junk, truncated, zip bomb)."""


class EncryptedDocumentError(InputError):
    """A password-protected file."""


class NotFoundError(RaglineError):
    """A document, chunk, trace or other object does not exist."""


class StoreError(RaglineError):
    """The store failed (locked, corrupt, migration failed)."""


class BusyError(RaglineError):
    """Another live run holds what this one needs (an ingest holding the documents)."""


class ExecutorError(RaglineError):
    """The batch executor (Ray) is not installed, unreachable, or lost its work."""


class EmbedderError(RaglineError):
    """The embedder could not be loaded or failed on input."""


class ProviderError(RaglineError):
    """A model or embedding provider failed; carries the provider's own message."""

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status_code: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.provider = provider
        self.status_code = status_code


class GuardError(RaglineError):
    """A guard could not judge a text (its backend failed, answered nonsense, or it
    raised); the pipeline applies the guard's ``on_error`` policy and counts it under
    ``reason``. Never raised to a caller of ``ask``."""

    reason = "guard.error"


class GuardTimeout(GuardError):
    """A guard took longer than its ``timeout_ms``: the call was abandoned."""

    reason = "guard.timeout"


class NotifyError(RaglineError):
    """A notifier could not deliver a notification (its receiver timed out, refused the
    connection or answered an error). ``retryable`` is False when sending the same
    notification again cannot help (a 4xx other than 429, a rejected recipient); the
    dispatcher retries the others with backoff and counts what still fails."""

    def __init__(
        self,
        message: str,
        *,
        notifier: str = "",
        retryable: bool = True,
        status_code: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.notifier = notifier
        self.retryable = retryable
        self.status_code = status_code


class RerankerError(ProviderError):
    """A reranker could not order the hits (its server failed, answered fewer scores
    than documents or nonsense, its model failed). The rerank stage falls back to the
    fused order and records why, unless ``retrieval.rerank_on_error`` is ``fail``."""

    reason = "rerank.error"


class RerankerTimeout(RerankerError):
    """A reranker took longer than ``retrieval.rerank_timeout_ms``."""

    reason = "rerank.timeout"


class EvalWarningsError(RaglineError):
    """``strict``: an evaluation has warnings (gold ids missing from the store, an empty
    tenant, metrics that could not be computed). ``run_id`` is the stored run when the
    run went ahead (the problems were found in its results), None when it was refused
    before it started."""

    def __init__(self, message: str, *, hint: str | None = None, run_id: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.run_id = run_id


class MCPToolError(RaglineError):
    """An MCP server could not be reached, or one of its tools failed, refused its
    arguments or took too long (``ragline.agent.mcp_tools``). The agent returns it to the
    model as a tool error; ``server`` and ``tool`` name what failed."""

    def __init__(
        self, message: str, *, server: str = "", tool: str = "", hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.server = server
        self.tool = tool


class ToolError(RaglineError):
    """A tool of the agent could not do what it was asked (a bad order number, a
    document that is not there). The agent returns it to the model as a structured tool
    error so the model can recover; tools raise it (or any exception) to fail a call."""


__all__ = [
    "BusyError",
    "ConfigError",
    "CorruptDocumentError",
    "EmbedderError",
    "EmptyDocumentError",
    "EncodingError",
    "EncryptedDocumentError",
    "EvalWarningsError",
    "FileTooLargeError",
    "GuardError",
    "GuardTimeout",
    "InputError",
    "MCPToolError",
    "NotFoundError",
    "NotifyError",
    "ProviderError",
    "RaglineError",
    "RerankerError",
    "RerankerTimeout",
    "StoreError",
    "ToolError",
    "UnsupportedFormatError",
]
