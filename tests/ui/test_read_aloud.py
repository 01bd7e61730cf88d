"""Reading an answer aloud from the chat: the words of the answer, Esc stops, or one line."""

from __future__ import annotations

import pytest

from offyai_tui.voice import audio, playback
from offyai_tui.voice.errors import SpeechUnavailable
from offyai_tui.voice.wer import words
from tests.ui.conftest import chat, idle, notices, send, wait_for
from tests.ui.fakes import Script, ScriptedEngine
from tests.voice.conftest import transcriber  # noqa: F401  (the session's whisper model)
from tests.voice.test_playback import FakeSpeakers

ANSWER = "## Tonight\n\nThe sea is **calm**. Stars are out."


@pytest.mark.slow
async def test_the_answer_is_read_and_esc_stops_it(
    build, engine: ScriptedEngine, transcriber  # noqa: F811
) -> None:
    engine.scripts = [Script([ANSWER])]
    app = build()
    speakers = FakeSpeakers(hold=True)
    async with app.run_test() as pilot:
        await send(pilot, "Describe tonight.")
        await idle(app, pilot)
        chat(app).voice.play = speakers
        await pilot.press("alt+r")
        await wait_for(speakers.started.is_set, pilot, timeout=30)
        samples, rate = speakers.played[0]
        heard = words(transcriber.transcribe(audio.to_whisper(samples, rate)).text)
        assert heard == ["tonight"]  # the heading, without its marks
        await pilot.press("escape")
        await wait_for(lambda: chat(app).voice.reader is None, pilot)
        await pilot.pause(0.3)
        assert len(speakers.played) == 1  # the rest was dropped
        assert not chat(app).generating


async def test_no_speech_engine_is_one_line(
    build, engine: ScriptedEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = "no text to speech: install espeak-ng"

    def none() -> playback.Speaker:
        raise SpeechUnavailable(line)

    monkeypatch.setattr(playback, "find_speaker", none)
    engine.scripts = [Script(["Hello."])]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "hi")
        await idle(app, pilot)
        chat(app).voice.play = FakeSpeakers()
        await pilot.press("alt+r")
        await wait_for(lambda: line in notices(app, "warning"), pilot)


async def test_nothing_to_read_yet(build) -> None:
    app = build()
    async with app.run_test() as pilot:
        await pilot.press("alt+r")
        await wait_for(lambda: "No answer to read yet." in notices(app), pilot)


async def test_with_read_answers_each_sentence_is_read_as_it_streams(
    build, engine: ScriptedEngine
) -> None:
    from offyai_tui.settings.config import Settings, VoiceSettings

    engine.scripts = [Script(["First one. ", "Second one! ", "Third"], hold_after=2)]
    app = build(settings=Settings(voice=VoiceSettings(read_answers=True)))
    speakers = FakeSpeakers()
    async with app.run_test() as pilot:
        chat(app).voice.play = speakers
        await send(pilot, "Count.")
        await wait_for(engine.held.is_set, pilot)
        await wait_for(lambda: len(speakers.played) == 2, pilot, timeout=30)  # before the end
        engine.release()
        await idle(app, pilot)
        await wait_for(lambda: len(speakers.played) == 3, pilot, timeout=30)


async def test_esc_stops_the_answer_and_its_reading(build, engine: ScriptedEngine) -> None:
    from offyai_tui.settings.config import Settings, VoiceSettings

    engine.scripts = [Script(["One. ", "Two. "], hold_after=2)]
    app = build(settings=Settings(voice=VoiceSettings(read_answers=True)))
    speakers = FakeSpeakers(hold=True)
    async with app.run_test() as pilot:
        chat(app).voice.play = speakers
        await send(pilot, "Count.")
        await wait_for(speakers.started.is_set, pilot, timeout=30)
        await pilot.press("escape")
        await idle(app, pilot)
        assert chat(app).voice.reader is None
        assert chat(app).conversation.messages[-1].status == "stopped"
