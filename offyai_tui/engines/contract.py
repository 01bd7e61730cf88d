"""The engine contract as a kit: checks any engine, built in or a plugin, must pass.

Every check is a plain ``async`` function that takes a ready engine and raises
:class:`ContractViolation` (an ``AssertionError``) with a sentence saying what
broke; none needs pytest. The built-ins run them in ``tests/engines/test_contract.py``;
a plugin author runs them in their own tests::

    @pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
    async def test_contract(check):
        engine = EchoEngine({"greeting": "Hi"})
        try:
            await check(engine)
        finally:
            await engine.aclose()

or against an installed engine with its ``[engines.NAME]`` table from config.toml,
without writing a test::

    python -m offyai_tui.engines.contract NAME

Why these checks: the app relies on each of them. A stream that ends without
exactly one ``Done`` or ``ErrorEvent`` leaves an answer "Thinking…" forever; an
unknown model must list what is installed so the user can pick; a stream closed
early must leave the engine usable for the next send; a refusal must be one
line (it is shown in a status bar and on stderr).
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from offyai_tui.engines.base import (
    ChatOptions,
    Done,
    Engine,
    ErrorEvent,
    Message,
    TextDelta,
    ToolCallEvent,
)
from offyai_tui.engines.errors import EngineError, ModelNotFound, Unsupported
from offyai_tui.engines.parts import ImageRef, ToolSpec

PROMPT = (Message("user", "Name three colours."),)
UNKNOWN_MODEL = "no-such-model-xyz"
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)
"""One red pixel: an image any vision model can take."""


class ContractViolation(AssertionError):
    """An engine broke the contract; the message says how, in one sentence."""


Check = Callable[[Engine], Awaitable[None]]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ContractViolation(message)


async def _events(
    engine: Engine, messages: Sequence[Message], options: ChatOptions
) -> list[object]:
    return [event async for event in engine.stream_chat(list(messages), options)]


def _ends_once(events: list[object], what: str) -> None:
    _require(bool(events), f"{what}: the stream yielded nothing (must end in Done or ErrorEvent)")
    _require(isinstance(events[-1], (Done, ErrorEvent)),
             f"{what}: the stream ended with {type(events[-1]).__name__}, not Done or ErrorEvent")
    early = [e for e in events[:-1] if isinstance(e, (Done, ErrorEvent))]
    _require(not early, f"{what}: {len(early) + 1} final events; there must be exactly one")
    if isinstance(events[-1], ErrorEvent):
        _require(isinstance(events[-1].error, EngineError),
                 f"{what}: ErrorEvent.error must be an EngineError")
        _require("\n" not in str(events[-1].error), f"{what}: the error is not one line")


async def check_identity_health_and_models(engine: Engine) -> None:
    """Names are strings, the engine answers its probe, lists models and has a default."""
    for attribute in ("kind", "label", "endpoint"):
        value = getattr(engine, attribute)
        _require(isinstance(value, str) and bool(value), f"engine.{attribute} must be a str")
    _require(isinstance(engine.is_remote, bool), "engine.is_remote must be a bool")
    health = await engine.health()
    _require(health.ok, f"health() is not ok: {health.detail}")
    models = await engine.list_models()
    _require(bool(models) and all(m.name for m in models), "list_models() returned no named model")
    names = {m.name for m in models}
    _require(all(m.engine in (engine.kind, engine.label) for m in models),
             "every ModelInfo.engine must be the engine's kind or label (the palette switches "
             "engines by it)")
    default = await engine.default_model()
    _require(default in names, f"default_model() {default!r} is not among list_models()")


async def check_stream_yields_text_then_exactly_one_done(engine: Engine) -> None:
    """Text deltas, then one ``Done`` whose stats count the tokens and time them."""
    model = await engine.default_model()
    events = await _events(engine, PROMPT, ChatOptions(model=model, num_predict=12, temperature=0))
    _ends_once(events, "a short answer")
    _require(isinstance(events[-1], Done), f"a short answer ended with an error: {events[-1]}")
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    _require(bool(text.strip()), "the answer had no text")
    stats = events[-1].stats  # type: ignore[attr-defined]
    _require(0 < stats.completion_tokens <= 13,
             f"num_predict=12 but completion_tokens={stats.completion_tokens}")
    _require(stats.tokens_per_s > 0 and stats.ttft_s > 0, "tokens_per_s and ttft_s must be > 0")
    _require(stats.done_reason in {"stop", "length"},
             f"done_reason {stats.done_reason!r} is neither 'stop' nor 'length'")


async def check_num_predict_limits_the_answer(engine: Engine) -> None:
    """``num_predict`` cuts the answer and says so with ``done_reason == "length"``."""
    model = await engine.default_model()
    events = await _events(engine, PROMPT, ChatOptions(model=model, num_predict=4, temperature=0))
    _ends_once(events, "num_predict=4")
    done = events[-1]
    _require(isinstance(done, Done), f"num_predict=4 ended with an error: {done}")
    stats = done.stats  # type: ignore[union-attr]
    _require(stats.done_reason == "length", f"done_reason is {stats.done_reason!r}, not 'length'")
    _require(stats.completion_tokens <= 5, f"{stats.completion_tokens} tokens for num_predict=4")


async def check_unknown_model_is_one_error_listing_installed(engine: Engine) -> None:
    """An unknown model is one ``ModelNotFound`` event naming it and what is installed."""
    events = await _events(engine, PROMPT, ChatOptions(model=UNKNOWN_MODEL, num_predict=4))
    _require(len(events) == 1 and isinstance(events[0], ErrorEvent),
             f"an unknown model gave {[type(e).__name__ for e in events]}, not one ErrorEvent")
    error = events[0].error  # type: ignore[union-attr]
    _require(isinstance(error, ModelNotFound), f"the error is {type(error).__name__}, "
             "not ModelNotFound")
    _require(UNKNOWN_MODEL in str(error), "the error does not name the model asked for")
    installed = {m.name for m in await engine.list_models()}
    _require(bool(set(error.installed) & installed), "the error lists none of the installed models")


async def check_stopping_early_then_next_request_works(engine: Engine) -> None:
    """Closing a stream after its first text (Esc) leaves the engine ready for the next."""
    model = await engine.default_model()
    stream = engine.stream_chat(list(PROMPT), ChatOptions(model=model, num_predict=64))
    async for event in stream:
        if isinstance(event, TextDelta):
            break
    await stream.aclose()  # type: ignore[attr-defined]
    events = await _events(engine, PROMPT, ChatOptions(model=model, num_predict=6, temperature=0))
    _ends_once(events, "the answer after a stopped one")
    _require(isinstance(events[-1], Done), f"the next answer failed: {events[-1]}")


async def check_load_then_unload_where_supported(engine: Engine) -> None:
    """``IMPLEMENTS_LOAD`` is honest: loading works and shows in ``loaded()``, or is refused."""
    model = await engine.default_model()
    if not engine.IMPLEMENTS_LOAD:
        try:
            await engine.load(model)
        except Unsupported:
            return
        raise ContractViolation("IMPLEMENTS_LOAD is False but load() did not raise Unsupported")
    await engine.load(model)
    _require(model in {m.name for m in await engine.loaded()}, "a loaded model is not in loaded()")
    await engine.unload(model)
    _require(model not in {m.name for m in await engine.loaded()},
             "an unloaded model is still in loaded()")


async def check_parts_are_sent_or_refused_in_one_line(engine: Engine) -> None:
    """An image or a tool list ends the answer normally or with one ``Unsupported`` line."""
    model = await engine.default_model()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "red.png"
        path.write_bytes(PNG_1X1)
        image = ImageRef(str(path), hashlib.sha256(PNG_1X1).hexdigest(), "image/png", "red.png")
        tool = ToolSpec("get_time", "The current time", {"type": "object", "properties": {}})
        cases = [
            ("an image", [Message("user", "What is this?", images=(image,))], ChatOptions()),
            ("a tool list", list(PROMPT), ChatOptions(tools=(tool,))),
        ]
        for what, messages, options in cases:
            options.model, options.num_predict, options.temperature = model, 4, 0
            events = await _events(engine, messages, options)
            _ends_once(events, what)
            last = events[-1]
            if isinstance(last, ErrorEvent) and isinstance(last.error, Unsupported):
                _require(len(events) == 1, f"{what} was refused after the answer had started")
                _require(last.error.title == "Not supported", f"{what}: refusal title changed")
            calls = [e for e in events if isinstance(e, ToolCallEvent)]
            _require(not calls or what == "a tool list", f"{what}: tool calls without tools")


CHECKS: tuple[Check, ...] = (
    check_identity_health_and_models,
    check_stream_yields_text_then_exactly_one_done,
    check_num_predict_limits_the_answer,
    check_unknown_model_is_one_error_listing_installed,
    check_stopping_early_then_next_request_works,
    check_load_then_unload_where_supported,
    check_parts_are_sent_or_refused_in_one_line,
)
"""Every check, in the order :func:`run` runs them."""


async def run(
    make: Callable[[], Engine], checks: Sequence[Check] = CHECKS
) -> list[tuple[str, str]]:
    """Run ``checks``, each on a fresh engine from ``make``; ``(name, "")`` is a pass,
    else the second item says what broke. An engine that raises anything else fails
    that check with the exception's one-line form."""
    results = []
    for check in checks:
        engine = make()
        try:
            await check(engine)
            outcome = ""
        except ContractViolation as exc:
            outcome = str(exc) or "failed"
        except Exception as exc:
            outcome = f"raised {type(exc).__name__}: {' '.join(str(exc).split())}"
        finally:
            await engine.aclose()
        results.append((check.__name__.removeprefix("check_"), outcome))
    return results


def main(argv: list[str] | None = None) -> int:
    """``python -m offyai_tui.engines.contract NAME``: check an installed engine."""
    from offyai_tui.engines.plugins import build
    from offyai_tui.settings.config import load_settings
    from offyai_tui.util.textsafe import visible

    words = sys.argv[1:] if argv is None else argv
    if len(words) != 1 or words[0].startswith("-"):
        print("usage: python -m offyai_tui.engines.contract ENGINE_NAME", file=sys.stderr)
        return 2
    name = words[0]
    settings = load_settings()
    table = settings.engines.get(name, {})
    try:
        results = asyncio.run(_check_installed(lambda: build(name, table, settings)))
    except EngineError as exc:  # the engine cannot even be built: one line
        print(f"contract: {visible(exc)}", file=sys.stderr)
        return 1
    for check, outcome in results:
        line = f"ok   {check}" if not outcome else f"FAIL {check}: {outcome}"
        print(visible(line))
    failed = sum(1 for _, outcome in results if outcome)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


async def _check_installed(make: Callable[[], Engine]) -> list[tuple[str, str]]:
    await make().aclose()  # an engine that cannot be built fails here, once
    return await run(make)

if __name__ == "__main__":
    sys.exit(main())
