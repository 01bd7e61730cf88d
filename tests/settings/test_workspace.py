"""Workspace names cannot escape the data directory; files and dirs are private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from offyai_tui.settings import locations
from offyai_tui.settings.workspace import Workspace, WorkspaceError, list_workspaces
from offyai_tui.util.fileio import atomic_write_text, open_private_append


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "..",
        ".",
        "/etc",
        "a/b",
        "a\\b",
        "x\x00y",
        "",
        "con",
        "NUL.txt",
        "-x",
        "a" * 65,
        "x.",
    ],
)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(WorkspaceError) as info:
        Workspace.open(name)
    assert "workspace name" in str(info.value)


def test_workspace_layout_is_private(offyai_home: Path) -> None:
    ws = Workspace.open("clients-2026").ensure()
    assert ws.root == (locations.workspaces_dir() / "clients-2026").resolve()
    for directory in (ws.root, ws.chats_dir, ws.index_dir, locations.data_dir()):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    assert list_workspaces() == ["clients-2026"]


def test_written_files_are_0600(offyai_home: Path) -> None:
    ws = Workspace.open().ensure()
    target = ws.root / "note.json"
    atomic_write_text(target, "{}")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with open_private_append(ws.chats_dir / "c.jsonl") as handle:
        handle.write(b"{}\n")
    assert stat.S_IMODE((ws.chats_dir / "c.jsonl").stat().st_mode) == 0o600


def test_atomic_write_keeps_old_content_on_failure(offyai_home: Path, monkeypatch) -> None:
    ws = Workspace.open().ensure()
    target = ws.root / "manifest.json"
    atomic_write_text(target, "old")

    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in ws.root.iterdir() if p.name.endswith(".tmp")] == []


def test_offyai_home_moves_everything(offyai_home: Path) -> None:
    for name, path in locations.all_locations().items():
        if name != "model cache":
            assert str(path).startswith(str(offyai_home)), name
