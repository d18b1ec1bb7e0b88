"""What one server process holds: the project, its keys, its limits and its metrics.

Routes reach it through a caller dependency — :data:`AskCaller` (``CallerDep``),
:data:`IngestCaller` — which authenticates the request, checks the key's scope,
applies the tenant's rate limit and returns who is asking. An ``admin`` key may act
for any tenant by naming it in ``X-Ragline-Tenant``.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from ragline.errors import ConfigError
from ragline.server._auth import ApiKey, KeyRing, KeyUsage, LiveKeys, key_from_headers
from ragline.server._errors import ApiError, unauthorized
from ragline.server._keys_file import check_tenant_name
from ragline.server._limits import Admission, RateLimiter

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.config import Settings
    from ragline.monitor import Dispatcher
    from ragline.server._metrics import Metrics

log = logging.getLogger("ragline.server")

TENANT_HEADER = "x-ragline-tenant"


#: this replica's name on /metrics (wins over server.instance)
INSTANCE_ENV = "RAGLINE_INSTANCE"


def instance_name(settings: Settings) -> tuple[str, bool]:
    """This replica's name and whether it was set: ``RAGLINE_INSTANCE``, else
    ``server.instance`` (True); else ``hostname:port`` (False)."""
    found = os.environ.get(INSTANCE_ENV) or settings.server.instance
    if found:
        return found, True
    return f"{socket.gethostname()}:{settings.server.port}", False


def forbidden(message: str, hint: str) -> ApiError:
    return ApiError(403, "forbidden", message, hint=hint)


class ServerState:
    def __init__(
        self, project: Project, keys: KeyRing | LiveKeys, *, notifiers: bool = True
    ) -> None:
        s = project.settings.server
        self.project = project
        self.settings = project.settings
        self.keys = keys if isinstance(keys, LiveKeys) else LiveKeys.fixed(keys)
        self.usage = KeyUsage(self.keys.path)
        self.admission = Admission(s.max_concurrency, s.max_queue)
        # a set name labels every /metrics series (see ragline.server._metrics)
        self.instance, self.instance_labelled = instance_name(project.settings)
        # SIGTERM: /readyz says "draining" (requests are still served, server.drain_s);
        # stopping: the app is shutting down and refuses new requests
        self.draining = False
        self.stopping = False
        self.ready = False
        self.metrics_allow = [ipaddress.ip_network(n, strict=False) for n in s.metrics_allow]
        ring = self.keys.current()
        if s.auth == "required" and not len(ring):
            raise ConfigError(
                "server.auth is 'required' but no API keys are configured",
                hint="create one with 'ragline keys create --tenant NAME' "
                "or set a tenant's api_keys_env",
            )
        # auto: open only until the first key exists; removing every key later does not
        # open the server again (every request is refused instead).
        self._keyed = s.auth == "required" or bool(len(ring))
        if self.open:
            log.warning(
                "no API keys configured: every request is tenant %r (server.auth: %s)",
                project.settings.default_tenant,
                s.auth,
            )
        from ragline.server._metrics import Metrics

        self.metrics: Metrics = Metrics(self)
        self.notify = self._dispatcher() if notifiers else None

    def _dispatcher(self) -> Dispatcher | None:
        """The notifiers of ``monitor.notifiers`` (a missing secret fails start-up), their
        outcomes counted on ``/metrics``; None when there are none."""
        if not self.settings.monitor.notifiers:
            return None
        from ragline.monitor import OUTCOMES
        from ragline.monitor._notifiers import build_dispatcher

        dispatcher = build_dispatcher(
            self.settings.monitor,
            project_dir=self.project.path,
            on_outcome=self.metrics.count_notification,
        )
        for name in dispatcher.names:  # every series exists from the start, at 0
            for outcome in OUTCOMES:
                self.metrics.notifications.labels(name, outcome)
        return dispatcher

    @functools.cached_property
    def limiter(self) -> RateLimiter:
        """Per-tenant limits in the backend's buckets (opened on the first request)."""
        return RateLimiter(self.project.parts.backend.rate_limits)

    @property
    def open(self) -> bool:
        """No key needed: every request is the default tenant (auth off, or no keys yet)."""
        auth = self.settings.server.auth
        if auth == "off":
            return True
        if not self._keyed and len(self.keys.current()):
            self._keyed = True
            log.warning("API keys now exist: requests need a key from now on")
        return not self._keyed

    def key_for(self, request: Request) -> ApiKey | None:
        """The live key the request carries, or None."""
        key = key_from_headers(request.headers)
        if not key:
            return None
        found = self.keys.current().lookup(key)
        if found is not None:
            self.usage.touch(found)
        return found

    def client_allowed_for_metrics(self, request: Request) -> bool:
        host = request.client.host if request.client else None
        if not host:
            return False
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(addr in net for net in self.metrics_allow)

    def rate_limit(self, tenant: str) -> int | None:
        t = self.settings.tenants.get(tenant)
        if t is not None and t.rate_limit_per_minute is not None:
            return t.rate_limit_per_minute
        return self.settings.server.rate_limit_per_minute


@dataclass(frozen=True, slots=True)
class Caller:
    tenant: str
    state: ServerState
    key: ApiKey | None = None

    @property
    def project(self) -> Project:
        """The project; its methods take the caller's tenant (``tenant=caller.tenant``)."""
        return self.state.project


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.ragline
    return state


def _scope_hint(scope: str, tenant: str) -> str:
    return f"use a key with it: ragline keys create --tenant {tenant} --scope {scope}"


def authenticate(request: Request, scope: str) -> Caller:
    """Who is asking, if their key may do ``scope`` (401 or 403 otherwise)."""
    state = get_state(request)
    key: ApiKey | None = None
    if state.open:
        tenant = state.settings.default_tenant
    else:
        key = state.key_for(request)
        if key is None:
            raise unauthorized()
        if not key.allows(scope):
            raise forbidden(
                f"this API key may not {scope} (its scopes: {', '.join(sorted(key.scopes))})",
                _scope_hint(scope, key.tenant),
            )
        tenant = key.tenant
    other = request.headers.get(TENANT_HEADER)
    if other and other != tenant:
        if key is None or "admin" not in key.scopes:
            raise forbidden(
                f"only an admin key may act for another tenant ({TENANT_HEADER}: {other})",
                "drop the header, or use a key with the admin scope",
            )
        try:
            tenant = check_tenant_name(other)
        except ConfigError as e:
            raise ApiError(400, "invalid_request", str(e), hint=e.hint) from None
    if state.stopping:
        raise ApiError(
            503, "shutting_down", "the server is shutting down", headers={"Retry-After": "1"}
        )
    state.limiter.check(tenant, state.rate_limit(tenant))
    request.state.tenant = tenant
    return Caller(tenant, state, key)


VARIANT_HEADER = "x-ragline-variant"


def forced_variant(caller: Caller, request: Request) -> str | None:
    """The experiment variant a trusted caller forces (``X-Ragline-Variant``): an admin
    key, or any caller of a server without keys; anyone else gets a 403."""
    variant = request.headers.get(VARIANT_HEADER)
    if not variant:
        return None
    if not caller.state.open and (caller.key is None or "admin" not in caller.key.scopes):
        raise forbidden(
            f"only an admin key may force an experiment variant (X-Ragline-Variant: {variant})",
            "drop the header, or use a key with the admin scope",
        )
    return variant


def require(scope: str) -> Callable[[Request], Caller]:
    def caller(request: Request) -> Caller:
        return authenticate(request, scope)

    caller.__name__ = f"caller_{scope}"
    return caller


caller = require("ask")
AskCaller = Annotated[Caller, Depends(caller)]
IngestCaller = Annotated[Caller, Depends(require("ingest"))]
#: The usual caller: a key that may ask.
CallerDep = AskCaller
