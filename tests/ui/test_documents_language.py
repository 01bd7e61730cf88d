"""The Documents screen points at a multilingual embedder after indexing German files.

Real pipeline and real engine: the bundled MiniLM on llama.cpp, which is
English-only, so its vectors for German text are weak; the screen says so once
the run is done, and says nothing for English files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from offyai_tui.engines.registry import EngineRegistry
from offyai_tui.settings.config import Settings
from offyai_tui.ui.screens.documents_job import documents_job
from tests.e2e.test_index_language import GERMAN
from tests.ui.documents_host import Host, add_path, job_idle, wait_for


async def _notes_after_indexing(folder: Path) -> list[str]:
    settings = Settings()
    settings.llamacpp.n_threads = 1
    registry = EngineRegistry(settings)
    app = Host(settings, registry=registry)
    seen: list[str] = []
    notify = app.notify

    def record(message: str, **kwargs: Any) -> None:
        seen.append(message)
        notify(message, **kwargs)

    app.notify = record  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await add_path(pilot, folder)
            await wait_for(pilot, job_idle(app), timeout=240)
            assert documents_job(app).phase == "done", documents_job(app).error
            await pilot.pause()
    finally:
        await registry.aclose()
    return seen


async def test_german_documents_get_a_multilingual_embedder_pointer(tmp_path: Path) -> None:
    folder = tmp_path / "de"
    folder.mkdir()
    (folder / "richtlinie.md").write_text(GERMAN, encoding="utf-8")
    seen = await _notes_after_indexing(folder)
    assert any("look mostly German" in note and "bge-m3" in note for note in seen), seen


async def test_english_documents_get_no_language_pointer(tmp_path: Path) -> None:
    folder = tmp_path / "en"
    folder.mkdir()
    (folder / "policy.md").write_text(
        "# Retention\n\nTranscripts are kept for thirty days and then deleted; this is the "
        "policy of the team for all of the logs that are in the system.\n", encoding="utf-8"
    )
    seen = await _notes_after_indexing(folder)
    assert seen and not any("look mostly" in note for note in seen), seen
