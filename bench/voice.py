"""Word error rate and speed of speech to text on the committed speech fixtures.

    python bench/voice.py [--rounds 3] [--threads 2] [--whisper-model PATH] [--json]

The model is the one ``offyai transcribe`` would use with an empty models directory
(the bundled tiny.en, built once in the checkout's ``.cache/models``), or the
``--whisper-model`` given. Each fixture of ``tests/voice/data`` (speech made by piper
and espeak-ng, with its reference text) is transcribed ``--rounds`` times; the word
error rate is total word edits over total reference words (normalised: case and
punctuation ignored), and speed is seconds of audio per second of transcription
(the real-time factor's inverse, median over rounds). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit_json, isolated_home, median

DATA = Path(__file__).resolve().parent.parent / "tests" / "voice" / "data"


def run(rounds: int, threads: int, model_path: Path | None) -> dict[str, object]:
    from offyai_tui.voice import audio, whisper_model
    from offyai_tui.voice.transcribe import Transcriber
    from offyai_tui.voice.wer import edit_distance, words

    references = json.loads((DATA / "references.json").read_text())
    model = whisper_model.find(explicit=model_path)
    started = time.perf_counter()
    transcriber = Transcriber(model, threads=threads)
    load_s = time.perf_counter() - started
    files: dict[str, dict[str, object]] = {}
    edits = total = 0
    speeds: list[float] = []
    for name, reference in references.items():
        samples = audio.load(DATA / name)
        results = [transcriber.transcribe(samples) for _ in range(rounds)]
        heard = results[0].text
        ref_words = words(reference["text"])
        errors = edit_distance(ref_words, words(heard))
        edits += errors
        total += len(ref_words)
        speed = median([r.seconds / r.elapsed for r in results])
        speeds.append(speed)
        files[name] = {
            "voice": reference["voice"],
            "wer": round(errors / len(ref_words), 3),
            "heard": heard,
            "audio_s": round(results[0].seconds, 2),
            "x_realtime": round(speed, 2),
        }
    return {
        "model": model.name,
        "model_origin": model.origin,
        "threads": threads,
        "rounds": rounds,
        "load_s": round(load_s, 3),
        "wer": round(edits / total, 4),
        "words": total,
        "word_edits": edits,
        "x_realtime_median": round(median(speeds), 2),
        "files": files,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--whisper-model", dest="whisper_model", type=Path)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    with isolated_home():
        result = run(args.rounds, args.threads, args.whisper_model)
    for name, row in result["files"].items():  # type: ignore[union-attr]
        print(f"{name:<14} WER {row['wer']:.2f}  {row['x_realtime']:>5.1f}x  {row['heard']}",
              file=sys.stderr)
    print(f"{result['model']}: WER {result['wer']:.3f} over {result['words']} words, "
          f"median {result['x_realtime_median']}x real time, {args.threads} threads, "
          f"load {result['load_s']} s", file=sys.stderr)
    if args.json:
        emit_json(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
