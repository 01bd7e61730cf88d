"""Snapshot of the chip bar under the prompt (pytest-textual-snapshot).

Real files made for the test: a PNG larger than the engine's limit (so its
chip carries a downscale note) and a text file; the bar is focused, so the
selected chip and the keys line show. Update with ``--snapshot-update`` only
after checking the report.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from offyai_tui.ui.widgets.chat.attach_bar import AttachBar
from tests.ui.conftest import chat
from tests.ui.fakes import ScriptedEngine
from tests.ui.test_snapshots import SIZE, settle, still_app


@pytest.fixture
def files(tmp_path: Path) -> Path:
    Image.new("RGB", (3000, 1000), "teal").save(tmp_path / "wide.png")
    (tmp_path / "notes.txt").write_text("first line\nsecond line\n" * 10)
    return tmp_path


def test_chip_bar_with_an_image_note_and_a_file(snap_compare, files: Path) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        for command in (f"/image {files / 'wide.png'}", f"/file {files / 'notes.txt'}"):
            chat(pilot.app).prompt.insert(command)
            await pilot.press("enter")
            bar = chat(pilot.app).query_one("#attachments", AttachBar)
            while chat(pilot.app).attachments.busy or not bar.labels:
                await pilot.pause(0.02)
        await pilot.press("alt+a", "right")
        await pilot.pause()

    assert snap_compare(still_app(ScriptedEngine()), terminal_size=SIZE, run_before=run_before)
