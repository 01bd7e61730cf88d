"""The streamed answer body in a tiny host app: blocks freeze, only the tail streams."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown

from offyai_tui.ui.widgets.chat.answer_body import AnswerBody
from offyai_tui.ui.widgets.chat.blocks import split_blocks


class Host(App[None]):
    def __init__(self, body: AnswerBody) -> None:
        super().__init__()
        self.body = body

    def compose(self) -> ComposeResult:
        yield self.body


def sources(body: AnswerBody) -> list[str]:
    return [m.source for m in body.query_children(Markdown)]


def blocks_of(body: AnswerBody) -> list[str]:
    return [block for source in sources(body) for block in split_blocks(source)]


async def stream_slowly(body: AnswerBody, pilot, text: str, size: int = 7) -> Markdown:
    """Write ``text`` in small pieces with pauses; returns the first frozen chunk."""
    first = None
    for start in range(0, len(text), size):
        await body.write(text[start : start + size])
        if start % (size * 10) == 0:
            await pilot.pause(0.04)
        chunks = list(body.query_children(Markdown))
        if first is None and len(chunks) > 1:
            first = chunks[0]
    return first


async def test_finished_blocks_become_frozen_chunks() -> None:
    body = AnswerBody(streaming=True)
    body.freeze_chars = 120
    text = "".join(f"Paragraph {i} has some words.\n\n" for i in range(40)) + "The end"
    async with Host(body).run_test() as pilot:
        first = await stream_slowly(body, pilot, text)
        assert first is not None
        frozen_source = first.source
        await body.finish(text)
        await pilot.pause()
        assert blocks_of(body) == split_blocks(text)
        assert len(sources(body)) > 3
        # A frozen chunk is created once, rendered once and kept.
        assert body.query_children(Markdown).first() is first
        assert first.source == frozen_source
        assert not body.streaming


class ScrollHost(App[None]):
    def __init__(self, body: AnswerBody) -> None:
        super().__init__()
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="scroll"):
            yield self.body


async def test_chunks_far_above_the_bottom_are_hidden_while_following() -> None:
    body = AnswerBody(streaming=True)
    body.freeze_chars = 100
    text = "".join(f"Line {i} of a long answer.\n\n" for i in range(120)) + "The end"
    app = ScrollHost(body)
    async with app.run_test(size=(60, 12)) as pilot:
        scroll = app.query_one("#scroll", VerticalScroll)
        scroll.anchor()
        await stream_slowly(body, pilot, text[: len(text) // 2], size=20)
        await pilot.pause(0.1)
        assert body.hidden_chunks > 0
        spacer = body.query_one("#spacer")
        hidden = [c for c in body.query_children(Markdown) if not c.display]
        assert spacer.display and spacer.styles.height.value == sum(
            c.outer_size.height for c in hidden)
        # Reading above: everything is shown again.
        scroll.scroll_home(animate=False)
        await pilot.pause()
        await body.write(" more")
        await pilot.pause(0.1)
        assert body.hidden_chunks == 0
        await body.finish(text[: len(text) // 2] + " more")
        await pilot.pause()
        assert all(c.display for c in body.query_children(Markdown))
        assert blocks_of(body) == split_blocks(text[: len(text) // 2] + " more")


async def test_text_written_before_mount_is_kept() -> None:
    body = AnswerBody("Already ", streaming=True)
    await body.write("here\n\nand more")
    async with Host(body).run_test() as pilot:
        await pilot.pause()
        await body.write(" text")
        await body.finish("Already here\n\nand more text")
        await pilot.pause()
        assert blocks_of(body) == ["Already here", "and more text"]


async def test_final_text_longer_than_stream_is_rendered_in_full() -> None:
    body = AnswerBody(streaming=True)
    async with Host(body).run_test() as pilot:
        await body.write("partial")
        await body.finish("partial answer from the error event")
        await pilot.pause()
        assert sources(body) == ["partial answer from the error event"]


async def test_controls_are_removed_before_rendering() -> None:
    body = AnswerBody(streaming=True)
    async with Host(body).run_test() as pilot:
        await body.write("\x1b]52;c;ZXZpbA==\x07red \x1b[31mtext")
        await body.finish("\x1b]52;c;ZXZpbA==\x07red \x1b[31mtext")
        await pilot.pause()
        assert sources(body) == ["]52;c;ZXZpbA==red [31mtext"]


async def test_every_chunk_shows_the_blocks_of_its_source_while_streaming() -> None:
    """Lists and code blocks cut across flushes and freezes render as if whole.

    A tail created with text and then appended to was re-parsed from its last
    line, so a list or code block left open at the start lost its first lines.
    """
    body = AnswerBody(streaming=True)
    body.freeze_chars = 40
    section = "Intro.\n\n- one\n- two\n- three\n\n```python\nx = 1\ny = 2\n```\n\nEnd of part.\n\n"
    app = Host(body)
    async with app.run_test(size=(80, 200)) as pilot:
        await stream_slowly(body, pilot, section * 4 + "Last", size=5)
        await pilot.pause(0.2)
        chunks = list(body.query_children(Markdown))
        assert len(chunks) > 2
        for chunk in chunks:
            fresh = type(chunk)(chunk.source)
            await app.mount(fresh)
            await pilot.pause()
            shown = [(type(b).__name__, b.source) for b in chunk.children]
            assert shown == [(type(b).__name__, b.source) for b in fresh.children], chunk.source
            await fresh.remove()


async def test_frozen_chunks_keep_their_height_until_the_width_changes() -> None:
    body = AnswerBody(streaming=True)
    body.freeze_chars = 60
    text = "".join(f"Paragraph {i} with some words in it.\n\n" for i in range(30)) + "Tail"
    app = ScrollHost(body)
    async with app.run_test(size=(60, 100)) as pilot:
        await stream_slowly(body, pilot, text, size=9)
        await pilot.pause(0.2)
        frozen = [c for c in body.query_children(Markdown) if c.styles.height.is_cells]
        assert frozen, "no chunk was pinned"
        assert all(c.styles.height.value == c.outer_size.height for c in frozen)
        await pilot.resize_terminal(40, 100)
        await pilot.pause(0.2)
        assert not any(c.styles.height.is_cells for c in frozen)
        await body.finish(text)
        await pilot.pause()
        assert blocks_of(body) == split_blocks(text)


async def test_words_within_a_line_repaint_without_a_layout_and_a_wrap_lays_out() -> None:
    body = AnswerBody(streaming=True)
    layouts: list[int] = []
    async with Host(body).run_test(size=(40, 10)) as pilot:
        original = pilot.app.screen._refresh_layout

        def counting(*args, **kwargs):
            layouts.append(1)
            return original(*args, **kwargs)

        pilot.app.screen._refresh_layout = counting
        await body.write("Short start")
        await pilot.pause(0.3)
        paragraph = body.query("MarkdownParagraph").last()
        assert paragraph.size.height == 1
        layouts.clear()
        for word in (" and", " more", " words"):
            await body.write(word)
            await pilot.pause(0.2)
        assert not layouts, "words that fit the line caused a layout"
        assert "Short start and more words" in paragraph.render_line(0).text
        await body.write(" that now run well past the width of this narrow terminal")
        await pilot.pause(0.3)
        assert layouts, "a paragraph that wrapped onto new lines was not laid out"
        assert paragraph.size.height > 1
        shown = " ".join(
            paragraph.render_line(y).text.strip() for y in range(paragraph.size.height)
        )
        assert shown.endswith("narrow terminal")
