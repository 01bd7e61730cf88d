"""Deleting a vision model deletes its projector, unless a model left there pairs with it.

Real files (a copy of the bundled SmolLM2 and a projector written by
:mod:`tests.engines.mmproj`), imported the way the Models screen imports them, and
deleted through ``offyai rm`` and the real embedded engine.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from offyai_tui.__main__ import main
from offyai_tui.engines import bundled
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.manage.actions import delete_model
from offyai_tui.manage.gguf_import import import_gguf
from offyai_tui.manage.projectors import delete_preview
from offyai_tui.settings import locations
from offyai_tui.settings.config import Settings
from tests.engines.mmproj import write_projector


@pytest.fixture
def two_quants(tmp_path: Path) -> Path:
    """Two quantizations of one vision model imported, sharing one projector."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    write_projector(downloads / "mmproj-F16.gguf", bundled.gemma3_path())
    for name in ("seer-Q4_1.gguf", "seer-Q8_0.gguf"):
        shutil.copyfile(bundled.smollm2_path(), downloads / name)
        import_gguf(downloads / name)
    return locations.models_dir()


def files() -> list[str]:
    return sorted(p.name for p in locations.models_dir().iterdir())


def test_offyai_rm_keeps_a_shared_projector_and_deletes_the_last_users(
    two_quants: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--engine", "llamacpp", "rm", "seer-Q4_1"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("deleted seer-Q4_1 from llama.cpp; freed ")
    assert out.endswith("; kept its projector mmproj-F16.gguf (seer-Q8_0 uses it)")
    assert files() == ["mmproj-F16.gguf", "seer-Q8_0.gguf"]

    assert main(["--engine", "llamacpp", "rm", "seer-Q8_0"]) == 0
    assert capsys.readouterr().out.strip().endswith("; also deleted its projector mmproj-F16.gguf")
    assert files() == []


async def test_a_model_without_a_projector_says_nothing_of_one(tmp_path: Path) -> None:
    shutil.copyfile(bundled.smollm2_path(), tmp_path / "plain.gguf")
    import_gguf(tmp_path / "plain.gguf")
    engine = LlamaCppEngine(Settings())
    try:
        deleted = await delete_model(engine, "plain")
    finally:
        engine.close()
    assert deleted.note == "" and files() == []
    assert deleted.line("plain", "llama.cpp") == "deleted plain from llama.cpp"


async def test_another_models_projector_stays(two_quants: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    shutil.copyfile(bundled.smollm2_path(), other / "llava-7b.gguf")
    write_projector(other / "mmproj-F16.gguf", bundled.gemma3_path(), seed=1)
    import_gguf(other / "llava-7b.gguf")
    engine = LlamaCppEngine(Settings())
    try:
        listed = {m.name: m for m in await engine.list_models()}
        assert delete_preview(listed["seer-Q8_0"]) == (
            "Its projector mmproj-F16.gguf stays: seer-Q4_1 uses it."
        )
        assert delete_preview(listed["smollm2-135m-instruct"]) == ""
        deleted = await delete_model(engine, "llava-7b")
        assert deleted.note == "also deleted its projector llava-7b.mmproj.gguf"
        deleted = await delete_model(engine, "seer-Q8_0")
        assert deleted.note == "kept its projector mmproj-F16.gguf (seer-Q4_1 uses it)"
    finally:
        engine.close()
    assert files() == ["mmproj-F16.gguf", "seer-Q4_1.gguf"]
