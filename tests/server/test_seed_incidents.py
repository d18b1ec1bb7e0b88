"""The seed incidents of the monitoring issue, each on a real ``ragline serve``.

Each incident makes exactly one rule fire once; its notification reaches a JSON
webhook receiver and a real SMTP server (both on loopback), and where the cause can go
away within the test the alert resolves, told once. The server evaluates its rules
every second (``monitor.interval: 1s``) on wall-clock time over 1-minute windows.

- (a) P95 latency spike: a tenant whose answers come from an OpenAI-compatible model
  on loopback; the model turns slow, then fast again (the fast asks bring the P95
  back under the resolve threshold).
- (b) hallucination reports on finance questions: three ``hallucination`` feedbacks
  on asks the ``finance`` routing rule fired on; reports on other asks and other
  kinds of feedback do not count.
- (c) Spanish documents arrive: English questions start retrieving Spanish chunks;
  deleting the Spanish documents lets the rate fall back and the alert resolve.
- (d) an embedding change: a baseline of real asks answered with MiniLM (their
  rollups moved 10 minutes back, into the rule's baseline window), then the project
  is re-embedded with another model (``hash:384``) and served: the dense retriever's
  top-1 score distribution drifts (PSI).

Feedback counts and drift cannot fall back within a test (the bad minutes stay in
the window for up to two minutes), so (b) and (d) check that one alert fires and no
more notifications follow while the condition holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from ragline._project import Project
from ragline.store.sqlite import SQLiteRollupStore
from ragline.testing import ServerProcess

pytest.importorskip("aiosmtpd", reason="the dev extra installs aiosmtpd (pip install -e .[dev])")

from ._alert_sinks import HookReceiver, MailSink, TunableModel

FIXTURES = Path(__file__).parent / "fixtures" / "en_es"
ENGLISH = sorted(FIXTURES.glob("*.en.md"))
SPANISH = sorted(FIXTURES.glob("*.es.md"))
QUESTIONS = [
    "How long is the frame warranty?",
    "How many days do I have to return a bike?",
    "How long does a full charge take?",
    "Which countries do you ship to?",
    "How often should the bike be serviced?",
    "How do I pair the bike with the app?",
    "What tyre pressure should I use?",
    "When are refunds paid?",
]
FINANCE_DOC = (
    "# Helio annual report FY2025\n\nRevenue in FY2025 was 48.2 million EUR, up 12 percent. "
    "Net income was 3.1 million EUR. The board proposes a dividend of 0.40 EUR per share.\n"
)
KEYS = {
    "LAT_KEYS": "rl_seed_latency_key",
    "FIN_KEYS": "rl_seed_finance_key",
    "LANG_KEYS": "rl_seed_language_key",
    "DRIFT_KEYS": "rl_seed_drift_key",
    "OPENAI_API_KEY": "sk-test",
}
LATENCY_MS = 800  # the P95 rule's threshold
SLOW_S = 1.5  # how long the model takes while it is slow


def _sinks_config(hook: HookReceiver, mail: MailSink) -> str:
    return f"""\
monitor:
  interval: 1s
  notifiers:
    hook: {{type: webhook, url: "{hook.url}", retries: 1, timeout_s: 5}}
    mail: {{type: email, host: 127.0.0.1, port: {mail.port}, from: ragline@example.com,
            to: [oncall@example.com], retries: 1, timeout_s: 5}}
"""


ALERTS = """\
alerts:
  group_by: [rule]
  group_wait: 0s
  rules:
    - name: ask-p95
      metric: latency
      agg: p95
      filter: {tenant: lat}
      window: 1m
      condition: "> THRESHOLD"
      resolve: 600
      severity: critical
    - name: finance-hallucinations
      metric: feedback
      agg: count
      filter: {tenant: fin, route: finance, kind: hallucination}
      window: 1m
      condition: ">= 3"
      severity: error
    - name: cross-language
      metric: cross_language
      agg: rate
      filter: {tenant: lang}
      window: 1m
      condition: "> 0.3"
      min_samples: 4
      severity: warning
""".replace("THRESHOLD", str(LATENCY_MS))

DRIFT_ALERTS = """\
alerts:
  group_by: [rule]
  group_wait: 0s
  rules:
    - name: retrieval-drift
      metric: top1_score
      agg: psi
      filter: {tenant: drift, stage: dense}
      window: 1m
      baseline: 30m
      condition: "> 0.25"
      min_samples: 5
      severity: warning
"""


def _config(embedder: str, sinks: str, alerts: str, model_url: str | None = None) -> str:
    models = (
        f"models:\n  openai:tunable:\n    base_url: {model_url}\n    max_retries: 0\n"
        if model_url
        else ""
    )
    return (
        f"embedder: {embedder}\n{models}"
        "retrieval: {k: 5}\n"
        "routing:\n"
        "  - name: finance\n"
        "    when: {query_matches: '\\brevenue\\b|\\bincome\\b|\\bdividend\\b'}\n"
        "    boost: {doc_type: finance, factor: 1.5}\n"
        "tenants:\n"
        "  lat: {api_keys_env: LAT_KEYS"
        + (", model: 'openai:tunable'" if model_url else "")
        + "}\n"
        "  fin: {api_keys_env: FIN_KEYS}\n"
        "  lang: {api_keys_env: LANG_KEYS}\n"
        "  drift: {api_keys_env: DRIFT_KEYS}\n" + sinks + alerts
    )


@dataclass
class Sinks:
    hook: HookReceiver
    mail: MailSink

    def firing(self, rule: str) -> tuple[int, int]:
        return len(self.hook.of(rule, "firing")), len(self.mail.of(rule, "firing"))

    def resolved(self, rule: str) -> tuple[int, int]:
        return len(self.hook.of(rule, "resolved")), len(self.mail.of(rule, "resolved"))

    def told(self, rule: str) -> tuple[int, int]:
        return len(self.hook.of(rule)), len(self.mail.of(rule, "firing")) + len(
            self.mail.of(rule, "resolved")
        )


def _wait_for(
    check: Callable[[], bool], what: str, server: ServerProcess, timeout_s: float = 30
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout_s} s:\n{server.output()[-4000:]}")


def _settle(seconds: float = 2.5) -> None:
    """Let a few more evaluations (every 1 s) run: nothing more must be sent."""
    time.sleep(seconds)


@pytest.fixture(scope="module")
def sinks() -> Iterator[Sinks]:
    hook, mail = HookReceiver(), MailSink()
    yield Sinks(hook, mail)
    hook.close()
    mail.close()


@pytest.fixture(scope="module")
def model() -> Iterator[TunableModel]:
    with TunableModel() as m:
        yield m


@pytest.fixture(scope="module")
def server(
    sinks: Sinks, model: TunableModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("seed")
    (root / "ragline.yaml").write_text(
        _config("minilm", _sinks_config(sinks.hook, sinks.mail), ALERTS, model.url),
        encoding="utf-8",
    )
    (root / "finance").mkdir()
    (root / "finance" / "annual-report.md").write_text(FINANCE_DOC, encoding="utf-8")
    (root / "finance" / "annual-report.md.meta.yaml").write_text("doc_type: finance\n")
    with Project(root) as p:
        p.ingest(ENGLISH, tenant="lat")
        p.ingest(ENGLISH, tenant="lang")
        p.ingest([*ENGLISH, root / "finance"], tenant="fin")
    with ServerProcess(root, env=KEYS) as proc:
        yield proc


def _ask(server: ServerProcess, tenant: str, question: str) -> dict[str, object]:
    r = httpx.post(
        server.url + "/v1/ask",
        json={"question": question},
        headers={"Authorization": f"Bearer {KEYS[tenant.upper() + '_KEYS']}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def _ask_many(
    server: ServerProcess, tenant: str, questions: list[str], workers: int = 4
) -> list[dict[str, object]]:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda q: _ask(server, tenant, q), questions))


# -- (a) P95 latency spike --------------------------------------------------------------


def test_a_latency_spike_fires_once_and_resolves_once_when_the_model_is_fast_again(
    server: ServerProcess, sinks: Sinks, model: TunableModel
) -> None:
    rule = "ask-p95"
    _ask_many(server, "lat", QUESTIONS[:5])
    _settle()
    assert sinks.told(rule) == (0, 0)  # fast answers: nothing to tell

    model.delay_s = SLOW_S
    _ask_many(server, "lat", QUESTIONS[:3], workers=3)
    _wait_for(lambda: sinks.firing(rule) == (1, 1), "the latency alert reaching both", server)
    (hooked,) = sinks.hook.of(rule, "firing")
    assert hooked.body["severity"] == "critical"
    assert hooked.body["value"] > LATENCY_MS
    assert hooked.body["value"] >= SLOW_S * 1000 * 0.9  # the slow asks' P95, not a guess
    (mailed,) = sinks.mail.of(rule, "firing")
    assert mailed.message["X-Ragline-Fingerprint"] == hooked.body["fingerprint"]

    model.delay_s = 0.0  # the model recovers: fast asks dilute the window's P95
    _ask_many(server, "lat", QUESTIONS * 10)
    _wait_for(lambda: sinks.resolved(rule) == (1, 1), "the resolution reaching both", server)
    (resolved,) = sinks.hook.of(rule, "resolved")
    assert resolved.body["value"] <= 600
    _settle()
    assert sinks.firing(rule) == (1, 1) and sinks.resolved(rule) == (1, 1)


# -- (b) hallucination reports on finance questions -------------------------------------


def _feedback(server: ServerProcess, trace_id: object, kind: str) -> None:
    r = httpx.post(
        server.url + "/v1/feedback",
        json={"trace_id": trace_id, "kind": kind, "comment": "the figure is made up"},
        headers={"Authorization": f"Bearer {KEYS['FIN_KEYS']}"},
        timeout=30,
    )
    assert r.status_code == 201, r.text


def _routed(server: ServerProcess, question: str) -> object:
    """The routing rules that fire on ``question`` (what the ask's route will be)."""
    r = httpx.get(
        server.url + "/v1/search",
        params={"q": question},
        headers={"Authorization": f"Bearer {KEYS['FIN_KEYS']}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return r.json()["rules_fired"]


def test_b_three_hallucination_reports_on_finance_asks_fire_one_alert(
    server: ServerProcess, sinks: Sinks
) -> None:
    rule = "finance-hallucinations"
    questions = [
        "What was the revenue in FY2025?",
        "What was net income last year?",
        "How large is the dividend per share?",
        "Did revenue grow?",
    ]
    assert all(_routed(server, q) == ["finance"] for q in questions)
    assert _routed(server, "How long is the frame warranty?") == []
    finance = [_ask(server, "fin", q) for q in questions]
    other = _ask(server, "fin", "How long is the frame warranty?")

    _feedback(server, other["trace_id"], "hallucination")  # not a finance ask
    _feedback(server, finance[0]["trace_id"], "good")  # not a hallucination
    _feedback(server, finance[0]["trace_id"], "hallucination")
    _feedback(server, finance[1]["trace_id"], "hallucination")
    _settle()
    assert sinks.told(rule) == (0, 0)  # two reports on finance: below the rule

    _feedback(server, finance[2]["trace_id"], "hallucination")
    _wait_for(lambda: sinks.firing(rule) == (1, 1), "the hallucination alert", server)
    (hooked,) = sinks.hook.of(rule, "firing")
    assert hooked.body["value"] == 3 and hooked.body["severity"] == "error"
    _feedback(server, finance[3]["trace_id"], "hallucination")  # the same incident
    _settle()
    assert sinks.told(rule) == (1, 1)


# -- (c) Spanish documents arrive -------------------------------------------------------


def _upload(server: ServerProcess, paths: list[Path]) -> None:
    r = httpx.post(
        server.url + "/v1/documents",
        files=[("files", (p.name, p.read_bytes(), "text/markdown")) for p in paths],
        headers={"Authorization": f"Bearer {KEYS['LANG_KEYS']}"},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    assert {i["status"] for i in r.json()["results"]} == {"added"}, r.text


def _languages(answers: list[dict[str, object]]) -> set[str]:
    return {h["language"] for a in answers for h in a["hits"]}  # type: ignore[attr-defined, index]


def test_c_spanish_documents_raise_the_cross_language_rate_and_the_alert_resolves(
    server: ServerProcess, sinks: Sinks
) -> None:
    rule = "cross-language"
    before = _ask_many(server, "lang", QUESTIONS)
    assert _languages(before) == {"en"}
    _settle()
    assert sinks.told(rule) == (0, 0)

    _upload(server, SPANISH)  # the client's knowledge base gets Spanish documents
    after = _ask_many(server, "lang", QUESTIONS)
    assert "es" in _languages(after)
    _wait_for(lambda: sinks.firing(rule) == (1, 1), "the cross-language alert", server)
    (hooked,) = sinks.hook.of(rule, "firing")
    assert hooked.body["value"] > 0.3

    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {KEYS['LANG_KEYS']}"}
    ) as c:
        listed = c.get("/v1/documents", params={"limit": 1000}).json()["documents"]
        spanish = [d["id"] for d in listed if d["language"] == "es"]
        assert len(spanish) == len(SPANISH)
        for doc_id in spanish:
            assert c.delete(f"/v1/documents/{doc_id}").status_code == 200
    fixed = _ask_many(server, "lang", QUESTIONS * 3)
    assert _languages(fixed) == {"en"}
    _wait_for(lambda: sinks.resolved(rule) == (1, 1), "the cross-language resolution", server)
    _settle()
    assert sinks.firing(rule) == (1, 1) and sinks.resolved(rule) == (1, 1)


# -- (d) an embedding change ------------------------------------------------------------

BASELINE_SHIFT_S = 600  # the baseline asks' rollups are moved this far back


@pytest.fixture(scope="module")
def drift_server(sinks: Sinks, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("drift")
    sinks_config = _sinks_config(sinks.hook, sinks.mail)
    (root / "ragline.yaml").write_text(_config("minilm", sinks_config, DRIFT_ALERTS))
    with Project(root) as p:  # last week: MiniLM, and real asks on it
        p.ingest(ENGLISH, tenant="drift")
        for q in QUESTIONS * 2:
            p.ask(q, tenant="drift")
    rollups = SQLiteRollupStore(root / "ragline.db")  # move them into the baseline window
    rows = rollups.rows(tenant="drift")
    assert any(r.metric == "top1_score" and r.label == "dense" for r in rows)
    rollups.prune(time.time() + 3600)
    rollups.add([replace(r, minute=r.minute - BASELINE_SHIFT_S) for r in rows])
    rollups.close()
    # the platform team changes the embedding model and re-embeds the knowledge base
    (root / "ragline.yaml").write_text(_config("hash:384", sinks_config, DRIFT_ALERTS))
    with Project(root) as p:
        p.ingest(ENGLISH, tenant="drift")
    with ServerProcess(root, env=KEYS) as proc:
        yield proc


def test_d_an_embedding_change_makes_top1_scores_drift_and_fires_one_alert(
    drift_server: ServerProcess, sinks: Sinks
) -> None:
    rule = "retrieval-drift"
    _settle()
    assert sinks.told(rule) == (0, 0)  # no asks in the window yet: no data, no alert
    _ask_many(drift_server, "drift", QUESTIONS)
    _wait_for(lambda: sinks.firing(rule) == (1, 1), "the drift alert", drift_server)
    (hooked,) = sinks.hook.of(rule, "firing")
    assert hooked.body["value"] > 0.25
    _ask_many(drift_server, "drift", QUESTIONS)
    _settle()
    assert sinks.told(rule) == (1, 1)
