"""One turn of a conversation, the same for every surface.

A turn is: pick the model and its window, ground the question in the
workspace's documents, plan the context, stream the answer into the
transcript (checkpointed as it grows), and, when the model asks for tools,
get each call decided, run the allowed ones and let the model answer again.
The chat screen and ``offyai ask`` both drive :meth:`TurnRunner.run` and only
render its events (:mod:`offyai_tui.turn.events`), so a question sent from
either gets the same context, the same documents budget and the same tools.

The user's message is added by the caller before the turn (the screen shows
it at once); the turn adds the answers and tool results. A regenerate answers
the branch's last prompt again (a new variant beside the old answer), and a
continue grows a cut-short answer in place (:mod:`offyai_tui.chat.variants`). Stopping is
cancelling: whatever the consumer is doing, closing the generator (``aclosing``)
or cancelling its task ends the answer as ``stopped`` with its text kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any, Protocol

from offyai_tui.chat import CannotContinue, ChatError, Conversation, ReplyHandle, TranscriptError
from offyai_tui.chat.runaway import guard_repetition
from offyai_tui.engines.base import (
    ChatEvent,
    ChatStats,
    Done,
    Engine,
    ErrorEvent,
    TextDelta,
    ThinkingDelta,
)
from offyai_tui.engines.errors import EngineError, StreamInterrupted, Unsupported
from offyai_tui.engines.parts import ToolCall, ToolSpec
from offyai_tui.settings.config import Settings
from offyai_tui.turn.engine_info import EngineInfo
from offyai_tui.turn.events import (
    AnswerEnded,
    AnswerStarted,
    AnswerText,
    ContextPlanned,
    Notice,
    NotSaved,
    Searching,
    SourcesFound,
    ThinkingText,
    ToolDecided,
    ToolFinished,
    ToolRequested,
    TurnEvent,
    TurnFailed,
)
from offyai_tui.turn.grounding import DocumentsAccess, Grounding, ground, question_of

MAX_TOOL_ROUNDS = 8
"""Model → tools → model rounds in one turn; a model that keeps calling is stopped."""

StreamFilter = Callable[[AsyncIterator[ChatEvent]], AsyncIterator[ChatEvent]]


class ToolAccess(Protocol):
    """The tools a turn may offer (:class:`offyai_tui.tools.ToolBox` is the one in use)."""

    async def specs(self) -> tuple[ToolSpec, ...]: ...

    def describe(self, call: ToolCall) -> Any:
        """``server`` and ``description`` of a call's tool, for the approval question."""
        ...

    def decide(self, call: ToolCall, grants: Any) -> str:
        """``run``, ``ask`` or ``deny``, from the tool's policy and this conversation's grants."""
        ...

    async def call(self, call: ToolCall) -> Any:
        """Run it; the result has ``for_model()`` and ``is_error`` and is never an exception."""
        ...

    def deny(self, call: ToolCall, reason: str = "") -> Any:
        """The result the model reads for a call that was not allowed."""
        ...


class TurnRunner:
    """Runs turns for one engine and settings; stateless between turns.

    Args:
        engine: The engine that answers (``None``: every turn fails with ``reason``).
        settings: App settings (window, reply reserve, repeat guard, documents).
        info: Cached model facts, shared with the context meter.
        documents: How this surface reaches the documents (``None``: never searched).
        tools: The tools to offer (``None``: none).
        stream_filter: Wraps the engine's event stream (``offyai ask`` adds its
            stall guard and its waiting line).
        reason: Why there is no engine, for the failure line.
        max_tool_rounds: Cap on model → tool → model rounds.
        reported: Notices the surface has shown already (the runner adds to it).
    """

    def __init__(
        self,
        engine: Engine | None,
        settings: Settings,
        *,
        info: EngineInfo | None = None,
        documents: DocumentsAccess | None = None,
        tools: ToolAccess | None = None,
        stream_filter: StreamFilter | None = None,
        reason: str = "",
        max_tool_rounds: int = MAX_TOOL_ROUNDS,
        reported: set[str] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.info = info or EngineInfo(settings)
        self.documents = documents
        self.tools = tools
        self.stream_filter = stream_filter
        self.reason = reason
        self.max_tool_rounds = max_tool_rounds
        self.reported = reported if reported is not None else set()
        """Notices already shown (kept by the surface across turns: said once)."""
        self.background: set[asyncio.Task[Any]] = set()
        """Speed records still being written; :meth:`drain` waits for them."""

    async def run(
        self, conversation: Conversation, *, regenerate: bool = False,
        continuing: str | None = None,
    ) -> AsyncIterator[TurnEvent]:
        """Answer the conversation's last user message; yields what happens, in order.

        ``regenerate``: answer the branch's last prompt again, as a new variant.
        ``continuing``: the id of the answer to grow in place (the branch's last);
        an engine that cannot continue fails the turn with one ``Unsupported`` line.
        """
        engine = self.engine
        try:
            if engine is None:
                raise EngineError(f"no engine is available ({self.reason})" if self.reason
                                  else "no engine is available")
            below = conversation.regenerate_target().id if regenerate else None
            shown = conversation.messages[-1].id if below is not None else None
            if continuing is not None:
                _can_continue(engine, conversation, continuing)
            model = await self.info.model_for(engine, conversation)
            counter = self.info.counter(engine, model)
            window: dict[str, Any] = {
                "settings": self.settings.chat,
                "model_window": await self.info.model_window(engine, model),
                "engine_window": self.info.engine_window(engine),
            }
        except (EngineError, ChatError, asyncio.TimeoutError, OSError) as exc:
            yield TurnFailed(exc, getattr(exc, "title", "Error"))
            return
        grounding: Grounding | None = None
        if conversation.documents and self.documents is not None and continuing is None:
            yield Searching()
            plan = await conversation.plan_context(counter, below=below, **window)
            grounding = await ground(self.documents, question_of(conversation.messages), plan,
                                     counter.count_message, engine=engine)
            yield SourcesFound(grounding)
        specs = await self._offered(engine, model)
        for note in getattr(self.tools, "notes", None) or ():
            if note not in self.reported:
                self.reported.add(note)
                yield Notice(note)
        for round_ in range(self.max_tool_rounds + 1):
            resume = continuing if round_ == 0 else None
            try:
                if resume is not None:
                    handle = await conversation.start_continue(resume, counter, model=model,
                                                               **window)
                    await self._resume_sources(engine, handle)
                else:
                    handle = await conversation.start_reply(
                        counter, model=model, below=below if round_ == 0 else None,
                        extra_tokens=grounding.extra_tokens if grounding else 0, **window)
            except (EngineError, ChatError, asyncio.TimeoutError, OSError) as exc:
                yield TurnFailed(exc, getattr(exc, "title", "Error"))
                return
            if grounding is not None:
                grounding.apply(handle)
            if specs and round_ < self.max_tool_rounds and resume is None:
                handle.options.tools = specs
            yield AnswerStarted(handle, round_)
            if handle.plan is not None:
                yield ContextPlanned(handle.plan, _plan_note(handle))
            ended: AnswerEnded | None = None
            async with aclosing(self._answer(engine, handle)) as answer:
                async for event in answer:
                    if isinstance(event, AnswerEnded):
                        ended = event
                    else:
                        yield event
            assert ended is not None
            message = ended.message
            if round_ == 0 and shown is not None and _wordless_failure(message):
                try:
                    conversation.withdraw(message.id, shown)
                except TranscriptError as exc:  # kept pending, like any write
                    yield NotSaved(exc)
                ended.withdrawn = True
            more = bool(message.status == "complete" and message.tool_calls and self.tools)
            ended.more = more
            yield ended
            if not more:
                return
            async for event in self._run_tools(conversation, message.tool_calls):
                yield event

    async def drain(self) -> None:
        """Wait for the speed records of finished answers (``offyai ask`` before exit)."""
        if self.background:
            await asyncio.gather(*self.background, return_exceptions=True)

    async def _resume_sources(self, engine: Engine, handle: ReplyHandle) -> None:
        """A continued answer is sent the passages it began on (its numbers stay
        right), not a new search; only if they may still go to this engine."""
        sources = handle.message.sources
        if not sources or self.documents is None:
            return
        if await self.documents.allowed(engine, None):
            return
        from offyai_tui.rag.prompt import augment
        from offyai_tui.rag.retriever import Source

        try:
            passages = [Source.from_dict(s) for s in sources]
        except (TypeError, ValueError):  # a damaged stored source: continue without them
            return
        handle.messages = tuple(augment(handle.messages, passages))

    # ------------------------------------------------------------- one answer

    async def _answer(self, engine: Engine, handle: ReplyHandle) -> AsyncIterator[TurnEvent]:
        """Stream one answer into ``handle``; ends with exactly one ``AnswerEnded``."""
        stats: ChatStats | None = None
        error = ""
        unsaved: list[BaseException] = []
        try:
            stream: AsyncIterator[ChatEvent] = guard_repetition(
                engine.stream_chat(handle.messages, handle.options),
                self.settings.chat.repeat_guard, handle.options.model)
            if self.stream_filter is not None:
                stream = self.stream_filter(stream)
            async for event in stream:
                if isinstance(event, Done):
                    stats = event.stats
                elif isinstance(event, ErrorEvent):
                    error = _one_line(event.error)
                if failed := _safely(handle, lambda e=event: handle.apply(e)):
                    yield NotSaved(failed)
                if isinstance(event, TextDelta) and event.text:
                    yield AnswerText(event.text)
                elif isinstance(event, ThinkingDelta) and event.text:
                    yield ThinkingText(event.text)
                if handle.done:
                    break
            if not handle.done:
                failure = StreamInterrupted("the engine ended the answer without finishing it")
                error = str(failure)
                unsaved.append(_safely(handle, lambda: handle.fail(failure)))
        except (asyncio.CancelledError, GeneratorExit):
            _safely(handle, handle.stop)  # nobody is left to tell; the next write retries
            raise
        except Exception as exc:
            error = _one_line(exc)
            unsaved.append(_safely(handle, lambda failure=exc: handle.fail(failure)))
        finally:
            if not handle.done:  # closed from outside mid-answer: the user stopped it
                _safely(handle, handle.stop)
        for failed in unsaved:
            if failed is not None:
                yield NotSaved(failed)
        if handle.message.status == "complete" and stats is not None:
            self._record_speed(engine, stats)
        yield AnswerEnded(handle.message, stats, error or handle.message.error)

    def _record_speed(self, engine: Engine, stats: ChatStats) -> None:
        """Log the answer's speeds for the Models screen and ``offyai models``."""
        from offyai_tui.manage.speed_record import record_answer

        if stats.done_reason == "repeating":  # cut by the guard: no real speed
            return
        task = asyncio.get_running_loop().create_task(record_answer(engine, stats))
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    # ----------------------------------------------------------------- tools

    async def _offered(self, engine: Engine, model: str) -> tuple[ToolSpec, ...]:
        """The tools to offer: none without a toolbox, or to a model that cannot call them."""
        if self.tools is None:
            return ()
        if not await self.info.supports(engine, model, "tools", unknown=False):
            return ()
        return await self.tools.specs()

    async def _run_tools(
        self, conversation: Conversation, calls: list[ToolCall]
    ) -> AsyncIterator[TurnEvent]:
        """Decide and run each call in order; every call gets a result message."""
        assert self.tools is not None
        grants: set[str] = conversation.tool_grants
        for call in calls:
            verdict = self.tools.decide(call, grants)
            if verdict == "ask":
                info = self.tools.describe(call)
                request = ToolRequested(call, getattr(info, "server", ""),
                                        getattr(info, "description", ""))
                yield request
                decision = await request.decision()
                if decision == "conversation":
                    grants.add(call.name)
                allowed, by = decision != "deny", "user"
            else:
                allowed = verdict == "run"
                by = "conversation" if allowed and call.name in grants else "policy"
            yield ToolDecided(call, allowed, by)  # type: ignore[arg-type]
            result = await self.tools.call(call) if allowed else self.tools.deny(call)
            try:
                message = conversation.add_tool_result(call.id, call.name, result.for_model())
            except TranscriptError as exc:  # kept in memory and pending; sent all the same
                message = conversation.messages[-1]
                yield NotSaved(exc)
            yield ToolFinished(call, message, bool(result.is_error))


def _can_continue(engine: Engine, conversation: Conversation, message_id: str) -> None:
    """Refuse a continue before anything is sent: the engine cannot, or the answer is not
    one to continue (each one line)."""
    if not getattr(engine, "IMPLEMENTS_CONTINUE", False):
        raise Unsupported(f"{engine.label} cannot continue an answer in place; "
                          "regenerate it instead")
    if problem := conversation.continue_problem(message_id):
        raise CannotContinue(problem)


def _wordless_failure(message: Any) -> bool:
    """An answer that failed before it said anything (no text, reasoning or tool call)."""
    return (message.status == "error" and not message.content.strip()
            and not message.thinking.strip() and not message.tool_calls)


def _plan_note(handle: ReplyHandle) -> str:
    """What the request leaves out, in one line (empty when everything fits)."""
    plan = handle.plan
    if plan is None:
        return ""
    if plan.overflow:
        return plan.note()
    if plan.dropped_messages:
        n = plan.dropped_messages
        return (f"{n} earlier message{'s' if n != 1 else ''} not sent: they do not fit "
                f"the {plan.window:,}-token context window")
    return ""


def _safely(handle: ReplyHandle, action: Callable[[], Any]) -> TranscriptError | None:
    """Run a ``ReplyHandle`` call whose transcript write may fail; return the failure.

    A failed write never stops the answer: the conversation keeps the events
    pending for the next write, and the surface says "not saved" (``NotSaved``).
    """
    try:
        action()
    except TranscriptError as exc:
        if not handle.done:  # the final write failed: the answer has still ended
            handle.stop()
        return exc
    return None


def _one_line(error: object) -> str:
    return " ".join(str(error).split()) or type(error).__name__
