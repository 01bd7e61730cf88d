"""Every key binding of the app, declared once as data.

Screens and widgets build their ``BINDINGS`` from this table
(``BINDINGS = bindings("chat")``), the ``[keys]`` loader
(:mod:`offyai_tui.ui.keymap`) checks a user's ids and keys against it, and the
help screen lists it. One table means the three cannot disagree: a binding
added here is remappable and documented the moment a screen uses it, and the
help screen needs no screen class to know what the keys are (so no module has
to import the app to list them).

Order matters: a class's bindings are in table order, which is the order the
footer shows them; the help screen lists them in table order too.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class KeySpec:
    """One binding: what a key does, where, and how it is shown."""

    id: str
    """Stable name, the key of ``[keys]`` in config.toml (``chat.new``)."""
    keys: str
    """Default keys, comma-separated as Textual takes them (``"escape,f1"``)."""
    action: str
    """The Textual action run on the owner (``new_chat``, ``open_screen('models')``)."""
    description: str
    owner: str
    """Who declares it: ``app``, ``chat``, ``prompt``, ``models``, ``confirm``, …"""
    scope: str
    """Where it works, as the help screen says (``everywhere``, ``chat``, ``dialogs``, …)
    and as the keymap loader decides which keys may clash."""
    show: bool = True
    """Shown in the footer."""
    priority: bool = False
    """Runs before the focused widget sees the key."""
    listed: bool = True
    """In the help screen and remappable in ``[keys]``; list navigation and
    answers to a question on screen are not."""

    def binding(self) -> Binding:
        return Binding(self.keys, self.action, self.description, show=self.show,
                       priority=self.priority, id=self.id)


def _group(owner: str, scope: str, *rows: tuple, **common: bool) -> list[KeySpec]:
    """Rows ``(id, keys, action, description, {options})`` of one owner."""
    specs = []
    for row in rows:
        binding_id, keys, action, description, *options = row
        flags = {**common, **(options[0] if options else {})}
        specs.append(KeySpec(binding_id, keys, action, description, owner, scope, **flags))
    return specs


HIDDEN = {"show": False}

KEYS: tuple[KeySpec, ...] = (
    *_group(
        "app", "everywhere",
        ("app.quit", "ctrl+q", "quit", "Quit", {"priority": True}),
        ("app.palette", "ctrl+p", "command_palette", "Commands",
         {"priority": True, "show": False}),
        ("app.help", "f1", "help", "Help"),
        ("app.help_outside_prompt", "question_mark", "help", "Help", HIDDEN),
        ("app.models", "f3", "open_screen('models')", "Models"),
        ("app.models_outside_prompt", "m", "open_screen('models')", "Models", HIDDEN),
        ("app.documents", "f4", "open_screen('documents')", "Documents"),
        ("app.documents_outside_prompt", "d", "open_screen('documents')", "Documents",
         HIDDEN),
    ),
    *_group(
        "chat", "chat",
        ("chat.stop", "escape", "stop", "Stop"),
        ("chat.new", "ctrl+n", "new_chat", "New chat"),
        ("chat.search", "ctrl+f", "search", "Search"),
        ("chat.rename", "f2", "rename", "Rename", HIDDEN),
        ("chat.delete", "f8", "delete", "Delete chat", HIDDEN),
        ("chat.export", "ctrl+s", "export", "Export", HIDDEN),
        ("chat.retry", "ctrl+r", "retry", "Regenerate (or retry) the last answer", HIDDEN),
        ("chat.variant_previous", "alt+left", "cycle_variant(-1)", "Previous version",
         HIDDEN),
        ("chat.variant_next", "alt+right", "cycle_variant(1)", "Next version", HIDDEN),
        ("chat.continue", "ctrl+g", "continue_answer", "Continue a cut-short answer", HIDDEN),
        ("chat.messages", "alt+up", "focus_messages", "Select messages", HIDDEN),
        ("chat.copy_answer", "alt+c", "copy_answer", "Copy answer", HIDDEN),
        ("chat.copy_code", "alt+b", "copy_code", "Copy code block", HIDDEN),
        ("chat.thinking", "alt+t", "toggle_thinking",
         "Show/hide the thinking of the last answer", HIDDEN),
        ("chat.documents", "alt+d", "toggle_documents", "Documents on/off", HIDDEN),
        ("chat.sources", "alt+s", "focus_sources", "Sources of an answer", HIDDEN),
        ("chat.sidebar", "ctrl+b", "toggle_sidebar", "Sidebar", HIDDEN),
        # A priority binding runs as the key arrives, so keys typed right after
        # it are routed to the list it focuses (see ConversationSidebar).
        ("chat.conversations", "ctrl+l", "focus_sidebar", "Conversations",
         {"show": False, "priority": True}),
        ("chat.scroll_up", "shift+pageup", "scroll_messages(-1)", "Scroll up", HIDDEN),
        ("chat.scroll_down", "shift+pagedown", "scroll_messages(1)", "Scroll down", HIDDEN),
        ("chat.attach", "ctrl+o", "attach_file", "Attach a file", HIDDEN),
        ("chat.attachments", "alt+a", "focus_attachments", "Attachments under the prompt",
         HIDDEN),
        ("chat.voice", "alt+v", "voice_input", "Speak a prompt (push to talk)", HIDDEN),
        ("chat.read_aloud", "alt+r", "read_aloud", "Read the answer aloud (again: stop)",
         HIDDEN),
    ),
    *_group(
        "prompt", "prompt",
        ("prompt.send", "enter", "submit", "Send"),
        ("prompt.newline", "ctrl+j,alt+enter", "newline", "New line"),
        ("prompt.history_previous", "up", "history_previous", "Earlier prompt", HIDDEN),
        ("prompt.history_next", "down", "history_next", "Later prompt", HIDDEN),
    ),
    *_group(
        "messages", "messages",
        ("messages.previous", "up", "select(-1)", "Previous message", HIDDEN),
        ("messages.next", "down", "select(1)", "Next message", HIDDEN),
        ("messages.variant_previous", "left", "act('cycle', -1)", "Previous version", HIDDEN),
        ("messages.variant_next", "right", "act('cycle', 1)", "Next version", HIDDEN),
        ("messages.edit", "e,enter", "act('edit')", "Edit"),
        ("messages.copy", "c", "copy_message", "Copy"),
        ("messages.thinking", "t", "toggle_thinking", "Show/hide thinking", HIDDEN),
        ("messages.delete", "delete", "act('delete')", "Delete prompt"),
        ("messages.preview", "v", "act('preview')", "Preview images"),
        ("messages.leave", "escape", "leave", "Back to prompt"),
    ),
    *_group(
        "chips", "attachments",
        ("chips.previous", "left", "move(-1)", "Previous attachment", HIDDEN),
        ("chips.next", "right", "move(1)", "Next attachment", HIDDEN),
        ("chips.remove", "delete,backspace", "remove", "Remove attachment"),
        ("chips.preview", "enter", "preview", "Preview"),
        ("chips.leave", "escape", "leave", "Back to prompt"),
    ),
    *_group(
        "picker", "dialogs",
        ("picker.up", "backspace", "up", "Up a folder", HIDDEN),
        ("picker.close", "escape", "close", "Close", HIDDEN),
    ),
    *_group(
        "preview", "dialogs",
        ("preview.close", "escape,q", "close", "Close", HIDDEN),
        ("preview.previous", "left", "step(-1)", "Previous image", HIDDEN),
        ("preview.next", "right", "step(1)", "Next image", HIDDEN),
    ),
    *_group(
        "search", "search",
        ("search.close", "escape", "close", "Close", HIDDEN),
        ("search.hits", "down", "focus_hits", "Go to the hits", HIDDEN),
    ),
    *_group(
        "models", "models",
        ("models.back", "escape", "back", "Back/cancel"),
        ("models.filter", "slash", "focus_filter", "Filter"),
        ("models.chat_default", "c", "set_default('chat')", "Chat default"),
        ("models.embedding_default", "e", "set_default('embedding')", "Embed default"),
        ("models.details", "i", "details", "Details"),
        ("models.load", "l", "toggle_load", "Load/unload"),
        ("models.delete", "d,delete", "delete", "Delete"),
        ("models.pull", "p", "focus_pull", "Pull"),
        ("models.import", "g", "focus_import", "Import"),
        ("models.sort", "s", "cycle_sort", "Sort"),
        ("models.sort_reverse", "S", "reverse_sort", "Reverse sort", HIDDEN),
        ("models.refresh", "r,f5", "refresh", "Refresh"),
    ),
    *_group(
        "model_details", "models",
        ("models.details_close", "escape,q,i", "close", "Close"),
    ),
    *_group(
        "documents", "documents",
        ("documents.cancel", "escape", "cancel_or_back", "Cancel/Back"),
        ("documents.back", "ctrl+b", "back", "Back"),
        ("documents.add", "ctrl+o", "focus_path", "Add"),
        ("documents.reindex", "f5", "reindex", "Re-index"),
        ("documents.remove", "delete,f8", "remove", "Remove"),
        ("documents.search", "ctrl+f", "focus_search", "Search"),
    ),
    *_group(
        "confirm", "dialogs",
        ("confirm.no", "escape,n", "answer(False)", "No", HIDDEN),
        ("confirm.yes", "y", "answer(True)", "Yes", HIDDEN),
    ),
    *_group(
        "voice_input", "dialogs",
        ("voice.finish", "enter,alt+v", "finish", "Done: transcribe into the prompt"),
        ("voice.cancel", "escape", "cancel", "Cancel the recording"),
    ),
    *_group(
        "text_entry", "dialogs",
        ("entry.cancel", "escape", "cancel", "Cancel", HIDDEN),
    ),
    *_group(
        "help", "help",
        ("help.close", "escape,f1,q", "close", "Close"),
    ),
    # Answers to a question on screen: single letters on purpose, not remapped.
    *_group(
        "remote_docs", "dialogs",
        ("remote_docs.no", "escape,n", "answer(False)", "No"),
        ("remote_docs.yes", "y", "answer(True)", "Yes"),
        show=False, listed=False,
    ),
    *_group(
        "tool_approval", "dialogs",
        ("tool.deny", "escape,d", "answer('deny')", "Deny"),
        ("tool.allow_once", "a", "answer('once')", "Allow once"),
        ("tool.allow_conversation", "c", "answer('conversation')", "Allow in this chat"),
        show=False, listed=False,
    ),
    # Moving in a list: the keys every list has.
    *_group(
        "conversation_rows", "conversations",
        ("conversations.up", "up", "move(-1)", "Up"),
        ("conversations.down", "down", "move(1)", "Down"),
        ("conversations.page_up", "pageup", "page(-1)", "Page up"),
        ("conversations.page_down", "pagedown", "page(1)", "Page down"),
        ("conversations.first", "home", "move(-1_000_000_000)", "First"),
        ("conversations.last", "end", "move(1_000_000_000)", "Last"),
        ("conversations.open", "enter", "choose", "Open"),
        show=False, listed=False,
    ),
    *_group(
        "chunk", "dialogs",
        ("chunk.close", "escape,enter,q", "close", "Close"),
        show=False, listed=False,
    ),
)


def bindings(owner: str) -> list[Binding]:
    """The ``BINDINGS`` of ``owner``, in table order (the footer's order)."""
    found = [spec.binding() for spec in KEYS if spec.owner == owner]
    if not found:
        raise KeyError(f"no bindings for {owner!r}")
    return found


def remappable() -> list[KeySpec]:
    """The bindings the help screen lists and ``[keys]`` may remap, in table order."""
    return [spec for spec in KEYS if spec.listed]


def binding_ids() -> set[str]:
    """Ids a user may remap in ``[keys]``."""
    return {spec.id for spec in remappable()}


def spec(binding_id: str) -> KeySpec:
    """The record of ``binding_id`` (``KeyError`` if there is none)."""
    for candidate in KEYS:
        if candidate.id == binding_id:
            return candidate
    raise KeyError(binding_id)
