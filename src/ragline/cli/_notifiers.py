"""``ragline notifiers``: the configured notifiers, and a test message through them.

``notifiers test [NAME...]`` builds the notifiers of ``monitor.notifiers`` (so a
missing secret shows here, before an alert needs it) and sends each one a test
notification now, with its own timeout and retries, then prints what happened per
notifier; it exits 1 when any delivery failed. ``notifiers list`` shows each one's
type and where it sends (a host or a file, never a secret).

Only typer is imported at module level (``ragline --help`` must stay fast).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ragline.cli._common import JsonOpt, print_json, state

if TYPE_CHECKING:
    from ragline.config import Settings

notifiers_app = typer.Typer(
    help="List the alert notifiers (monitor.notifiers) or send them a test notification.",
    no_args_is_help=True,
)


def _settings() -> Settings:
    from ragline.config import load_settings

    return load_settings(
        state.project_dir, overrides=state.overrides, config_file=state.config_file
    )


def _target(s: Any) -> str:
    from urllib.parse import urlsplit

    if s.type == "file":
        return "standard output" if s.path == "-" else str(s.path)
    if s.type == "email":
        return f"{s.host}:{s.port} → {', '.join(s.to)}"
    if getattr(s, "url", None):
        return str(urlsplit(s.url).netloc)
    return f"the URL in ${s.url_env}"


@notifiers_app.command("list")
def notifiers_list(as_json: JsonOpt = False) -> None:
    """Every notifier: name, type, where it sends, whether it is enabled."""
    rows = [
        {"name": name, "type": s.type, "target": _target(s), "enabled": s.enabled}
        for name, s in _settings().monitor.notifiers.items()
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        sys.stdout.write("no notifiers configured (add them under monitor.notifiers)\n")
        return
    for r in rows:
        off = "" if r["enabled"] else "  (disabled)"
        sys.stdout.write(f"{r['name']}  {r['type']}  {r['target']}{off}\n")


@notifiers_app.command("test")
def notifiers_test(
    names: Annotated[
        list[str] | None, typer.Argument(help="Notifiers to test (default: every one).")
    ] = None,
) -> None:
    """Send a test notification to each notifier now; exit 1 if one failed."""
    import time

    from ragline.errors import ConfigError
    from ragline.monitor import Notification
    from ragline.monitor._notifiers import build_dispatcher

    settings = _settings()
    dispatcher = build_dispatcher(settings.monitor, project_dir=state.project_dir)
    unknown = [n for n in names or () if n not in dispatcher.names]
    if unknown:
        known = ", ".join(dispatcher.names) or "none"
        raise ConfigError(
            f"no enabled notifier named {', '.join(unknown)} (configured: {known})",
            hint="see `ragline notifiers list`",
        )
    if not dispatcher.names:
        sys.stdout.write("no notifiers configured (add them under monitor.notifiers)\n")
        return
    test = Notification(
        rule="ragline-test",
        state="firing",
        severity="info",
        labels={"test": "true"},
        started_at=time.time(),
        summary="a test notification from `ragline notifiers test`: delivery works",
        fingerprint="ragline-test",
    )
    results = dispatcher.send_now(test, to=names or None)
    stats = dispatcher.stats()
    for name, error in results.items():
        retried = stats[name].retried
        tries = f" after {retried} retr{'y' if retried == 1 else 'ies'}" if retried else ""
        if error is None:
            sys.stdout.write(f"{name}: sent{tries}\n")
        else:
            sys.stdout.write(f"{name}: FAILED{tries}: {error}\n")
    dispatcher.close(timeout_s=1.0)
    if any(e is not None for e in results.values()):
        raise typer.Exit(1)
