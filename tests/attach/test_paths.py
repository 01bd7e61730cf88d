"""Paths in the prompt: ``@path`` tokens, dropped files as terminals paste them, ``/image``."""

from __future__ import annotations

import shlex
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offyai_tui.attach import at_paths, dropped_paths, path_argument
from offyai_tui.chat import slash


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "docs").mkdir(parents=True)
    (root / "notes.txt").write_text("n")
    (root / "docs" / "My Plan.md").write_text("p")
    (root / ".env").write_text("SECRET=1")
    (tmp_path / "outside.txt").write_text("o")
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_ed25519").write_text("KEY")
    return root


def test_at_paths_are_taken_out_of_the_text(project: Path) -> None:
    found = at_paths("summarize @notes.txt and @docs/My\\ Plan.md, please", project)
    assert found.text == "summarize and, please"
    assert found.paths == [project / "notes.txt", project / "docs" / "My Plan.md"]
    assert found.refused == []


def test_quoted_at_paths_and_sentence_punctuation(project: Path) -> None:
    found = at_paths('compare @"docs/My Plan.md" with @notes.txt.', project)
    assert found.paths == [project / "docs" / "My Plan.md", project / "notes.txt"]
    assert found.text == "compare with."


def test_what_is_not_an_existing_path_stays_text(project: Path) -> None:
    text = "mail me@example.com, ask @alice, see @missing.txt or @"
    found = at_paths(text, project)
    assert (found.text, found.paths, found.refused) == (text, [], [])


def test_the_same_file_twice_is_attached_once(project: Path) -> None:
    found = at_paths("@notes.txt vs @./notes.txt", project)
    assert found.paths == [project / "notes.txt"]


def test_an_at_path_escaping_through_a_symlink_is_refused(project: Path, tmp_path: Path) -> None:
    (project / "keys").symlink_to(tmp_path / ".ssh")
    (project / "looks-fine.txt").symlink_to(tmp_path / "outside.txt")
    found = at_paths("read @keys/id_ed25519 and @looks-fine.txt and @.env and @../outside.txt",
                     project)  # fmt: skip
    assert found.paths == []
    assert found.refused == [
        f"@keys/id_ed25519: symlink to outside the folder: {tmp_path / '.ssh' / 'id_ed25519'};"
        " nothing sent",
        f"@looks-fine.txt: symlink to outside the folder: {tmp_path / 'outside.txt'}; "
        "nothing sent",
        f"@.env: hidden or ignored path (.env): {project / '.env'}; nothing sent",
        f"@../outside.txt: outside the folder: {tmp_path / 'outside.txt'}; nothing sent",
    ]
    assert "@keys/id_ed25519" in found.text  # nothing taken out: the user must fix it


def test_an_explicit_absolute_path_elsewhere_is_the_users_choice(
    project: Path, tmp_path: Path
) -> None:
    found = at_paths(f"look at @{tmp_path / 'outside.txt'}", project)
    assert found.paths == [tmp_path / "outside.txt"] and found.text == "look at"


@pytest.mark.parametrize(
    "paste",
    [
        "{p}",
        "'{p}'",
        '"{p}"',
        "{escaped}",
        "file://{uri}",
        "file://localhost{uri}",
        "{p}\n",
        "  '{p}'  ",
    ],
)
def test_a_dropped_file_in_each_form_terminals_paste(project: Path, paste: str) -> None:
    target = project / "docs" / "My Plan.md"
    text = paste.format(p=target, escaped=str(target).replace(" ", "\\ "), uri=quote(str(target)))
    assert dropped_paths(text, project) == [target]


def test_several_dropped_files_one_per_line(project: Path) -> None:
    a, b = project / "notes.txt", project / "docs" / "My Plan.md"
    assert dropped_paths(f"file://{quote(str(a))}\nfile://{quote(str(b))}\n") == [a, b]
    assert dropped_paths(f"{a} '{b}'") == [a, b]


@pytest.mark.parametrize(
    "paste",
    ["what is in {p}?", "{p} and then some words", "file://otherhost{p}", "'{p}", "notes.txt",
     "{p}.missing", ""],
)  # fmt: skip
def test_text_that_is_not_only_existing_paths_is_a_normal_paste(
    project: Path, paste: str
) -> None:
    assert dropped_paths(paste.format(p=project / "notes.txt"), project) is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/image shot.png", slash.Attach("image", "shot.png")),
        ("/image My Photo.png", slash.Attach("image", "My Photo.png")),
        ("/file 'My Plan.md'", slash.Attach("file", "My Plan.md")),
        ("/file My\\ Plan.md", slash.Attach("file", "My Plan.md")),
        ("/IMAGE file:///tmp/a%20b.png", slash.Attach("image", "/tmp/a b.png")),
        ("/image", slash.InvalidCommand("usage: /image PATH (quote a path with spaces)")),
        ("/file 'unclosed", slash.InvalidCommand("usage: /file PATH (quote a path with spaces)")),
        ("/imag x.png", slash.InvalidCommand("unknown command /imag; did you mean /image? "
                                             "try /help")),
    ],
)  # fmt: skip
def test_image_and_file_commands(line: str, expected: object) -> None:
    assert slash.parse(line) == expected


def test_help_lists_the_attach_commands() -> None:
    text = slash.parse("/help")
    assert isinstance(text, slash.Help)
    assert "/image PATH" in text.text and "/file PATH" in text.text


def test_a_command_path_is_read_from_the_folder(project: Path) -> None:
    command = slash.parse("/file docs/My Plan.md")
    assert isinstance(command, slash.Attach)
    assert path_argument(command.path, project) == project / "docs" / "My Plan.md"
    assert path_argument("'~/x.png'", project) == Path.home() / "x.png"


_FIXTURE = HealthCheck.function_scoped_fixture
"""tmp_path is shared by a test's examples; each example cleans up what it made."""

# Names as people give them: spaces, quotes, unicode, shell characters, but no slash or NUL.
_NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\"),
    min_size=1, max_size=24,
).filter(lambda n: n not in (".", "..") and not n.startswith(".") and n.strip() == n)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[_FIXTURE])
@given(name=_NAMES, form=st.sampled_from(["quote", "escape", "uri"]))
def test_any_file_name_survives_every_paste_form(tmp_path: Path, name: str, form: str) -> None:
    folder = tmp_path / "drop"
    folder.mkdir(exist_ok=True)
    target = folder / name
    try:
        target.write_text("x")
    except OSError:  # a name the file system refuses (too long in bytes)
        return
    if form == "quote":
        pasted = shlex.quote(str(target))
    elif form == "escape":
        plain = "/._-"
        pasted = "".join(c if c.isalnum() or c in plain else "\\" + c for c in str(target))
    else:
        pasted = "file://" + quote(str(target))
    try:
        assert dropped_paths(pasted, tmp_path) == [target]
        assert at_paths(f"see @{shlex.quote(name)} now", folder).paths == [target]
    finally:
        target.unlink()


@settings(max_examples=100, deadline=None, suppress_health_check=[_FIXTURE])
@given(text=st.text(alphabet=st.characters(blacklist_characters="@"), max_size=80))
def test_text_without_an_at_sign_is_never_changed(tmp_path: Path, text: str) -> None:
    found = at_paths(text, tmp_path)
    assert (found.text, found.paths, found.refused) == (text, [], [])
