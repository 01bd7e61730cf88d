"""Voice fixtures: the committed speech files, and one loaded whisper model per session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
REFERENCES: dict[str, dict[str, str]] = json.loads((DATA / "references.json").read_text())


@pytest.fixture(scope="session")
def transcriber():  # type: ignore[no-untyped-def]
    """The bundled tiny.en, built in the shared model cache, loaded once (real whisper.cpp)."""
    from offyai_tui.voice import whisper_model
    from offyai_tui.voice.transcribe import Transcriber

    return Transcriber(whisper_model.bundled_model(), threads=2)
