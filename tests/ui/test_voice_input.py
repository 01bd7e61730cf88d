"""Push to talk in the chat, with a fake input device and the real whisper.cpp."""

from __future__ import annotations

from pathlib import Path

import pytest

from offyai_tui.settings import locations
from offyai_tui.ui.screens.voice_input import VoiceInputScreen, clock, meter
from offyai_tui.voice import recorder
from offyai_tui.voice.errors import NoInputDevice
from tests.ui.conftest import chat, notices, wait_for
from tests.voice.conftest import DATA
from tests.voice.fake_mic import FakeMicrophone


@pytest.fixture
def mic(monkeypatch: pytest.MonkeyPatch) -> FakeMicrophone:
    fake = FakeMicrophone(DATA / "capital.wav", speed=4.0)
    monkeypatch.setattr(recorder, "open_microphone", fake)
    return fake


def audio_files(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*")
            if p.suffix in (".wav", ".flac", ".ogg")]


@pytest.mark.slow
async def test_the_spoken_prompt_lands_in_the_prompt_for_review(
    build, mic: FakeMicrophone, tmp_path: Path
) -> None:
    app = build()
    async with app.run_test() as pilot:
        await pilot.press(*"Quiz:")
        await pilot.press("alt+v")
        await wait_for(lambda: isinstance(app.screen, VoiceInputScreen), pilot)
        dialog = app.screen
        assert isinstance(dialog, VoiceInputScreen)
        seen: set[str] = set()

        def meter_moved() -> bool:
            seen.add(str(dialog.query_one("#voice-meter").render()))
            return any("█" in text for text in seen)

        await wait_for(meter_moved, pilot)
        await wait_for(mic.finished.is_set, pilot)
        await pilot.pause(0.15)
        state = str(dialog.query_one("#voice-state").render())
        assert state.startswith("● Recording  0:0"), state
        await pilot.press("enter")
        await wait_for(lambda: not isinstance(app.screen, VoiceInputScreen), pilot, timeout=60)
        prompt = chat(app).prompt
        # the dialog's result reaches the chat screen as a message after the dialog closes
        await wait_for(lambda: prompt.text != "Quiz:" or bool(notices(app)), pilot)
        assert prompt.text == "Quiz: What is the capital of France?", (prompt.text, notices(app))
        assert prompt.has_focus
        assert not chat(app).generating  # for review: nothing was sent
    assert audio_files(locations.data_dir(), locations.cache_dir(), tmp_path) == []


async def test_escape_cancels_and_keeps_the_prompt(build, mic: FakeMicrophone) -> None:
    app = build()
    async with app.run_test() as pilot:
        await pilot.press(*"draft")
        await pilot.press("alt+v")
        await wait_for(lambda: isinstance(app.screen, VoiceInputScreen), pilot)
        dialog = app.screen
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, VoiceInputScreen), pilot)
        assert chat(app).prompt.text == "draft"
        assert dialog.recorder.take is None and not dialog.recorder.recording


async def test_no_microphone_is_one_line_and_no_dialog(
    build, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = "no microphone: no input device found (over SSH the microphone is on the machine"

    def none(sink: recorder.BlockSink, choice: str = "auto") -> tuple[recorder.InputStream, int]:
        raise NoInputDevice(line)

    monkeypatch.setattr(recorder, "open_microphone", none)
    app = build()
    async with app.run_test() as pilot:
        await pilot.press("alt+v")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, VoiceInputScreen)
        assert notices(app, "warning") == [line]
        assert chat(app).prompt.text == ""


def test_the_meter_and_the_clock() -> None:
    assert meter(0.0) == "░" * 40
    assert meter(0.5) == "█" * 20 + "░" * 20
    assert meter(3.0) == "█" * 40
    assert clock(0) == "0:00.0"
    assert clock(75.25) == "1:15.2"


@pytest.mark.slow
async def test_with_send_at_once_the_words_are_sent(build, mic: FakeMicrophone, engine) -> None:
    from offyai_tui.settings.config import Settings, VoiceSettings
    from tests.ui.fakes import Script

    engine.scripts = [Script(["Paris."])]
    app = build(settings=Settings(voice=VoiceSettings(send_at_once=True)))
    async with app.run_test() as pilot:
        await pilot.press("alt+v")
        await wait_for(lambda: isinstance(app.screen, VoiceInputScreen), pilot)
        await wait_for(mic.finished.is_set, pilot)
        await pilot.press("enter")
        await wait_for(lambda: not isinstance(app.screen, VoiceInputScreen), pilot, timeout=60)
        await wait_for(lambda: len(chat(app).messages.views) == 2, pilot)
        assert chat(app).conversation.messages[0].content == "What is the capital of France?"
        assert chat(app).prompt.text == ""
