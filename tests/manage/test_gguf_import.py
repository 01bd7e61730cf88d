"""Importing a GGUF: header checked first, bad files never copied, the copy is 0600."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from offyai_tui.engines import bundled
from offyai_tui.engines.errors import BadModelFile
from offyai_tui.manage.gguf_import import ImportFailed, import_gguf
from offyai_tui.settings import locations


@pytest.fixture
def smollm2(tmp_path: Path) -> Path:
    """A private copy of the real bundled SmolLM2 (named without .gguf, to test naming)."""
    copy = tmp_path / "downloads" / "SmolLM2-copy"
    copy.parent.mkdir()
    shutil.copyfile(bundled.smollm2_path(), copy)
    return copy


def test_imports_a_real_gguf_into_the_models_dir(smollm2: Path) -> None:
    seen: list[tuple[int, int]] = []
    imported = import_gguf(smollm2, progress=lambda done, total: seen.append((done, total)))
    assert imported.path == locations.models_dir() / "SmolLM2-copy.gguf"
    assert imported.path.read_bytes() == smollm2.read_bytes()
    assert stat.S_IMODE(imported.path.stat().st_mode) == 0o600
    assert imported.info.architecture == "llama" and imported.info.quantization == "Q4_1"
    assert seen[-1] == (smollm2.stat().st_size, smollm2.stat().st_size)
    assert sorted(p.name for p in imported.path.parent.iterdir()) == ["SmolLM2-copy.gguf"]


def test_a_truncated_gguf_is_reported_and_not_copied(smollm2: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(smollm2.read_bytes()[: smollm2.stat().st_size // 2])
    with pytest.raises(BadModelFile, match=r"cut\.gguf is truncated"):
        import_gguf(cut)
    assert not locations.models_dir().exists() or not any(locations.models_dir().iterdir())


def test_a_file_that_is_not_gguf_is_reported(tmp_path: Path) -> None:
    notes = tmp_path / "notes.gguf"
    notes.write_text("just some text\n")
    with pytest.raises(BadModelFile, match="not a GGUF model"):
        import_gguf(notes)


def test_missing_paths_folders_and_taken_names(smollm2: Path, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="does not exist"):
        import_gguf(tmp_path / "nope.gguf")
    with pytest.raises(ImportFailed, match="is a folder"):
        import_gguf(tmp_path)
    with pytest.raises(ImportFailed, match="type the path"):
        import_gguf("  ")
    import_gguf(smollm2)
    with pytest.raises(ImportFailed, match="already imported"):
        import_gguf(smollm2)


def test_a_failed_copy_leaves_no_partial_file(smollm2: Path) -> None:
    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_gguf(smollm2, progress=stop)
    assert os.listdir(locations.models_dir()) == []
