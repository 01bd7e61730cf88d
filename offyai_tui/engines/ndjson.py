"""Incremental line splitting for streamed HTTP bodies (NDJSON, and SSE's lines).

A network read can end anywhere: in the middle of a JSON line, or between the
bytes of one UTF-8 character. Splitting the *bytes* on ``\\n`` sidesteps the
second problem entirely (that byte never occurs inside a multibyte character),
so text is only decoded once a whole line is in hand.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

MAX_LINE_BYTES = 16 * 1024 * 1024
"""A line longer than this is treated as garbage rather than buffered forever."""


class MalformedLine(ValueError):
    """A line that is not what the stream promised; ``str()`` shows a short preview."""

    def __init__(self, reason: str, line: bytes = b"") -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"{reason}: {preview(line)}" if line else reason)


def preview(line: bytes, limit: int = 80) -> str:
    """A printable, bounded rendering of a raw line for error messages."""
    text = line[: limit * 4].decode("utf-8", errors="replace")
    return repr(text if len(text) <= limit else text[:limit] + "…")


class LineSplitter:
    """Cuts a byte stream into lines, whatever the boundaries of the reads.

    Lines are returned without their ``\\n`` (and without a ``\\r`` before it, so
    CRLF streams such as SSE work too). Blank lines are kept: SSE needs them.
    """

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self._buf = bytearray()
        self._max_line = max_line

    @property
    def pending(self) -> bool:
        """True when bytes of an unterminated line are buffered."""
        return bool(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Add a chunk; return the lines it completed.

        Raises:
            MalformedLine: the unterminated line grew beyond ``max_line``.
        """
        lines: list[bytes] = []
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            self._buf += data[start:end]
            line = bytes(self._buf)
            self._buf.clear()
            lines.append(line[:-1] if line.endswith(b"\r") else line)
            start = end + 1
        self._buf += data[start:]
        if len(self._buf) > self._max_line:
            head = bytes(self._buf[:80])
            self._buf.clear()
            raise MalformedLine(f"line longer than {self._max_line} bytes", head)
        return lines

    def flush(self) -> bytes:
        """Return (and forget) the unterminated tail, ``b""`` if there is none."""
        tail = bytes(self._buf)
        self._buf.clear()
        return tail[:-1] if tail.endswith(b"\r") else tail


def parse_line(line: bytes) -> Any:
    """Decode one NDJSON line.

    Raises:
        MalformedLine: the line is not valid UTF-8 JSON.
    """
    try:
        return json.loads(line)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        raise MalformedLine("not JSON", line) from None


class NDJSONDecoder:
    """Feeds raw chunks in, gets whole JSON values out; blank lines are skipped."""

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self._lines = LineSplitter(max_line)

    @property
    def pending(self) -> bool:
        """True when part of a line is buffered (a stream cut here lost data)."""
        return self._lines.pending

    def feed(self, data: bytes) -> list[Any]:
        return [parse_line(line) for line in self._lines.feed(data) if line.strip()]

    def close(self) -> list[Any]:
        """Parse a final line that had no terminating newline."""
        tail = self._lines.flush()
        return [parse_line(tail)] if tail.strip() else []


async def aiter_ndjson(chunks: AsyncIterable[bytes]) -> AsyncIterator[Any]:
    """Yield the JSON values of an async byte stream (e.g. ``response.aiter_bytes()``)."""
    decoder = NDJSONDecoder()
    async for chunk in chunks:
        for value in decoder.feed(chunk):
            yield value
    for value in decoder.close():
        yield value
