"""``GET /v1/memory`` and ``DELETE /v1/memory``: what the agent remembers about a user.

The HTTP side of ``ragline memory list|forget``. The tenant comes from the API key, as
for every route (an ``ask`` key); the user is the ``user`` query parameter, the end
user's id as the application passes it to the agent. Another tenant's memories are
unreachable: the store scopes every call by the caller's tenant (row-level security on
PostgreSQL). ``DELETE`` without ``id`` forgets everything of that user — the items,
their vectors and index entries — and says how many; with ``id``, one item (404 if the
user has no such item).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from ragline.errors import NotFoundError
from ragline.server._routes_ask import json_response
from ragline.server._schemas import error_responses
from ragline.server._state import Caller, CallerDep

router = APIRouter(tags=["memory"])

UserQuery = Annotated[str, Query(min_length=1, max_length=256, description="the end user's id")]


class MemoryItemOut(BaseModel):
    id: str
    user: str
    kind: str
    text: str
    created_at: float
    conversation_id: str | None = None
    metadata: dict[str, Any]
    embedder: str


class MemoryListOut(BaseModel):
    items: list[MemoryItemOut]
    next_cursor: str | None = None


class MemoryDeletedOut(BaseModel):
    user: str
    deleted: int


def _timeout(caller: Caller) -> float:
    return caller.state.settings.server.request_timeout_s


@router.get(
    "/v1/memory",
    response_model=MemoryListOut,
    responses=error_responses(400, 401, 422, 429, 503),
    summary="A user's long-term memories, newest first",
)
async def list_memory(
    caller: CallerDep,
    user: UserQuery,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=100, description="next_cursor of the previous page")
    ] = None,
) -> Response:
    store, tenant = caller.project.memory.store, caller.tenant

    def page() -> dict[str, Any]:
        found = store.list_items(tenant, user, limit=limit, cursor=cursor)
        return {"items": [i.to_dict() for i in found.items], "next_cursor": found.next_cursor}

    return json_response(await caller.state.admission.run(page, timeout=_timeout(caller)))


@router.delete(
    "/v1/memory",
    response_model=MemoryDeletedOut,
    responses=error_responses(400, 401, 404, 422, 429, 503),
    summary="Forget a user's memories (all, or one by id)",
)
async def forget_memory(
    caller: CallerDep,
    user: UserQuery,
    id: Annotated[
        str | None, Query(min_length=1, max_length=128, description="only this memory")
    ] = None,
) -> Response:
    store, tenant = caller.project.memory.store, caller.tenant

    def forget() -> dict[str, Any]:
        if id is None:
            return {"user": user, "deleted": store.forget_user(tenant, user)}
        if not store.forget(tenant, user, id):
            raise NotFoundError(
                f"user {user!r} has no memory {id!r}", hint="GET /v1/memory?user=… lists the ids"
            )
        return {"user": user, "deleted": 1}

    return json_response(await caller.state.admission.run(forget, timeout=_timeout(caller)))
