"""Folders mean folders: links out of an added folder, and hidden folders reached by a link.

Real files and real symlinks under pytest's temporary directory; ``~/.ssh`` is a
fake home's, ``/etc/passwd`` the real one (only its path is compared).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from offyai_tui.rag.documents import Skipped
from offyai_tui.rag.walk import iter_files, pulled_through_links
from offyai_tui.util.confine import Refusal, resolve_inside

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with a private key in ``.ssh`` and an ordinary shared folder."""
    home = tmp_path / "home"
    _write(home / ".ssh" / "id_ed25519", KEY)
    _write(home / ".ssh" / "config", "Host *\n")
    _write(home / "shared" / "guide.md", "# Guide\n")
    _write(home / "shared" / ".env", "TOKEN=x\n")
    _write(home / "shared" / "node_modules" / "m.js", "x")
    return home


@pytest.fixture
def repo(tmp_path: Path, home: Path) -> Path:
    """``repo`` with a link to ``~/.ssh``, one to ``/etc/passwd`` and one outside folder."""
    repo = tmp_path / "repo"
    _write(repo / "README.md", "# Repo\n")
    _write(repo / "docs" / "a.md", "# A\n")
    (repo / "keys").symlink_to(home / ".ssh", target_is_directory=True)
    (repo / "passwd.txt").symlink_to("/etc/passwd")
    (repo / "shared").symlink_to(home / "shared", target_is_directory=True)
    return repo


def _split(found: list[Path | Skipped]) -> tuple[list[Path], dict[str, str]]:
    files = [f for f in found if isinstance(f, Path)]
    skipped = {Path(s.path).name: s.reason for s in found if isinstance(s, Skipped)}
    return files, skipped


def test_links_out_of_the_folder_are_skipped_and_listed_with_their_target(
    repo: Path, home: Path
) -> None:
    files, skipped = _split(list(iter_files([repo])))
    assert files == [(repo / "README.md").resolve(), (repo / "docs" / "a.md").resolve()]
    assert skipped == {
        "keys": f"symlink to outside the folder: {(home / '.ssh').resolve()}",
        "passwd.txt": "symlink to outside the folder: /etc/passwd",
        "shared": f"symlink to outside the folder: {(home / 'shared').resolve()}",
    }


def test_following_links_still_never_reaches_hidden_or_ignored_folders(
    repo: Path, home: Path
) -> None:
    files, skipped = _split(list(iter_files([repo], follow_symlinks=True)))
    assert files == [
        (repo / "README.md").resolve(),
        Path("/etc/passwd").resolve(),  # files of a folder come before its subfolders
        (repo / "docs" / "a.md").resolve(),
        (home / "shared" / "guide.md").resolve(),  # recorded as its real path
    ]
    assert not any(".ssh" in str(f) or ".env" in str(f) or "node_modules" in str(f)
                   for f in files)  # fmt: skip
    ssh = (home / ".ssh").resolve()
    assert skipped == {"keys": f"symlink to a hidden or ignored path (.ssh): {ssh}"}


def test_a_link_to_a_hidden_folder_inside_the_folder_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    _write(root / ".git" / "config", "[core]\n")
    _write(root / ".secrets" / "token.txt", "t0ps3cret")
    _write(root / "notes.md", "# Notes\n")
    (root / "git").symlink_to(root / ".git", target_is_directory=True)
    (root / "token.txt").symlink_to(root / ".secrets" / "token.txt")
    for follow in (False, True):
        files, skipped = _split(list(iter_files([root], follow_symlinks=follow)))
        assert files == [(root / "notes.md").resolve()]
        assert skipped == {
            "git": f"symlink to a hidden or ignored path (.git): {(root / '.git').resolve()}",
            "token.txt": "symlink to a hidden or ignored path (.secrets): "
            f"{(root / '.secrets' / 'token.txt').resolve()}",
        }


def test_links_inside_the_folder_are_followed_once(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    _write(root / "docs" / "a.md", "# A\n")
    (root / "alias").symlink_to(root / "docs", target_is_directory=True)
    (root / "b.md").symlink_to(root / "docs" / "a.md")
    files, skipped = _split(list(iter_files([root])))
    assert files == [(root / "docs" / "a.md").resolve()]
    assert skipped == {}


def test_ignored_folders_are_left_out_silently(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    _write(root / "node_modules" / "m.js", "x")
    _write(root / "src" / "main.py", "print(1)\n")
    files, skipped = _split(list(iter_files([root])))
    assert files == [(root / "src" / "main.py").resolve()]
    assert skipped == {}


def test_a_folder_given_through_a_link_is_walked_as_that_folder(tmp_path: Path) -> None:
    """Everything recorded, skips included, lies under the real folder the index saves."""
    real = tmp_path / "real"
    _write(real / "a.md", "# A\n")
    (real / "pw.txt").symlink_to("/etc/passwd")
    (tmp_path / "via").symlink_to(real, target_is_directory=True)
    assert list(iter_files([tmp_path / "via"])) == [
        (real / "a.md").resolve(),
        Skipped(str(real.resolve() / "pw.txt"), "symlink to outside the folder: /etc/passwd"),
    ]


def test_a_file_named_explicitly_is_read_even_through_a_link(repo: Path) -> None:
    """The user chose it: only folder walks apply the folder rule."""
    assert list(iter_files([repo / "passwd.txt"])) == [Path("/etc/passwd").resolve()]


# -- the rule itself, for every feature that reads files --------------------------------


def test_resolve_inside_is_the_rule_for_any_path(repo: Path, home: Path) -> None:
    assert resolve_inside(repo, repo / "docs" / "a.md") == (repo / "docs" / "a.md").resolve()
    assert resolve_inside(repo, "docs/../README.md") != (repo / "README.md").resolve()  # cwd
    assert resolve_inside(repo, repo / "docs" / ".." / "README.md") == (
        repo / "README.md"
    ).resolve()
    assert resolve_inside(repo, repo / ".." / "home" / ".ssh" / "id_ed25519") == Refusal(
        f"outside the folder: {(home / '.ssh' / 'id_ed25519').resolve()}"
    )
    refused = resolve_inside(repo, repo / "keys" / "id_ed25519", follow_symlinks=True)
    assert isinstance(refused, Refusal) and "(.ssh)" in refused.reason
    climbed = resolve_inside(repo, f"{repo}/keys/../README.md")  # ".." from the link's target
    assert climbed == Refusal(f"symlink to outside the folder: {home.resolve() / 'README.md'}")
    refused = resolve_inside(repo, repo / ".git" / "config")
    assert refused == Refusal(f"hidden or ignored path (.git): {(repo / '.git/config')}")
    assert str(resolve_inside(repo, repo / "passwd.txt")) == (
        "symlink to outside the folder: /etc/passwd"
    )


def test_a_hidden_folder_chosen_as_the_root_is_allowed(home: Path) -> None:
    ssh = home / ".ssh"
    assert resolve_inside(ssh, ssh / "config") == (ssh / "config").resolve()


def test_following_links_never_climbs_to_a_folder_containing_the_root(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    _write(root / "a.md", "# A\n")
    _write(tmp_path / "elsewhere.md", "# E\n")
    (root / "up").symlink_to("..", target_is_directory=True)
    (root / "all").symlink_to("/", target_is_directory=True)
    files, skipped = _split(list(iter_files([root], follow_symlinks=True)))
    assert files == [(root / "a.md").resolve()]
    assert skipped == {
        "all": "symlink to a folder that contains this one: /",
        "up": f"symlink to a folder that contains this one: {tmp_path.resolve()}",
    }


def test_what_an_older_index_took_in_through_a_refused_link_is_found(
    repo: Path, home: Path, tmp_path: Path
) -> None:
    """Only documents outside every added folder, behind a link the walk refused."""
    skips = [s for s in iter_files([repo]) if isinstance(s, Skipped)]
    key = str((home / ".ssh" / "id_ed25519").resolve())
    guide = str((home / "shared" / "guide.md").resolve())
    own = str((repo / "README.md").resolve())
    other_root = str((home / "shared").resolve())  # also added by itself: its files stay
    indexed = [key, guide, own, "/etc/passwd", str(tmp_path / "unrelated.md")]
    assert pulled_through_links(skips, indexed, [str(repo.resolve())]) == {
        key, guide, "/etc/passwd",
    }  # fmt: skip
    assert pulled_through_links(skips, indexed, [str(repo.resolve()), other_root]) == {
        key, "/etc/passwd",
    }  # fmt: skip


def test_a_link_to_a_folder_containing_the_root_names_no_target(tmp_path: Path) -> None:
    """``all -> /`` says nothing of what was pulled in: everything lies under ``/``."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "all").symlink_to("/", target_is_directory=True)
    (skip,) = list(iter_files([root], follow_symlinks=True))
    assert isinstance(skip, Skipped) and skip.target == ""
    assert pulled_through_links([skip], ["/etc/passwd"], []) == set()
