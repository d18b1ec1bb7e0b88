"""A drain window for rolling restarts behind a load balancer.

uvicorn closes its listener as soon as SIGTERM arrives, so a load balancer that still
sends traffic to the replica sees refused connections. :class:`DrainingServer` puts
``server.drain_s`` in between: the first SIGTERM (or SIGINT) marks the server
*draining* — ``/readyz`` answers 503 ``{"reason": "draining"}`` so the balancer's
health check takes the replica out of rotation, while requests that still arrive are
served — and the usual shutdown starts ``drain_s`` later (the listener closes,
in-flight requests get ``server.shutdown_grace_s``). A second signal stops at once.
With ``drain_s`` 0 (the default) the first signal stops at once, as before.
"""

from __future__ import annotations

import logging
import threading
from types import FrameType
from typing import TYPE_CHECKING

import uvicorn

if TYPE_CHECKING:
    from ragline.server._state import ServerState

log = logging.getLogger("ragline.server")


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, state: ServerState, *, drain_s: float) -> None:
        super().__init__(config)
        self._state = state
        self._drain_s = drain_s
        self._timer: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._state.draining or self._drain_s <= 0:  # no window, or a second signal
            self._state.draining = True
            super().handle_exit(sig, frame)
            return
        self._state.draining = True
        log.info("draining: /readyz answers 503 for %g s, then the listener closes", self._drain_s)
        self._timer = threading.Timer(self._drain_s, super().handle_exit, (sig, frame))
        self._timer.daemon = True
        self._timer.start()


__all__ = ["DrainingServer"]
