"""``offyai transcribe FILE``, ``offyai say TEXT -o out.wav`` and the voice lines of doctor.

Failures the user can fix (no model, corrupt audio, no speech engine) are one line
through :class:`UserError`; the transcript goes to stdout, notes to stderr.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from offyai_tui.commands import UserError
from offyai_tui.util.textsafe import visible
from offyai_tui.voice.errors import VoiceError

if TYPE_CHECKING:
    import argparse

    from offyai_tui.settings.config import Settings, VoiceSettings


def transcribe(args: argparse.Namespace, settings: Settings) -> int:
    """Print what is said in each file given (one line of text per file)."""
    from offyai_tui.voice import whisper_model
    from offyai_tui.voice.transcribe import Transcriber

    named = args.whisper_model or settings.voice.whisper_model
    explicit = Path(named).expanduser() if named else None
    try:
        transcriber = Transcriber(whisper_model.find(explicit=explicit), threads=args.threads)
    except VoiceError as err:
        raise UserError(str(err)) from None
    failed: list[str] = []
    for name in args.files:
        try:
            result = transcriber.transcribe_file(Path(name))
        except VoiceError as err:
            failed.append(str(err))
            if len(args.files) > 1:  # the others go on; the exit status still says so
                print(f"offyai: {visible(err)}", file=sys.stderr)
            continue
        prefix = f"{name}: " if len(args.files) > 1 else ""
        print(visible(f"{prefix}{result.text}"), flush=True)
        if args.stats:
            speed = result.seconds / result.elapsed if result.elapsed else 0.0
            print(f"offyai: {result.seconds:.1f} s of audio in {result.elapsed:.2f} s "
                  f"({speed:.0f}x real time) with {result.model}", file=sys.stderr)
    if failed:
        raise UserError(failed[0] if len(failed) == 1 else f"{len(failed)} files not transcribed")
    return 0


def say(args: argparse.Namespace, settings: Settings) -> int:
    """Speak the text into a WAV file, or aloud through what ``voice.output`` chooses."""
    from offyai_tui.voice.speech import find_speaker, synthesize

    text = " ".join(args.text).strip()
    if not text and not sys.stdin.isatty():
        text = sys.stdin.read().strip()
    if not args.output:
        return read_aloud(text, args.voice_engine, settings.voice.output)
    out = Path(args.output).expanduser()
    if not out.parent.is_dir():
        raise UserError(f"{out.parent}: no such folder")
    try:
        speaker = synthesize(text, out, find_speaker(args.voice_engine))
    except VoiceError as err:
        raise UserError(str(err)) from None
    print(visible(f"offyai: wrote {out} ({speaker.engine}: {speaker.name})"), file=sys.stderr)
    return 0


def read_aloud(text: str, engine: str | None, output: str = "auto") -> int:
    """Play ``text`` on the speakers, sentence by sentence; Ctrl+C stops at once."""
    from offyai_tui.voice.playback import Reader, SentenceFeeder, speakers
    from offyai_tui.voice.speech import find_speaker

    if not text.strip():
        raise UserError("nothing to say: the text is empty")
    try:
        reader = Reader(find_speaker(engine), play=speakers(output))
    except VoiceError as err:
        raise UserError(str(err)) from None
    feeder = SentenceFeeder(reader.say)
    # asyncio.run (the commands' runner) answers a first Ctrl+C by cancelling its task,
    # which this blocking wait never lets happen: the sentence would play to its end.
    # Python's own handler interrupts the wait at once instead.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        feeder.feed(text)
        feeder.finish()
        while reader.reading:
            reader.wait(0.2)
    except KeyboardInterrupt:
        reader.stop()
        reader.wait(2)  # the device is let go of (ALSA: dropped and closed) before exit
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if reader.error is not None:
        raise UserError(str(reader.error))
    return 0


def doctor_facts(voice: VoiceSettings | None = None) -> dict[str, dict[str, object]]:
    """Speech to text, text to speech, the microphone and the speakers: what is there,
    or the problem; with the sound library ``voice.input`` / ``voice.output`` chose."""
    from offyai_tui.settings.config import VoiceSettings
    from offyai_tui.voice import devices, whisper_model
    from offyai_tui.voice.speech import find_speaker

    voice = voice or VoiceSettings()
    facts: dict[str, dict[str, object]] = {}
    try:
        model = whisper_model.find(prepare=False)
        facts["speech_to_text"] = {"model": model.name, "origin": model.origin,
                                   "path": str(model.path), "ready": model.ready}
    except VoiceError as err:
        facts["speech_to_text"] = {"problem": str(err)}
    try:
        speaker = find_speaker()
        facts["text_to_speech"] = {"engine": speaker.engine, "voice": speaker.name,
                                   "path": str(speaker.path)}
    except VoiceError as err:
        facts["text_to_speech"] = {"problem": str(err)}
    for key, choice, find in (("microphone", voice.input, devices.default_input),
                              ("speakers", voice.output, devices.default_output)):
        try:
            device = find(choice)
            facts[key] = {"device": device.name, "rate": device.rate,
                          "backend": device.backend, "setting": choice}
        except VoiceError as err:
            facts[key] = {"problem": str(err), "setting": choice}
    return facts


def doctor_lines(
    facts: dict[str, dict[str, object]] | None = None, voice: VoiceSettings | None = None
) -> list[str]:
    """``offyai doctor``'s voice lines, from :func:`doctor_facts`."""
    facts = facts or doctor_facts(voice)
    stt, tts = facts["speech_to_text"], facts["text_to_speech"]
    if "problem" in stt:
        stt_line = f"speech to text: {stt['problem']}"
    else:
        state = "" if stt["ready"] else ", built on first use or by offyai setup"
        stt_line = f"speech to text: {stt['model']} ({stt['origin']}{state}) {stt['path']}"
    tts_line = f"text to speech: {tts['problem']}" if "problem" in tts else (
        f"text to speech: {tts['engine']} ({tts['voice']}) {tts['path']}")
    return [stt_line, tts_line, *(_device_line(key, facts[key]) for key in
                                  ("microphone", "speakers") if key in facts)]


def _device_line(key: str, fact: dict[str, object]) -> str:
    """``microphone: ALSA default (16000 Hz) through ALSA (voice.input = auto)``."""
    from offyai_tui.voice.devices import NAMES

    name = "input" if key == "microphone" else "output"
    setting = f"voice.{name} = {fact.get('setting', 'auto')}"
    if "problem" in fact:
        return f"{key}: {fact['problem']} ({setting})"
    library = NAMES.get(str(fact.get("backend")), fact.get("backend"))
    rate = f" ({fact['rate']} Hz)" if fact.get("rate") else ""
    return f"{key}: {fact['device']}{rate} through {library} ({setting})"


def prepare_model() -> str:
    """Build the bundled whisper model for ``offyai setup``; the line to print."""
    from offyai_tui.voice import whisper_model

    try:
        model = whisper_model.bundled_model()
    except VoiceError as err:
        return f"{whisper_model.BUNDLED}: {err}"
    return f"ready   {model.name:<24} {'speech':<9} {model.path}"
