"""The disk fills up while an answer or the document index is being saved.

``OFFYAI_HOME`` lives on a real 512 KiB tmpfs (we mount it; skipped where
mounting is not allowed), filled to the last page before the answer arrives.
A scripted engine writes the answer so its size is known: bigger than a page,
so the final line cannot squeeze into the slack of the file's last page.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from offyai_tui.chat import parse_transcript, read_transcript
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.app import OffyApp, make_app
from tests.e2e.conftest import run_offyai, write_config
from tests.faults.conftest import SIZE, answers_ended, chat, send, wait_for
from tests.ui.fakes import Script, ScriptedEngine

BIG = "".join(f"word{i} " for i in range(3000))  # about 25 KB


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 512 KiB tmpfs mounted as ``OFFYAI_HOME``."""
    mount = tmp_path / "small"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
    monkeypatch.setenv("OFFYAI_HOME", str(mount / "home"))
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(disk: Path) -> Path:
    """Write a file until the file system refuses another byte."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    size = 1 << 16
    try:
        while size:
            try:
                if os.write(fd, b"\0" * size) < size:
                    size //= 2
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                size //= 2
    finally:
        os.close(fd)
    return filler


async def test_disk_full_while_saving_an_answer_damages_nothing_and_recovers(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes: list[str] = []
    notify = OffyApp.notify

    def spy(self: OffyApp, message: str, *args, **kwargs):
        notes.append(f"{kwargs.get('title', '')}: {message}")
        return notify(self, message, *args, **kwargs)

    monkeypatch.setattr(OffyApp, "notify", spy)
    chunks = [BIG[i : i + 1000] for i in range(0, len(BIG), 1000)]
    engine = ScriptedEngine(
        scripts=[Script(["first answer"]), Script(chunks, delay=0.05), Script(["third answer"])]
    )
    app = make_app(settings=Settings(), workspace=Workspace.open("default"), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await send(pilot, "first question")
        await wait_for(answers_ended(screen, 1), pilot, timeout=10)
        path = screen.store.path_for(screen.conversation.id)
        saved_before = path.read_bytes()

        filler = fill(small_disk)
        await send(pilot, "second question")
        await wait_for(answers_ended(screen, 2), pilot, timeout=20)
        assert screen.conversation.messages[-1].content == BIG  # still shown in full
        assert any("disk is full" in note for note in notes), notes
        after = path.read_bytes()
        assert after.startswith(saved_before)  # appended to, never rewritten
        partial = parse_transcript(after, path.stem)
        assert partial.warnings == []
        assert [m.content for m in partial.messages[:2]] == ["first question", "first answer"]
        assert not any(p.name.endswith(".tmp") for p in path.parent.iterdir())

        filler.unlink()
        await send(pilot, "third question")
        await wait_for(answers_ended(screen, 3), pilot, timeout=10)

    final = read_transcript(path)
    assert final.warnings == []
    assert [(m.role, m.content, m.status) for m in final.messages] == [
        ("user", "first question", "complete"),
        ("assistant", "first answer", "complete"),
        ("user", "second question", "complete"),
        ("assistant", BIG, "complete"),
        ("user", "third question", "complete"),
        ("assistant", "third answer", "complete"),
    ]


def _snapshot(folder: Path) -> dict[str, bytes]:
    """The index's durable files; SQLite's -wal/-shm sidecars are transient, not data."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


@pytest.mark.slow
def test_disk_full_while_indexing_is_one_line_and_keeps_the_index(
    small_disk: Path, tmp_path: Path
) -> None:
    home = small_disk / "home"
    write_config(home)
    user = tmp_path / "user"
    user.mkdir()
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "heron.md").write_text("The launch code of project Heron is BLUEBIRD-42.\n")
    (second / "long.md").write_text(
        "\n\n".join(f"Paragraph {i}: " + "sea birds fly over the coast " * 40 for i in range(40))
    )
    assert run_offyai(["index", str(first)], home, user, timeout=120).returncode == 0
    workspace = home / "data" / "workspaces" / "default"
    before = _snapshot(workspace / "index")
    assert before, "the first index wrote nothing"

    filler = fill(small_disk)
    result = run_offyai(["index", str(second)], home, user, timeout=120)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "disk" in lines[0].lower() or "space" in lines[0].lower(), lines[0]
    assert _snapshot(workspace / "index") == before  # what was indexed is intact
    filler.unlink()
    found = run_offyai(["ask", "--docs", "--max-tokens", "8", "launch code Heron"], home, user,
                       timeout=120)  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert "heron.md" in found.stdout
