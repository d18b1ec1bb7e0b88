// ragline dashboard: the playground's streamed answer (SSE over fetch, POST with the
// session's CSRF token in a header). No other page needs a script beyond htmx.
"use strict";
(function () {
  const form = document.getElementById("ask-form");
  if (!form) return;
  const answer = document.getElementById("answer");
  const status = document.getElementById("status");
  const hits = document.getElementById("hits");
  const traceLink = document.getElementById("trace-link");

  function showHits(list, into) {
    into = into || hits;
    into.replaceChildren();
    for (const h of list || []) {
      const li = document.createElement("li");
      const b = document.createElement("b");
      b.textContent = (h.title || h.document_id || "") + " ";
      const score = document.createElement("span");
      score.className = "muted";
      score.textContent = "score " + Number(h.score || 0).toFixed(4);
      const p = document.createElement("div");
      p.textContent = (h.text || "").slice(0, 300);
      li.append(b, score, p);
      into.append(li);
    }
  }

  function handle(event, data) {
    if (event === "retrieval") showHits(data.hits);
    else if (event === "delta") answer.textContent += data.text || "";
    else if (event === "guard") status.textContent = "guard: " + (data.guard || "") + " " + (data.action || "");
    else if (event === "error") { status.textContent = "error: " + (data.message || "the answer failed"); }
    else if (event === "done") {
      status.textContent = "done";
      const id = data.trace_id || (data.answer && data.answer.trace_id);
      if (id) {
        const a = document.createElement("a");
        a.href = "/traces/" + encodeURIComponent(id);
        a.textContent = "Open the trace";
        traceLink.replaceChildren(a);
      }
    }
  }

  async function compare(side, question, k) {
    const mode = document.getElementById("mode-" + side).value;
    document.getElementById("label-" + side).textContent = mode;
    const list = document.getElementById("hits-" + side);
    const rules = document.getElementById("rules-" + side);
    const params = new URLSearchParams({ q: question, mode: mode });
    if (k) params.set("k", k);
    try {
      const r = await fetch("/playground/search?" + params, { credentials: "same-origin" });
      if (!r.ok) { rules.textContent = "error: HTTP " + r.status; return; }
      const data = await r.json();
      const fired = data.rules_fired || [];
      rules.textContent = fired.length ? "routing rules fired: " + fired.join(", ") : "no routing rule fired";
      showHits(data.hits, list);
    } catch (err) {
      rules.textContent = "error: the server cannot be reached";
    }
  }

  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    const question = form.elements["question"].value;
    const k = form.elements["k"].value;
    compare("a", question, k);
    compare("b", question, k);
    answer.textContent = "";
    traceLink.replaceChildren();
    hits.replaceChildren();
    status.textContent = "asking…";
    const body = new URLSearchParams(new FormData(form));
    if (!body.get("k")) body.delete("k");
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: body,
        headers: { "X-CSRF-Token": form.elements["csrf"].value, "Accept": "text/event-stream" },
        credentials: "same-origin",
      });
    } catch (err) {
      status.textContent = "error: the server cannot be reached";
      return;
    }
    if (!response.ok || !response.body) {
      let message = "HTTP " + response.status;
      try { const j = await response.json(); message = (j.error && j.error.message) || j.detail || message; } catch (_) { /* not JSON */ }
      status.textContent = "error: " + (typeof message === "string" ? message : JSON.stringify(message));
      return;
    }
    status.textContent = "streaming…";
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message", data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        try { handle(event, data ? JSON.parse(data) : {}); } catch (_) { /* a partial frame */ }
      }
    }
  });
})();
