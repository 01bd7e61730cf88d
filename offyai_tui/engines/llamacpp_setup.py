"""How the llama.cpp worker sets a model up: threads, KV cache, chat format, sampling.

Worker-side helpers, split from :mod:`offyai_tui.engines.llamacpp_worker` so that
module stays about the protocol. Each function takes the imported ``llama_cpp``
module instead of importing it, so importing this file never loads llama.cpp.

Threads: prompt processing (``n_threads_batch``) runs on every physical core: it
is one large matrix product per batch and scales (SmolLM2: 145 tok/s on one
thread, 277 on two). Generation keeps fewer threads (``n_threads``): its threads
meet at a barrier every token, and the UI renders on the remaining core. Threads
waiting at a barrier sleep soon instead of spinning (:func:`quiet_barriers`), so
a core another program holds slows the prompt down rather than stalling it.

KV cache: ``f16`` (llama.cpp's default), ``q8_0`` (about half) or ``q4_0``
(about a quarter). A quantized V cache needs flash attention, so ``auto`` turns
flash attention on exactly then. If the build refuses the combination, the
model is loaded with the defaults and the effective parameters say so.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Iterator, MutableMapping
from typing import Any

from offyai_tui.engines.chat_format import format_for_architecture

KV_CACHE_TYPES = ("f16", "q8_0", "q4_0")

_SPECIAL_TOKEN_FORMATS = (
    ("<|im_start|>", "chatml"),
    ("<start_of_turn>", "gemma"),
    ("<|start_header_id|>", "llama-3"),
)
"""A template-less GGUF's named format, from the turn markers its vocabulary has:
the architecture alone is a poor guess (SmolLM2 is ``llama`` but speaks ChatML)."""

_PROBE_MESSAGES = [
    {"role": "system", "content": "s"},
    {"role": "user", "content": "u"},
    {"role": "assistant", "content": "a"},
    {"role": "user", "content": "u"},
]
"""A conversation the embedded template must render before it is trusted."""


def flash_wanted(kv_type: str, flash: str) -> bool:
    """Whether to ask for flash attention (``auto``: only where a quantized cache needs it)."""
    if flash == "on":
        return True
    if flash == "off":
        return False
    return kv_type != "f16"


def load_kwargs(spec: dict[str, Any], llama_cpp: Any) -> dict[str, Any]:
    """``Llama(...)`` keywords for a chat or embedding model from the parent's spec."""
    threads = max(1, int(spec.get("n_threads") or 1))
    batch = max(threads, int(spec.get("n_threads_batch") or threads))
    kwargs: dict[str, Any] = {
        "n_ctx": int(spec.get("n_ctx") or 0),
        "n_threads": threads,
        "n_threads_batch": batch,
    }
    kv_type = str(spec.get("kv_cache_type") or "f16")
    if kv_type in KV_CACHE_TYPES and kv_type != "f16":
        ggml = getattr(llama_cpp, f"GGML_TYPE_{kv_type.upper()}")
        kwargs.update(type_k=ggml, type_v=ggml)
    if flash_wanted(kv_type, str(spec.get("flash_attention") or "auto")):
        kwargs["flash_attn"] = True
    return kwargs


def fallback_kwargs(kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The same keywords with llama.cpp's default cache, or ``None`` if already so."""
    plain = {k: v for k, v in kwargs.items() if k not in ("type_k", "type_v", "flash_attn")}
    return None if plain == kwargs else plain


def effective(llm: Any, llama_cpp: Any) -> dict[str, Any]:
    """What llama.cpp was really given, read back from the context (tests check it)."""
    params = llm.context_params
    types = ("f16", "f32", "q8_0", "q4_0", "bf16")
    names = {getattr(llama_cpp, f"GGML_TYPE_{t.upper()}", t): t for t in types}
    flash_names = {
        llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED: "on",
        llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED: "off",
        llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO: "auto",
    }
    return {
        "n_ctx": int(llama_cpp.llama_n_ctx(llm._ctx.ctx)),
        "n_threads": int(params.n_threads),
        "n_threads_batch": int(params.n_threads_batch),
        "kv_cache_type_k": names.get(params.type_k, str(params.type_k)),
        "kv_cache_type_v": names.get(params.type_v, str(params.type_v)),
        "flash_attention": flash_names.get(params.flash_attn_type, str(params.flash_attn_type)),
    }


def settle_chat_format(
    llm: Any, requested: str | None, architecture: str
) -> tuple[str | None, str]:
    """Use the GGUF's template when it renders, else a named format; returns ``(name, how)``.

    ``name`` is ``None`` when the embedded template drives the model (what
    :func:`~offyai_tui.engines.chat_format.fold_system_messages` needs to know).
    A template that raises on an ordinary conversation (unsupported Jinja, a
    ``raise_exception`` for system turns) would fail every answer, so it is
    replaced by the named format the vocabulary's turn markers point to.
    """
    template = (llm.metadata or {}).get("tokenizer.chat_template")
    if requested is None and template:
        try:
            file_formatter(llm, template)(messages=[dict(m) for m in _PROBE_MESSAGES])
        except Exception as exc:
            name = named_format(llm, architecture)
            _force_format(llm, name)
            return name, f"{name} (the model file's template failed: {one_line(exc)})"
        return None, "the model file's template"
    name = named_format(llm, architecture, requested)
    _force_format(llm, name)
    return name, f"{name} (the model file has no template)"


def named_format(llm: Any, architecture: str, requested: str | None = None) -> str:
    """The named format for a model without a usable template."""
    for marker, name in _SPECIAL_TOKEN_FORMATS:
        with contextlib.suppress(Exception):
            if len(llm.tokenize(marker.encode(), add_bos=False, special=True)) == 1:
                return name
    return requested or format_for_architecture(architecture)


def file_formatter(llm: Any, template: str, *, stop_at_eos: bool = False) -> Any:
    """llama-cpp-python's formatter for the model file's ``template``, with the file's own
    end and start token texts (as ``Llama`` builds it); ``stop_at_eos`` also stops on the
    end token's id, for a completion that is not a chat completion."""
    from llama_cpp import llama_chat_format

    eos_id, bos_id = llm.token_eos(), llm.token_bos()
    eos = llm._model.token_get_text(eos_id) if eos_id != -1 else ""
    bos = llm._model.token_get_text(bos_id) if bos_id != -1 else ""
    stop_ids = [eos_id] if stop_at_eos and eos_id != -1 else None
    return llama_chat_format.Jinja2ChatFormatter(template, eos, bos, stop_token_ids=stop_ids)


def opens_thinking(llm: Any, messages: list[dict[str, Any]], variables: dict[str, Any]) -> bool:
    """True when the prompt itself opens a ``<think>`` block (DeepSeek-R1's template
    does), so the model writes only the reasoning and its closing tag."""
    template = (llm.metadata or {}).get("tokenizer.chat_template") or ""
    if "<think>" not in template and "<thinking>" not in template:
        return False
    from llama_cpp import llama_chat_format

    try:
        prompt = llama_chat_format.Jinja2ChatFormatter(template, "", "")(
            messages=messages, **variables
        ).prompt
    except Exception:
        return False  # the answer's own rendering reports a broken template
    return prompt.rstrip().endswith(("<think>", "<thinking>"))


@contextlib.contextmanager
def template_variables(llm: Any, variables: dict[str, Any]) -> Iterator[None]:
    """Render the model file's chat template with ``variables`` for one request.

    ``create_chat_completion`` takes no template variables, but the handler it
    calls passes extra keywords through to the template; the handler is
    wrapped for the call and put back after (the prompt is rendered before the
    call returns its stream).
    """
    handler = llm.chat_handler or llm._chat_handlers.get(llm.chat_format)
    if not variables or handler is None:
        yield
        return
    saved = llm.chat_handler
    llm.chat_handler = functools.partial(handler, **variables)
    try:
        yield
    finally:
        llm.chat_handler = saved


def _force_format(llm: Any, name: str) -> None:
    llm.chat_handler = None
    llm.chat_format = name


def apply_request(
    llm: Any, values: dict[str, Any], defaults: dict[str, int], llama_cpp: Any,
    batch_threads: int = 0,
) -> dict[str, int]:
    """Set what a request changes on the model itself; returns what was set.

    ``repeat_last_n`` is read by llama-cpp-python when it builds the sampler
    for a call (-1: the whole context, 0: off). ``num_thread`` sets the
    generation threads for this answer, ``batch_threads`` the prompt threads
    (the parent decides them per answer, from how busy the machine is).
    """
    n_ctx = int(llama_cpp.llama_n_ctx(llm._ctx.ctx))
    last_n = int(values.get("repeat_last_n", 64))
    llm.last_n_tokens_size = n_ctx if last_n < 0 else min(last_n, n_ctx)
    threads = int(values.get("num_thread") or defaults["n_threads"])
    threads = max(1, min(threads, os.cpu_count() or 1))  # more only crashes or slows it
    batch = max(threads, batch_threads or defaults["n_threads_batch"])
    batch = min(batch, os.cpu_count() or batch)
    llama_cpp.llama_set_n_threads(llm._ctx.ctx, threads, batch)
    return {"repeat_last_n": llm.last_n_tokens_size, "n_threads": threads,
            "n_threads_batch": batch}


def prompt_threads(cores: int, busy: float, logical: int | None = None) -> int:
    """Threads that read a prompt: the free physical cores, or every core when none is free.

    A thread that shares a core with another program runs at half speed, and the
    others wait for it at every barrier, so while some core is free the prompt
    keeps to the free ones (one busy task on two cores, 1,500 tokens: 11.5 s on
    one thread, 12-16 s on two). When every core is taken, each thread gets a
    fair share of one, so more threads get more of the machine: with the barrier
    wait of :func:`quiet_barriers`, two threads beat one there (median 10-20 s
    against 14-27 s). A core counts as free while less than a quarter of it is
    taken.
    """
    spare = (logical or os.cpu_count() or cores) - busy
    if spare < 0.25:
        return cores
    return max(1, min(cores, int(spare + 0.75)))


def busy_cores(samples: int = 5, interval: float = 0.004) -> float:
    """How many cores other tasks use right now: runnable tasks besides this one.

    Read from ``/proc/loadavg`` five times over ~20 ms. The 1-minute load average
    lags both ways: measured here, it chose two threads just after the machine got
    busy (x1.7-3.1 slower than one) and one thread while another program's burst
    was over (two would have read the prompt in 0.71 of the time). Where ``/proc``
    is missing, the average is all there is.
    """
    try:
        average = os.getloadavg()[0]
    except (OSError, AttributeError):  # pragma: no cover - Windows
        average = 0.0
    counts = []
    for _ in range(samples):
        try:
            with open("/proc/loadavg", encoding="ascii") as handle:
                running = int(handle.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return average
        counts.append(max(0, running - 1))  # the reading thread is one of them
        time.sleep(interval)
    return sum(counts) / len(counts)


def batch_threads_for(request: dict[str, Any], generation: int) -> int:
    """Prompt threads for one chat request: the parent's count (every physical core
    unless ``llamacpp.n_threads_batch`` says), less the cores busy right then when
    the count is automatic (:func:`prompt_threads`); never fewer than generation's.
    Short prompts too: 256 tokens read on two threads took 0.6-0.8 of one's time."""
    most = max(generation, int(request.get("n_threads_batch") or generation))
    if not request.get("adapt_threads"):
        return most
    return max(generation, prompt_threads(most, busy_cores()))


BARRIER_SPIN = "10000"
"""libgomp's spins before a waiting thread sleeps (its default: 300,000, milliseconds)."""


def quiet_barriers(environ: MutableMapping[str, str] | None = None) -> str:
    """Make llama.cpp's threads sleep, not spin, while a partner thread is off its core.

    llama.cpp (built with OpenMP, as llama-cpp-python builds it on Linux) meets
    all its threads at a barrier after every graph node, hundreds of times per
    batch. libgomp's waiting thread spins about 300,000 times before it sleeps:
    while another program holds the other core, the spinning thread burns the
    very time slice its partner needs, and every step waits for the scheduler.
    Measured on two cores kept busy by other processes (load 4-9), reading a
    1,500-token prompt took 23-32 s on two threads against 14-27 s on one; with
    ``GOMP_SPINCOUNT=10000`` (a fraction of a millisecond of spinning, enough for
    a barrier on a quiet machine) 10-20 s; its median beat one thread's in each
    of five interleaved sets, from one busy process to load 9. A value the user
    set (``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY``) is kept. Must run before
    llama.cpp is imported: libgomp reads its environment once, when it loads.
    Builds without OpenMP (ggml's own thread pool) ignore it.

    Returns:
        The spin count in force, for the effective parameters.
    """
    env = os.environ if environ is None else environ
    if "GOMP_SPINCOUNT" not in env and "OMP_WAIT_POLICY" not in env:
        env["GOMP_SPINCOUNT"] = BARRIER_SPIN
    return env.get("GOMP_SPINCOUNT") or f"OMP_WAIT_POLICY={env.get('OMP_WAIT_POLICY')}"


def one_line(exc: BaseException) -> str:
    """An exception as one short line for the user."""
    return " ".join(str(exc).split())[:120] or type(exc).__name__
