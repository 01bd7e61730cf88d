"""The Documents screen's add flow keeps to the added folder, and says what it left out.

A real folder with a link to a fake ``~/.ssh`` and one to ``/etc/passwd``, added
through the screen's path box and indexed by the real llama.cpp engine with the
bundled MiniLM: the table lists both links as skipped with their targets, and
nothing from behind them is indexed. With ``rag.follow_symlinks`` on, an
ordinary outside folder is followed, but the hidden one still is not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from offyai_tui.engines.registry import EngineRegistry
from offyai_tui.rag.service import list_documents
from offyai_tui.settings import locations
from offyai_tui.settings.config import Settings, parse_settings
from offyai_tui.settings.workspace import Workspace
from tests.ui.documents_host import (
    Host,
    add_path,
    job_idle,
    progress_line,
    rows,
    wait_for,
)

pytestmark = pytest.mark.slow


def _folder(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n")
    (home / "shared").mkdir()
    (home / "shared" / "guide.md").write_text("# Guide\n\nShared guide text.\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("# Repo\n\nThe launch checklist lives here.\n")
    (repo / "keys").symlink_to(home / ".ssh", target_is_directory=True)
    (repo / "passwd.txt").symlink_to("/etc/passwd")
    (repo / "shared").symlink_to(home / "shared", target_is_directory=True)
    return repo, home


async def _add(settings: Settings, repo: Path) -> tuple[dict[str, tuple[str, ...]], str]:
    """The documents table and the progress line once the folder is indexed."""
    settings.llamacpp.n_threads = 1
    app = Host(settings, registry=EngineRegistry(settings))
    async with app.run_test(size=(160, 40)) as pilot:
        await add_path(pilot, repo)
        await wait_for(pilot, job_idle(app), timeout=240)
        await wait_for(pilot, lambda: "README.md" in rows(app))
        return rows(app), progress_line(app)


async def test_links_out_of_an_added_folder_are_listed_as_skipped_with_their_target(
    tmp_path: Path,
) -> None:
    repo, home = _folder(tmp_path)
    table, line = await _add(Settings(), repo)
    ssh, shared = (home / ".ssh").resolve(), (home / "shared").resolve()
    assert table["README.md"][-1].startswith("indexed")
    assert table["keys"][-1] == f"skipped: symlink to outside the folder: {ssh}"
    assert table["passwd.txt"][-1] == "skipped: symlink to outside the folder: /etc/passwd"
    assert table["shared"][-1] == f"skipped: symlink to outside the folder: {shared}"
    indexed = {r.path for r in list_documents(Workspace.open("default")) if r.status == "indexed"}
    assert indexed == {str((repo / "README.md").resolve())}
    assert "3 links out of the folder not followed (rag.follow_symlinks)" in line, line


async def test_following_links_is_an_option_that_never_reaches_hidden_folders(
    tmp_path: Path,
) -> None:
    repo, home = _folder(tmp_path)
    settings = Settings()
    settings.rag.follow_symlinks = True
    table, line = await _add(settings, repo)
    assert table["guide.md"][-1].startswith("indexed")  # the outside folder, followed
    assert table["keys"][-1] == (
        f"skipped: symlink to a hidden or ignored path (.ssh): {(home / '.ssh').resolve()}"
    )
    assert "id_ed25519" not in table
    assert "not followed" not in line, line


async def test_the_palette_turns_following_on_saves_it_and_the_next_run_follows(
    tmp_path: Path,
) -> None:
    repo, _ = _folder(tmp_path)
    settings = Settings()
    settings.llamacpp.n_threads = 1
    app = Host(settings, registry=EngineRegistry(settings))
    async with app.run_test(size=(160, 40)) as pilot:
        commands = {title: run for title, _, run in await app.screen.palette_commands()}
        commands["Documents: follow links out of folders"]()
        assert settings.rag.follow_symlinks
        assert "follow_symlinks = true" in locations.config_file().read_text()
        await add_path(pilot, repo)
        await wait_for(pilot, job_idle(app), timeout=240)
        await wait_for(pilot, lambda: "guide.md" in rows(app))
        again = {title for title, _, _ in await app.screen.palette_commands()}
        assert "Documents: stop following links out of folders" in again
    assert parse_settings(locations.config_file().read_text()).rag.follow_symlinks
