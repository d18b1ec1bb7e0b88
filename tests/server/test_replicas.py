"""Three ``ragline serve`` replicas on loopback ports against one real PostgreSQL.

A client spreads its requests round-robin, as a load balancer would: what is written
through one replica is read through the others within a second; a tenant's rate limit
holds across all of them; the alert rules are evaluated by one replica at a time (one
notification per incident, and another replica takes over when the holder is killed);
a dashboard login works on every replica; each replica's ``/metrics`` names it; and a
replica drained with SIGTERM mid-load fails no request of a client that retries on the
others.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragline.testing import ServerProcess

pytestmark = pytest.mark.slow  # three servers and a database: about a minute

ACME_KEY = "rl_acme_replica_key_0001"
LIMITED_KEY = "rl_limited_replica_key_0002"
LIMIT = 30  # requests per minute of the tenant "limited"
ENV = {
    "ACME_KEYS": ACME_KEY,
    "LIMITED_KEYS": LIMITED_KEY,
    "REPLICA_UI_SECRET": "a-shared-secret-of-the-replicas",
}
CONFIG = """\
store: {url}
embedder: hash
tenants:
  acme: {{api_keys_env: ACME_KEYS}}
  limited: {{api_keys_env: LIMITED_KEYS, rate_limit_per_minute: {limit}}}
server: {{drain_s: 2, shutdown_grace_s: 5}}
ui: {{session_secret_env: REPLICA_UI_SECRET}}
monitor:
  interval: 1s
  notifiers:
    log: {{type: file, path: alerts.jsonl}}
alerts:
  rules:
    - name: always
      metric: requests
      agg: count
      window: 10m
      condition: ">= 0"
      no_data: alert
"""


def acme() -> dict[str, str]:
    return {"Authorization": f"Bearer {ACME_KEY}"}


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """One real PostgreSQL + pgvector (the pgserver wheel) for the module."""
    for module in ("psycopg", "psycopg_pool", "pgserver"):
        pytest.importorskip(module, reason="PostgreSQL tests need pip install -e '.[dev]'")
    from ragline.testing._postgres import TempPostgres

    server = TempPostgres().start()
    try:
        yield str(server.create_database("replicas"))
    finally:
        server.stop()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Path:
    folder = tmp_path_factory.mktemp("replicas")
    (folder / "ragline.yaml").write_text(CONFIG.format(url=pg_url, limit=LIMIT))
    return folder


@pytest.fixture(scope="module")
def replicas(root: Path) -> Iterator[list[ServerProcess]]:
    """Three replicas started at once (the migrations queue on their lock); the third
    keeps the default instance name (hostname:port)."""
    procs = [
        ServerProcess(
            root,
            env={**ENV, "RAGLINE_INSTANCE": f"replica-{i}"} if i < 2 else ENV,
            start_timeout_s=180,  # three at once on a busy machine
        )
        for i in range(3)
    ]
    with ThreadPoolExecutor(3) as pool:
        started = list(pool.map(lambda p: p.start(), procs))
    try:
        yield started
    finally:
        for proc in procs:
            proc.kill()


def _wait_for(check: Callable[[], Any], what: str, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen in {timeout_s} s")


def _hits(replica: ServerProcess, query: str) -> list[str]:
    r = httpx.get(replica.url + "/v1/search", params={"q": query}, headers=acme(), timeout=10)
    assert r.status_code == 200, r.text
    return [h["document_id"] for h in r.json()["hits"]]


def _visible_everywhere_within(replicas: list[ServerProcess], query: str, want: bool) -> float:
    """Seconds until every replica's search agrees that ``doc-nightjar`` is there (want)
    or gone (not want)."""
    start = time.monotonic()
    pending = list(replicas)
    while pending and time.monotonic() - start < 10:
        pending = [r for r in pending if ("doc-nightjar" in _hits(r, query)) != want]
    assert not pending, f"still {'missing' if want else 'present'} on {[r.url for r in pending]}"
    return time.monotonic() - start


def test_written_on_one_replica_read_on_the_others_within_a_second(
    replicas: list[ServerProcess],
) -> None:
    query = "nightjar satellite codename"
    for replica in replicas:  # every replica has searched (and cached) the tenant first
        assert "doc-nightjar" not in _hits(replica, query)
    doc = {"id": "doc-nightjar", "text": "The codename of the satellite is Nightjar."}
    r = httpx.post(
        replicas[0].url + "/v1/documents", json={"documents": [doc]}, headers=acme(), timeout=30
    )
    assert r.status_code == 200, r.text
    assert _visible_everywhere_within(replicas[1:], query, want=True) < 1.0
    r = httpx.delete(replicas[1].url + "/v1/documents/doc-nightjar", headers=acme(), timeout=30)
    assert r.status_code == 200, r.text
    others = [replicas[0], replicas[2]]
    assert _visible_everywhere_within(others, query, want=False) < 1.0


def test_a_tenants_rate_limit_holds_across_replicas(replicas: list[ServerProcess]) -> None:
    headers = {"Authorization": f"Bearer {LIMITED_KEY}"}
    statuses: list[int] = []
    refused: list[httpx.Response] = []
    started = time.monotonic()
    with ThreadPoolExecutor(3) as pool:  # one client per replica, round-robin
        for _ in range(0, int(LIMIT * 1.5), 3):
            batch = [
                pool.submit(httpx.get, r.url + "/v1/documents", headers=headers, timeout=10)
                for r in replicas
            ]
            for future in batch:
                response = future.result()
                statuses.append(response.status_code)
                if response.status_code == 429:
                    refused.append(response)
    refilled = (time.monotonic() - started) * LIMIT / 60  # tokens back while sending
    allowed = statuses.count(200)
    assert set(statuses) == {200, 429}
    # N per minute across all three, not N on each (3 N): within 10 %
    assert LIMIT * 0.9 <= allowed <= (LIMIT + refilled) * 1.1, (refilled, statuses)
    assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
    assert refused[0].json()["error"]["type"] == "rate_limited"
    # another tenant is not limited by it
    assert httpx.get(replicas[0].url + "/v1/documents", headers=acme()).status_code == 200


def test_dashboard_session_from_one_replica_works_on_the_others(
    replicas: list[ServerProcess],
) -> None:
    with httpx.Client(base_url=replicas[0].url, timeout=10) as browser:
        browser.get("/login")
        token = browser.cookies.get("ragline_login", path="/login") or ""
        r = browser.post(
            "/login", data={"key": ACME_KEY, "next": "/", "csrf": token}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
        session = browser.cookies.get("ragline_session")
    assert session
    for replica in replicas[1:]:
        page = httpx.get(
            replica.url + "/", cookies={"ragline_session": session}, follow_redirects=False
        )
        assert page.status_code == 200, (page.status_code, page.headers.get("location"))
    anonymous = httpx.get(replicas[1].url + "/", follow_redirects=False)
    assert anonymous.status_code == 303  # to the login form


def test_each_replica_names_itself_on_metrics(replicas: list[ServerProcess]) -> None:
    default = f"{socket.gethostname()}:{replicas[2].port}"
    for i, replica in enumerate(replicas):
        text = httpx.get(replica.url + "/metrics", timeout=10).text
        series = [ln for ln in text.splitlines() if ln.startswith("ragline_http_requests_total")]
        assert series, text[:500]
        if i < 2:  # RAGLINE_INSTANCE set: on every series
            assert all(f'instance="replica-{i}"' in ln for ln in series), series[:3]
            assert f'ragline_instance_info{{instance="replica-{i}"}} 1.0' in text
        else:  # the default name: one info series, the others as they were
            assert not any("instance=" in ln for ln in series), series[:3]
            assert f'ragline_instance_info{{instance="{default}"}} 1.0' in text


def _notified(root: Path) -> list[dict[str, Any]]:
    path = root / "alerts.jsonl"
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def _history(pg_url: str) -> list[Any]:
    from ragline.store.postgres._alerts import PostgresAlertStore

    store = PostgresAlertStore(pg_url)
    try:
        return store.history(rule="always", limit=1000)
    finally:
        store.close()


def test_one_notification_per_incident_and_failover(
    replicas: list[ServerProcess], root: Path, pg_url: str
) -> None:
    _wait_for(lambda: _notified(root), "the notification of the firing rule")
    events = _history(pg_url)
    holder = next(e.actor for e in events if e.event == "firing")
    pids = {str(r.proc.pid): r for r in replicas if r.proc is not None}
    victim = pids[holder.rsplit(":", 1)[1]]
    victim.kill()  # SIGKILL: the lock goes with its connection
    replicas.remove(victim)
    killed_at = time.time()

    def evaluated_by_another() -> bool:
        from ragline.store.postgres._alerts import PostgresAlertStore

        store = PostgresAlertStore(pg_url)
        try:
            state = store.states()["always"]
            return state.evaluated_at > killed_at + 1
        finally:
            store.close()

    # the victim is dead: a state evaluated since is another replica's work
    _wait_for(evaluated_by_another, "another replica evaluating", timeout_s=30)
    time.sleep(3)  # three more evaluation intervals
    sent = [n for n in _notified(root) if "always" in json.dumps(n)]
    assert len(sent) == 1, sent  # one incident, one notification, across all evaluators
    events = _history(pg_url)
    assert [e.event for e in events].count("firing") == 1
    assert [e.event for e in events].count("notified") == 1


def test_draining_a_replica_mid_load_fails_no_request(replicas: list[ServerProcess]) -> None:
    assert len(replicas) >= 2
    victim, others = replicas[0], replicas[1:]
    live = list(replicas)
    failures: list[str] = []
    served: list[tuple[str, float]] = []
    stop = threading.Event()

    def client() -> None:
        """Round-robin; a refused connection or a 503 is retried on the next replica."""
        turn = 0
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                for attempt in range(len(live)):
                    replica = live[(turn + attempt) % len(live)]
                    try:
                        r = http.get(replica.url + "/v1/search", params={"q": "x"}, headers=acme())
                    except httpx.TransportError:
                        continue
                    if r.status_code == 503:
                        continue
                    if r.status_code != 200:
                        failures.append(f"{r.status_code} {r.text[:200]}")
                    served.append((replica.url, time.monotonic()))
                    break
                else:
                    failures.append("no replica answered")
                turn += 1

    thread = threading.Thread(target=client)
    thread.start()
    try:
        time.sleep(1)
        assert victim.proc is not None
        victim.proc.terminate()  # SIGTERM: /readyz says draining, requests still served
        signalled = time.monotonic()
        ready = httpx.get(victim.url + "/readyz", timeout=5)
        assert ready.status_code == 503 and ready.json()["reason"] == "draining", ready.text
        assert victim.proc.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises it when done
        time.sleep(1)  # the others carry the load on their own
    finally:
        stop.set()
        thread.join(30)
    replicas.remove(victim)
    assert not failures, failures[:5]
    during = [t for url, t in served if url == victim.url and t > signalled]
    assert during, "the draining replica served nothing in its drain window"
    after = [t for url, t in served if url != victim.url and t > signalled + 2.5]
    assert after, "no request was served after the drain"
    for replica in others:
        assert httpx.get(replica.url + "/readyz", timeout=5).status_code == 200
