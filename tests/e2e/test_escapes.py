"""Strings from outside cannot drive the terminal: every source, through every output.

Sources: a model id a loopback OpenAI-compatible server lists, that server's error
message, a user mode's name, a theme file's name, a file name in an added folder and
a document heading, a missing path or a glob-expanded name on the command line, a key
in config.toml, a saved conversation's title. Each carries an OSC 0 title change
(``ESC ]0;…PWN BEL``), most also a screen clear (``ESC [2J``).

Outputs: the real ``offyai`` binary, in a real terminal (tmux) where it matters what
the terminal did (pane title, screen contents), and through pipes where the bytes
themselves are checked (no ESC, BEL or other C0/C1 control character; the name is
still there, with its escapes shown as ``\\x1b``). ``tests/e2e/test_security.py``
shows the same bytes printed raw do retitle and clear a pane.
"""

from __future__ import annotations

import subprocess
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from offyai_tui.chat import ConversationStore
from offyai_tui.settings.workspace import Workspace
from tests.e2e.conftest import READY_TIMEOUT, start_tui, write_config
from tests.e2e.scripted_openai import ScriptedOpenAI, scripted_openai
from tests.tmux import OFFYAI, TmuxSession, base_env

EVIL_MODEL = "\x1b]0;MODELPWN\x07evil"
EVIL_ERROR = "\x1b]0;ERRPWN\x07\x1b[2Jthe model crashed"
EVIL_MODE = "\x1b]0;MODEPWN\x07[b]Evil[/b]"  # and markup, to show literally
EVIL_FILE = "bin\x1b]0;PWNED\x07\x1b[2J.txt"
EVIL_MISSING = "missing\x1b]0;PWNED\x07\x1b[2J"
EVIL_THEME = "dark\x1b]0;THEMEPWN\x07.toml"
EVIL_KEY = "\x1b]0;CFGPWN\x07"
EVIL_TITLE = "\x1b]0;CONVPWN\x07Plans"
BEFORE = "BEFORE-MARK-51C9"


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (control characters as ``\\uXXXX``)."""
    body = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or c in '"\\' else c for c in text)
    return f'"{body}"'


def assert_inert(data: bytes, where: str) -> str:
    """No byte a terminal would obey: no ESC, BEL or other C0/C1 control but ``\\n``."""
    text = data.decode("utf-8")  # strict: a stray C1 byte is not valid UTF-8 either
    controls = sorted({c for c in text if unicodedata.category(c) == "Cc" and c != "\n"})
    assert not controls, f"{where} wrote control characters {controls!r}:\n{text!r}"
    return text


# -- sources ----------------------------------------------------------------------------


@dataclass
class Source:
    """What a case sets up: config text, files, a server; and what marks the name."""

    mark: str
    config: str = ""
    server: ScriptedOpenAI | None = None
    paths: dict[str, Path] = field(default_factory=dict)


def _openai_config(server: ScriptedOpenAI) -> str:
    return f'[engine]\ndefault = "openai"\n\n[[openai]]\nname = "scripted"\nurl = "{server.url}"\n'


def model_id_source(stack: ExitStack, home: Path, tmp: Path) -> Source:
    server = stack.enter_context(scripted_openai([EVIL_MODEL, "plain-model"]))
    return Source("MODELPWN", _openai_config(server), server)


def server_error_source(stack: ExitStack, home: Path, tmp: Path) -> Source:
    server = stack.enter_context(scripted_openai(["plain-model"], error=EVIL_ERROR))
    return Source("ERRPWN", _openai_config(server), server)


def mode_name_source(stack: ExitStack, home: Path, tmp: Path) -> Source:
    modes = home / "config" / "modes"
    modes.mkdir(parents=True, exist_ok=True)
    (modes / "evil.toml").write_text(
        f"name = {toml_string(EVIL_MODE)}\ndescription = \"a hostile mode\"\n"
        'system_prompt = "You are evil."\n',
        encoding="utf-8",
    )
    return Source("MODEPWN")


def theme_file_source(stack: ExitStack, home: Path, tmp: Path) -> Source:
    themes = home / "config" / "themes"
    themes.mkdir(parents=True, exist_ok=True)
    (themes / EVIL_THEME).write_text('name = "no spaces allowed"\n', encoding="utf-8")
    return Source("THEMEPWN")


def file_name_source(stack: ExitStack, home: Path, tmp: Path) -> Source:
    folder = tmp / "folder"
    folder.mkdir()
    (folder / EVIL_FILE).write_bytes(b"")  # empty: skipped, and listed by name
    return Source("PWNED", paths={"folder": folder})


def conversation_title_source(stack: ExitStack, home: Path, tmp: Path) -> Source:
    """A saved conversation whose title carries escapes (a transcript from elsewhere)."""
    store = ConversationStore.open(Workspace.open("default"))
    try:
        conversation = store.create(title=EVIL_TITLE)
        conversation.add_user("what are the plans?")
        conversation.flush()
    finally:
        store.close()
    return Source("CONVPWN")


def document_source(stack: ExitStack, home: Path, tmp: Path) -> Source:
    """An indexed file whose name and heading carry escapes; a local chat stand-in."""
    folder = tmp / "docs"
    folder.mkdir()
    (folder / "notes\x1b]0;DOCPWN\x07.md").write_text(
        "# Launch \x1b]0;TITLEPWN\x07plan\n\nThe launch window opens at dawn on Friday.\n",
        encoding="utf-8",
    )
    server = stack.enter_context(scripted_openai(["plain-model"], reply="At dawn."))
    return Source("DOCPWN", _openai_config(server), server, {"folder": folder})


def config_key_source(stack: ExitStack, home: Path, tmp: Path) -> Source:
    return Source("CFGPWN", f"[ui]\n{toml_string(EVIL_KEY)} = 1\n")


SourceFactory = Callable[[ExitStack, Path, Path], Source]


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def _prepare(factory: SourceFactory, stack: ExitStack, app_home: Path, tmp: Path) -> Source:
    source = factory(stack, app_home, tmp)
    write_config(app_home, source.config)
    return source


# -- CLI: the bytes written ---------------------------------------------------------------

CLI_CASES = [
    # (source, arguments: {folder} and {missing} are filled in, exit status if it matters)
    pytest.param(model_id_source, ["models"], 0, id="model-id/offyai-models"),
    pytest.param(model_id_source, ["models", "--json"], 0, id="model-id/offyai-models-json"),
    pytest.param(model_id_source, ["doctor"], 0, id="model-id/offyai-doctor"),
    pytest.param(server_error_source, ["--model", "plain-model", "ask", "hi"], 1,
                 id="server-error/offyai-ask-error-line"),
    pytest.param(mode_name_source, ["ask", "--mode", "nope", "hi"], 1,
                 id="mode-name/unknown-mode-error-line"),
    pytest.param(file_name_source, ["index", "{folder}"], 0, id="file-name/index-skipped-line"),
    pytest.param(file_name_source, ["index", "{missing}"], None, id="missing-path/index-error"),
    pytest.param(config_key_source, ["locate"], 0, id="config-key/warning-line"),
    pytest.param(file_name_source, ["index", "--x\x1b]0;PWNED\x07"], 2,  # from a shell glob
                 id="file-name/usage-error"),
]


@pytest.mark.parametrize(("factory", "args", "status"), CLI_CASES)
def test_cli_writes_names_from_outside_inertly(
    factory: SourceFactory, args: list[str], status: int | None, app_home: Path, user_home: Path,
    tmp_path: Path, stack: ExitStack,
) -> None:  # fmt: skip
    source = _prepare(factory, stack, app_home, tmp_path)
    missing = str(tmp_path / EVIL_MISSING)
    mark = "PWNED" if "{missing}" in args else source.mark
    argv = [a.format(folder=source.paths.get("folder", ""), missing=missing) for a in args]
    result = subprocess.run(
        [str(OFFYAI), *argv], capture_output=True, timeout=120, cwd=user_home,
        env=base_env(user_home, OFFYAI_HOME=app_home, COLUMNS="250"), stdin=subprocess.DEVNULL,
    )  # fmt: skip
    out = assert_inert(result.stdout, "stdout")
    err = assert_inert(result.stderr, "stderr")
    assert status is None or result.returncode == status, (out, err)
    assert mark.lower() in (out + err).lower()  # the name is still shown, made visible
    assert "\\x1b]0;" in out + err or "\\u001b]0;" in out  # shown as an escape (JSON: its own)
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("factory", "args"),
    [
        pytest.param(model_id_source, "models", id="offyai-models"),
        pytest.param(file_name_source, 'index "$FOLDER"', id="offyai-index-file-name"),
        pytest.param(file_name_source, 'index "$MISSING"', id="offyai-index-missing-path"),
    ],
)
def test_cli_in_a_terminal_neither_retitles_nor_clears_it(
    factory: SourceFactory, args: str, app_home: Path, user_home: Path, tmp_path: Path,
    stack: ExitStack,
) -> None:  # fmt: skip
    """The issue's reproductions, in a real terminal: title and earlier output survive."""
    source = _prepare(factory, stack, app_home, tmp_path)
    env = base_env(
        user_home, OFFYAI_HOME=app_home, FOLDER=source.paths.get("folder", tmp_path),
        MISSING=tmp_path / EVIL_MISSING,
    )  # fmt: skip
    script = f'echo {BEFORE}; "{OFFYAI}" {args}; echo EXIT=$?; sleep 60'
    with TmuxSession(["sh", "-c", script], env, 120, 30) as tui:
        screen = tui.wait_for("EXIT=", timeout=120)
        title = tui.pane_title()
    assert "PWN" not in title
    assert BEFORE in screen, screen  # not cleared
    assert "Traceback" not in screen, screen
    assert "\\x1b]0;" in screen, screen  # the name is on screen, its escape inert


# -- TUI: what the terminal did -----------------------------------------------------------


def _open_palette(tui: TmuxSession, query: str, help_text: str) -> None:
    """Type ``query`` into the palette; once its entry is drawn, check the terminal."""
    tui.send("C-p")
    tui.wait_for("🔎")
    tui.type(query)
    tui.wait_for(help_text, timeout=20)  # the entry's help line: the entry is drawn
    _check(tui, f"\\x1b]0;{query}")


def _check(tui: TmuxSession, shown: str) -> None:
    """The title is unchanged and ``shown`` (the name with its escapes visible) is on screen."""
    time.sleep(0.3)  # let the terminal take the whole frame
    title = tui.pane_title()
    assert "PWN" not in title, f"the terminal was retitled: {title!r}"
    tui.wait_for(shown, timeout=10)


def _model_id_palette_and_models_screen(tui: TmuxSession, source: Source) -> None:
    tui.wait_for("ctx ", timeout=READY_TIMEOUT)
    _open_palette(tui, "MODELPWN", "scripted")  # "Model: …", help: its engine
    tui.send("Escape")
    _check(tui, "· \\x1b]0;MODELPWN\\x07evil ·")  # the status bar names the default model
    time.sleep(0.3)
    tui.send("F3")
    tui.wait_for("plain-model", timeout=30)
    _check(tui, "\\x1b]0;MODEL")  # the table (the name is cut to its column) and summary
    tui.send("Enter")  # details of the highlighted (first) model
    tui.wait_for("Metadata")
    _check(tui, "\\x1b]0;MODELPWN\\x07evil")


def _server_error_in_chat(tui: TmuxSession, source: Source) -> None:
    tui.wait_for("plain-model", timeout=READY_TIMEOUT)
    time.sleep(0.5)
    tui.submit("hello")
    tui.wait_for("Error", timeout=30)
    _check(tui, "\\x1b]0;ERRPWN")  # the answer's error line
    assert "hello" in tui.screen()  # not cleared


def _mode_name_palette_notification_status(tui: TmuxSession, source: Source) -> None:
    tui.wait_for("ctx ", timeout=READY_TIMEOUT)
    time.sleep(0.5)
    _open_palette(tui, "MODEPWN", "a hostile mode")
    tui.send("Enter")  # switch to it: a notification and the status bar name it
    tui.wait_for("Mode: ", timeout=10)
    _check(tui, "Mode: \\x1b]0;MODEPWN\\x07[b]Evil[/b]")
    _check(tui, "· \\x1b]0;MODEPWN\\x07[b]Evil[/b] ·")  # the status bar


def _theme_file_warning(tui: TmuxSession, source: Source) -> None:
    tui.wait_for("name must be", timeout=READY_TIMEOUT)  # the startup warning
    _check(tui, "THEMEPWN")


def _title_in_conversation_list(tui: TmuxSession, source: Source) -> None:
    tui.wait_for("ctx ", timeout=READY_TIMEOUT)
    _check(tui, "\\x1b]0;CONVPWN")  # the sidebar lists it


def _document_in_sources_panel(tui: TmuxSession, source: Source) -> None:
    tui.wait_for("plain-model", timeout=READY_TIMEOUT)
    time.sleep(0.5)
    tui.send("M-d")  # documents on for this conversation
    tui.wait_for("docs on", timeout=10)
    tui.submit("when does the launch window open?")
    tui.wait_for("At dawn.", timeout=60)
    _check(tui, "notes\\x1b]0;DOCPWN\\x07.md")  # the answer's sources


def _file_name_in_documents_screen(tui: TmuxSession, source: Source) -> None:
    tui.wait_for("ctx ", timeout=READY_TIMEOUT)
    time.sleep(0.5)
    tui.send("F4")
    tui.wait_for("empty file", timeout=30)  # the skipped row
    _check(tui, "\\x1b]0;PWNED")


TUI_CASES = [
    pytest.param(model_id_source, _model_id_palette_and_models_screen,
                 id="model-id/status-palette-models-details"),
    pytest.param(server_error_source, _server_error_in_chat, id="server-error/chat-and-toast"),
    pytest.param(mode_name_source, _mode_name_palette_notification_status,
                 id="mode-name/palette-toast-status"),
    pytest.param(theme_file_source, _theme_file_warning, id="theme-file/startup-warning"),
    pytest.param(file_name_source, _file_name_in_documents_screen, id="file-name/documents"),
    pytest.param(conversation_title_source, _title_in_conversation_list,
                 id="conversation-title/sidebar"),
    pytest.param(document_source, _document_in_sources_panel, id="document-name/sources"),
]


@pytest.mark.parametrize(("factory", "steps"), TUI_CASES)
def test_tui_shows_names_from_outside_inertly(
    factory: SourceFactory, steps: Callable[[TmuxSession, Source], None], app_home: Path,
    user_home: Path, tmp_path: Path, stack: ExitStack,
) -> None:  # fmt: skip
    source = _prepare(factory, stack, app_home, tmp_path)
    if "folder" in source.paths:  # index it first: the Documents screen lists the skip
        result = subprocess.run(
            [str(OFFYAI), "index", str(source.paths["folder"])], capture_output=True,
            timeout=120, env=base_env(user_home, OFFYAI_HOME=app_home), cwd=user_home,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    with start_tui(app_home, user_home) as tui:
        steps(tui, source)
        tui.send("C-q")
        assert tui.wait_dead() == 0  # and the app quit cleanly after all that


def test_ask_docs_names_its_sources_inertly(
    app_home: Path, user_home: Path, tmp_path: Path, stack: ExitStack
) -> None:
    """A file name and a document title with escapes, cited by ``offyai ask --docs``."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes\x1b]0;DOCPWN\x07.md").write_text(
        "# Launch \x1b]0;TITLEPWN\x07plan\n\nThe launch window opens at dawn on Friday.\n",
        encoding="utf-8",
    )
    server = stack.enter_context(scripted_openai(["plain-model"], reply="At dawn."))
    write_config(app_home, f'[[openai]]\nname = "local"\nurl = "{server.url}"\n')
    env = base_env(user_home, OFFYAI_HOME=app_home)
    indexed = subprocess.run(
        [str(OFFYAI), "index", str(folder)], capture_output=True, timeout=180, env=env,
        cwd=user_home, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert indexed.returncode == 0, indexed.stderr
    asked = subprocess.run(
        [str(OFFYAI), "--engine", "openai:local", "--model", "plain-model", "ask", "--docs",
         "when does the launch window open?"],
        capture_output=True, timeout=180, env=env, cwd=user_home, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    out = assert_inert(asked.stdout, "stdout")
    assert_inert(asked.stderr, "stderr")
    assert asked.returncode == 0, asked.stderr
    assert "[1] notes\\x1b]0;DOCPWN\\x07.md > Launch \\x1b]0;TITLEPWN\\x07plan" in out, out
