"""The llama.cpp worker: the only process that imports llama-cpp-python.

Run as ``python -m offyai_tui.engines.llamacpp_worker`` by
:mod:`offyai_tui.engines.llamacpp_client`. Native code that crashes takes only
this process down, and everything llama.cpp prints lands in the log file the
parent gave us as stderr, never on the user's terminal.

Protocol: one JSON object per line. Requests arrive on stdin
(``{"op": "chat" | "embed" | "tokens" | "load" | "unload" | "status" | "cancel", "id": N, ...}``);
replies go out on a private copy of the original stdout, whose descriptor 1 is
then pointed at the log so a stray ``print`` cannot corrupt the stream. A chat
answers with ``delta`` lines and one final line; before them, ``thinking_open`` when
the rendered prompt ends inside a ``<think>`` block (the model writes only its end). Requests
run one at a time on the main thread; a reader thread handles ``cancel`` and
``status`` at once, so a cancel reaches a generation that is busy.

A cancel sets one flag. The sampler checks it between tokens, and llama.cpp's
abort callback checks it between graph nodes inside every decode, so a stop
lands within milliseconds even in the middle of a long prompt or on a CPU so
busy that one token takes longer than the stop budget.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from offyai_tui.engines import llamacpp_setup as setup
from offyai_tui.engines.chat_format import fold_system_messages
from offyai_tui.engines.llamacpp_continue import CannotContinue, continue_prompt, is_continue
from offyai_tui.engines.llamacpp_llama import CancelFlag, Cancelled, make_llama_class
from offyai_tui.engines.llamacpp_vision import forget_images, projector_handler
from offyai_tui.engines.sampling import llama_kwargs

VOCAB_CACHE = 2
"""Tokenizer-only models kept for ``tokens`` requests."""


class Channel:
    """Writes reply lines; a vanished parent turns into a quiet shutdown."""

    def __init__(self, fd: int) -> None:
        self._out = os.fdopen(fd, "wb")
        self._lock = threading.Lock()
        self.closed = False

    def send(self, **message: Any) -> None:
        line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            if self.closed:
                return
            try:
                self._out.write(line)
                self._out.flush()
            except OSError:
                self.closed = True


@dataclass
class Loaded:
    """A model held by this worker."""

    slot: str
    name: str
    path: str
    llm: Any
    n_ctx: int
    chat_format: str | None
    """The named format in use, ``None`` when the model file's template drives it."""
    keep_alive: float
    """Seconds to stay loaded after the last use; negative means until asked."""
    size_bytes: int
    last_used: float = 0.0
    key: tuple[Any, ...] = ()
    """What it was loaded with; a request asking for something else reloads it."""
    effective: dict[str, Any] = field(default_factory=dict)
    """What llama.cpp was really given (:func:`llamacpp_setup.effective`)."""

    def expires(self) -> float | None:
        return None if self.keep_alive < 0 else self.last_used + self.keep_alive


class Worker:
    """Serves requests from the parent until stdin closes."""

    def __init__(self, channel: Channel, llama_cpp: Any) -> None:
        self.out = channel
        self.llama_cpp = llama_cpp
        self.llama_class = make_llama_class(llama_cpp)
        self.requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.cancel = CancelFlag()
        self.state = threading.Lock()
        self.current: Any = None
        self.cancelled_ids: set[Any] = set()
        self.models: dict[str, Loaded] = {}
        self.barrier_spin = ""
        """How long llama.cpp's threads spin at a barrier (:func:`.setup.quiet_barriers`)."""

    # -- threads ---------------------------------------------------------------

    def run(self) -> None:
        threading.Thread(target=self._read_commands, name="commands", daemon=True).start()
        while True:
            try:
                request = self.requests.get(timeout=self._idle_timeout())
            except queue.Empty:
                self._expire()
                continue
            if request is None or self.out.closed:
                break
            self._serve(request)
        self.models.clear()

    def _read_commands(self) -> None:
        stdin = sys.stdin.buffer
        while line := stdin.readline():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            op = message.get("op")
            if op == "cancel":
                self._cancel(message.get("id"))
            elif op == "status":
                self.out.send(id=message.get("id"), ev="result", value=self._status())
            else:
                self.requests.put(message)
        self.cancel.set()  # the parent is gone: stop whatever runs, then exit
        self.requests.put(None)

    def _cancel(self, request_id: Any) -> None:
        """Stop the running request, or drop a queued one and confirm at once.

        Confirming a queued request right away matters: the parent kills a
        worker that does not confirm quickly, which would also end the request
        that is running ahead of it.
        """
        with self.state:
            if request_id == self.current:
                self.cancel.set()
                return
            self.cancelled_ids.add(request_id)
        self.out.send(id=request_id, ev="cancelled")

    def _idle_timeout(self) -> float | None:
        deadlines = [d for d in (m.expires() for m in self.models.values()) if d is not None]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    def _expire(self) -> None:
        now = time.monotonic()
        for slot, model in list(self.models.items()):
            deadline = model.expires()
            if deadline is not None and deadline <= now:
                self._drop(slot)

    # -- requests --------------------------------------------------------------

    def _serve(self, request: dict[str, Any]) -> None:
        request_id = request.get("id")
        with self.state:
            if request_id in self.cancelled_ids:  # already confirmed by _cancel
                self.cancelled_ids.discard(request_id)
                return
            self.current = request_id
            self.cancel.clear()
        handler = {
            "chat": self._chat,
            "embed": self._embed,
            "tokens": self._tokens,
            "unload": self._unload,
            "load": self._load,
        }.get(str(request.get("op")))
        try:
            if handler is None:
                raise ValueError(f"unknown request {request.get('op')!r}")
            handler(request)
        except Cancelled:
            self.out.send(id=request_id, ev="cancelled")
        except _LoadFailed as exc:
            self.out.send(id=request_id, ev="error", kind="load", message=str(exc))
        except CannotContinue as exc:
            self.out.send(id=request_id, ev="error", kind="unsupported", message=str(exc))
        except Exception as exc:
            if self.cancel.is_set():
                self.out.send(id=request_id, ev="cancelled")
            else:
                kind = "context" if "exceed context window" in str(exc) else "error"
                message = str(exc) or type(exc).__name__
                self.out.send(id=request_id, ev="error", kind=kind, message=message)
        finally:
            with self.state:
                self.current = None
                self.cancel.clear()

    def _chat(self, request: dict[str, Any]) -> None:
        model = self._model("chat", request["model"])
        llm = model.llm
        values = dict(request.get("params") or {})
        generation = int(values.get("num_thread") or model.effective["n_threads"])
        batch = setup.batch_threads_for(request, generation)
        applied = setup.apply_request(llm, values, model.effective, self.llama_cpp, batch)
        params = llama_kwargs(values)
        messages = fold_system_messages(request["messages"], model.chat_format)
        variables = dict(request.get("template_variables") or {})
        continuing = is_continue(messages)  # the last message is a partial answer to grow
        if model.chat_format is not None:
            variables = {}  # a named format has no template to take them
        elif not continuing and setup.opens_thinking(llm, messages, variables):
            self.out.send(id=request["id"], ev="thinking_open")
        llm.reset_counters()
        started = time.perf_counter()
        if continuing:  # llamacpp_continue: the prompt ends in the partial text
            forget_images(llm)  # llamacpp_vision: an image turn's cache is not reused
            grow = continue_prompt(llm, messages, model.chat_format, variables)
            stream = llm.create_completion(grow.tokens, stream=True, **{
                **params, "stop": [*params.get("stop", []), *grow.stop],
                "stopping_criteria": grow.stopping_criteria})
        else:  # with images, through the projector beside the model (llamacpp_vision)
            vision = projector_handler(llm, request.get("mmproj"), model.chat_format)
            with vision, setup.template_variables(llm, variables):
                stream = llm.create_chat_completion(messages=messages, stream=True, **params)
        finish = "stop"
        try:
            for chunk in stream:
                choice = chunk["choices"][0]
                text = choice.get("text") or (choice.get("delta") or {}).get("content")
                if text:
                    self.out.send(id=request["id"], ev="delta", text=text)
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
                if self.cancel.is_set():
                    raise Cancelled
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
            model.last_used = time.monotonic()
        sampled = llm.sampled
        completion = len(sampled) - (1 if sampled and llm.is_eog(sampled[-1]) else 0)
        self.out.send(
            id=request["id"],
            ev="done",
            stats={
                "prompt_tokens": llm.prompt_tokens,
                "completion_tokens": completion,
                "sampled": len(sampled),
                "first_token_s": (llm.first_token_at - started) if sampled else 0.0,
                "decode_s": (llm.last_token_at - llm.first_token_at) if sampled else 0.0,
                "total_s": time.perf_counter() - started,
                "finish": finish,
                "limit": _limit(finish, params, llm.prompt_tokens + len(sampled), model.n_ctx),
                "effective": {**model.effective, **applied, "sampling": params},
            },
        )
        self._after_use("chat")

    def _embed(self, request: dict[str, Any]) -> None:
        model = self._model("embed", request["model"])
        vectors = []
        for text in request.get("texts") or []:
            if self.cancel.is_set():
                raise Cancelled
            with model.llm.abortable():
                vectors.append(list(model.llm.embed([str(text)], normalize=True)[0]))
        model.last_used = time.monotonic()
        self.out.send(id=request["id"], ev="result", value=vectors)
        self._after_use("embed")

    def _tokens(self, request: dict[str, Any]) -> None:
        spec = request["model"]
        model = next((m for m in self.models.values() if m.path == spec["path"]), None)
        if model is None:
            model = self._model(f"vocab:{spec['path']}", spec)
            vocab = [slot for slot in self.models if slot.startswith("vocab:")]
            for slot in vocab[:-VOCAB_CACHE]:
                self._drop(slot)
        model.last_used = time.monotonic()
        text = str(request.get("text", "")).encode("utf-8")
        count = len(model.llm.tokenize(text, add_bos=False, special=False))
        self.out.send(id=request["id"], ev="result", value=count)

    def _load(self, request: dict[str, Any]) -> None:
        slot = "embed" if request.get("slot") == "embed" else "chat"
        model = self._model(slot, request["model"])
        model.last_used = time.monotonic()
        self.out.send(id=request["id"], ev="result", value=model.name)

    def _unload(self, request: dict[str, Any]) -> None:
        name = request.get("name")
        dropped = []
        for slot, model in list(self.models.items()):
            if name in (None, model.name, model.path):
                dropped.append(model.name)
                self._drop(slot)
        self.out.send(id=request["id"], ev="result", value=sorted(set(dropped)))

    # -- models ----------------------------------------------------------------

    def _model(self, slot: str, spec: dict[str, Any]) -> Loaded:
        """The model for ``slot``, loaded (or reloaded with new settings) if needed."""
        held = self.models.get(slot)
        n_ctx = int(spec.get("n_ctx") or 0)
        chat_format = spec.get("chat_format")
        keep_alive = float(spec.get("keep_alive", 300.0))
        key = tuple(spec.get(k) for k in ("path", "n_ctx", "chat_format", "n_threads",
                                          "kv_cache_type", "flash_attention"))
        if held is not None:
            if held.key == key:
                held.keep_alive = keep_alive
                held.name = spec.get("name", held.name)
                return held
            self._drop(slot)
        kwargs: dict[str, Any] = {"verbose": False}
        if slot.startswith("vocab:"):
            kwargs["vocab_only"] = True
        else:
            kwargs.update(setup.load_kwargs(spec, self.llama_cpp))
            if slot == "embed":
                kwargs.update(embedding=True, n_batch=n_ctx, n_ubatch=n_ctx)
            elif chat_format:
                kwargs["chat_format"] = chat_format
        llm, note = self._construct(spec["path"], kwargs)
        effective: dict[str, Any] = {}
        if not slot.startswith("vocab:"):
            effective = setup.effective(llm, self.llama_cpp)
            effective["barrier_spin"] = self.barrier_spin
            effective["notes"] = [note] if note else []
        if slot == "chat":
            arch = str(spec.get("architecture") or "")
            chat_format, how = setup.settle_chat_format(llm, chat_format, arch)
            effective["chat_format"] = how
        size = os.path.getsize(spec["path"])
        loaded = Loaded(
            slot, spec.get("name", ""), spec["path"], llm, n_ctx, chat_format, keep_alive,
            size, time.monotonic(), key, effective,
        )  # fmt: skip
        with self.state:
            self.models[slot] = loaded
        return loaded

    def _construct(self, path: str, kwargs: dict[str, Any]) -> tuple[Any, str]:
        """Load; a KV cache type or flash attention the build refuses falls back to the
        defaults (with a note) rather than leaving the user without a model."""
        try:
            return self.llama_class(path, cancel=self.cancel, **kwargs), ""
        except (ValueError, RuntimeError, OSError) as exc:
            plain = setup.fallback_kwargs(kwargs)
            first = str(exc) or type(exc).__name__
            if plain is None:
                raise _LoadFailed(first) from None
        try:
            llm = self.llama_class(path, cancel=self.cancel, **plain)
        except (ValueError, RuntimeError, OSError) as exc:
            raise _LoadFailed(str(exc) or type(exc).__name__) from None
        return llm, f"this llama.cpp build refused the KV cache options ({first}); using f16"

    def _after_use(self, slot: str) -> None:
        model = self.models.get(slot)
        if model is not None and model.keep_alive == 0:
            self._drop(slot)

    def _drop(self, slot: str) -> None:
        with self.state:
            model = self.models.pop(slot, None)
        if model is not None:
            with contextlib.suppress(Exception):
                model.llm.close()

    def _status(self) -> dict[str, Any]:
        now_wall, now = time.time(), time.monotonic()
        with self.state:
            models = list(self.models.values())
            busy = self.current
        listing = []
        for model in models:
            if model.slot.startswith("vocab:"):
                continue
            deadline = model.expires()
            listing.append(
                {
                    "name": model.name,
                    "path": model.path,
                    "slot": model.slot,
                    "size_bytes": model.size_bytes,
                    "n_ctx": model.n_ctx,
                    "effective": model.effective,
                    "expires_at": None if deadline is None else now_wall + (deadline - now),
                }
            )
        return {"loaded": listing, "busy": busy is not None}


def _limit(finish: str, params: dict[str, Any], used: int, n_ctx: int) -> str:
    """What a ``length`` finish ran into: ``context`` (the window) or ``num_predict``."""
    if finish != "length":
        return ""
    asked = params.get("max_tokens")
    return "context" if asked is None or used >= n_ctx - 1 else "num_predict"


class _LoadFailed(Exception):
    """llama.cpp refused the model file."""


def main() -> int:
    protocol_fd = os.dup(1)
    os.dup2(2, 1)  # anything printed now goes to the log, not into the protocol
    with contextlib.suppress(AttributeError, ValueError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C belongs to the parent
    channel = Channel(protocol_fd)
    barrier_spin = setup.quiet_barriers()  # before llama.cpp (and libgomp) load
    try:
        import llama_cpp
    except Exception as exc:  # a missing or broken build: say so, then leave
        channel.send(ev="fatal", message=f"llama-cpp-python cannot be imported: {exc}")
        return 3
    worker = Worker(channel, llama_cpp)
    worker.barrier_spin = barrier_spin
    channel.send(ev="hello", pid=os.getpid(), version=getattr(llama_cpp, "__version__", ""))
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
