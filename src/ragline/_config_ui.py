"""The ``ui:`` section of ``ragline.yaml``: the web dashboard ``ragline serve`` mounts
at ``/``. Re-exported by :mod:`ragline.config`.

Sessions are signed cookies: with ``session_secret_env`` unset, ``ragline serve`` makes a
random secret when it starts, shared by its ``--workers`` (a restart logs everyone out;
set the variable to keep sessions across restarts or share them between servers).
"""

from __future__ import annotations

from pydantic import Field

from ragline._config_base import _Strict


class UISettings(_Strict):
    """The dashboard: on by default, signed in with the same API keys as the HTTP API."""

    enabled: bool = Field(True, description="serve the web dashboard at / (false: off)")
    session_hours: float = Field(
        12.0, gt=0, le=24 * 30, description="a login lasts this long, then the form again"
    )
    session_secret_env: str | None = Field(
        None,
        description="env variable holding the cookie-signing secret, 16+ characters "
        "(default: a random secret per server start; sessions end on restart)",
    )
    cases_dataset: str = Field(
        "evals/regression.jsonl",
        description="where 'make regression case' appends (relative to the project folder)",
    )
    page_size: int = Field(50, ge=5, le=500, description="rows per page of long lists")


__all__ = ["UISettings"]
