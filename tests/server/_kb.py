"""A two-tenant project for the server tests (fixtures in conftest.py).

``acme`` holds the sample knowledge base (examples/sample-kb); ``globex`` holds two
small documents of its own. Keys come from env variables (``ACME_KEYS``,
``GLOBEX_KEYS``) as in production. The hash embedder keeps start-up fast.
"""

from __future__ import annotations

from pathlib import Path

from ragline._project import Project

REPO = Path(__file__).resolve().parents[2]
SAMPLE_KB = REPO / "examples" / "sample-kb"

ACME_KEY = "rl_acme_test_key_0001"
GLOBEX_KEY = "rl_globex_test_key_0002"
KEYS_ENV = {"ACME_KEYS": ACME_KEY, "GLOBEX_KEYS": GLOBEX_KEY}

CONFIG = """\
embedder: hash
tenants:
  acme:
    api_keys_env: ACME_KEYS
  globex:
    api_keys_env: GLOBEX_KEYS
"""

GLOBEX_DOCS = {
    "globex-secrets.md": "# Globex launch plan\n\nProject Hammer launches on 3 March with a "
    "budget of 4.2 million dollars. The codename of the satellite is Nightjar.\n",
    "globex-hr.md": "# Globex leave policy\n\nGlobex employees get 30 days of paid leave "
    "a year and may carry 5 days over.\n",
}


def make_project(root: Path, config: str = CONFIG) -> Path:
    """A project folder with acme's sample KB and globex's documents ingested."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "ragline.yaml").write_text(config, encoding="utf-8")
    globex = root / "globex-docs"
    globex.mkdir(exist_ok=True)
    for name, text in GLOBEX_DOCS.items():
        (globex / name).write_text(text, encoding="utf-8")
    with Project(root) as project:
        project.ingest([SAMPLE_KB], tenant="acme")
        project.ingest([globex], tenant="globex")
    return root


def acme() -> dict[str, str]:
    return {"Authorization": f"Bearer {ACME_KEY}"}


def globex() -> dict[str, str]:
    return {"Authorization": f"Bearer {GLOBEX_KEY}"}
