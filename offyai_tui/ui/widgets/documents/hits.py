"""Search results on the Documents screen: numbered hits with where each came from.

Each line reads ``[1] 0.83  notes.md > Install > Linux · lines 10-24``; Enter on
one posts :class:`SearchHits.Opened` so the screen can show the chunk's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from offyai_tui.rag.retriever import Source
from offyai_tui.util.textsafe import visible


def hit_line(source: Source) -> Content:
    """One result: number, score, file, heading path and line or page range."""
    place = " > ".join([Path(source.path).name, *source.heading_path])
    return Content.assemble(
        (f"[{source.number}] ", "bold"),
        (f"{source.score:.3f}  ", "$text-muted"),
        visible(place),
        (f" · {source.location}", "$text-muted"),
    )


class SearchHits(OptionList):
    """The hits of the last search; hidden while there are none."""

    DEFAULT_CSS = """
    SearchHits { height: auto; max-height: 10; display: none; }
    SearchHits.-shown { display: block; }
    """

    class Opened(Message):
        """A hit was chosen; ``source`` carries the chunk text."""

        def __init__(self, source: Source) -> None:
            super().__init__()
            self.source = source

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sources: list[Source] = []

    def show(self, sources: Sequence[Source]) -> None:
        self.sources = list(sources)
        self.set_options(Option(hit_line(s), id=str(i)) for i, s in enumerate(self.sources))
        self.set_class(bool(self.sources), "-shown")
        if self.sources:
            self.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Opened(self.sources[event.option_index]))
