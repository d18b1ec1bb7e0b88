"""``ragline monitor``: the command group (its commands live in ``_monitor_rules`` —
``status``, ``run`` — and ``_monitor_metrics``)."""

from __future__ import annotations

import typer

monitor_app = typer.Typer(
    help="Windowed metrics and alert rules: status, run, export.", no_args_is_help=True
)
