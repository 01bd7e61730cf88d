"""Conversation: prompts, replies with request ids, final states, context and reload."""

from __future__ import annotations

import errno
import os

import pytest

from offyai_tui.chat import (
    ConversationStore,
    MessageNotFound,
    ParameterError,
    ReadOnlyWorkspace,
    ReplyInProgress,
    TokenCounter,
    make_title,
    read_transcript,
)
from offyai_tui.engines.base import ChatStats, Done, ErrorEvent, TextDelta, ThinkingDelta
from offyai_tui.engines.errors import StreamInterrupted, WorkerCrashed
from offyai_tui.settings.config import ChatSettings
from tests.chat.conftest import FakeClock


def _reload(store: ConversationStore, conv_id: str):
    return ConversationStore(store.workspace, lock=None).load(conv_id)


@pytest.mark.parametrize(
    ("prompt", "title"),
    [
        ("  How do I sort a dict?\nmore text", "How do I sort a dict?"),
        ("# Heading prompt", "Heading prompt"),
        ("\n\n", "Untitled"),
        ("word " * 40, "word word word word word word word word word word word…"),
    ],
)
def test_title_from_first_prompt(prompt: str, title: str) -> None:
    assert make_title(prompt) == title
    assert len(make_title(prompt)) <= 60


async def test_full_reply_cycle_is_saved(store: ConversationStore) -> None:
    conv = store.create(model="smol", mode="coder")
    user = conv.add_user("Write hello world in Go")
    assert conv.title == "Write hello world in Go"
    handle = await conv.start_reply(TokenCounter(), settings=ChatSettings())
    assert conv.messages[-1] is handle.message and handle.message.status == "streaming"
    assert conv.accepts(handle.request_id)
    system, sent_user = handle.messages
    assert system.role == "system" and "software engineer" in system.content
    assert (sent_user.role, sent_user.content) == ("user", user.content)
    assert handle.options.model == "smol" and handle.options.temperature == 0.2  # Coder mode
    assert handle.options.num_ctx == handle.plan.window == 4096
    for event in (ThinkingDelta("hmm"), TextDelta("package "), TextDelta("main")):
        assert handle.apply(event) is False
    assert handle.apply(Done(ChatStats(model="smol", completion_tokens=2, tokens_per_s=9.5)))
    assert not conv.accepts(handle.request_id) and conv.active_reply is None
    handle.apply(TextDelta(" late"))  # after the end: ignored
    answer = _reload(store, conv.id).messages[-1]
    assert (answer.status, answer.content, answer.thinking) == ("complete", "package main", "hmm")
    assert answer.stats["tokens_per_s"] == 9.5 and answer.request_id == handle.request_id


async def test_stop_keeps_partial_text_and_is_idempotent(store: ConversationStore) -> None:
    conv = store.create(model="smol")
    conv.add_user("Count to ten")
    handle = await conv.start_reply(TokenCounter())
    handle.append("1, 2, 3")
    handle.stop()
    handle.stop()
    handle.finish(ChatStats())  # a Done that arrives after Esc changes nothing
    saved = read_transcript(store.path_for(conv.id)).messages
    assert [(m.status, m.content) for m in saved[1:]] == [("stopped", "1, 2, 3")]


async def test_engine_cancel_counts_as_stopped(store: ConversationStore) -> None:
    conv = store.create()
    conv.add_user("x")
    handle = await conv.start_reply(TokenCounter())
    handle.apply(Done(ChatStats(done_reason="cancelled")))
    assert handle.message.status == "stopped"


async def test_error_keeps_the_longest_partial_and_a_one_line_reason(
    store: ConversationStore,
) -> None:
    conv = store.create()
    conv.add_user("Explain")
    handle = await conv.start_reply(TokenCounter())
    handle.append("Partial ")
    handle.apply(
        ErrorEvent(
            WorkerCrashed("the model process\ncrashed (SIGSEGV)"), partial_text="Partial answer"
        )
    )
    message = _reload(store, conv.id).messages[-1]
    assert (message.status, message.content) == ("error", "Partial answer")
    assert message.error == "the model process crashed (SIGSEGV)"


async def test_one_reply_at_a_time_per_conversation(store: ConversationStore) -> None:
    conv = store.create()
    conv.add_user("first")
    handle = await conv.start_reply(TokenCounter())
    with pytest.raises(ReplyInProgress):
        await conv.start_reply(TokenCounter())
    with pytest.raises(ReplyInProgress):
        conv.add_user("second")
    with pytest.raises(ReplyInProgress):
        conv.delete_message(handle.message_id)
    handle.stop()
    conv.add_user("second")  # fine once the answer ended


async def test_answers_land_in_their_own_conversation(store: ConversationStore) -> None:
    a = store.create()
    a.add_user("question A")
    handle_a = await a.start_reply(TokenCounter())
    b = store.create()  # the user switches to a new chat while A streams
    b.add_user("question B")
    handle_b = await b.start_reply(TokenCounter())
    assert handle_a.request_id != handle_b.request_id
    assert not b.accepts(handle_a.request_id)
    handle_a.append("answer A")
    handle_b.append("answer B")
    handle_a.finish()
    handle_b.finish()
    assert [m.content for m in _reload(store, a.id).messages] == ["question A", "answer A"]
    assert [m.content for m in _reload(store, b.id).messages] == ["question B", "answer B"]


async def test_history_sent_to_the_model(store: ConversationStore) -> None:
    conv = store.create()
    conv.add_user("one")
    (await conv.start_reply(TokenCounter())).fail(StreamInterrupted("cut"))
    conv.add_user("two")
    stopped = await conv.start_reply(TokenCounter())
    stopped.append("partial two")
    stopped.stop()
    conv.add_user("three")
    handle = await conv.start_reply(TokenCounter())
    # The failed answer is left out; the stopped one was seen by the user, so it stays.
    assert [(m.role, m.content) for m in handle.messages[1:]] == [
        ("user", "one"),
        ("user", "two"),
        ("assistant", "partial two"),
        ("user", "three"),
    ]
    handle.finish()
    conv.clear_context()
    conv.add_user("fresh start")
    handle = await conv.start_reply(TokenCounter())
    assert [m.content for m in handle.messages[1:]] == ["fresh start"]
    handle.finish()
    assert [m.in_context for m in _reload(store, conv.id).messages][-3:] == [False, True, True]


async def test_retry_after_an_error(store: ConversationStore) -> None:
    conv = store.create()
    conv.add_user("question")
    failed = await conv.start_reply(TokenCounter())
    failed.fail("engine not running")
    conv.delete_message(failed.message_id)
    retry = await conv.start_reply(TokenCounter())
    retry.append("answer")
    retry.finish()
    assert [m.content for m in _reload(store, conv.id).messages] == ["question", "answer"]
    with pytest.raises(MessageNotFound):
        conv.delete_message(failed.message_id)


async def test_temperature_is_sent_only_when_someone_set_it(store: ConversationStore) -> None:
    """Unset, the model's own temperature applies (a GGUF's advice, a Modelfile's,
    the engine's default); config, mode and ``/set`` each send theirs, in that order."""
    conv = store.create(model="smol")
    conv.add_user("hi")
    assert "temperature" not in conv.effective_parameters(ChatSettings())
    handle = await conv.start_reply(TokenCounter(), settings=ChatSettings())
    assert handle.options.temperature is None
    assert "temperature" not in handle.options.sampling()
    handle.finish()
    assert conv.effective_parameters(ChatSettings(temperature=0.3))["temperature"] == 0.3
    conv.set_mode("coder")
    assert conv.effective_parameters(ChatSettings(temperature=0.3))["temperature"] == 0.2
    conv.set_parameter("temperature", 0.9)
    assert conv.effective_parameters(ChatSettings(temperature=0.3))["temperature"] == 0.9


async def test_parameters_mode_and_system_are_stored(store: ConversationStore) -> None:
    conv = store.create(model="smol")
    conv.add_user("hi")
    conv.set_mode("teacher")
    conv.set_parameter("temperature", 1.5)
    conv.set_parameter("num_ctx", 2048)
    conv.set_parameter("num_predict", 100)
    conv.set_system("Answer in French.")
    with pytest.raises(ParameterError, match="between 0 and 2"):
        conv.set_parameter("temperature", 7)
    handle = await conv.start_reply(TokenCounter(), settings=ChatSettings(temperature=0.7))
    assert handle.messages[0].content == "Answer in French."
    assert handle.options.temperature == 1.5 and handle.options.num_predict == 100
    assert (handle.plan.window, handle.plan.reserve) == (2048, 100)
    handle.finish()
    again = _reload(store, conv.id)
    assert again.mode.name == "Teacher" and again.system == "Answer in French."
    assert again.params == {"temperature": 1.5, "num_ctx": 2048, "num_predict": 100}
    conv.reset_parameters()
    assert conv.system_prompt == conv.mode.system_prompt
    assert _reload(store, conv.id).params == {}


def test_unknown_mode_in_a_transcript_falls_back_to_default(store: ConversationStore) -> None:
    conv = store.create(mode="creative")
    conv.add_user("hi")
    with open(store.path_for(conv.id), "ab") as handle:
        handle.write(b'{"type": "mode", "mode": "deleted-mode"}\n')
    again = _reload(store, conv.id)
    assert again.mode.name == "Default" and any("deleted-mode" in w for w in again.warnings)


def test_read_only_conversation_shows_changes_but_does_not_save(
    store: ConversationStore,
) -> None:
    conv = store.create()
    conv.add_user("saved")
    viewer = ConversationStore(store.workspace, lock=None).load(conv.id)
    with pytest.raises(ReadOnlyWorkspace):
        viewer.add_user("not saved")
    assert [m.content for m in viewer.messages] == ["saved", "not saved"]
    assert [m.content for m in _reload(store, conv.id).messages] == ["saved"]


async def test_checkpoint_failure_does_not_break_the_stream(
    store: ConversationStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    conv = store.create()
    conv.add_user("long answer please")
    handle = await conv.start_reply(TokenCounter())
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    clock.advance(2)
    handle.append("first part ")
    assert handle.checkpoint_error is not None and "disk is full" in str(handle.checkpoint_error)
    monkeypatch.setattr(os, "write", real_write)
    clock.advance(2)
    handle.append("second part")
    assert handle.checkpoint_error is None
    # The retried checkpoint starts where the last saved one ended: nothing is missing.
    interrupted = read_transcript(store.path_for(conv.id))
    assert interrupted.messages[-1].content == "first part second part"
    assert interrupted.warnings == []
    handle.finish()


async def test_markdown_of_a_conversation(store: ConversationStore) -> None:
    conv = store.create(model="smol")
    conv.add_user("Show code")
    handle = await conv.start_reply(TokenCounter())
    handle.append("```python\nprint('hi')\n```")
    handle.finish(ChatStats(model="smol", completion_tokens=7, tokens_per_s=21.0))
    failed_conv = store.create()
    failed_conv.add_user("x")
    failed = await failed_conv.start_reply(TokenCounter())
    failed.fail("engine not running")
    text = conv.to_markdown()
    assert "### Assistant · smol" in text and "```python\nprint('hi')\n```" in text
    assert "*7 tokens · 21.0 tok/s*" in text
    assert "> *failed: engine not running*" in failed_conv.to_markdown()
