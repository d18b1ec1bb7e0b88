"""``HttpGuard``: an external classifier behind an HTTP endpoint, as a guard.

The contract (``guards.http:`` in ragline.yaml): each text is POSTed as JSON
``{"text": str, "stage": "input" | "retrieval" | "output", "tenant": str}``; the
endpoint answers 2xx with ``{"score": float 0-1, "label"?: str, "reasons"?: [str]}``.
A score at the policy's ``threshold`` or above triggers its ``action``, with the reason
codes ``<name>.<reason>`` (or ``<name>.<label>``, or ``<name>.flagged``).

Anything else is a guard error, never a silent allow: a non-2xx status, a body that is
not JSON, a missing or out-of-range score, a refused connection
(:class:`~ragline.errors.GuardError`, reason ``guard.error``) and no answer within
``timeout_ms`` (the HTTP client's own timeout; :class:`~ragline.errors.GuardTimeout`,
reason ``guard.timeout``). The pipeline applies the policy's ``on_error`` and records
the message — which names the URL and what was wrong — on the stage's span.

A text longer than ``max_chars`` is sent as its head and tail
(:func:`~ragline.guards._window.head_and_tail`). Header values come from environment
variables named in the policy, read once when the guard is built.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ragline._http import LazyClient
from ragline.errors import GuardError, GuardTimeout
from ragline.guards._base import GuardContext, GuardStage, Verdict
from ragline.guards._window import head_and_tail

if TYPE_CHECKING:
    import httpx

_CODE = re.compile(r"[^a-z0-9_.-]+")
MAX_REASONS = 8


def _code(value: str) -> str:
    return _CODE.sub("_", value.strip().lower())[:64].strip("_") or "flagged"


class HttpGuard:
    """See the module docstring; ``transport`` is for tests (an ``httpx`` transport)."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        action: str = "block",
        threshold: float = 0.5,
        stages: frozenset[GuardStage] = frozenset({"input"}),
        timeout_ms: float = 3000,
        headers: Mapping[str, str] | None = None,
        max_chars: int = 20_000,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if action not in ("flag", "block"):
            raise ValueError(f"an HTTP guard flags or blocks, not {action!r}")
        self.name = name
        self.url = url
        self.action = action
        self.threshold = threshold
        self.stages = stages
        self.timeout_ms = timeout_ms
        self.max_chars = max_chars
        json_headers = {"Content-Type": "application/json", **(headers or {})}
        self._http = LazyClient(timeout_ms / 1000, json_headers, transport)

    @property
    def client(self) -> httpx.Client:
        return self._http.get()

    def check(self, text: str, context: GuardContext) -> Verdict:
        import httpx

        body = {"text": head_and_tail(text, self.max_chars), "stage": context.stage}
        body["tenant"] = context.tenant
        # ASCII JSON: a lone surrogate in the text is escaped, not an encoding error
        payload = json.dumps(body).encode("ascii")
        where = f"the classifier at {self.url}"
        try:
            response = self.client.post(self.url, content=payload)
        except httpx.TimeoutException:
            raise GuardTimeout(
                f"{where} did not answer within {self.timeout_ms:g} ms",
                hint=f"check the service, or raise guards.http[{self.name}].timeout_ms",
            ) from None
        except httpx.HTTPError as e:
            raise GuardError(
                f"could not reach {where}: {type(e).__name__}: {e}",
                hint="check that the service runs and the url is right",
            ) from None
        snippet = response.text[:200]
        if not response.is_success:
            raise GuardError(f"{where} answered HTTP {response.status_code}: {snippet!r}")
        try:
            data = response.json()
        except ValueError:
            raise GuardError(f"{where} answered a body that is not JSON: {snippet!r}") from None
        return self._verdict(data, where, snippet)

    def _verdict(self, data: Any, where: str, snippet: str) -> Verdict:
        score = data.get("score") if isinstance(data, dict) else None
        if (
            isinstance(score, bool)
            or not isinstance(score, int | float)
            or not math.isfinite(score)
            or not 0.0 <= score <= 1.0
        ):
            raise GuardError(
                f'{where} answered without a "score" number in 0-1: {snippet!r}',
                hint='answer {"score": 0.93, "label": "jailbreak"}',
            )
        if score < self.threshold:
            return Verdict(guard=self.name, score=float(score))
        label, given = data.get("label"), data.get("reasons")
        codes = [str(r) for r in given] if isinstance(given, list) else []
        if not codes and isinstance(label, str) and label.strip():
            codes = [label]
        reasons = tuple(dict.fromkeys(f"{self.name}.{_code(c)}" for c in codes[:MAX_REASONS]))
        return Verdict(
            guard=self.name,
            action="block" if self.action == "block" else "flag",
            score=float(score),
            reasons=reasons or (f"{self.name}.flagged",),
        )

    def close(self) -> None:
        self._http.close()


__all__ = ["HttpGuard"]
