"""Where batch work runs: ``local`` (this process) or ``ray[://host:port]``.

Ray is an optional extra (``pip install 'ragline[ray]'``) and is imported only here,
only when a command asks for ``--executor ray``. ``ray`` alone joins the cluster this
machine already belongs to (``RAY_ADDRESS``, or one started with ``ray start``) or
starts a private one for the run; ``ray://HOST:PORT`` joins the head node at that
address (the GCS port ``ray start --head --port PORT`` printed). An address nothing
answers on is refused at once, naming it, instead of Ray's own minute-long retries.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from ragline.errors import ConfigError, ExecutorError

INSTALL_HINT = "install it: pip install 'ragline[ray]'"
_CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class ExecutorSpec:
    """A parsed ``--executor`` value."""

    kind: Literal["local", "ray"]
    address: str | None = None  # host:port of a Ray head; None: the default cluster

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    def describe(self) -> str:
        if self.kind == "local":
            return "local"
        return f"ray://{self.address}" if self.address else "ray"


def parse_executor(spec: str | None) -> ExecutorSpec:
    """``local`` (the default), ``ray`` or ``ray://HOST:PORT``; a clear error otherwise."""
    text = (spec or "local").strip()
    if text.lower() == "local":
        return ExecutorSpec("local")
    if text.lower() == "ray":
        return ExecutorSpec("ray")
    scheme, sep, rest = text.partition("://")
    host, colon, port = rest.rstrip("/").rpartition(":")
    if scheme.lower() == "ray" and sep and colon and host and port.isdigit():
        return ExecutorSpec("ray", f"{host}:{port}")
    raise ConfigError(
        f"unknown executor {text!r}",
        hint="use local, ray, or ray://HOST:PORT (the address `ray start --head` printed)",
    )


def import_ray() -> ModuleType:
    """The ``ray`` module, or an :class:`ExecutorError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ExecutorError(
            "--executor ray needs Ray, which is not installed", hint=INSTALL_HINT
        ) from None
    return ray


def _check_reachable(address: str) -> None:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=_CONNECT_TIMEOUT_S):
            return
    except OSError as e:
        reason = e.strerror or type(e).__name__
    raise ExecutorError(
        f"cannot reach the Ray head node at {address} ({reason})",
        hint=f"start it there with `ray start --head --port {port}`, or check the address",
    )


@contextmanager
def ray_session(spec: ExecutorSpec) -> Iterator[ModuleType]:
    """Ray, connected for the duration; a Ray this call started is shut down after.

    Reuses a Ray the process already initialised (a test's, an application's).
    """
    ray = import_ray()
    if spec.address is not None:
        _check_reachable(spec.address)
    if ray.is_initialized():
        yield ray
        return
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "configure_logging": False,
    }
    if spec.address is not None:
        options["address"] = spec.address
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = spec.address or "the local cluster"
        raise ExecutorError(
            f"cannot connect to Ray at {where}: {e}",
            hint="check that the head node runs (`ray status`) and the address is right",
        ) from e
    try:
        yield ray
    finally:
        ray.shutdown()


def cluster_cpus(ray: ModuleType) -> int:
    """Whole CPUs the connected cluster offers (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))
