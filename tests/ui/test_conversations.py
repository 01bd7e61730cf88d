"""Conversations: new, rename, delete, export, search, long ones, locked workspaces."""

from __future__ import annotations

from textual import events

from offyai_tui.chat.lock import WorkspaceLock
from offyai_tui.chat.records import ChatMessage
from offyai_tui.chat.transcript import TranscriptWriter
from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.widgets.chat.conversation_list import ConversationSidebar
from tests.ui.conftest import chat, idle, notices, screen_text, send, transcript_events, wait_for
from tests.ui.fakes import Script, ScriptedEngine


def sidebar_titles(app) -> list[str]:
    sidebar = chat(app).query_one(ConversationSidebar)
    return [e.title for e in sidebar.entries if e.id in sidebar.visible_ids]


async def test_new_chat_and_title_from_first_prompt(build):
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "Plan a trip to Lisbon")
        await idle(app, pilot)
        first = chat(app).conversation
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert chat(app).conversation is not first
        assert chat(app).messages.views == []
        assert sidebar_titles(app) == ["New chat", "Plan a trip to Lisbon"]
        # A second Ctrl+N on an empty chat does not pile up empty chats.
        empty = chat(app).conversation
        await pilot.press("ctrl+n")
        assert chat(app).conversation is empty


async def test_rename(build):
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "hello")
        await idle(app, pilot)
        await pilot.press("f2")
        await pilot.pause()
        entry = app.screen.query_one("#entry")
        entry.value = ""
        await pilot.press(*"Greetings", "enter")
        await pilot.pause()
        conv = chat(app).conversation
        assert conv.title == "Greetings"
        assert sidebar_titles(app) == ["Greetings"]
        assert transcript_events(conv.id)[-1]["title"] == "Greetings"


async def test_delete_asks_first(build):
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "to be deleted")
        await idle(app, pilot)
        conv = chat(app).conversation
        path = Workspace.open("default").chats_dir / f"{conv.id}.jsonl"
        assert path.exists()
        await pilot.press("f8")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert path.exists() and chat(app).conversation is conv
        await pilot.press("f8")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(lambda: chat(app).conversation is not conv, pilot)
        assert not path.exists()
        assert sidebar_titles(app) == ["New chat"]


async def test_export_markdown(build, engine: ScriptedEngine):
    engine.scripts = [Script(["Use `ls -la`."])]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "list files")
        await idle(app, pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        conv = chat(app).conversation
        exported = Workspace.open("default").root / "exports" / f"{conv.id}.md"
        text = exported.read_text(encoding="utf-8")
        assert text.startswith("# list files")
        assert "Use `ls -la`." in text
        assert any("Exported to" in n for n in notices(app))


async def test_search_jumps_to_the_hit(build, engine: ScriptedEngine):
    engine.scripts = [Script(["The capital is Ouagadougou."]), Script(["Fine."])]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "Capital of Burkina Faso?")
        await idle(app, pilot)
        target = chat(app).conversation
        await pilot.press("ctrl+n")
        await send(pilot, "How are you?")
        await idle(app, pilot)
        await pilot.press("ctrl+f")
        await pilot.pause()
        await pilot.press(*"ouagadou")
        await wait_for(lambda: app.screen.query_one("#hits").option_count == 1, pilot)
        await pilot.press("enter")
        await wait_for(lambda: chat(app).conversation is target, pilot)
        await pilot.pause()
        hit = [v for v in chat(app).messages.views if v.has_class("-hit")]
        assert [v.message.content for v in hit] == ["The capital is Ouagadougou."]


def write_long_conversation(count: int) -> str:
    workspace = Workspace.open("default").ensure()
    conv_id = "20250101-000000-000-abcdef"
    events = []
    for i in range(count):
        role = "user" if i % 2 == 0 else "assistant"
        text = f"message number {i}" + ("\n\n```py\nprint(1)\n```" if i % 10 == 1 else "")
        parent = f"m{i - 1:05d}" if i else None  # format 2: each line names its parent
        events.append(
            ChatMessage(id=f"m{i:05d}", role=role, content=text, parent_id=parent).to_event()
        )
    header = {"type": "header", "v": 1, "id": conv_id, "title": "Long one",
              "created": "2025-01-01T00:00:00.000+00:00", "model": "", "mode": "default"}
    TranscriptWriter(workspace.chats_dir / f"{conv_id}.jsonl").create(header, events)
    return conv_id


async def test_thousand_message_conversation_opens_one_page_and_loads_on_scroll(build):
    """Opening mounts one page of views, not a thousand (its time: bench/open_long.py)."""
    conv_id = write_long_conversation(1000)
    app = build()
    async with app.run_test() as pilot:
        await pilot.pause()
        chat(app).query_one(ConversationSidebar).post_message(
            ConversationSidebar.Selected(conv_id))
        await wait_for(lambda: chat(app).conversation.id == conv_id, pilot)
        await pilot.pause()
        messages = chat(app).messages
        assert len(messages.views) == messages.PAGE
        assert messages.views[-1].message.content == "message number 999"
        assert "message number 999" in screen_text(app)
        assert messages.hidden_count == 1000 - messages.PAGE
        messages.focus()
        messages.scroll_to(y=0, animate=False)  # reading up to the top mounts what is above
        await wait_for(lambda: messages.hidden_count < 1000 - messages.PAGE, pilot)
        await pilot.pause(0.3)
        first = messages.hidden_count
        assert messages.views[0].message.content == f"message number {first}"
        assert "message number 980" in screen_text(app)  # the line being read stays put
        await pilot.press("home")  # the first message, however long the chat
        await wait_for(lambda: messages.hidden_count == 0, pilot)
        assert messages.views[0].message.content == "message number 0"
        assert len(messages.views) <= messages.WINDOW
        await pilot.press("end")
        await wait_for(lambda: messages.later_count == 0, pilot)
        assert messages.views[-1].message.content == "message number 999"


async def test_second_instance_is_read_only_and_says_so(build, engine: ScriptedEngine):
    workspace = Workspace.open("default").ensure()
    with WorkspaceLock(workspace.root, "default"):
        app = build()
        async with app.run_test() as pilot:
            text = screen_text(app)
            assert "Read-only" in text and "another OffyAI instance" in text
            assert "READ-ONLY" in text
            await send(pilot, "still works")
            await idle(app, pilot)
            assert chat(app).messages.views[-1].status == "complete"
            assert not list(workspace.chats_dir.glob("*.jsonl"))
            errors = notices(app, "error")
            assert errors == []


async def test_keys_typed_right_after_ctrl_l_filter_the_list(build):
    """Ctrl+L and the next keys can arrive in one read from the terminal, before the list exists."""
    app = build()
    async with app.run_test() as pilot:
        for key in ("ctrl+l", "b", "a", "n"):
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await pilot.pause()
        sidebar = chat(app).query_one(ConversationSidebar)
        await wait_for(lambda: sidebar.filter_text == "ban", pilot)
        assert chat(app).prompt.text == ""


async def test_sidebar_type_to_filter_and_open(build, engine: ScriptedEngine):
    app = build()
    async with app.run_test() as pilot:
        for prompt in ("apples and pears", "bananas", "cherries"):
            await send(pilot, prompt)
            await idle(app, pilot)
            await pilot.press("ctrl+n")
        assert sidebar_titles(app) == ["New chat", "cherries", "bananas", "apples and pears"]
        await pilot.press("ctrl+l")
        await pilot.press(*"ban")
        await pilot.pause()
        assert sidebar_titles(app) == ["bananas"]
        await pilot.press("enter")
        await wait_for(lambda: chat(app).conversation.title == "bananas", pilot)
        assert [v.message.content for v in chat(app).messages.views] == ["bananas", "ok"]
