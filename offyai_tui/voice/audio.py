"""Reading, converting and writing audio: whatever comes in leaves as 16 kHz mono float32.

whisper.cpp wants 16 kHz mono samples in [-1, 1]. Files are decoded with libsndfile
(``soundfile``: WAV of every sample format, FLAC, OGG Vorbis and Opus, MP3), with
Python's ``wave`` as the fallback for plain PCM WAV when soundfile is not installed;
other rates are converted with ``soxr``. Nothing is written unless asked
(:func:`write_wav`), which is how recordings stay off the disk.
"""

from __future__ import annotations

import math
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from offyai_tui.voice.errors import AudioError

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16000
"""The rate whisper.cpp was trained on and expects."""

READABLE = "WAV, FLAC, OGG (Vorbis, Opus) and MP3"
_SILENCE_DB = -60.0
"""The level meter's floor: quieter than this shows as nothing."""


def load(path: Path) -> np.ndarray:
    """The audio in ``path`` as 16 kHz mono float32 samples.

    Raises:
        AudioError: the file does not exist, is not audio the decoder reads (corrupt,
            truncated, another format), or holds no samples.
    """
    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    samples, rate = _decode(path)
    if samples.size == 0:
        raise AudioError(f"{path}: the file holds no audio")
    return to_whisper(samples, rate)


def to_whisper(samples: np.ndarray, rate: int) -> np.ndarray:
    """``samples`` (frames, or frames x channels) as 16 kHz mono float32."""
    import numpy as np

    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    if rate != SAMPLE_RATE:
        mono = resample(mono, rate, SAMPLE_RATE)
    return np.clip(mono, -1.0, 1.0).astype(np.float32, copy=False)


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """``samples`` converted from ``rate`` to ``target`` Hz.

    soxr (band-limited, high quality) when installed; otherwise linear interpolation,
    which aliases a little but keeps speech intelligible.
    """
    import numpy as np

    if rate == target or samples.size == 0:
        return samples
    try:
        import soxr
    except ImportError:
        times = np.arange(math.ceil(samples.size * target / rate)) * (rate / target)
        return np.interp(times, np.arange(samples.size), samples).astype(np.float32)
    return soxr.resample(samples, rate, target).astype(np.float32, copy=False)


def level(samples: np.ndarray) -> float:
    """Loudness of ``samples`` for a meter: 0 (silence, -60 dBFS) to 1 (full scale)."""
    import numpy as np

    if samples.size == 0:
        return 0.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms <= 0:
        return 0.0
    decibels = 20 * math.log10(rms)
    return max(0.0, min(1.0, 1 - decibels / _SILENCE_DB))


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    """Write mono float samples to ``path`` as 16-bit PCM WAV (readable everywhere)."""
    import numpy as np

    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as sink:
        sink.setnchannels(1)
        sink.setsampwidth(2)
        sink.setframerate(rate)
        sink.writeframes(pcm.tobytes())
    return path


def duration(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """Seconds of audio in ``samples``."""
    return samples.shape[0] / rate


def _decode(path: Path) -> tuple[np.ndarray, int]:
    try:
        import soundfile
    except (ImportError, OSError):  # OSError: the package without its libsndfile
        return _decode_wave(path)
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, ValueError, EOFError, TypeError) as err:
        raise AudioError(f"{path}: not audio this decoder reads ({_reason(err)}); "
                         f"{READABLE} are read") from None
    return samples, int(rate)


def _decode_wave(path: Path) -> tuple[np.ndarray, int]:
    """PCM WAV with the standard library, for an install without soundfile."""
    import numpy as np

    try:
        with wave.open(str(path), "rb") as source:
            width, channels = source.getsampwidth(), source.getnchannels()
            rate, raw = source.getframerate(), source.readframes(source.getnframes())
    except (wave.Error, EOFError, OSError) as err:
        raise AudioError(f"{path}: not a PCM WAV file ({_reason(err)}); install soundfile "
                         f"to read {READABLE}") from None
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
    elif width in (2, 4):
        data = np.frombuffer(raw, f"<i{width}").astype(np.float32) / float(2 ** (8 * width - 1))
    else:
        raise AudioError(f"{path}: {8 * width}-bit WAV needs soundfile to be read")
    usable = data[: data.size - data.size % channels]
    return usable.reshape(-1, channels), rate


def _reason(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text.removeprefix("Error opening ").strip()[:160]
