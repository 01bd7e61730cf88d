"""The binding table is what the screens, the keymap loader and the help screen use."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
from textual.actions import parse

from offyai_tui.settings.config import Settings
from offyai_tui.ui.app import OffyApp
from offyai_tui.ui.bindings import KEYS, binding_ids, bindings, remappable, spec
from offyai_tui.ui.host import OffyHost
from offyai_tui.ui.keymap import check_keymap, normalise_keys
from offyai_tui.ui.screens.chat import ChatScreen
from offyai_tui.ui.screens.dialogs import ConfirmScreen, TextEntryScreen
from offyai_tui.ui.screens.documents import DocumentsScreen
from offyai_tui.ui.screens.file_picker import FilePicker
from offyai_tui.ui.screens.help import HelpScreen, binding_rows
from offyai_tui.ui.screens.image_preview import ImagePreview
from offyai_tui.ui.screens.models import ModelsScreen
from offyai_tui.ui.screens.remote_docs import RemoteDocumentsScreen
from offyai_tui.ui.screens.search import SearchScreen
from offyai_tui.ui.screens.tool_approval import ToolApprovalScreen
from offyai_tui.ui.screens.voice_input import VoiceInputScreen
from offyai_tui.ui.widgets.chat.attach_bar import AttachBar
from offyai_tui.ui.widgets.chat.conversation_rows import ConversationRows
from offyai_tui.ui.widgets.chat.message_list import MessageList
from offyai_tui.ui.widgets.chat.prompt_input import PromptInput
from offyai_tui.ui.widgets.documents.chunk import ChunkScreen
from offyai_tui.ui.widgets.models.details import ModelDetailsScreen
from tests.ui.conftest import chat, screen_text

OWNERS: dict[str, type] = {
    "app": OffyApp, "chat": ChatScreen, "prompt": PromptInput, "search": SearchScreen,
    "models": ModelsScreen, "model_details": ModelDetailsScreen,
    "documents": DocumentsScreen, "confirm": ConfirmScreen, "text_entry": TextEntryScreen,
    "help": HelpScreen, "remote_docs": RemoteDocumentsScreen,
    "tool_approval": ToolApprovalScreen, "conversation_rows": ConversationRows,
    "chunk": ChunkScreen, "messages": MessageList, "chips": AttachBar,
    "picker": FilePicker, "preview": ImagePreview, "voice_input": VoiceInputScreen,
}


def test_every_owner_is_known_and_ids_are_unique() -> None:
    assert {s.owner for s in KEYS} == set(OWNERS)
    counts = Counter(s.id for s in KEYS)
    assert [i for i, n in counts.items() if n > 1] == []


@pytest.mark.parametrize("owner", sorted(OWNERS))
def test_each_class_binds_exactly_its_rows(owner: str) -> None:
    cls = OWNERS[owner]
    declared = [(b.id, b.key, b.action, b.description, b.show, b.priority)
                for b in cls.BINDINGS]
    table = [(s.id, s.keys, s.action, s.description, s.show, s.priority)
             for s in KEYS if s.owner == owner]
    assert declared == table


@pytest.mark.parametrize("row", KEYS, ids=lambda s: s.id)
def test_every_action_exists_on_its_owner(row) -> None:
    _, name, _ = parse(row.action)
    cls = OWNERS[row.owner]
    assert callable(getattr(cls, f"action_{name}", None) or getattr(cls, f"_action_{name}",
                                                                     None)), row


def test_defaults_are_valid_keys_and_an_unknown_owner_is_an_error() -> None:
    for row in KEYS:
        normalise_keys(row.keys)
    with pytest.raises(KeyError):
        bindings("no such screen")
    assert spec("chat.new").keys == "ctrl+n"


def test_what_is_not_listed_cannot_be_remapped() -> None:
    hidden = {s.id for s in KEYS if not s.listed}
    assert {"tool.allow_once", "remote_docs.yes", "conversations.up"} <= hidden
    assert not hidden & binding_ids()
    keymap, warnings = check_keymap({"tool.allow_once": "x", "chat.rename": "f7"})
    assert keymap == {"chat.rename": "f7"}
    assert "'tool.allow_once' is not a binding id" in warnings[0]


def test_help_rows_follow_the_table_and_the_keymap() -> None:
    rows = binding_rows({"chat.new": "ctrl+t"})
    assert [r.id for r in rows] == [s.id for s in remappable()]
    assert next(r for r in rows if r.id == "chat.new").keys == "ctrl+t"
    assert rows[0].scope == "everywhere"


def test_the_help_screen_does_not_import_the_app() -> None:
    code = ("import sys, offyai_tui.ui.screens.help, offyai_tui.ui.keymap;"
            "sys.exit('offyai_tui.ui.app' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_app_provides_everything_screens_may_ask_of_it() -> None:
    app = OffyApp(settings=Settings(), workspace=_workspace())
    members = [*OffyHost.__annotations__, *(n for n in vars(OffyHost)
                                            if not n.startswith("_"))]
    missing = [name for name in members if not hasattr(app, name)]
    assert missing == []


def _workspace():
    from offyai_tui.settings.workspace import Workspace

    return Workspace.open("default")


async def test_key_hints_take_their_default_from_the_table(build) -> None:
    app = build(settings=Settings(keys={"prompt.send": "ctrl+y"}))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.key_for("app.help") == "f1"
        assert app.key_for("prompt.send") == "^y"
        assert "^y sends" in screen_text(app)
        assert chat(app).conversations.sidebar.display
