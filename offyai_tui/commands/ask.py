"""``offyai ask``: one turn on stdout, through the same runner as the chat screen.

The question becomes a conversation held in memory (nothing is written to the
workspace's chats; with ``-c``/``--chat`` it is a saved one, :mod:`.ask_chat`) with
the mode, system prompt and parameters the chat would use;
:class:`~offyai_tui.turn.TurnRunner` plans its context, grounds it in the documents
with the same budget as the chat, streams, and records speeds. This
module only prints: the answer on stdout, everything else as one line each on
stderr, so ``offyai ask … > answer.txt`` holds the answer alone.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from contextlib import aclosing
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from offyai_tui.chat import Attachment, Conversation, modes
from offyai_tui.chat.errors import ParameterError
from offyai_tui.chat.params import parse_think
from offyai_tui.commands import UserError
from offyai_tui.engines.base import Engine
from offyai_tui.engines.registry import EngineRegistry
from offyai_tui.rag.service import Documents
from offyai_tui.settings import privacy
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.turn import (
    AnswerEnded,
    AnswerText,
    Decision,
    Notice,
    SourcesFound,
    ThinkingText,
    ToolFinished,
    ToolRequested,
    TurnFailed,
    TurnRunner,
)
from offyai_tui.util.textsafe import strip_controls, visible

if TYPE_CHECKING:
    import argparse

_FLAG_PARAMETERS = (("max_tokens", "num_predict"), ("temperature", "temperature"),
                    ("seed", "seed"))


class CliDocuments:
    """Documents for one question: the index opened for it, consent from the workspace.

    A remote engine gets passages only when the workspace allowed its host or
    the user passed ``--allow-remote-docs`` (this run only, never stored).
    """

    how_to_add = "add files with offyai index PATH"

    def __init__(self, workspace: Workspace, embedder: Engine | None, settings: Settings,
                 *, this_run: bool) -> None:
        self.workspace = workspace
        self.this_run = this_run
        self.top_k = settings.rag.top_k
        self.docs = Documents(workspace, embedder, settings, remote_this_run=this_run)

    async def allowed(self, chat: Engine | None, embedding: Engine | None) -> str:
        del embedding  # the documents service refuses a remote embedder itself
        if why := privacy.check(chat, self.workspace, this_run=self.this_run):
            return privacy.refusal(why, "answering without them")
        return ""

    def close(self) -> None:
        self.docs.close()


def conversation_for(args: argparse.Namespace, settings: Settings, model: str,
                     attachments_root: Path | None = None,
                     into: Conversation | None = None) -> Conversation:
    """The question as a conversation: mode or system prompt, flags as parameters.

    ``into``: a saved conversation (``-c``/``--chat``); the flags given are stored in
    it as ``/set`` would, and a saved one keeps its mode unless ``--mode`` names one.
    """
    catalog = modes.load_modes()
    conversation = into or Conversation("ask", writer=None, ephemeral=True, modes=catalog,
                                        model=model, attachments_root=attachments_root)
    name = args.mode or ("" if into is not None and into.saved else settings.chat.mode)
    found = modes.find_mode(name) if name else None
    if name and found is None and not args.system:  # a system prompt replaces the mode's anyway
        known = ", ".join(m.name.lower() for m in catalog.modes)
        raise UserError(f"unknown mode {name!r}; available: {known}")
    if found is not None:
        conversation.set_mode(found)
    if args.system:
        conversation.set_system(str(args.system))
    for flag, name in _FLAG_PARAMETERS:
        if getattr(args, flag, None) is not None:
            conversation.set_parameter(name, getattr(args, flag))
    if args.docs:
        conversation.set_documents(True)
    if getattr(args, "think", None) is not None:
        try:
            conversation.set_think(parse_think(args.think))
        except ParameterError as exc:
            raise UserError(f"--think: {exc}") from None
    return conversation


async def run_ask(args: argparse.Namespace, settings: Settings, workspace: Workspace,
                  registry: EngineRegistry, engine: Engine, prompt: str) -> int:
    """Answer ``prompt`` on stdout; failures are a ``UserError`` (one line, exit 1)."""
    from offyai_tui.commands.ask_chat import saved_chat

    with saved_chat(args, workspace) as saved, \
            tempfile.TemporaryDirectory(prefix="offyai-ask-") as scratch:
        model = (settings.chat.model or (saved.model if saved else "")
                 or await engine.default_model())
        if (prewarm := getattr(engine, "prewarm", None)) is not None:
            await prewarm(model)  # the model loads while the rest of the start runs
        conversation = conversation_for(args, settings, model, attachments_root=Path(scratch),
                                        into=saved)
        conversation.model = model
        images, files = await _attachments(args, settings, engine, model, conversation, prompt)
        conversation.add_user(prompt, images=images, files=files)
        return await _answer(args, settings, workspace, registry, engine, conversation)


async def _attachments(args: argparse.Namespace, settings: Settings, engine: Engine,
                       model: str, conversation: Conversation, prompt: str
                       ) -> tuple[list[Attachment], list[Attachment]]:
    """``--image``/``--file``: stored for this run, checked against the model and the window.

    Files share what the context leaves after the prompt; an image needs a model with
    vision. Every refusal is one line and nothing is sent.
    """
    images, files = list(getattr(args, "image", [])), list(getattr(args, "file", []))
    if not images and not files:
        return [], []
    from offyai_tui.attach import (
        AttachmentError,
        by_kind,
        image_limits,
        prepare_all,
        remote_notice,
        require_vision,
    )
    from offyai_tui.engines.base import Message
    from offyai_tui.turn import EngineInfo

    info = EngineInfo(settings)
    counter = info.counter(engine, model)
    plan = await conversation.plan_context(
        counter, settings=settings.chat, model_window=await info.model_window(engine, model),
        engine_window=info.engine_window(engine))
    room = plan.documents_budget(1.0) - await counter.count_message(Message("user", prompt))
    limits = image_limits(engine.kind, settings.attachments.max_image_side,
                          settings.attachments.max_image_mb)
    root = conversation.attachments_root or Path(".")
    try:
        if images:
            await require_vision(engine, model, settings)
        attached = await asyncio.to_thread(
            prepare_all, root, images=images, files=files, limits=limits,
            budget=max(0, room), stdin=sys.stdin.buffer)
    except AttachmentError as exc:
        raise UserError(str(exc)) from None
    if notice := remote_notice(engine, attached):
        print(f"offyai: {notice}", file=sys.stderr)
    return by_kind(attached)


async def _answer(args: argparse.Namespace, settings: Settings, workspace: Workspace,
                  registry: EngineRegistry, engine: Engine, conversation: Conversation) -> int:
    """Run the turn and print it; documents, tools and the stall guard as the flags say."""
    from offyai_tui.commands.guard import guarded, timeout_for

    documents = None
    if args.docs:
        documents = CliDocuments(
            workspace, registry.engine(settings.rag.embedding_engine), settings,
            this_run=bool(getattr(args, "allow_remote_docs", False)))
    timeout = timeout_for(engine, getattr(args, "timeout", None), settings.chat.timeout)
    toolbox = _toolbox(args, settings, workspace, registry, engine)
    runner = TurnRunner(engine, settings, documents=documents, tools=toolbox,
                        stream_filter=lambda stream: guarded(stream, engine, timeout))
    printer = AnswerPrinter(sys.stdout, sys.stderr, stats=bool(args.stats),
                            thinking=not getattr(args, "hide_thinking", False))
    approve = ToolApprover(sys.stderr, auto=bool(getattr(args, "approve_tools", False)))
    try:
        async with aclosing(runner.run(conversation)) as events:
            async for event in events:
                if isinstance(event, ToolRequested):
                    event.respond(await approve(event))
                else:
                    printer.show(event)
        await runner.drain()
    finally:
        if documents is not None:
            documents.close()
        if toolbox is not None:
            await toolbox.aclose()
    return 0


def _toolbox(args: argparse.Namespace, settings: Settings, workspace: Workspace,
             registry: EngineRegistry, engine: Engine) -> Any:
    """The workspace's tools with ``--tools``; ``None`` (no tools offered) without."""
    if not getattr(args, "tools", False):
        if getattr(args, "approve_tools", False):
            raise UserError("--approve-tools needs --tools")
        return None
    from offyai_tui.tools import ToolBox

    try:
        embedder = registry.engine(settings.rag.embedding_engine)
    except Exception:  # document search falls back to keywords and says so
        embedder = None
    return ToolBox(settings, workspace, chat_engine=engine, embedding_engine=embedder,
                   remote_docs_this_run=bool(getattr(args, "allow_remote_docs", False)))


class ToolApprover:
    """Asks on the terminal before a tool runs; without one, denies unless ``auto``.

    The question goes to the controlling terminal (``/dev/tty``), not stdin, which
    may hold the piped prompt; the answer is read there too.
    """

    def __init__(self, err: TextIO, *, auto: bool) -> None:
        self.err = err
        self.auto = auto

    async def __call__(self, request: ToolRequested) -> Decision:
        name = visible(request.call.name)
        if self.auto:
            return "once"
        answer = await asyncio.to_thread(self._ask, request)
        if answer is None:
            print(f"offyai: tool call {name} denied: no terminal to ask on "
                  "(--approve-tools runs them)", file=self.err)
            return "deny"
        if answer == "a":  # the runner keeps the grant with the conversation: not asked again
            return "conversation"
        return "once" if answer == "y" else "deny"

    def _ask(self, request: ToolRequested) -> str | None:
        from offyai_tui.tools.arguments import arguments_text

        try:
            tty = open("/dev/tty", "r+", encoding="utf-8", errors="replace")  # noqa: SIM115
        except OSError:
            return None
        with tty:
            where = f" from {visible(request.server)}" if request.server else ""
            tty.write(f"\nRun the tool {visible(request.call.name)}{where}?\n"
                      f"{arguments_text(request.call)}\n"
                      "[y] once  [a] always in this run  [N] deny: ")
            tty.flush()
            reply = tty.readline().strip().lower()
        return reply[:1] if reply[:1] in ("y", "a") else "n"


class AnswerPrinter:
    """Prints a turn's events: the answer on ``out``, notes and stats on ``err``."""

    def __init__(self, out: TextIO, err: TextIO, *, stats: bool = False,
                 thinking: bool = True) -> None:
        self.out, self.err = out, err
        self.stats = stats
        self.show_thinking = thinking
        self.dim = err.isatty()
        self.clean = strip_controls if out.isatty() else (lambda text: text)
        self.wrote = False
        self.thinking = False
        self.sources: list[Any] = []

    def note(self, text: str) -> None:
        print(f"offyai: {visible(text)}", file=self.err)

    def show(self, event: object) -> None:
        if isinstance(event, AnswerText):
            self._end_thinking()
            self.out.write(self.clean(event.text))
            self.out.flush()
            self.wrote = True
        elif isinstance(event, ThinkingText):
            if self.show_thinking:  # reasoning on stderr (dimmed on a terminal), never stdout
                start = "\x1b[2m" if self.dim and not self.thinking else ""
                self.err.write(start + strip_controls(event.text))
                self.err.flush()
                self.thinking = True
        elif isinstance(event, Notice):
            self.note(event.text)
        elif isinstance(event, SourcesFound):
            grounding = event.grounding
            self.sources = list(grounding.sources)
            if grounding.note:
                self.note(grounding.note)
        elif isinstance(event, ToolFinished):
            state = "error" if event.is_error else "ran"
            self.note(f"tool {event.call.name} {state}: "
                      + (event.message.content.splitlines() or [""])[0][:120])
        elif isinstance(event, AnswerEnded):
            self._ended(event)
        elif isinstance(event, TurnFailed):
            raise UserError(" ".join(str(event.error).split()) or type(event.error).__name__)

    def _end_thinking(self) -> None:
        if self.thinking:
            self.err.write("\x1b[0m\n" if self.dim else "\n")
            self.err.flush()
            self.thinking = False

    def _ended(self, event: AnswerEnded) -> None:
        self._end_thinking()
        if event.more:
            return
        if event.error and event.message.status == "error":
            if self.wrote:
                self.out.write("\n")
                self.out.flush()
            raise UserError(event.error)
        self.out.write("\n")
        if self.sources:
            self.out.write("\nSources:\n")
            self.out.writelines(f"[{s.number}] {visible(s.label)}\n" for s in self.sources)
        self.out.flush()
        stats = event.stats
        if stats is None:
            return
        if stats.note:  # cut short: the context is full, or it looped
            self.note(stats.note)
        if self.stats:
            print(visible(
                f"{stats.model} · {stats.completion_tokens} tokens · {stats.tokens_per_s:.1f}"
                f" tok/s · first token {stats.ttft_s * 1000:.0f} ms · {stats.done_reason}"
            ), file=self.err)
