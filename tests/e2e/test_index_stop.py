"""Ctrl+C on ``offyai index`` of a large file, pressed in a real terminal (tmux).

The file streams (it is over a megabyte), its batches are stored as they are
embedded, and the terminal shows chunks done of an estimated total and the
megabytes read. Ctrl+C ends the command within seconds with one line, exit
code 130 and no traceback (also when pressed twice); what was stored is
committed and searchable, listed as partial, and the manifest agrees. The
next run goes on from there.
"""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import pytest

from offyai_tui.rag.index import DocumentIndex
from offyai_tui.settings.workspace import Workspace
from tests.e2e.conftest import WORKSPACE
from tests.rag.samples import make_pdf
from tests.tmux import OFFYAI, TmuxSession, base_env

pytestmark = pytest.mark.slow

STOP_WITHIN_S = 5.0
"""A correctness bound, not a speed figure: the old code took 41 s on a 50 MB file."""
PROGRESS = re.compile(r"indexing: 0/1 files, (\d+)/~(\d+) chunks, ([\d.]+)/([\d.]+) MB")
WORDS = ["ferry", "island", "harbour", "morning", "timetable", "weather", "captain", "deck",
         "passenger", "ticket", "crossing", "lighthouse", "tide", "rope", "gull", "cargo"]


def _big_file(path: Path, size: int = 3 * 2**19) -> Path:
    """1.5 MB of prose (about 1 500 chunks: far more than a test can embed)."""
    rng = random.Random(9)
    with path.open("w", encoding="utf-8") as out:
        out.write("The zanzibarferry timetable opens this log.\n\n")
        written = 0
        while written < size:
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 90)))
            paragraph = words.capitalize() + ".\n\n"
            out.write(paragraph)
            written += len(paragraph)
    return path


def _index_in_terminal(app_home: Path, user_home: Path, path: Path) -> TmuxSession:
    env = base_env(user_home, OFFYAI_HOME=app_home)
    return TmuxSession([str(OFFYAI), "index", str(path)], env, 200, 20)


def _chunks_shown(screen: str) -> int:
    found = PROGRESS.findall(screen)
    return int(found[-1][0]) if found else -1


def _stop(tui: TmuxSession, *keys: str) -> tuple[int | None, float, str]:
    started = time.monotonic()
    tui.send(*keys)
    status = tui.wait_dead(timeout=60)
    took = time.monotonic() - started
    # After the exit tmux may move lines into its history: read that too.
    return status, took, tui._tmux("capture-pane", "-p", "-S", "-", "-t", tui.name)


def _lines(screen: str) -> list[str]:
    """What the command left on screen (not the terminal's ^C echo, not tmux's note)."""
    return [
        line for line in screen.splitlines()
        if line.strip() and line.strip() != "^C" and not line.startswith("Pane is dead")
    ]


def _state(path: Path) -> tuple[str, int, list[int]]:
    """The file's record and its chunk ids, read as another process would, with the
    index's own consistency checked on the way."""
    workspace = Workspace.open(WORKSPACE)
    with DocumentIndex.open(workspace.index_dir) as index:
        assert not index.problem
        record = index.document(str(path))
        assert record is not None
        assert index.chunk_count() == index.vector_count() == record.chunks
        assert index.search_lexical("zanzibarferry", 3)  # what was stored is searchable
        manifest = json.loads(workspace.documents_manifest.read_text(encoding="utf-8"))
        assert manifest["generation"] == index.generation
        listed = {d["path"]: (d["status"], d["chunks"]) for d in manifest["documents"]}
        assert listed == {str(path): (record.status, record.chunks)}
        return record.status, record.chunks, [c.id for c in index.chunks_of(str(path))]


def test_ctrl_c_stops_a_large_file_at_once_and_keeps_what_is_stored(
    app_home: Path, user_home: Path, tmp_path: Path
) -> None:
    path = _big_file(tmp_path / "harbour.log")
    with _index_in_terminal(app_home, user_home, path) as tui:
        screen = tui.wait_until(
            lambda s: _chunks_shown(s) >= 32, "two stored batches on the progress line", 180
        )
        _, estimate, read, total = PROGRESS.findall(screen)[-1]
        assert int(estimate) > 500 and 0 <= float(read) < float(total) == 1.5
        status, took, screen = _stop(tui, "C-c")
    print(f"Ctrl+C to exit: {took:.2f} s")
    assert status == 130, screen
    assert took < STOP_WITHIN_S, screen
    assert "Traceback" not in screen
    lines = _lines(screen)
    assert len(lines) == 1 and lines[0].startswith("cancelled: 0 added"), screen
    assert "1 partly indexed" in lines[0]
    state, kept, ids = _state(path)
    assert state == "partial" and kept >= 32

    with _index_in_terminal(app_home, user_home, path) as tui:  # goes on; twice: now
        tui.wait_until(lambda s: _chunks_shown(s) >= 8, "the next batch", 180)
        status, took, screen = _stop(tui, "C-c", "C-c")
    print(f"Ctrl+C twice to exit: {took:.2f} s")
    assert status == 130, screen
    assert took < STOP_WITHIN_S, screen
    assert "Traceback" not in screen and len(_lines(screen)) == 1, screen
    state, more, again = _state(path)
    assert state == "partial" and more >= kept
    assert again[: len(ids)] == ids  # the first run's chunks were kept, not redone


def test_ctrl_c_does_not_wait_for_a_long_pdf_to_be_parsed(
    app_home: Path, user_home: Path, tmp_path: Path
) -> None:
    """A PDF is parsed whole in a worker thread (7 s of CPU for these 20,000 pages):
    the stop neither waits for the parse nor for the exit to walk its objects."""
    path = tmp_path / "manual.pdf"
    path.write_bytes(make_pdf([f"Page {i} of the harbour manual." for i in range(20000)]))
    with _index_in_terminal(app_home, user_home, path) as tui:
        tui.wait_for("indexing: 0/1 files, 0 chunks", 120)
        time.sleep(1.0)  # well into the parse
        status, took, screen = _stop(tui, "C-c")
    print(f"Ctrl+C to exit while parsing: {took:.2f} s")
    assert status == 130, screen
    assert took < STOP_WITHIN_S, screen
    assert "Traceback" not in screen
    lines = _lines(screen)
    assert len(lines) == 1 and lines[0].startswith("cancelled: 0 added"), screen
