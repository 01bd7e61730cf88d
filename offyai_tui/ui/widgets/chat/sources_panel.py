"""The sources under an answer: the numbered passages the answer may cite.

Each line reads ``[1] notes.md > Install > Linux · lines 10-24``, with the
numbers the answer cites as ``[1]``. Focus the list (Tab, or the
``chat.sources`` key) and press Enter, or click a line, to read the passage:
the panel posts :class:`SourcesPanel.Opened` and the screen opens it. A note
says when the search ran degraded or not at all. File names, headings and
notes come from the user's files and engines, so they are shown as plain
text, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from offyai_tui.chat.records import ChatMessage
from offyai_tui.util.textsafe import visible

if TYPE_CHECKING:
    from offyai_tui.rag.retriever import Source


def source_line(source: Source) -> Content:
    """``[n] file > heading path · lines a-b`` (or ``p. 3`` for a PDF)."""
    place = " > ".join([Path(source.path).name, *source.heading_path])
    return Content.assemble(
        (f"[{source.number}] ", "bold"),
        visible(place),
        (f" · {source.location}", "$text-muted"),
    )


def stored_sources(message: ChatMessage) -> list[Source]:
    """The sources saved with an answer; entries that no longer parse are left out.

    The documents pipeline is imported here, not at startup: a chat that never
    used documents does not pay for loading it.
    """
    if not message.sources:
        return []
    from offyai_tui.rag.retriever import Source

    sources = []
    for data in message.sources:
        try:
            sources.append(Source.from_dict(data))
        except (TypeError, ValueError):
            continue
    return sources


class SourceList(OptionList):
    """The selectable lines of a :class:`SourcesPanel`."""

    DEFAULT_CSS = """
    SourceList {
        height: auto; max-height: 8; border: none; padding: 0;
        background: transparent;
    }
    SourceList:focus { border: none; background: $boost; }
    """


class SourcesPanel(Vertical):
    """The sources of one answer, and why there are none when the search failed."""

    DEFAULT_CSS = """
    SourcesPanel { height: auto; padding: 0 0 0 2; }
    SourcesPanel > .title { color: $text-muted; text-style: bold; }
    SourcesPanel > .note { color: $text-warning; }
    """

    class Opened(Message):
        """A source was chosen; ``source`` carries the passage's text."""

        def __init__(self, source: Source) -> None:
            super().__init__()
            self.source = source

    def __init__(self, sources: Sequence[Source], note: str = "", *, hint: str = "") -> None:
        super().__init__()
        self.sources = list(sources)
        self.note = note
        self.hint = hint
        """How to open a source, e.g. ``alt+s, then Enter, shows a passage``."""

    def compose(self) -> ComposeResult:
        title = "Sources" if self.sources else "Documents"
        if self.sources and self.hint:
            title += f" · {self.hint}"
        yield Static(Content(title), classes="title")
        if self.note:
            yield Static(Content(visible(self.note, multiline=True)), classes="note")
        if self.sources:
            yield SourceList(*(Option(source_line(s), id=str(i))
                               for i, s in enumerate(self.sources)))

    @property
    def source_list(self) -> SourceList | None:
        return next(iter(self.query_children(SourceList)), None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Opened(self.sources[event.option_index]))
