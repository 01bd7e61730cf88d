"""The attachment UI's parts on their own: graphics choice, half-block cells, path
suggestions, what a paste may be, the picker's listing, and chips on reopened messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from rich.console import Console

from offyai_tui.ui.screens.file_picker import entries
from offyai_tui.ui.widgets.chat.prompt_input import may_be_paths, path_suggestion
from offyai_tui.ui.widgets.common.image_cells import HalfBlocks, graphics_protocol
from tests.ui.conftest import chat, screen_text, send, wait_for


@pytest.mark.parametrize(("env", "expected"), [
    ({"TERM": "xterm-kitty"}, "kitty"),
    ({"TERM": "xterm-256color", "KITTY_WINDOW_ID": "1"}, "kitty"),
    ({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"}, "halfcell"),
    ({"TERM": "screen-256color"}, "halfcell"),
    ({"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}, "sixel"),
    ({"TERM": "xterm-256color", "LC_TERMINAL": "iTerm2"}, "sixel"),  # over SSH
    ({"TERM": "foot"}, "sixel"),
    ({"TERM": "xterm-256color"}, "halfcell"),
    ({"TERM": "linux"}, "halfcell"),
    ({"TERM": "xterm-256color", "OFFYAI_GRAPHICS": "sixel"}, "sixel"),
    ({"TERM": "xterm-kitty", "OFFYAI_GRAPHICS": "halfcell"}, "halfcell"),
])
def test_the_graphics_protocol_comes_from_the_environment(env: dict, expected: str) -> None:
    assert graphics_protocol(env) == expected


def test_half_blocks_draw_two_pixels_a_cell_with_the_aspect_kept() -> None:
    picture = Image.new("RGB", (40, 40), "#ff0000")
    for x in range(40):
        for y in range(20, 40):
            picture.putpixel((x, y), (0, 0, 255))
    cells = HalfBlocks(picture, 30, 10)
    rows = cells.lines()
    assert len(rows) == 10 and len(rows[0]) == 20, "fits 20×20 px: 20 columns, 10 rows"
    assert rows[0][0].text == "▀"
    assert rows[0][0].style.color.triplet.hex == "#ff0000"
    assert rows[-1][0].style.bgcolor.triplet.hex == "#0000ff"
    console = Console(width=40, color_system="truecolor", force_terminal=True)
    with console.capture() as captured:
        console.print(cells)
    assert captured.get().count("▀") == 200


def test_a_path_after_image_or_file_is_suggested(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "screenshots").mkdir()
    (tmp_path / "screenshots" / "error.png").write_bytes(b"x")
    (tmp_path / ".hidden.png").write_bytes(b"x")
    assert path_suggestion("/image scr") == "eenshots/"
    assert path_suggestion("/file screenshots/e") == "rror.png"
    assert path_suggestion("/image .hid") == "den.png"  # hidden only once a dot is typed
    assert path_suggestion("/image ") == ""
    assert path_suggestion("hello scr") == ""
    assert path_suggestion("/image scr\nmore") == ""


def test_what_a_paste_may_be() -> None:
    assert may_be_paths("/home/me/photo.png")
    assert may_be_paths("'/home/me/my photo.png'")
    assert not may_be_paths("just words")
    assert not may_be_paths("//not a command")
    assert not may_be_paths("/" + "x" * 70_000)


def test_the_picker_lists_folders_first_and_no_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("b")
    (tmp_path / "A.png").write_bytes(b"a")
    (tmp_path / "docs").mkdir()
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".env").write_text("secret")
    assert entries(tmp_path) == [("docs", True), ("A.png", False), ("b.txt", False)]


async def test_a_reopened_conversation_shows_its_message_chips(
    build: Any, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("remember the milk\n")
    app = build()
    async with app.run_test(size=(110, 32)) as pilot:
        await send(pilot, f"/file {notes}")
        await wait_for(lambda: chat(app).attachments.waiting, pilot, timeout=10)
        await send(pilot, "what to buy?")
        await wait_for(lambda: not chat(app).generating
                       and len(chat(app).conversation.messages) == 2, pilot, timeout=10)
        conv_id = chat(app).conversation.id
    app = build()
    async with app.run_test(size=(110, 32)) as pilot:
        await pilot.pause()
        await chat(app).conversations.select(conv_id)
        await pilot.pause()
        text = screen_text(app)
        assert "what to buy?" in text and "[file 1: notes.txt" in text


async def test_tab_from_the_prompt_reaches_the_chips_and_esc_goes_back(
    build: Any, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("remember the milk\n")
    app = build()
    async with app.run_test(size=(110, 32)) as pilot:
        await pilot.press("tab")
        await pilot.pause()
        assert app.focused is not chat(app).attachments.bar, "no chips: nothing to focus"
        chat(app).prompt.focus()
        await send(pilot, f"/file {notes}")
        await wait_for(lambda: chat(app).attachments.waiting, pilot, timeout=10)
        await pilot.press("tab")
        assert app.focused is chat(app).attachments.bar
        await pilot.press("escape")
        assert app.focused is chat(app).prompt
        await pilot.press("tab", "backspace")
        await wait_for(lambda: not chat(app).attachments.waiting, pilot)
        assert app.focused is chat(app).prompt, "the last chip removed: back to the prompt"


async def test_a_read_only_workspace_says_attachments_cannot_be_stored(
    build: Any, tmp_path: Path
) -> None:
    from offyai_tui.chat.lock import WorkspaceLock
    from offyai_tui.settings.workspace import Workspace

    notes = tmp_path / "notes.txt"
    notes.write_text("remember the milk\n")
    workspace = Workspace.open("default").ensure()
    with WorkspaceLock(workspace.root, "default"):
        app = build()
        async with app.run_test(size=(110, 32)) as pilot:
            await send(pilot, f"/file {notes}")
            await wait_for(lambda: "attachments cannot be stored" in screen_text(app), pilot)
            assert not chat(app).attachments.waiting
            assert not (workspace.root / "attachments").exists()
