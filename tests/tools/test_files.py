"""read_file: only text under the folders the user gave this workspace's documents."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from offyai_tui.engines.parts import ToolCall
from offyai_tui.rag.index import DocumentIndex
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.tools import ToolBox


def allow_folders(workspace: Workspace, *paths: Path, removed: Path | None = None) -> None:
    """Record ``paths`` as the workspace's document roots, as ``offyai index`` does."""
    workspace.ensure()
    with DocumentIndex.open(workspace.index_dir, workspace.documents_manifest) as index:
        with index.writer() as writer:
            for path in paths:
                writer.put_root(str(path))
            writer.commit()
        if removed is not None:
            from offyai_tui.rag.service import remove_documents

            remove_documents(index, [removed])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "plan.md").write_text("# Plan\nship in March\n", encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "deep.txt").write_text("deep text\n", encoding="utf-8")
    (folder / ".env").write_text("API_KEY=secret\n", encoding="utf-8")
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "keys.txt").write_text("private key material\n", encoding="utf-8")
    os.symlink(outside / "keys.txt", folder / "innocent.txt")
    os.symlink(outside, folder / "linked")
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(100))
    return folder


@pytest.fixture
async def box(folder: Path):
    workspace = Workspace.open("files")
    allow_folders(workspace, folder)
    async with ToolBox(Settings(), workspace) as box:
        yield box


async def read(box: ToolBox, path: str, **extra: object):
    return await box.call(ToolCall("c1", "read_file", {"path": path, **extra}))


async def test_a_file_in_the_folder_is_read_by_relative_or_absolute_path(
    box: ToolBox, folder: Path
) -> None:
    relative = await read(box, "plan.md")
    assert not relative.is_error
    assert "ship in March" in relative.text and "lines 1-2 of 2" in relative.text
    absolute = await read(box, str(folder / "sub" / "deep.txt"))
    assert not absolute.is_error and "deep text" in absolute.text


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("innocent.txt", "symlink to outside the folder"),
        ("linked/keys.txt", "symlink to outside the folder"),
        ("../private/keys.txt", "outside the folders open to the model"),
        ("/etc/passwd", "outside the folders open to the model"),
        (".env", "hidden or ignored path"),
        ("photo.png", "not a text file"),
        ("missing.md", "does not exist"),
        ("sub", "not a file"),
    ],
)
async def test_what_is_outside_the_folder_or_not_text_is_refused_in_one_line(
    box: ToolBox, path: str, why: str
) -> None:
    result = await read(box, path)
    assert result.is_error
    assert why in result.text
    assert "\n" not in result.text
    assert "private key material" not in result.text and "secret" not in result.text


async def test_a_long_file_comes_back_in_parts_that_say_where_to_go_on(folder: Path) -> None:
    (folder / "long.txt").write_text("".join(f"line {n}\n" for n in range(1, 5001)))
    workspace = Workspace.open("files")
    allow_folders(workspace, folder)
    settings = Settings()
    settings.tools.max_output_chars = 2000
    async with ToolBox(settings, workspace) as box:
        first = await read(box, "long.txt")
        assert first.text.startswith(f"{folder / 'long.txt'} (lines 1-")
        assert "call read_file with start_line=" in first.text
        assert len(first.text) <= 2000
        start = int(first.text.rsplit("start_line=", 1)[1].rstrip("]"))
        second = await read(box, "long.txt", start_line=start)
        assert second.text.splitlines()[1] == f"line {start}"
        past = await read(box, "long.txt", start_line=9999)
        assert past.is_error and "past the end" in past.text


async def test_a_workspace_without_documents_opens_no_folder() -> None:
    async with ToolBox(Settings(), Workspace.open("empty")) as box:
        result = await read(box, "/etc/hostname")
    assert result.is_error and "no folders are open" in result.text


async def test_a_path_removed_from_the_documents_is_refused(folder: Path) -> None:
    workspace = Workspace.open("files")
    allow_folders(workspace, folder, removed=folder / "sub")
    async with ToolBox(Settings(), workspace) as box:
        result = await read(box, "sub/deep.txt")
        kept = await read(box, "plan.md")
    assert result.is_error and "removed from this workspace's documents" in result.text
    assert not kept.is_error
