"""Attachments named in the prompt: ``@path`` tokens and pasted (dropped) file paths.

``@path`` is a file of the folder the app was started in (or an absolute or
``~`` path), resolved with the one folder rule of
:mod:`offyai_tui.util.confine`: a relative ``@keys/id`` whose link leads out
of the folder, to a hidden file or up with ``..`` is refused in one line, so
a prompt copied from elsewhere cannot pull ``~/.ssh`` into a request. Only
tokens that name an existing file or folder become attachments; anything
else (``@alice``, an e-mail address) stays text.

A paste is taken as dropped files only when the whole pasted text is one or
more existing paths (:func:`dropped_paths`); a path inside a sentence is the
user's words, not a request to send that file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from offyai_tui.util.confine import Refusal, is_within, resolve_inside
from offyai_tui.util.pathtext import one_path, split_paths
from offyai_tui.util.textsafe import visible

_AT = re.compile(r"""(?<![^\s(\[{"'])@((?:"(?:[^"\\]|\\.)*"|'[^']*'|\\.|[^\s"'\\])+)""")
"""``@`` at the start or after a space or opening bracket, then a word as a shell reads
it: quoted parts, backslash escapes and plain characters, up to a space."""
_TRAILING = ".,;:!?)]}'\""
"""Punctuation that ends a sentence rather than a file name (``see @notes.txt.``)."""


@dataclass(frozen=True)
class PromptPaths:
    """Prompt text with its ``@path`` tokens taken out, and what they named."""

    text: str
    paths: list[Path] = field(default_factory=list)
    """Existing files and folders, resolved, in the order typed (each once)."""
    refused: list[str] = field(default_factory=list)
    """One line per ``@path`` that exists but may not be read; nothing should be sent."""


def at_paths(text: str, cwd: str | os.PathLike[str]) -> PromptPaths:
    """Take the ``@path`` tokens naming existing files out of ``text``.

    Args:
        text: The prompt as typed.
        cwd: The folder relative paths are read from, and confined to.
    """
    base = Path(os.fspath(cwd))
    paths: list[Path] = []
    refused: list[str] = []
    pieces: list[str] = []
    last = 0
    for match in _AT.finditer(text):
        found = _existing(match.group(1), base)
        if found is None:
            continue
        path, used, relative = found
        end = match.start(1) + used
        checked = _confined(path, base, relative)
        if isinstance(checked, Refusal):
            refused.append(f"@{visible(match.group(1)[:used])}: {checked.reason}; nothing sent")
            continue
        before = text[last : match.start()]
        if text[end : end + 1] in ("", " ", "\t", "\n") or text[end] in _TRAILING:
            before = before.rstrip(" \t")  # no space left before a comma or a space
        pieces.append(before)
        last = end
        if checked not in paths:
            paths.append(checked)
    pieces.append(text[last:])
    joined = "".join(pieces)
    if paths:
        joined = re.sub(r"[ \t]{2,}", " ", joined).strip()
    return PromptPaths(joined, paths, refused)


def dropped_paths(pasted: str, cwd: str | os.PathLike[str] = ".") -> list[Path] | None:
    """The files a paste names when it is nothing but paths of existing files, else ``None``.

    Quoted paths, backslash-escaped spaces and ``file://`` URIs (one per line or
    space-separated) are what terminals paste for dropped files.
    """
    if not pasted.strip() or len(pasted) > 64 * 1024:
        return None
    words = split_paths(pasted)
    if not words:
        return None
    base = Path(os.fspath(cwd))
    whole = [line.strip() for line in pasted.strip().splitlines()]
    if all(_absolute_file(line, base) for line in whole):  # plain paths, spaces unescaped
        return [base / os.path.expanduser(line) for line in whole]
    found = []
    for word in words:
        path = base / os.path.expanduser(word)
        if not (os.path.isabs(os.path.expanduser(word)) or "/" in word) or not path.exists():
            return None
        found.append(path)
    return found


def _absolute_file(word: str, base: Path) -> bool:
    word = os.path.expanduser(word)
    return os.path.isabs(word) and (base / word).exists()


def path_argument(text: str, cwd: str | os.PathLike[str] = ".") -> Path | None:
    """The path after ``/image`` or ``/file`` (quoted, escaped or a ``file://`` URI)."""
    word = one_path(text)
    if word is None:
        return None
    return Path(os.fspath(cwd)) / os.path.expanduser(word)


def _existing(token: str, base: Path) -> tuple[Path, int, bool] | None:
    """The path ``token`` names, how many characters of it were used and whether it
    was relative, if it exists.

    Sentence punctuation after an unquoted path is tried off one character at
    a time, so ``@notes.txt.`` finds ``notes.txt`` but a file really named
    ``notes.txt.`` wins when it exists.
    """
    used = len(token)
    while used > 0:
        word = one_path(token[:used])
        if word is not None:
            word = os.path.expanduser(word)
            path = base / word
            if path.exists():
                return path, used, not os.path.isabs(word)
        if token[used - 1] not in _TRAILING or token[0] in "'\"":
            return None
        used -= 1
    return None


def _confined(path: Path, base: Path, relative: bool) -> Path | Refusal:
    """The real path to read: a relative path, or an absolute one inside ``base``, must
    stay inside ``base``; an absolute path elsewhere is the user's explicit choice."""
    given = Path(os.path.normpath(os.path.abspath(path)))
    if relative or is_within(given, Path(os.path.abspath(base))):
        return resolve_inside(base, path)
    return Path(os.path.realpath(path))
