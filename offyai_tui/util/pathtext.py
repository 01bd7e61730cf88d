"""A path as people type or terminals paste it, turned back into the path.

Terminals paste a dropped file in one of a few forms, depending on the
terminal and the file manager: the plain absolute path, the path in single
or double quotes, the path with each space (and other shell characters)
escaped by a backslash, or a ``file://`` URI with percent-encoding (several
files: one per line, or separated by spaces). The same forms are accepted
after ``/image``, ``/file`` and ``@``, so a path copied from a shell works
everywhere.
"""

from __future__ import annotations

import shlex
from urllib.parse import unquote, urlsplit

_LOCAL_HOSTS = ("", "localhost")


def split_paths(text: str) -> list[str] | None:
    """The paths in ``text`` (quotes, backslash escapes and ``file://`` URIs undone).

    ``None`` when ``text`` is not a list of paths as a shell would read it
    (an unbalanced quote) or a URI is not a local file; it is then prose.
    """
    try:
        words = shlex.split(text, posix=True)
    except ValueError:
        return None
    paths = []
    for word in words:
        path = from_uri(word) if word.lower().startswith("file:") else word
        if not path:
            return None
        paths.append(path)
    return paths


def one_path(text: str) -> str | None:
    """The single path ``text`` names (``/image PATH``), or ``None``.

    An unquoted path with spaces is taken whole: ``/image My Photo.png`` means
    the file ``My Photo.png``, as no second path could follow.
    """
    text = text.strip()
    if not text:
        return None
    words = split_paths(text)
    if words is not None and len(words) == 1:
        return words[0]
    if text[0] in "'\"" or "\\" in text:
        return None
    return from_uri(text) if text.lower().startswith("file:") else text


def from_uri(uri: str) -> str | None:
    """The local path of a ``file:`` URI, percent-decoded; ``None`` for another host."""
    parts = urlsplit(uri)
    if parts.scheme.lower() != "file" or parts.netloc.lower() not in _LOCAL_HOSTS:
        return None
    path = unquote(parts.path)
    return path or None
