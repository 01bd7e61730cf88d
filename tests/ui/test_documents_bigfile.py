"""A large file on the Documents screen: progress inside the file, Esc at once, partial
row, F5 goes on. Driven with Pilot; a real 1.2 MB file streams through the real
pipeline, embedded by the hash engine of ``documents_host`` so a run can
be held at an exact batch."""

from __future__ import annotations

import random
import re
from pathlib import Path

from offyai_tui.settings.config import Settings
from offyai_tui.ui.screens.documents import DocumentsScreen
from offyai_tui.ui.screens.documents_job import documents_job
from tests.ui.documents_host import (
    HashEmbedder,
    Host,
    add_path,
    job_idle,
    progress_line,
    rows,
    wait_for,
)

WORDS = ["ferry", "island", "harbour", "morning", "timetable", "weather", "captain", "deck"]


def _big(path: Path, size: int = 1_200_000) -> Path:
    rng = random.Random(2)
    with path.open("w", encoding="utf-8") as out:
        written = 0
        while written < size:
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 80)))
            paragraph = words.capitalize() + ".\n\n"
            out.write(paragraph)
            written += len(paragraph)
    return path


async def test_a_large_file_shows_progress_inside_it_stops_at_once_and_goes_on(
    tmp_path: Path,
) -> None:
    path = _big(tmp_path / "logbook.txt")
    size = path.stat().st_size
    engine = HashEmbedder(hold_at_call=4)  # the probe, two batches, then the third is held
    app = Host(Settings(), engine=engine)
    async with app.run_test(size=(140, 36)) as pilot:
        await add_path(pilot, path)
        await wait_for(pilot, engine.held.is_set)
        await pilot.pause(0.3)  # the held snapshot is repainted
        line = progress_line(app)
        found = re.search(r"0/1 files · 64/~(\d+) chunks · ([\d.]+)/([\d.]+) MB", line)
        assert found, line
        assert int(found.group(1)) > 500 and found.group(3) == f"{size / 2**20:.1f}"
        bar = app.screen.query_one("#bar")
        assert bar.total == size and 0 < bar.progress < size  # type: ignore[attr-defined]

        await pilot.press("escape")
        assert isinstance(app.screen, DocumentsScreen)
        await wait_for(pilot, job_idle(app))  # the held batch is not waited for
        engine.release()
        job = documents_job(app)
        assert job.report is not None and job.report.partial == [str(path)]
        assert "1 partly indexed (F5 goes on)" in progress_line(app)
        await wait_for(pilot, lambda: "logbook.txt" in rows(app))
        cells = rows(app)["logbook.txt"]
        assert cells[2] == "64" and cells[-1].startswith("partly indexed:"), cells

        await pilot.press("f5")  # goes on from the 64 stored chunks
        await wait_for(pilot, job_idle(app), timeout=120)
        assert job.report is not None and job.report.added == [str(path)]
        await wait_for(pilot, lambda: rows(app)["logbook.txt"][-1] == "indexed")
        total = int(rows(app)["logbook.txt"][2])
        assert job.report.chunks == total - 64
