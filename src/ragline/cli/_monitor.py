"""``ragline monitor``: windowed metrics and alert rules.

The group lives here; each subcommand family in its own module (``_monitor_metrics``:
``monitor metrics``; ``_monitor_rules``: ``status``, ``run``, ``export``), so new ones
are added without touching the others. Only typer is imported at module level
(``ragline --help`` must stay fast).
"""

from __future__ import annotations

import typer

from ragline.cli._monitor_metrics import monitor_metrics

monitor_app = typer.Typer(
    help="Windowed metrics from traces (per-minute rollups) and alert rules: metrics, "
    "status, run, export.",
    no_args_is_help=True,
)
monitor_app.command("metrics")(monitor_metrics)
