"""Transcription in a child process, for the TUI.

whisper.cpp writes its log to file descriptor 2, which is the terminal the TUI draws
on, and silencing it in-process means redirecting that descriptor under the app's feet
(pywhispercpp's way) or a log callback that crashes when called without the GIL. A
child whose stderr is /dev/null has neither problem; it also keeps a damaged model's
crash out of the app, and Esc stops it at once by ending the process. The samples go
in on stdin as raw float32, the result comes back as one JSON line.

    python -m offyai_tui.voice.worker MODEL_PATH THREADS < samples.f32
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from offyai_tui.voice.errors import VoiceError
from offyai_tui.voice.transcribe import Transcript
from offyai_tui.voice.whisper_model import WhisperModel

if TYPE_CHECKING:
    import numpy as np

_POLL_S = 0.05


def transcribe(
    samples: np.ndarray,
    model: WhisperModel,
    threads: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Transcript | None:
    """What ``samples`` say, from a child process; ``None`` when ``should_stop`` ended it.

    Raises:
        VoiceError: the child failed (its one-line reason).
    """
    command = [sys.executable, "-m", "offyai_tui.voice.worker", str(model.path), str(threads or 0)]
    child = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(samples.astype("<f4").tobytes())
            child.stdin.close()
        except BrokenPipeError:
            pass  # it died at start; its exit status says so below
        while child.poll() is None:
            if should_stop is not None and should_stop():
                return None
            time.sleep(_POLL_S)
        output = child.stdout.read().decode("utf-8", "replace").strip().splitlines()
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    try:
        result = json.loads(output[-1]) if output else {}
    except ValueError:
        result = {}
    if "text" not in result:
        code = child.returncode
        how = f"signal {-code}" if code < 0 else f"exit status {code}"
        reason = result.get("error") or f"the transcriber crashed on {model.path} ({how})"
        raise VoiceError(str(reason))
    return Transcript(
        text=str(result["text"]),
        segments=tuple(result.get("segments", ())),
        seconds=float(result.get("seconds", 0.0)),
        elapsed=float(result.get("elapsed", 0.0)),
        model=model.name,
    )


def main(argv: list[str]) -> int:
    import numpy as np

    from offyai_tui.voice.transcribe import Transcriber

    path, threads = Path(argv[0]), int(argv[1])
    try:
        samples = np.frombuffer(sys.stdin.buffer.read(), dtype="<f4")
        transcriber = Transcriber(WhisperModel(path.name, path, "given"), threads=threads or None)
        result = transcriber.transcribe(samples)
    except VoiceError as err:
        print(json.dumps({"error": str(err)}), flush=True)
        return 1
    print(json.dumps({
        "text": result.text, "segments": list(result.segments),
        "seconds": result.seconds, "elapsed": result.elapsed,
    }), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
