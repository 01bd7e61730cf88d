"""An incremental Server-Sent Events parser.

OpenAI-compatible servers stream answers as ``text/event-stream``. Network reads
cut that stream anywhere: inside a line, between ``\\r`` and ``\\n``, or inside a
multi-byte UTF-8 character. The parser keeps whatever is incomplete and yields an
event only once its terminating blank line has arrived, so the result does not
depend on how the bytes were chunked. It follows the WHATWG rules for line
endings (``\\r\\n``, ``\\n`` or ``\\r``), comments, multi-line ``data`` and
``id``; ``retry`` is ignored because the engines never reconnect.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

_EOL = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SSEEvent:
    data: str
    event: str = "message"
    id: str | None = None


class SSEParser:
    """Feed it bytes as they arrive; it returns the events they complete."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._scanned = 0
        """Characters of ``_buffer`` already known to hold no line ending."""
        self._at_start = True
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume ``chunk`` and return the events it completes, in order."""
        return self._consume(self._decoder.decode(chunk), final=False)

    def close(self) -> list[SSEEvent]:
        """End of stream: finish the last line; an event without its blank line is dropped."""
        return self._consume(self._decoder.decode(b"", final=True), final=True)

    def _consume(self, text: str, *, final: bool) -> list[SSEEvent]:
        buffer = self._buffer + text
        if self._at_start and buffer:
            self._at_start = False
            buffer = buffer.removeprefix("\ufeff")
            self._scanned = 0
        events: list[SSEEvent] = []
        start = 0
        pos = self._scanned
        while match := _EOL.search(buffer, pos):
            if match.group() == "\r" and match.end() == len(buffer) and not final:
                pos = match.start()  # a "\n" may follow in the next chunk
                break
            self._line(buffer[start : match.start()], events)
            start = pos = match.end()
        else:
            pos = len(buffer)
        self._buffer = buffer[start:]
        self._scanned = pos - start
        return events

    def _line(self, line: str, events: list[SSEEvent]) -> None:
        if not line:
            if self._data:
                events.append(
                    SSEEvent("\n".join(self._data), self._event or "message", self._last_id)
                )
            self._data = []
            self._event = ""
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._last_id = value


async def aiter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[SSEEvent]:
    """Events from an async stream of byte chunks (e.g. ``response.aiter_bytes()``)."""
    parser = SSEParser()
    async for chunk in chunks:
        for event in parser.feed(chunk):
            yield event
    for event in parser.close():
        yield event
