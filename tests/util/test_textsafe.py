"""The one sanitizer for strings from outside: every control made visible, nothing else touched."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from offyai_tui.ui.widgets.common.path_suggest import complete_path
from offyai_tui.util.textsafe import inert_json, strip_controls, visible


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b]0;MODELPWN\x07evil", "\\x1b]0;MODELPWN\\x07evil"),
        ("bin\x1b]0;PWNED\x07\x1b[2J.txt", "bin\\x1b]0;PWNED\\x07\\x1b[2J.txt"),
        ("\x1b]52;c;aGVsbG8=\x1b\\", "\\x1b]52;c;aGVsbG8=\\x1b\\"),  # OSC 52: the clipboard
        ("\x9b2J\x9d0;t\x9c", "\\x9b2J\\x9d0;t\\x9c"),  # C1: CSI, OSC, ST in one byte each
        ("a\nb\tc\rd\x00e\x7f", "a\\nb\\tc\\rd\\x00e\\x7f"),
        ("invoice\u202etxt.exe", "invoice\\u202etxt.exe"),  # shown reversed by some terminals
        ("line\u2028break", "line\\u2028break"),
        ("[bold red]x[/] café 日本語 🙂 ·", "[bold red]x[/] café 日本語 🙂 ·"),  # text stays text
    ],
)
def test_visible_makes_every_control_inert_and_visible(raw: str, shown: str) -> None:
    assert visible(raw) == shown
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in visible(raw))


def test_multiline_text_keeps_its_lines_and_tabs_only() -> None:
    raw = "Key:\tvalue\r\nnext\x1b[2J line\rover"
    assert visible(raw, multiline=True) == "Key:\tvalue\nnext\\x1b[2J line\\rover"


def test_visible_takes_any_object() -> None:
    error = OSError(2, "No such file", "a\x1bb")
    assert "\x1b" not in visible(error) and "\\x1b" in visible(error)


def test_model_replies_drop_controls_and_keep_their_lines() -> None:
    assert strip_controls("Look: \x1b]0;pwned\x07and\nthe end.") == "Look: ]0;pwnedand\nthe end."


def test_json_keeps_its_strings_and_shows_no_control() -> None:
    doc = {"name": "\x1b]0;x\x07 \x9b2J \u202e é", "n": 1}
    text = inert_json(json.dumps(doc, ensure_ascii=False))
    assert json.loads(text) == doc  # a script reads the very same strings
    assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in text)
    assert "é" in text


def test_file_names_with_escapes_are_never_suggested(tmp_path: Path) -> None:
    """A suggestion is drawn in the input as it is: only printable names are offered."""
    (tmp_path / "bin\x1b]0;PWNED\x07.txt").write_text("x")
    (tmp_path / "binary-notes.txt").write_text("x")
    assert complete_path(str(tmp_path / "bin")) == str(tmp_path / "binary-notes.txt")
    (tmp_path / "binary-notes.txt").unlink()
    assert complete_path(str(tmp_path / "bin")) is None
