"""The llama.cpp worker: the only process that imports llama-cpp-python.

Run as ``python -m offyai_tui.engines.llamacpp_worker`` by
:mod:`offyai_tui.engines.llamacpp_client`. Native code that crashes takes only
this process down, and everything llama.cpp prints lands in the log file the
parent gave us as stderr, never on the user's terminal.

Protocol: one JSON object per line. Requests arrive on stdin
(``{"op": "chat" | "embed" | "tokens" | "load" | "unload" | "status" | "cancel", "id": N, ...}``);
replies go out on a private copy of the original stdout, whose descriptor 1 is
then pointed at the log so a stray ``print`` cannot corrupt the stream. Requests
run one at a time on the main thread; a reader thread handles ``cancel`` and
``status`` at once, so a cancel reaches a generation that is busy.

A cancel sets one flag. The sampler checks it between tokens, and llama.cpp's
abort callback checks it between graph nodes inside every decode, so a stop
lands within milliseconds even in the middle of a long prompt or on a CPU so
busy that one token takes longer than the stop budget.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

VOCAB_CACHE = 2
"""Tokenizer-only models kept for ``tokens`` requests."""


class Cancelled(Exception):
    """The parent asked to stop the running request."""


class CancelFlag:
    """A cancel flag that native code can read without calling into Python.

    The byte buffer is what llama.cpp's abort callback reads: the callback is
    C's ``strlen`` on a two-byte buffer, which returns 1 once the first byte is
    set and 0 otherwise. That makes the check free (it runs once per graph node)
    and keeps it off the GIL. Where ``strlen`` cannot be found a Python callback
    is used instead, armed only around multi-token work.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.buffer = ctypes.create_string_buffer(2)

    def set(self) -> None:
        self.buffer[0] = b"\x01"
        self._event.set()

    def clear(self) -> None:
        self.buffer[0] = b"\x00"
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    @property
    def address(self) -> ctypes.c_void_p:
        return ctypes.cast(self.buffer, ctypes.c_void_p)


def native_flag_reader(llama_cpp: Any) -> Any:
    """``strlen`` as a ``ggml_abort_callback``, or ``None`` if libc is out of reach."""
    try:
        libc = ctypes.CDLL(None) if os.name == "posix" else ctypes.cdll.msvcrt
        address = ctypes.cast(libc.strlen, ctypes.c_void_p).value
    except (OSError, AttributeError):
        return None
    return llama_cpp.ggml_abort_callback(address) if address else None


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
    keep_alive: float
    """Seconds to stay loaded after the last use; negative means until asked."""
    size_bytes: int
    last_used: float = 0.0

    def expires(self) -> float | None:
        return None if self.keep_alive < 0 else self.last_used + self.keep_alive


def make_llama_class(llama_cpp: Any) -> type:
    """A ``Llama`` that counts its tokens, times the first one and obeys a cancel flag.

    Built after the import so that importing this module never loads llama.cpp.
    """
    native_reader = native_flag_reader(llama_cpp)

    class WorkerLlama(llama_cpp.Llama):  # type: ignore[misc, name-defined]
        def __init__(self, *args: Any, cancel: CancelFlag, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._cancel_flag = cancel
            self._always_armed = native_reader is not None
            if native_reader is not None:
                self._abort_cb = native_reader
                llama_cpp.llama_set_abort_callback(self._ctx.ctx, native_reader, cancel.address)
            else:
                self._abort_cb = llama_cpp.ggml_abort_callback(lambda _data: cancel.is_set())
            self._no_abort_cb = llama_cpp.ggml_abort_callback()
            self.reset_counters()

        def reset_counters(self) -> None:
            self.prompt_tokens = 0
            self.sampled: list[int] = []
            self.first_token_at = 0.0
            self.last_token_at = 0.0

        def is_eog(self, token: int) -> bool:
            return bool(llama_cpp.llama_vocab_is_eog(self._model.vocab, token))

        @contextlib.contextmanager
        def abortable(self, arm: bool = True):
            """Turn an aborted decode into :class:`Cancelled`.

            With the Python fallback the callback is armed only here (``arm``),
            since it would cost a Python call per graph node while decoding.
            """
            arm = arm and not self._always_armed
            ctx = self._ctx.ctx
            if arm:
                llama_cpp.llama_set_abort_callback(ctx, self._abort_cb, None)
            try:
                yield
            except RuntimeError:
                if self._cancel_flag.is_set():
                    raise Cancelled from None
                raise
            finally:
                if arm:
                    llama_cpp.llama_set_abort_callback(ctx, self._no_abort_cb, None)

        def eval(self, tokens: Any) -> None:
            if self._cancel_flag.is_set():
                raise Cancelled
            with self.abortable(arm=len(tokens) > 1):
                super().eval(tokens)

        def sample(self, *args: Any, **kwargs: Any) -> int:
            if self._cancel_flag.is_set():
                raise Cancelled
            token = super().sample(*args, **kwargs)
            now = time.perf_counter()
            if not self.sampled:
                self.prompt_tokens = self.n_tokens
                self.first_token_at = now
            self.sampled.append(token)
            self.last_token_at = now
            return token

    return WorkerLlama


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
        params = dict(request.get("params") or {})
        llm.reset_counters()
        started = time.perf_counter()
        stream = llm.create_chat_completion(messages=request["messages"], stream=True, **params)
        finish = "stop"
        try:
            for chunk in stream:
                choice = chunk["choices"][0]
                text = (choice.get("delta") or {}).get("content")
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
        if held is not None:
            if (held.path, held.n_ctx, held.chat_format) == (spec["path"], n_ctx, chat_format):
                held.keep_alive = keep_alive
                held.name = spec.get("name", held.name)
                return held
            self._drop(slot)
        kwargs: dict[str, Any] = {"verbose": False}
        if slot.startswith("vocab:"):
            kwargs["vocab_only"] = True
        else:
            threads = int(spec.get("n_threads") or 1)
            kwargs.update(n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads)
            if slot == "embed":
                kwargs.update(embedding=True, n_batch=n_ctx, n_ubatch=n_ctx)
            elif chat_format:
                kwargs["chat_format"] = chat_format
        try:
            llm = self.llama_class(spec["path"], cancel=self.cancel, **kwargs)
        except (ValueError, RuntimeError, OSError) as exc:
            raise _LoadFailed(str(exc) or type(exc).__name__) from None
        size = os.path.getsize(spec["path"])
        loaded = Loaded(
            slot,
            spec.get("name", ""),
            spec["path"],
            llm,
            n_ctx,
            chat_format,
            keep_alive,
            size,
            time.monotonic(),
        )
        with self.state:
            self.models[slot] = loaded
        return loaded

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
                    "expires_at": None if deadline is None else now_wall + (deadline - now),
                }
            )
        return {"loaded": listing, "busy": busy is not None}


class _LoadFailed(Exception):
    """llama.cpp refused the model file."""


def main() -> int:
    protocol_fd = os.dup(1)
    os.dup2(2, 1)  # anything printed now goes to the log, not into the protocol
    with contextlib.suppress(AttributeError, ValueError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C belongs to the parent
    channel = Channel(protocol_fd)
    try:
        import llama_cpp
    except Exception as exc:  # a missing or broken build: say so, then leave
        channel.send(ev="fatal", message=f"llama-cpp-python cannot be imported: {exc}")
        return 3
    worker = Worker(channel, llama_cpp)
    channel.send(ev="hello", pid=os.getpid(), version=getattr(llama_cpp, "__version__", ""))
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
