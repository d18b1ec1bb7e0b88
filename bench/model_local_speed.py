"""Local model speed: ragline's ``LocalModel`` vs raw llama-cpp-python, same run.

The bundled Gemma 3 270M GGUF is loaded twice with identical settings (n_ctx 2048,
2 threads): once by ``LocalModel`` and once as a bare ``llama_cpp.Llama``. Each
round runs, in rotating order, raw ``create_completion``, ``LocalModel.complete``
and ``LocalModel.stream`` (consumed to the end) on the same prompts:

- prefill — a ~500-token prompt with ``max_tokens=1``: prompt tokens / wall time
- decode — a short prompt with ``max_tokens=64``, temperature 0; decode tokens/s =
  (completion tokens − 1) / (wall time − wall time of a same-shaped prompt
  with ``max_tokens=1``)

Every prompt starts with a token no earlier prompt started with, so llama-cpp-python's
prompt prefix reuse never skips a prefill. The machine is a shared 2-core box: only the
ratios inside this run mean anything (medians over interleaved rounds).

    python bench/model_local_speed.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from _results import table, write_section

PASSAGE = (
    "The river rises in the northern hills and flows south through a broad valley of "
    "farms and small towns before it reaches the coast. In the nineteenth century mills "
    "were built along its banks, and a canal joined it to the capital, carrying grain, "
    "timber and coal. Floods were frequent until a series of dams was completed in the "
    "nineteen-fifties; since then the valley has grown into an important region for "
    "fruit, wine and tourism, and several old mills have become museums. "
)
SHORT = "Here is a short story about a lighthouse keeper and his cat. Once upon a time,"


def long_prompt(r: int, count: Callable[[str], int], target: int = 500) -> str:
    text = f"Report {r}. "
    while count(text + PASSAGE) <= target:
        text += PASSAGE
    return text + "In one sentence, the river"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    import llama_cpp

    from ragline.models import Message
    from ragline.models._local import LocalModel

    model = LocalModel()
    model.load()
    raw = llama_cpp.Llama(
        model_path=str(model.model_path),
        n_ctx=model.n_ctx,
        n_threads=model.n_threads,
        verbose=False,
    )

    def ntok(text: str) -> int:
        return len(raw.tokenize(text.encode("utf-8"), add_bos=True, special=True))

    def run_raw(prompt: str, max_tokens: int) -> tuple[float, int, int]:
        t0 = time.perf_counter()
        out: Any = raw.create_completion(prompt, max_tokens=max_tokens, temperature=0.0, stop=None)
        wall = time.perf_counter() - t0
        u = out["usage"]
        return wall, int(u["prompt_tokens"]), int(u["completion_tokens"])

    def run_complete(prompt: str, max_tokens: int) -> tuple[float, int, int]:
        t0 = time.perf_counter()
        c = model.complete([Message("user", prompt)], max_tokens=max_tokens, temperature=0.0)
        wall = time.perf_counter() - t0
        return wall, c.usage.prompt_tokens, c.usage.completion_tokens

    def run_stream(prompt: str, max_tokens: int) -> tuple[float, int, int]:
        t0 = time.perf_counter()
        usage = None
        for d in model.stream([Message("user", prompt)], max_tokens=max_tokens, temperature=0.0):
            usage = d.usage or usage
        wall = time.perf_counter() - t0
        assert usage is not None
        return wall, usage.prompt_tokens, usage.completion_tokens

    sides: dict[str, Callable[[str, int], tuple[float, int, int]]] = {
        "raw llama_cpp": run_raw,
        "LocalModel.complete": run_complete,
        "LocalModel.stream": run_stream,
    }
    prefill: dict[str, list[float]] = {s: [] for s in sides}
    decode: dict[str, list[float]] = {s: [] for s in sides}
    names = list(sides)
    # warm-up, not recorded
    for fn in sides.values():
        fn("Warm up. " + SHORT, 4)
    n_prompt = 0
    t_start = time.perf_counter()
    for r in range(args.rounds):
        order = names[r % 3 :] + names[: r % 3]
        lp = long_prompt(r, ntok)
        # two prompts of the same shape that differ in their first token, so the
        # max_tokens=64 call cannot reuse the max_tokens=1 call's prefill
        sp1, sp64 = f"A{r}. {SHORT}", f"B{r}. {SHORT}"
        for side in order:
            fn = sides[side]
            wall, n_prompt, _ = fn(lp, 1)
            prefill[side].append(n_prompt / wall)
            w1, _, _ = fn(sp1, 1)
            w64, _, n_out = fn(sp64, 64)
            if n_out > 1 and w64 > w1:
                decode[side].append((n_out - 1) / (w64 - w1))
        print(f"  round {r + 1}/{args.rounds} done, {time.perf_counter() - t_start:.0f}s")

    base_p = statistics.median(prefill["raw llama_cpp"])
    base_d = statistics.median(decode["raw llama_cpp"])
    rows: list[list[object]] = []
    for side in names:
        p, d = statistics.median(prefill[side]), statistics.median(decode[side])
        rows.append([side, round(p, 1), f"{p / base_p:.3f}×", round(d, 1), f"{d / base_d:.3f}×"])
    text = table(["path", "prefill tok/s", "prefill vs raw", "decode tok/s", "decode vs raw"], rows)
    print(text)
    body = (
        f"Bundled Gemma 3 270M Q4_K_M, n_ctx {model.n_ctx}, {model.n_threads} threads, loaded"
        " twice with identical settings (one `LocalModel`, one bare `llama_cpp.Llama`)."
        f" Prefill: a {n_prompt}-token prompt with max_tokens=1. Decode: a short prompt,"
        " max_tokens=64, temperature 0, (tokens − 1) / (wall − wall of a same-shaped prompt"
        f" at max_tokens=1). Medians of {args.rounds} interleaved rounds (order rotated each"
        " round; every prompt starts with a new token, so no prefix reuse). Target: ≥ 0.97×"
        " raw. The 2-core machine may be shared with other jobs: compare only the ratios within"
        " this table.\n\n" + text + "\n"
    )
    write_section("model-local-speed", "Local model speed — LocalModel vs raw llama-cpp", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
