"""A small two-tenant project for the dashboard tests: ``acme`` and ``globex`` with a
few documents each, one alert rule, keys from env variables and an admin key in the
keys file. The hash embedder keeps start-up fast."""

from __future__ import annotations

from pathlib import Path

from ragline._project import Project

ACME_KEY = "rl_acme_ui_key_0001"
GLOBEX_KEY = "rl_globex_ui_key_0002"
KEYS_ENV = {"ACME_KEYS": ACME_KEY, "GLOBEX_KEYS": GLOBEX_KEY}

CONFIG = """\
embedder: hash
tenants:
  acme:
    api_keys_env: ACME_KEYS
  globex:
    api_keys_env: GLOBEX_KEYS
alerts:
  rules:
    - name: slow-asks
      metric: latency
      agg: p95
      window: 10m
      condition: "> 5000"
ui:
  page_size: 5
"""

DOCS = {
    "acme": {
        "warranty.md": "# Warranty\n\n## Battery\n\nThe battery warranty lasts 2 years from "
        "delivery or 800 full charge cycles, whichever comes first.\n",
        "returns.md": "# Returns\n\nUnused bikes may be returned within 30 days for a full "
        "refund. Shipping costs are not refunded.\n",
    },
    "globex": {
        "secrets.md": "# Globex launch plan\n\nProject Hammer launches on 3 March with a "
        "budget of 4.2 million dollars. The satellite codename is Nightjar.\n",
    },
}


def make_project(root: Path, config: str = CONFIG) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "ragline.yaml").write_text(config, encoding="utf-8")
    with Project(root) as project:
        for tenant, docs in DOCS.items():
            folder = root / f"docs-{tenant}"
            folder.mkdir(exist_ok=True)
            for name, text in docs.items():
                (folder / name).write_text(text, encoding="utf-8")
            project.ingest([folder], tenant=tenant)
    return root


def admin_key(root: Path) -> str:
    """An admin key (tenant acme) written to the project's keys file."""
    from ragline._project import Project
    from ragline.server._keys_file import create_key, keys_file_path

    with Project(root) as project:
        path = keys_file_path(project.settings, project.path)
    key, _ = create_key(path, "acme", name="ops", scopes=("ask", "ingest", "admin"))
    return key
