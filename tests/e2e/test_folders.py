"""Folders mean folders, through the real binary: ``ln -s ~/.ssh repo/keys; offyai index repo``.

The issue's reproduction: a private key reached through a link in an added
folder was indexed, and ``offyai ask --docs`` handed it to the model. Here the
home is the test's own (``HOME`` with a fake ``.ssh``), the index is built with
the bundled MiniLM, and the chat engine is a loopback stand-in that records
what it was sent, so the test sees exactly what a model would have received.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.conftest import write_config
from tests.e2e.scripted_openai import scripted_openai
from tests.tmux import OFFYAI, base_env

KEY_TEXT = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE TANGO-4471-ZULU\n"
)


def _offyai(args: list[str], app_home: Path, user_home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OFFYAI), *args], capture_output=True, text=True, timeout=180, cwd=user_home,
        env=base_env(user_home, OFFYAI_HOME=app_home), stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _manifest(app_home: Path) -> dict[str, Any]:
    path = app_home / "data" / "workspaces" / "default" / "documents.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _repo(tmp_path: Path, user_home: Path) -> Path:
    ssh = user_home / ".ssh"
    ssh.mkdir(mode=0o700)
    (ssh / "id_ed25519").write_text(KEY_TEXT, encoding="utf-8")
    (ssh / "notes.md").write_text("# SSH notes\n\nThe TANGO-4471-ZULU key is private.\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("# Repo\n\nThe launch checklist lives here.\n")
    (repo / "keys").symlink_to(ssh, target_is_directory=True)
    (repo / "passwd.txt").symlink_to("/etc/passwd")
    return repo


def test_index_skips_links_out_of_the_folder_and_the_model_never_sees_the_key(
    app_home: Path, user_home: Path, tmp_path: Path
) -> None:
    repo = _repo(tmp_path, user_home)
    result = _offyai(["index", str(repo)], app_home, user_home)
    assert result.returncode == 0, result.stderr
    ssh = (user_home / ".ssh").resolve()
    keys = repo.resolve() / "keys"
    assert f"skipped {keys}: symlink to outside the folder: {ssh}" in result.stdout
    assert (
        f"skipped {repo.resolve() / 'passwd.txt'}: symlink to outside the folder: /etc/passwd"
        in result.stdout
    )
    assert "2 links out of the folders not followed; --follow-symlinks" in result.stderr
    manifest = _manifest(app_home)
    indexed = {d["path"] for d in manifest["documents"] if d["status"] == "indexed"}
    assert indexed == {str((repo / "README.md").resolve())}  # real paths, nothing else
    assert manifest["roots"] == [str(repo.resolve())]

    # Asked about the key, the model gets no passage of it.
    with scripted_openai(["plain-model"], reply="I cannot see any key.") as server:
        write_config(app_home, f'[[openai]]\nname = "local"\nurl = "{server.url}"\n')
        asked = _offyai(
            ["--engine", "openai:local", "--model", "plain-model", "ask", "--docs",
             "show me the OPENSSH PRIVATE KEY TANGO-4471-ZULU"],
            app_home, user_home,
        )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    sent = json.dumps(server.bodies)
    assert len(server.bodies) == 1  # the question did reach the model
    assert "b3BlbnNzaC1rZXktdjE" not in sent
    assert "id_ed25519" not in sent + asked.stdout


def test_follow_symlinks_still_never_indexes_a_hidden_folder(
    app_home: Path, user_home: Path, tmp_path: Path
) -> None:
    repo = _repo(tmp_path, user_home)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "guide.md").write_text("# Guide\n\nShared guide text.\n")
    (repo / "shared").symlink_to(shared, target_is_directory=True)
    result = _offyai(["index", "--follow-symlinks", str(repo)], app_home, user_home)
    assert result.returncode == 0, result.stderr
    ssh = (user_home / ".ssh").resolve()
    assert (
        f"skipped {repo.resolve() / 'keys'}: symlink to a hidden or ignored path (.ssh): {ssh}"
        in result.stdout
    )
    documents = {d["path"]: d for d in _manifest(app_home)["documents"]}
    assert str((shared / "guide.md").resolve()) in documents  # followed, recorded as real path
    assert not any(".ssh" in path for path in documents)


def test_a_reindex_drops_what_was_taken_in_through_a_link_it_now_refuses(
    app_home: Path, user_home: Path, tmp_path: Path
) -> None:
    """Indexed while links were followed (as an older version always did), then the rule
    applies again: the re-index (no paths: every saved folder) drops those documents."""
    repo = _repo(tmp_path, user_home)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "guide.md").write_text("# Guide\n\nShared guide text.\n")
    (repo / "shared").symlink_to(shared, target_is_directory=True)
    guide = str((shared / "guide.md").resolve())
    first = _offyai(["index", "--follow-symlinks", str(repo)], app_home, user_home)
    assert first.returncode == 0, first.stderr
    assert guide in {d["path"] for d in _manifest(app_home)["documents"]}

    again = _offyai(["index"], app_home, user_home)  # re-check the saved folders
    assert again.returncode == 0, again.stderr
    assert "2 removed" in again.stdout, again.stdout  # the guide, and /etc/passwd's record
    documents = {d["path"]: d for d in _manifest(app_home)["documents"]}
    assert guide not in documents and "/etc/passwd" not in documents
    assert documents[str(repo.resolve() / "shared")]["reason"] == (
        f"symlink to outside the folder: {shared.resolve()}"
    )
    assert str((repo / "README.md").resolve()) in documents  # the folder's own file stays
