"""Blocks from HTML, PDF and DOCX: the formats that need more than a text decoder.

HTML uses the standard library parser (script and style contents dropped, line
numbers of the source kept). PDF uses pypdf, one page at a time, so a page that
cannot be read costs that page only. DOCX is read with ``zipfile`` and
``ElementTree`` rather than a dependency: a Word file is a zip of XML whose
paragraphs and heading styles are all a chunker needs. In a DOCX, "lines" are
paragraph numbers, since the format has no lines.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import zipfile
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from xml.etree import ElementTree

from offyai_tui.rag.documents import Block
from offyai_tui.rag.textparse import parse_plain


class FormatError(ValueError):
    """A file whose format is damaged or unsupported; the message is the reason."""


_SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "iframe", "object", "head"}
_BLOCK_TAGS = {
    "p", "div", "section", "article", "header", "footer", "main", "nav", "aside", "ul", "ol",
    "li", "table", "tr", "blockquote", "dl", "dt", "dd", "figure", "figcaption", "form", "hr",
    "address", "br", "body", "details", "summary", "caption", "thead", "tbody", "tfoot",
}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source",
         "track", "wbr", "param"}


class _HTMLBlocks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.title = ""
        self._skip: list[str] = []
        self._in_title = False
        self._pre = 0
        self._heading = 0
        self._parts: list[str] = []
        self._start = 0
        self._end = 0

    def _flush(self) -> None:
        raw = "".join(self._parts)
        self._parts.clear()
        if self._pre:
            text = raw.strip("\n")
            kind = "code"
        else:
            text = re.sub(r"[ \t\r\f\v]*\n[ \t\r\f\v\n]*", "\n", raw)
            text = re.sub(r"[ \t\r\f\v]+", " ", text).strip()
            kind = "heading" if self._heading else "paragraph"
        if text.strip():
            if kind == "heading":
                text = " ".join(text.split())
            self.blocks.append(
                Block(text, kind, self._start, max(self._end, self._start), level=self._heading)
            )

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and self._skip in ([], ["head"]):
            self._in_title = True
            return
        if self._skip == ["head"] and (tag in _BLOCK_TAGS or tag in _HEADINGS or tag == "pre"):
            self._skip.clear()  # an unclosed <head> ends where content starts, as in browsers
        if self._skip:
            if tag == self._skip[-1] or (tag in _SKIP_TAGS and tag not in _VOID):
                self._skip.append(tag)
            return
        if tag in _SKIP_TAGS:
            self._skip.append(tag)
            return
        if tag in _HEADINGS or tag == "pre" or tag in _BLOCK_TAGS:
            self._flush()
        if tag in _HEADINGS:
            self._heading = _HEADINGS[tag]
        elif tag == "pre":
            self._pre += 1
        elif tag == "li":
            self._data("- ")
        elif tag in {"td", "th"} and self._parts:
            self._data(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            return
        if self._skip:
            if tag == self._skip[-1]:
                self._skip.pop()
            return
        if tag in _HEADINGS or tag == "pre" or tag in _BLOCK_TAGS:
            self._flush()
        if tag in _HEADINGS:
            self._heading = 0
        elif tag == "pre":
            self._pre = max(self._pre - 1, 0)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._skip and tag in _BLOCK_TAGS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = " ".join((self.title + " " + data).split())
            return
        if self._skip:
            return
        self._data(data)

    def _data(self, data: str) -> None:
        line = self.getpos()[0]
        if data.strip():
            if not "".join(self._parts).strip():
                leading = data[: len(data) - len(data.lstrip())]
                self._start = line + leading.count("\n")
            self._end = line + data.rstrip().count("\n")
        self._parts.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def parse_html(text: str) -> tuple[list[Block], str]:
    """Blocks and the ``<title>`` of an HTML document (lenient about broken markup)."""
    parser = _HTMLBlocks()
    parser.feed(text)
    parser.close()
    return parser.blocks, parser.title


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Keep a library's warnings about malformed files out of the terminal."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def parse_pdf(
    data: bytes, stop: Callable[[], bool] = lambda: False
) -> tuple[list[Block], int, list[str]]:
    """Blocks (each with its page), the page count, and notes about unreadable pages.

    ``stop`` is asked before each page: a cancelled indexing run must not spend
    a minute on the rest of a 30,000-page PDF whose result nobody wants.

    Raises:
        FormatError: encrypted with a password, damaged, or without any text.
    """
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    with _quiet("pypdf"):
        try:
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                try:
                    opened = reader.decrypt("")
                except DependencyError:
                    raise FormatError(
                        "encrypted PDF (opening it needs the 'cryptography' package)"
                    ) from None
                if not opened:
                    raise FormatError("encrypted PDF: a password is required")
            pages = list(reader.pages)
        except FileNotDecryptedError:
            raise FormatError("encrypted PDF: a password is required") from None
        except FormatError:
            raise
        except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError,
                RecursionError, OSError, AssertionError, ZeroDivisionError) as exc:
            raise FormatError(f"damaged PDF ({_short(exc)})") from None
        blocks: list[Block] = []
        notes: list[str] = []
        for number, page in enumerate(pages, 1):
            if stop():
                raise FormatError("stopped")
            try:
                text = page.extract_text() or ""
            except Exception as exc:  # pypdf raises many types on broken content streams
                notes.append(f"page {number} unreadable ({_short(exc)})")
                continue
            text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
            blocks.extend(parse_plain(text, page=number))
    if not pages:
        raise FormatError("damaged PDF (no pages)")
    if not blocks:
        if notes and len(notes) == len(pages):
            raise FormatError("damaged PDF (no page could be read)")
        raise FormatError("PDF has no extractable text (scanned images need OCR)")
    return blocks, len(pages), notes


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_STYLE = re.compile(r"^(?:heading|.berschrift|titre|titolo|encabezado)\s*(\d)$", re.I)


def parse_docx(data: bytes, max_xml_bytes: int) -> tuple[list[Block], str]:
    """Paragraph blocks (heading styles become headings) and the title, from a .docx.

    Raises:
        FormatError: not a zip, not a Word document, damaged or oversized XML.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        info = archive.getinfo("word/document.xml")
    except zipfile.BadZipFile:
        raise FormatError("damaged DOCX (not a zip archive)") from None
    except KeyError:
        raise FormatError("not a Word document (word/document.xml missing)") from None
    if info.file_size > max_xml_bytes:
        raise FormatError("DOCX text is larger than the size limit")
    try:
        xml = archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise FormatError(f"damaged DOCX ({_short(exc)})") from None
    if b"<!DOCTYPE" in xml[:4096] or b"<!ENTITY" in xml:
        raise FormatError("DOCX with a DTD is refused (possible entity expansion)")
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise FormatError(f"damaged DOCX ({_short(exc)})") from None
    blocks: list[Block] = []
    title = ""
    number = 0
    for para in root.iter(f"{_W}p"):
        number += 1
        style = para.find(f"{_W}pPr/{_W}pStyle")
        style_id = style.get(f"{_W}val", "") if style is not None else ""
        text = "".join(_docx_text(para)).strip()
        if not text:
            continue
        match = _HEADING_STYLE.match(style_id)
        if style_id.lower() == "title":
            title = title or text
            blocks.append(Block(text, "heading", number, number, level=1))
        elif match:
            blocks.append(Block(text, "heading", number, number, level=int(match.group(1))))
        else:
            blocks.append(Block(text, "paragraph", number, number))
    return blocks, title


def _docx_text(para: ElementTree.Element) -> Iterator[str]:
    for node in para.iter():
        if node.tag == f"{_W}t" and node.text:
            yield node.text
        elif node.tag == f"{_W}tab":
            yield "\t"
        elif node.tag in {f"{_W}br", f"{_W}cr"}:
            yield "\n"


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
