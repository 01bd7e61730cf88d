"""Time to first token on long prompts, cold, against raw llama-cpp-python on one thread.

    python bench/ttft.py [--sizes 256 1500 3000] [--rounds 3] [--one-thread] [--json]

A long prompt (documents, a pasted file) is read before the first token can
come, so its cost is prompt processing, which scales with cores. Each path is
a fresh process, so the cold start (Python, llama.cpp, the model) is included,
and the clock runs from the spawn to the first byte of the answer on stdout:

- raw: a script that loads the bundled SmolLM2 with llama-cpp-python on one
  thread (``n_threads = n_threads_batch = 1``) and streams a chat completion;
- offyai: ``offyai ask --engine llamacpp`` with the same text piped in, as users
  run it (generation keeps its thread count, prompts are read on the free cores);
- offyai_1t (``--one-thread``): the same with ``llamacpp.n_threads_batch = 1``,
  to tell the effect of the prompt threads from everything else.

The prompt is text from this repository's docs cut to the size in tokens (the
model's own tokenizer) plus a question. Paths take turns each round, the order
rotating, so load from elsewhere hits them alike; the figure is the median of
the per-round ratios path / raw (target for 1,500 tokens on two cores: <= 0.65).
"""

from __future__ import annotations

import argparse
import os
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, emit_json, isolated_home, median, record
from offyai_tui.engines import bundled

SIZES = (256, 1500, 3000)
N_CTX = 4096
MAX_TOKENS = 4
QUESTION = "Summarize the text above in one sentence."
TARGET_SIZE = 1500
TARGET_RATIO = 0.65
TIMEOUT_S = 300.0

RAW_SCRIPT = """
import sys
from llama_cpp import Llama
llm = Llama(sys.argv[1], n_ctx=int(sys.argv[2]), n_threads=1, n_threads_batch=1,
            verbose=False)
text = sys.stdin.read()
stream = llm.create_chat_completion(
    [{"role": "user", "content": text}], max_tokens=int(sys.argv[3]), temperature=0.0,
    stream=True)
for chunk in stream:
    piece = chunk["choices"][0]["delta"].get("content")
    if piece:
        sys.stdout.write(piece)
        sys.stdout.flush()
"""


def source_text() -> str:
    """Plain prose to cut prompts from: the repository's own documentation."""
    parts = [(REPO / "README.md").read_text(encoding="utf-8")]
    parts += [p.read_text(encoding="utf-8") for p in sorted((REPO / "docs").glob("*.md"))]
    text = "\n\n".join(parts)
    while len(text) < 60_000:
        text += "\n\n" + text
    return text


def prompts(sizes: list[int], model: Path) -> dict[int, str]:
    """A prompt of about ``size`` tokens each (text + question, before the chat template)."""
    from llama_cpp import Llama

    vocab = Llama(str(model), vocab_only=True, verbose=False)
    tokens = vocab.tokenize(source_text().encode(), add_bos=False, special=False)
    tail = len(vocab.tokenize(("\n\n" + QUESTION).encode(), add_bos=False, special=False))
    out = {}
    for size in sizes:
        body = vocab.detokenize(tokens[: max(1, size - tail)]).decode("utf-8", "ignore")
        out[size] = f"{body}\n\n{QUESTION}"
    vocab.close()
    return out


def first_byte_s(command: list[str], text: str, env: dict[str, str]) -> float:
    """Seconds from spawning ``command`` (``text`` on stdin) to its first stdout byte."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env, cwd=REPO,
    )  # fmt: skip
    assert process.stdin and process.stdout and process.stderr
    process.stdin.write(text.encode())
    process.stdin.close()
    first = None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.perf_counter() - started < TIMEOUT_S:
            if not selector.select(timeout=1.0):
                continue
            if os.read(process.stdout.fileno(), 65536):
                first = time.perf_counter() - started
            break
    if first is None:
        process.kill()
    process.wait(TIMEOUT_S)
    error = process.stderr.read().decode(errors="replace")
    process.stdout.close()
    process.stderr.close()
    if first is None:
        raise RuntimeError(f"{command[0]}: no answer ({error.strip()[-300:]})")
    return first


def commands(model: Path, home: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """path -> (command, environment)."""
    base = dict(os.environ)
    base.pop("OLLAMA_HOST", None)
    raw = [sys.executable, "-c", RAW_SCRIPT, str(model), str(N_CTX), str(MAX_TOKENS)]
    ask = [sys.executable, "-m", "offyai_tui", "--engine", "llamacpp", "ask",
           "--max-tokens", str(MAX_TOKENS), "--temperature", "0"]  # fmt: skip
    paths = {"raw": (raw, base)}
    for name, batch in (("offyai", 0), ("offyai_1t", 1)):
        own = home / name
        (own / "config").mkdir(parents=True, exist_ok=True)
        (own / "config" / "config.toml").write_text(
            f"[llamacpp]\nn_ctx = {N_CTX}\nn_threads_batch = {batch}\n"
        )
        paths[name] = (ask, {**base, "OFFYAI_HOME": str(own)})
    return paths


def measure(sizes: list[int], rounds: int, one_thread: bool) -> dict[str, Any]:
    model = bundled.smollm2_path()
    texts = prompts(sizes, model)
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="offyai-ttft-") as tmp:
        every = commands(model, Path(tmp))
        names = ["raw", "offyai"] + (["offyai_1t"] if one_thread else [])
        results: dict[str, Any] = {}
        for size in sizes:
            runs: dict[str, list[float]] = {name: [] for name in names}
            for i in range(rounds):
                order = names[i % len(names):] + names[: i % len(names)]
                for name in order:
                    command, env = every[name]
                    runs[name].append(first_byte_s(command, texts[size], env))
            row: dict[str, Any] = {"raw_s": round(median(runs["raw"]), 3)}
            for name in names[1:]:
                ratios = [t / r for t, r in zip(runs[name], runs["raw"])]
                row[name] = {"ttft_s": round(median(runs[name]), 3),
                             "ratio": round(median(ratios), 3),
                             "runs_s": [round(t, 3) for t in runs[name]]}
            row["raw_runs_s"] = [round(t, 3) for t in runs["raw"]]
            results[str(size)] = row
            print(f"  {size:>5} tokens: raw {row['raw_s']:.2f} s, "
                  + ", ".join(f"{n} {row[n]['ttft_s']:.2f} s (x{row[n]['ratio']:.3f})"
                              for n in names[1:]), file=sys.stderr, flush=True)
    target = results.get(str(TARGET_SIZE), {}).get("offyai", {}).get("ratio")
    return {
        "sizes": results,
        "load_avg_before": load_before,
        "rounds": rounds,
        "target_ratio": TARGET_RATIO,
        "target_ok": None if target is None else target <= TARGET_RATIO,
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--one-thread", action="store_true",
                        help="also run offyai with one prompt thread")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with isolated_home():
        result = measure(args.sizes, args.rounds, args.one_thread)
    record("ttft", result)
    if args.json:
        emit_json(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
