"""The ``Llama`` the worker runs: counts its tokens, times the first one, obeys a cancel.

Split from :mod:`offyai_tui.engines.llamacpp_worker`. A cancel sets one flag. The
sampler checks it between tokens, and llama.cpp's abort callback checks it between
graph nodes inside every decode, so a stop lands within milliseconds even in the
middle of a long prompt.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
import time
from typing import Any


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
