"""The terminal input filter: pastes keep escape codes as text, Alt keys become keys.

Textual's real parser reads the filtered input, fed in every possible split
(a terminal's reads can end anywhere, also inside a marker), and the events it
produces are checked.
"""

from __future__ import annotations

import pytest
from textual import events
from textual._xterm_parser import XTermParser

from offyai_tui.ui.term_input import PASTE_END, PASTE_START, TerminalInput, alt_keys

PASTE = "\x1b[31mfailed\x1b[0m at line 3\rline3 end\rline1 ok\rerror: "


def parse(chunks: list[str], *, filtered: bool = True) -> list[events.Event]:
    parser = XTermParser()
    guard = TerminalInput()
    out: list[events.Event] = []
    for chunk in chunks:
        text = guard.feed(chunk) if filtered else chunk
        if text:
            out += list(parser.feed(text))
    return out


def described(found: list[events.Event]) -> list[tuple[str, str]]:
    return [
        ("paste", e.text) if isinstance(e, events.Paste) else ("key", e.key)
        for e in found
        if isinstance(e, (events.Paste, events.Key))
    ]


def test_a_paste_with_escape_codes_arrives_whole_with_the_escapes_inert() -> None:
    data = "a" + PASTE_START + PASTE + PASTE_END + "b"
    assert described(parse([data])) == [
        ("key", "a"),
        ("paste", PASTE.replace("\x1b", "␛")),
        ("key", "b"),
    ]


def test_without_the_filter_textual_scrambles_that_paste() -> None:
    """What the filter is for: the escape inside the paste turns part of it into keys."""
    found = described(parse([PASTE_START + PASTE + PASTE_END], filtered=False))
    assert ("paste", PASTE) not in found
    assert any(kind == "key" for kind, _ in found)


@pytest.mark.parametrize("cut", range(1, len(PASTE_START + PASTE + PASTE_END) + 1))
def test_a_paste_split_at_any_point_is_the_same_paste(cut: int) -> None:
    data = "x" + PASTE_START + PASTE + PASTE_END
    assert described(parse([data[:cut], data[cut:]])) == [
        ("key", "x"),
        ("paste", PASTE.replace("\x1b", "␛")),
    ]


def test_alt_keys_become_keyboard_protocol_keys_the_parser_reads_at_once() -> None:
    assert alt_keys("\x1bd") == "\x1b[100;3u"
    assert alt_keys("\x1b\r") == "\x1b[13;3u"
    assert alt_keys("\x1b[D\x1bOA\x1b[200~") == "\x1b[D\x1bOA\x1b[200~"  # sequences stay
    found = parse(["\x1bdhello\x1b\rx\x1b[D\x1bs"])
    assert described(found) == [
        ("key", "alt+d"), ("key", "h"), ("key", "e"), ("key", "l"), ("key", "l"),
        ("key", "o"), ("key", "alt+enter"), ("key", "x"), ("key", "left"), ("key", "alt+s"),
    ]
    assert next(e.character for e in found if isinstance(e, events.Key)) is None  # not typed


def test_alt_keys_inside_a_paste_are_text() -> None:
    found = described(parse([PASTE_START + "\x1bd" + PASTE_END]))
    assert found == [("paste", "␛d")]
