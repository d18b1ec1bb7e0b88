"""The "no real model requests" switch for tests (``ragline.testing.block_real_requests``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ragline.models._errors import RealRequestsBlocked

if TYPE_CHECKING:
    import httpx

BLOCK_ENV = "RAGLINE_BLOCK_REAL_MODELS"
_override: bool | None = None  # set by block_real_requests(); None: follow BLOCK_ENV


def real_requests_blocked() -> bool:
    """True inside ``block_real_requests()`` or when ``RAGLINE_BLOCK_REAL_MODELS=1``."""
    if _override is not None:
        return _override
    return os.environ.get(BLOCK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class block_real_requests:
    """Block (or with ``False``, allow) real provider requests.

    Takes effect when called, so ``block_real_requests()`` alone is a global switch;
    used as ``with block_real_requests(): …`` the previous state returns on exit. An
    explicit call wins over the ``RAGLINE_BLOCK_REAL_MODELS`` environment variable.
    Providers built with an injected ``transport`` are never blocked.
    """

    def __init__(self, block: bool = True) -> None:
        global _override
        self._previous = _override
        _override = block

    def __enter__(self) -> block_real_requests:
        return self

    def __exit__(self, *exc: object) -> None:
        global _override
        _override = self._previous


def check_allowed(name: str, url: str, transport: httpx.BaseTransport | None) -> None:
    if transport is None and real_requests_blocked():
        raise RealRequestsBlocked(
            f"real model requests are blocked in tests: {name} would call {url}",
            provider=name.partition(":")[0],
            hint="use ragline.testing.FakeModel or FunctionModel, inject an httpx transport, "
            f"or allow them with `with block_real_requests(False):` (or unset {BLOCK_ENV})",
        )
