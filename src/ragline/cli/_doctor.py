"""``ragline doctor``: check the installation, config, store, embedder and tracing.

Each check prints one ``ok``/``FAIL`` line that says how to fix what fails; the exit
code is 1 when any check fails. Only typer is imported at module level.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from ragline.cli._common import new_console, open_project, redacted, state


def doctor() -> None:
    """Check the installation, the config, the store and the embedder; say how to fix what fails."""
    import platform
    import time

    import ragline
    from ragline._time import elapsed_ms
    from ragline.errors import RaglineError

    console = new_console()
    failures = 0

    def report(ok: bool, what: str, detail: str) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        mark = "[green]ok[/green]  " if ok else "[red]FAIL[/red]"
        console.print(f"{mark} {what}: {detail}")

    report(True, "ragline", f"{ragline.__version__} on Python {platform.python_version()}")
    try:
        project = open_project()
    except RaglineError as e:
        report(False, "config", str(e))
        raise typer.Exit(1) from None
    cfg = state.config_file or project.path / "ragline.yaml"
    report(True, "config", f"{cfg} ({'found' if cfg.exists() else 'not found; defaults'})")
    with project:
        try:
            tenants = project.store.tenants()
            stats = {t: project.stats(tenant=t) for t in tenants}
            counts = ", ".join(
                f"{t}: {s['documents']} docs/{s['chunks']} chunks" for t, s in stats.items()
            )
            report(True, "store", f"{redacted(project.settings.store)} ({counts or 'empty'})")
            isolation = project.parts.backend.tenant_isolation()
            if isolation is not None:
                report(isolation[0], "tenant isolation", isolation[1])
        except RaglineError as e:
            report(False, "store", str(e))
        try:
            t0 = time.perf_counter()
            embedder = project.embedder
            vector = embedder.embed_query("ragline doctor")
            ms = elapsed_ms(t0)
            backend = getattr(embedder, "backend", None)
            extra = f", backend {backend}" if backend else ""
            report(
                vector.shape == (embedder.dimension,),
                "embedder",
                f"{embedder.name} (dimension {embedder.dimension}{extra}), loaded in {ms:.0f} ms",
            )
        except RaglineError as e:
            report(False, "embedder", str(e))
        try:
            from ragline.trace._setup import doctor_line

            ok, detail = doctor_line(project)
            report(ok, "tracing", detail)
        except RaglineError as e:
            report(False, "tracing", str(e))
    _local_model(report)
    if failures:
        raise typer.Exit(1)


def _local_model(report: Callable[[bool, str, str], None]) -> None:
    """The optional local model: is llama-cpp-python installed, and built to run here?"""
    from ragline.models._local import LLAMA_HINT, llama_available, llama_build_problem

    if not llama_available():
        report(True, "local model", f"not installed (optional: {LLAMA_HINT})")
        return
    from importlib.metadata import version as installed

    problem = llama_build_problem()
    version = installed("llama-cpp-python")
    report(problem is None, "local model", problem or f"llama-cpp-python {version}")
