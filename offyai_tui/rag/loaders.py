"""Read one file into a :class:`LoadedDocument`, or say in one line why not.

Every way a file can be unusable (binary, too large, empty, unreadable,
vanished, a symlink loop, a damaged or encrypted PDF, undecodable text) raises
:class:`LoadError` with a reason the documents list can show; callers skip the
file and go on with the rest of the batch.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from offyai_tui.rag.documents import Block, LoadedDocument
from offyai_tui.rag.formats import FormatError, parse_docx, parse_html, parse_pdf
from offyai_tui.rag.textparse import parse_code, parse_markdown, parse_plain, parse_rst


class LoadError(Exception):
    """A file that cannot be indexed; ``str(err)`` is the reason."""


MARKDOWN = {".md", ".markdown", ".mdown", ".mkd", ".mdx"}
RST = {".rst", ".rest"}
HTML = {".html", ".htm", ".xhtml"}
TEXT = {".txt", ".text", ".log", ".csv", ".tsv", ".org", ".adoc", ".tex", ".srt", ".vtt", ""}
CODE = {
    ".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".c", ".h", ".cc", ".cpp",
    ".cxx", ".hpp", ".hh", ".java", ".kt", ".kts", ".scala", ".go", ".rs", ".rb", ".php",
    ".cs", ".fs", ".swift", ".m", ".mm", ".r", ".jl", ".lua", ".pl", ".pm", ".sh", ".bash",
    ".zsh", ".fish", ".ps1", ".bat", ".sql", ".toml", ".yaml", ".yml", ".json", ".ini",
    ".cfg", ".conf", ".xml", ".css", ".scss", ".less", ".vue", ".svelte", ".dart", ".ex",
    ".exs", ".erl", ".hs", ".ml", ".clj", ".el", ".vim", ".nix", ".tf", ".proto", ".gradle",
    ".cmake", ".mk", ".dockerfile", ".zig", ".nim", ".v", ".sv", ".vhd", ".asm", ".s",
}
CODE_NAMES = {"makefile", "dockerfile", "cmakelists.txt", "justfile", "rakefile", "gemfile"}
BINARY = {
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".ico", ".heic", ".zip",
    ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".exe", ".dll", ".so", ".dylib", ".o",
    ".a", ".class", ".jar", ".pyc", ".whl", ".mp3", ".mp4", ".m4a", ".wav", ".flac", ".ogg",
    ".avi", ".mov", ".mkv", ".webm", ".iso", ".dmg", ".bin", ".dat", ".db", ".sqlite",
    ".gguf", ".safetensors", ".pt", ".onnx", ".npy", ".npz", ".pkl", ".parquet", ".woff",
    ".woff2", ".ttf", ".otf", ".eot", ".doc", ".xls", ".xlsx", ".ppt", ".pptx", ".odt",
    ".ods", ".odp", ".rtf", ".epub", ".faiss",
}
_SNIFF = 8192


def kind_of(path: Path) -> str | None:
    """The loader a file name calls for, or ``None`` for a known unsupported type."""
    suffix = path.suffix.lower()
    if suffix in BINARY:
        return None
    if suffix in MARKDOWN:
        return "markdown"
    if suffix in RST:
        return "rst"
    if suffix in HTML:
        return "html"
    if suffix == ".pdf":
        return "pdf"
    if suffix == ".docx":
        return "docx"
    if suffix in CODE or path.name.lower() in CODE_NAMES:
        return "code"
    return "text"


def open_checked(path: Path, max_bytes: int) -> int:
    """A descriptor of ``path`` open for reading, refusing what is not a regular file
    or is over ``max_bytes``; the caller closes it.

    The open comes first and the checks use the open descriptor, so a file
    swapped or grown between a check and the read cannot slip past them; a FIFO
    is opened non-blocking so it cannot hang the indexer.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise LoadError("file not found (moved or deleted?)") from None
    except PermissionError:
        raise LoadError("permission denied") from None
    except IsADirectoryError:
        raise LoadError("is a folder") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LoadError("symlink loop") from None
        raise LoadError(f"cannot open ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise LoadError("not a regular file")
        if info.st_size > max_bytes:
            raise LoadError(f"larger than the {_mb(max_bytes)} limit ({_mb(info.st_size)})")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_chunk(fd: int, size: int) -> bytes:
    """Up to ``size`` bytes from ``fd``; a read error becomes a :class:`LoadError`."""
    try:
        return os.read(fd, size)
    except OSError as exc:
        raise LoadError(f"read error ({exc.strerror or exc})") from None


def grew(max_bytes: int) -> LoadError:
    """The error for a file that passed the size check at open but then kept growing."""
    return LoadError(f"larger than the {_mb(max_bytes)} limit (grew while reading)")


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The whole file, refusing non-regular files, empty files and files over ``max_bytes``
    (see :func:`open_checked`)."""
    fd = open_checked(path, max_bytes)
    try:
        chunks = []
        remaining = max_bytes + 1
        while remaining > 0:
            piece = read_chunk(fd, min(remaining, 1 << 20))
            if not piece:
                break
            chunks.append(piece)
            remaining -= len(piece)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise grew(max_bytes)
    if not data.strip():
        raise LoadError("empty file")
    return data


def _mb(size: int) -> str:
    return f"{size / 2**20:.0f} MB" if size >= 2**20 else f"{size / 1024:.0f} KB"


def decode_text(data: bytes) -> tuple[str, list[str]]:
    """Text from bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else a fallback.

    Raises:
        LoadError: the bytes look binary (NUL bytes or mostly control characters).
    """
    notes: list[str] = []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
    else:
        if b"\x00" in data[:_SNIFF]:
            raise LoadError("binary file")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("utf-8-sig", errors="replace")
            bad = text.count("\ufffd")
            if bad <= max(3, len(data) // 200):
                notes.append(f"{bad} invalid UTF-8 byte(s) replaced")
            else:
                try:
                    text = data.decode("cp1252")
                    notes.append("not UTF-8; read as Windows-1252")
                except UnicodeDecodeError:
                    text = data.decode("latin-1")
                    notes.append("not UTF-8; read as Latin-1")
    sample = text[:_SNIFF]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\x1b")
    if sample and control / len(sample) > 0.05:
        raise LoadError("binary file")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return text, notes


def load_file(path: Path, max_bytes: int) -> LoadedDocument:
    """Read and parse one file.

    Args:
        path: The file (already resolved by the caller when it matters).
        max_bytes: Files larger than this are refused before they are read.

    Raises:
        LoadError: the file cannot be indexed; the message says why.
    """
    kind = kind_of(path)
    if kind is None:
        raise LoadError(f"unsupported file type ({path.suffix.lower()})")
    data = read_bytes(path, max_bytes)
    return parse_bytes(path, data, kind, max_bytes)


def parse_bytes(
    path: Path, data: bytes, kind: str, max_bytes: int, stop: Callable[[], bool] = lambda: False
) -> LoadedDocument:
    """Parse bytes already read (the indexer hashes them first to skip unchanged files);
    ``stop`` ends a long PDF between pages (see ``formats.parse_pdf``)."""
    digest = hashlib.sha256(data).hexdigest()
    notes: list[str] = []
    title = ""
    pages = 0
    if kind == "pdf":
        if not data.startswith(b"%PDF") and b"%PDF" not in data[:1024]:
            raise LoadError("damaged PDF (no PDF header)")
        try:
            blocks, pages, notes = parse_pdf(data, stop)
        except FormatError as exc:
            raise LoadError(str(exc)) from None
    elif kind == "docx":
        try:
            blocks, title = parse_docx(data, max_xml_bytes=max_bytes * 8)
        except FormatError as exc:
            raise LoadError(str(exc)) from None
    else:
        text, notes = decode_text(data)
        if kind == "html":
            blocks, title = parse_html(text)
        elif kind == "markdown":
            blocks = parse_markdown(text)
        elif kind == "rst":
            blocks = parse_rst(text)
        elif kind == "code":
            blocks = parse_code(text)
        else:
            blocks = parse_plain(text)
    if not blocks:
        raise LoadError("no text found")
    lines = max((b.line_end for b in blocks if b.page is None), default=0)
    return LoadedDocument(
        path=str(path),
        kind=kind,
        blocks=blocks,
        size=len(data),
        sha256=digest,
        lines=lines,
        pages=pages,
        title=title or _first_heading(blocks) or _title_from_name(path),
        notes=notes,
    )


def _first_heading(blocks: list[Block]) -> str:
    for block in blocks[:8]:
        if block.kind == "heading" and block.level == 1:
            return block.text
    return ""


def _title_from_name(path: Path) -> str:
    return path.stem.replace("_", " ").strip() or path.name
