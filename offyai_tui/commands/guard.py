"""Guards for ``offyai ask``: checked options, any piped bytes, and a server that stalls.

A server can accept the connection and then say nothing. Before, ``ask`` waited
silently for two minutes; now the wait is visible (elapsed seconds on a
terminal, one line otherwise), bounded by ``chat.timeout`` / ``--timeout``,
and Ctrl+C ends it at once (the pending read is cancelled with the task).
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import AsyncIterator
from typing import Any, TextIO

from offyai_tui.chat.errors import ParameterError
from offyai_tui.chat.params import check_param
from offyai_tui.engines.base import ChatEvent, Engine
from offyai_tui.engines.errors import EngineError

SHOW_AFTER_S = 3.0
"""Silence before the wait is shown: a local model usually starts well within it."""
TICK_S = 1.0

_FLAGS = {"max_tokens": ("--max-tokens", "num_predict"), "temperature": ("--temperature",
          "temperature"), "seed": ("--seed", "seed")}


class NoAnswer(EngineError):
    """The engine said nothing for the whole timeout."""


def check_options(args: Any) -> None:
    """Refuse out-of-range ``ask`` options with one line (``ValueError``).

    The same ranges as ``/set parameter`` (a NaN or negative temperature and a
    negative ``--max-tokens`` used to reach the engine).
    """
    for attr, (flag, param) in _FLAGS.items():
        value = getattr(args, attr, None)
        if value is None:
            continue
        try:
            check_param(param, value)
        except ParameterError as exc:
            raise ValueError(str(exc).replace(param, flag, 1)) from None
    timeout = getattr(args, "timeout", None)
    if timeout is not None and (not math.isfinite(timeout) or timeout < 0):
        raise ValueError(f"--timeout must be 0 (no limit) or a number of seconds, got {timeout}")


def timeout_for(engine: Engine, flag: float | None, configured: float) -> float:
    """Seconds of silence ``ask`` accepts: ``--timeout``, else ``chat.timeout`` for a server.

    The embedded engine gets no limit unless ``--timeout`` is given: its silence
    is local work (a long piped prompt on a CPU can take minutes before the
    first token), not a server that accepted and went quiet. Its wait is still
    shown, and Ctrl+C still stops it at once.
    """
    if flag is not None:
        return flag
    return 0.0 if engine.kind == "llamacpp" else configured


def read_piped(stream: Any = None) -> tuple[str, str]:
    """All of piped stdin as text, and a note if it was not UTF-8.

    Bytes that are not UTF-8 are read as Windows-1252, else Latin-1 (as
    ``offyai index`` reads such files), so ``printf 'caf\\xe9' | offyai ask x``
    asks about "café" instead of failing with a codec error.

    Raises:
        ValueError: the input looks binary.
    """
    stream = stream if stream is not None else sys.stdin
    data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read()
    if isinstance(data, str):
        return data, ""
    if b"\x00" in data[:8192]:
        raise ValueError("piped input looks binary (it has NUL bytes); pipe text instead")
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "is not UTF-8; read as Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "is not UTF-8; read as Latin-1"


async def guarded(
    events: AsyncIterator[ChatEvent],
    engine: Engine,
    timeout: float,
    err: TextIO | None = None,
) -> AsyncIterator[ChatEvent]:
    """Pass ``events`` on; show the wait before the first one, give up after ``timeout``.

    ``timeout`` is seconds without any event (0: no limit). The elapsed time is
    shown only until the first event, so it never mixes with the answer.

    Raises:
        NoAnswer: nothing arrived for ``timeout`` seconds.
    """
    err = err if err is not None else sys.stderr
    tty = err.isatty()
    local = engine.endpoint in ("", "local")
    where = engine.label if local else f"{engine.label} at {engine.endpoint}"
    loop = asyncio.get_running_loop()
    iterator = events.__aiter__()
    started = last = loop.time()
    first, said, shown = True, False, False
    try:
        while True:
            pending = asyncio.ensure_future(iterator.__anext__())
            try:
                while not pending.done():
                    await asyncio.wait({pending}, timeout=TICK_S)
                    now = loop.time()
                    if pending.done():
                        break
                    if timeout and now - last >= timeout:
                        raise NoAnswer(
                            f"no answer from {where} in {timeout:g} s; giving up "
                            "(chat.timeout in config, or --timeout SECONDS; 0 waits forever)"
                        )
                    if first and now - started >= SHOW_AFTER_S:
                        if tty:
                            limit = f", gives up at {timeout:g} s" if timeout else ""
                            err.write(f"\r\x1b[2Kwaiting for {where}: {now - started:.0f} s"
                                      f"{limit} (Ctrl+C stops)")
                            err.flush()
                            shown = True
                        elif not said:
                            limit = f"; giving up after {timeout:g} s" if timeout else ""
                            err.write(f"offyai: waiting for {where}: no answer after "
                                      f"{SHOW_AFTER_S:g} s{limit}\n")
                            err.flush()
                            said = True
            finally:
                if not pending.done():
                    pending.cancel()
                    await asyncio.gather(pending, return_exceptions=True)
            if shown:
                err.write("\r\x1b[2K")
                err.flush()
                shown = False
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            first, last = False, loop.time()
            yield event
    finally:
        if shown:
            err.write("\r\x1b[2K")
            err.flush()
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            await asyncio.gather(closer(), return_exceptions=True)
