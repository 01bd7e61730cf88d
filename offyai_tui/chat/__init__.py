"""Headless chat core: conversations, transcripts, modes, context budget, slash commands.

Nothing here imports Textual; the UI, the CLI and the tests drive it alike.

API summary (everything below is importable from ``offyai_tui.chat``)::

    store = ConversationStore.open(workspace, modes=load_modes(),
                                   read_only_fallback=True)   # takes the workspace lock
    store.read_only, store.lock_holder_pid                    # second instance: say so
    store.list() -> list[ConversationSummary]                 # newest first, cheap
    store.create(model=..., mode="coder") -> Conversation     # file appears on first message
    store.load(conv_id) -> Conversation                       # same object if already open
    store.rename(conv_id, title); store.delete(conv_id)
    store.search(query, limit=100) -> list[SearchHit]         # conv id + message id + snippet
    store.export_markdown(conv_id, dest=None) -> Path
    store.close()

    conv.add_user(text, images=[...]) -> ChatMessage          # fsynced; sets title if first
    image = store.attach(path_or_bytes, name="cat.png")       # stored once: attachments/<sha>.png
    handle = await conv.start_reply(TokenCounter(engine, model), model=model,
                                    settings=settings.chat, model_window=info.context_length)
    async for event in engine.stream_chat(handle.messages, handle.options):
        if handle.apply(event):                               # deltas, Done, ErrorEvent
            break
    handle.stop()                                             # on Esc / cancellation
    handle.checkpoint_if_due()                                # optional 1 s UI timer
    handle.plan.meter(), handle.plan.note()                   # "1.2k/4.1k", dropped turns
    conv.accepts(request_id)                                  # is this answer still current?
    await conv.plan_context(counter, settings=...)            # meter before the first send
    conv.set_mode(mode), conv.set_parameter(name, value), conv.set_system(text),
    conv.reset_parameters(), conv.clear_context(), conv.rename(title),
    conv.edit_message(id, text), conv.delete_message(id), conv.to_markdown(), conv.flush()
    conv.messages                                             # the current branch of conv.tree
    conv.tree.children(message_id), conv.show(message_id)     # variants; pick the branch shown

    # Variants (chat/variants.py): every one new events, the old messages kept
    conv.variants(message_id) -> (index, count)               # "‹ index+1/count ›"
    conv.cycle(message_id, step=±1) -> ChatMessage            # shown variant; conv.messages follows
    conv.regenerate_target() -> ChatMessage                   # runner.run(conv, regenerate=True)
    conv.edit_prompt(message_id, text) -> ChatMessage         # new branch; then runner.run(conv)
    conv.continue_problem(message_id) -> str                  # "" or why not (one line)
    conv.delete_turn(prompt_id) -> list[str]                  # a prompt, its edits, their answers
    conv.turn_versions(prompt_id) -> list[ChatMessage]        # a prompt and its edits

    # Documents (RAG): the toggle is stored per conversation; the caller retrieves
    conv.set_documents(True); conv.documents                  # in "params" events
    plan = await conv.plan_context(counter, settings=...)
    budget = plan.documents_budget(share=0.5, overhead=n)     # tokens passages may use
    handle = await conv.start_reply(..., extra_tokens=cost)   # older turns make room
    handle.messages = tuple(augment(handle.messages, sources))  # request only
    handle.message.sources = [s.to_dict() for s in sources]   # stored with the answer
    handle.message.retrieval = {"query": ..., "mode": ..., "note": ...}

    cmd = slash.parse(prompt_text)      # Prompt | SetSystem | SetParameter | Show | Clear
                                        # | Help | InvalidCommand ; slash.show_text(cmd, conv)

Errors (each with ``.title`` and a one-line ``str()``): ``TranscriptError`` (disk full,
deleted, read-only: raised after memory is updated; the change is retried on the next
write), ``WorkspaceLocked`` (``.pid``), ``ReplyInProgress`` (one answer at a time per
conversation: the UI queues or refuses), ``ParameterError``, ``ConversationNotFound``,
``MessageNotFound``.

Transcript format (``transcript.py`` has the full list): JSONL, a ``header`` line
then events. Format 2 links each message to its parent (variants form a tree; a
``shown`` event picks the branch) and references attachments by hash; format-1
files open unchanged and are only ever appended to (``upgrades/v1.py``).
Documents add optional fields only, so older transcripts read as
documents off and older readers skip what they do not know: ``"documents": true``
in ``params`` events, and ``sources`` + ``retrieval`` on assistant ``message``
lines. The user ``message`` always holds the user's own words; the augmented
prompt (numbered passages) exists only in the request sent to the model.

Message statuses: ``streaming`` (in memory only), ``complete``, ``stopped``, ``error``
(``message.error`` says why; partial text kept) and ``interrupted`` (the app died
mid-answer; text up to the last checkpoint, at most ~1 s old).
"""

from __future__ import annotations

from offyai_tui.chat import slash
from offyai_tui.chat.attachments import Attachment, AttachmentError
from offyai_tui.chat.context import ContextBudget, ContextPlan, fit_context, resolve_budget
from offyai_tui.chat.conversation import CHECKPOINT_INTERVAL, Conversation
from offyai_tui.chat.errors import (
    CannotContinue,
    ChatError,
    ConversationNotFound,
    MessageNotFound,
    ParameterError,
    ReadOnlyWorkspace,
    ReplyInProgress,
    TranscriptError,
    WorkspaceLocked,
)
from offyai_tui.chat.export import to_markdown
from offyai_tui.chat.modes import BUILTIN_MODES, Mode, ModeCatalog, builtin_catalog, load_modes
from offyai_tui.chat.params import PARAMETERS, check_param, parse_param
from offyai_tui.chat.records import ChatMessage, ConversationSummary, SearchHit, make_title
from offyai_tui.chat.reply import ReplyHandle
from offyai_tui.chat.store import ConversationStore
from offyai_tui.chat.tokens import TokenCounter, estimate_tokens
from offyai_tui.chat.transcript import TranscriptData, parse_transcript, read_transcript
from offyai_tui.chat.tree import MessageTree

__all__ = [
    "BUILTIN_MODES",
    "CHECKPOINT_INTERVAL",
    "PARAMETERS",
    "Attachment",
    "AttachmentError",
    "CannotContinue",
    "ChatError",
    "ChatMessage",
    "ContextBudget",
    "ContextPlan",
    "Conversation",
    "ConversationNotFound",
    "ConversationStore",
    "ConversationSummary",
    "MessageNotFound",
    "MessageTree",
    "Mode",
    "ModeCatalog",
    "ParameterError",
    "ReadOnlyWorkspace",
    "ReplyHandle",
    "ReplyInProgress",
    "SearchHit",
    "TokenCounter",
    "TranscriptData",
    "TranscriptError",
    "WorkspaceLocked",
    "builtin_catalog",
    "check_param",
    "estimate_tokens",
    "fit_context",
    "load_modes",
    "make_title",
    "parse_param",
    "parse_transcript",
    "read_transcript",
    "resolve_budget",
    "slash",
    "to_markdown",
]
