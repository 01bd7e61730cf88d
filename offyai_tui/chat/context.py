"""The context budget: which messages fit in the model's window.

The window is chosen per request (``/set parameter num_ctx`` or a mode's
parameter, else ``chat.num_ctx`` from config, else the model's own window
capped by the engine), then a reply reserve is kept free. When the history
does not fit, the oldest turns are left out of the request (never out of the
transcript): the system prompt and the latest turn are always sent, and a
user message is dropped together with the answers that followed it.

Retrieved document passages are extra text in the latest turn: the screen
asks :meth:`ContextPlan.documents_budget` how much room they may take, then
plans again with their real size as ``extra`` so older turns make way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from offyai_tui.chat.tokens import REPLY_PRIMER
from offyai_tui.engines.base import Message

DEFAULT_WINDOW = 4096
"""Used when neither config, parameters, model nor engine name a window."""
MAX_IMPLICIT_WINDOW = 8192
"""Cap on a model's advertised window when no engine limit applies: a 128k
window requested by default would make a local server allocate gigabytes."""


@dataclass(frozen=True)
class ContextBudget:
    window: int
    """Tokens the model sees in total (sent to the engine as ``num_ctx``)."""
    reserve: int
    """Tokens kept free for the reply."""

    @property
    def available(self) -> int:
        """Tokens the prompt may use."""
        return max(0, self.window - self.reserve)


def resolve_budget(
    *,
    num_ctx: int | None = None,
    num_predict: int | None = None,
    configured_ctx: int = 0,
    reply_reserve: int = 512,
    model_window: int = 0,
    engine_window: int = 0,
) -> ContextBudget:
    """Pick the window and reserve for one request.

    Args:
        num_ctx: Explicit choice (conversation or mode parameter); wins, up to the
            model's own window (a 1M window on an 8k model is not a window).
        num_predict: Reply length limit; when set it becomes the reserve.
        configured_ctx: ``chat.num_ctx`` from config; 0 means "the model's".
        reply_reserve: ``chat.reply_reserve`` from config.
        model_window: The model's own context length (``ModelInfo.context_length``).
        engine_window: A hard engine limit (e.g. llama.cpp's ``n_ctx``); 0 if none.
    """
    if (num_ctx and num_ctx > 0) or configured_ctx > 0:
        window = num_ctx if num_ctx and num_ctx > 0 else configured_ctx
        if model_window > 0:  # beyond what the model was trained on is garbage
            window = min(window, model_window)
    else:
        known = [w for w in (model_window, engine_window) if w > 0]
        window = min(known) if known else DEFAULT_WINDOW
        if engine_window <= 0:
            window = min(window, MAX_IMPLICIT_WINDOW)
    reserve = num_predict if num_predict and num_predict > 0 else reply_reserve
    return ContextBudget(window=window, reserve=max(0, min(reserve, window // 2)))


@dataclass(frozen=True)
class ContextPlan:
    """What one request sends and what it left out, for the status bar."""

    messages: tuple[Message, ...]
    """System prompt (if any) first, then the kept turns, oldest first."""
    window: int
    reserve: int
    used: int
    """Estimated prompt tokens, including per-message template overhead."""
    dropped_turns: int = 0
    dropped_messages: int = 0
    overflow: bool = False
    """Even the system prompt plus the latest turn exceed the budget."""
    exact: bool = False
    """Counted with the model's own tokenizer (else a cl100k estimate)."""
    required: int = 0
    """Tokens of what is always sent: reply primer, system prompt, latest turn, extra."""

    @property
    def available(self) -> int:
        return max(0, self.window - self.reserve)

    def documents_budget(self, share: float = 0.5, overhead: int = 0) -> int:
        """Tokens retrieved passages may use in the next request.

        At most ``share`` of the prompt budget, so a conversation keeps some of
        its history, and never more than the system prompt and the latest turn
        leave free. ``overhead`` is the prompt text around the passages.
        """
        room = self.available - self.required
        return max(0, min(room, int(self.available * share)) - overhead)

    def meter(self) -> str:
        """Short status-bar text, e.g. ``1.2k/4.1k``."""
        return f"{_short(self.used)}/{_short(self.window)}"

    def note(self) -> str:
        """One line the UI shows when something was left out, else empty."""
        if self.overflow:
            return (
                f"the latest message alone uses about {self.used:,} of "
                f"{self.available:,} tokens; the model may cut it off"
            )
        if self.dropped_turns:
            turns = "turn" if self.dropped_turns == 1 else "turns"
            return f"{self.dropped_turns} older {turns} left out to fit the context window"
        return ""


CountFn = Callable[[Message], Awaitable[int]]


def split_turns(history: Sequence[Message]) -> list[list[Message]]:
    """Group messages into turns: a user message and the replies after it."""
    turns: list[list[Message]] = []
    for message in history:
        if message.role == "user" or not turns:
            turns.append([message])
        else:
            turns[-1].append(message)
    return turns


async def fit_context(
    system: str,
    history: Sequence[Message],
    count: CountFn,
    budget: ContextBudget,
    *,
    exact: bool = False,
    extra: int = 0,
) -> ContextPlan:
    """Keep the newest turns that fit ``budget``; count lazily, newest first.

    Counting stops at the first turn that does not fit, so a long conversation
    costs only as many counts as the window holds. ``extra`` tokens (retrieved
    passages added to the latest turn) are counted as part of that turn.
    """
    head = [Message("system", system)] if system else []
    used = REPLY_PRIMER + max(0, extra) + sum([await count(m) for m in head])
    turns = split_turns(history)
    kept: list[list[Message]] = []
    if turns:
        kept.append(turns[-1])
        used += sum([await count(m) for m in turns[-1]])
    required = used
    for turn in reversed(turns[:-1]):
        cost = sum([await count(m) for m in turn])
        if used + cost > budget.available:
            break
        used += cost
        kept.insert(0, turn)
    sent = [m for turn in kept for m in turn]
    return ContextPlan(
        messages=tuple(head + sent),
        window=budget.window,
        reserve=budget.reserve,
        used=used,
        dropped_turns=len(turns) - len(kept),
        dropped_messages=len(history) - len(sent),
        overflow=used > budget.available,
        exact=exact,
        required=required,
    )


def _short(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)
