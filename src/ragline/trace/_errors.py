"""The error for a trace id that does not exist."""

from __future__ import annotations

from ragline.errors import InputError, NotFoundError


class TraceNotFoundError(NotFoundError, InputError):
    """No trace with this id (for this tenant). Both a ``NotFoundError`` and an ``InputError``."""

    def __init__(self, trace_id: str, tenant: str | None = None) -> None:
        where = f" (for tenant {tenant!r})" if tenant else ""
        super().__init__(
            f"no trace {trace_id!r}{where}",
            hint="find trace ids with `ragline traces list`",
        )
        self.trace_id = trace_id
        self.tenant = tenant
