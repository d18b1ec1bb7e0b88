"""What one server process holds: the project, its keys, its limits and its metrics.

Routes reach it through the ``caller`` dependency, which authenticates the request,
applies the tenant's rate limit and returns who is asking.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from ragline.server._auth import KeyRing, key_from_headers
from ragline.server._errors import ApiError, unauthorized
from ragline.server._limits import Admission, RateLimiter

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.server._metrics import Metrics

log = logging.getLogger("ragline.server")


class ServerState:
    def __init__(self, project: Project, keys: KeyRing) -> None:
        s = project.settings.server
        self.project = project
        self.settings = project.settings
        self.keys = keys
        self.limiter = RateLimiter()
        self.admission = Admission(s.max_concurrency, s.max_queue)
        self.draining = False
        self.ready = False
        if s.auth == "required" and not len(keys):
            from ragline.errors import ConfigError

            raise ConfigError(
                "server.auth is 'required' but no API keys are configured",
                hint="create one with 'ragline keys create --tenant NAME' "
                "or set a tenant's api_keys_env",
            )
        self.open = s.auth == "off" or (s.auth == "auto" and not len(keys))
        if self.open:
            log.warning(
                "no API keys configured: every request is tenant %r (server.auth: %s)",
                project.settings.default_tenant,
                s.auth,
            )
        from ragline.server._metrics import Metrics

        self.metrics: Metrics = Metrics(self)

    def rate_limit(self, tenant: str) -> int | None:
        t = self.settings.tenants.get(tenant)
        if t is not None and t.rate_limit_per_minute is not None:
            return t.rate_limit_per_minute
        return self.settings.server.rate_limit_per_minute


@dataclass(frozen=True, slots=True)
class Caller:
    tenant: str
    state: ServerState

    @property
    def project(self) -> Project:
        """The project; its methods take the caller's tenant (``tenant=caller.tenant``)."""
        return self.state.project


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.ragline
    return state


def caller(request: Request) -> Caller:
    """Authenticate (``Authorization: Bearer <key>``) and rate-limit the request."""
    state = get_state(request)
    if state.open:
        tenant = state.settings.default_tenant
    else:
        key = key_from_headers(request.headers)
        found = state.keys.tenant_for(key) if key else None
        if found is None:
            raise unauthorized()
        tenant = found
    if state.draining:
        raise ApiError(
            503, "shutting_down", "the server is shutting down", headers={"Retry-After": "1"}
        )
    state.limiter.check(tenant, state.rate_limit(tenant))
    request.state.tenant = tenant
    return Caller(tenant, state)


CallerDep = Annotated[Caller, Depends(caller)]
