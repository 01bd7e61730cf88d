"""Indexing runs on the Documents screen: cancel mid-run or right at the start, leave and
come back, remove, re-index (unchanged files skipped, new files in saved folders found
after a restart), skipped files listed after a restart, re-embedding for a new model.
The engine's vectors are a hash of the words, so a run can be held at an exact point.
"""

from __future__ import annotations

import os
from pathlib import Path

from offyai_tui.rag.service import index_paths, list_documents
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.screens.dialogs import ConfirmScreen
from offyai_tui.ui.screens.documents import DocumentsScreen, make_screen
from offyai_tui.ui.screens.documents_job import documents_job
from offyai_tui.ui.widgets.documents.progress import IndexProgressPanel, running_line
from offyai_tui.ui.widgets.documents.table import DocumentTable
from tests.ui.documents_host import (
    HashEmbedder,
    Host,
    add_path,
    job_idle,
    note,
    progress_line,
    rows,
    summary,
    wait_for,
    write_parts,
)


async def test_cancel_mid_index_keeps_finished_files_usable(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    write_parts(folder, 8)
    settings = Settings()
    settings.rag.chunk_tokens, settings.rag.chunk_overlap = 24, 0  # ~40 chunks a file
    engine = HashEmbedder(hold_at_call=5)  # the probe, three batches (two files), then held
    app = Host(settings, engine=engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await add_path(pilot, folder)
        await wait_for(pilot, engine.held.is_set)
        await pilot.pause()
        assert app.screen.query_one(IndexProgressPanel).has_class("-running")
        assert app.screen.query_one("#cancel").display
        await pilot.press("escape")
        assert isinstance(app.screen, DocumentsScreen)  # Esc cancelled, did not leave
        await wait_for(pilot, job_idle(app))  # at once: the held batch is dropped, not awaited
        engine.release()
        job = documents_job(app)
        assert job.phase == "cancelled"
        report = job.report
        assert report is not None and report.cancelled
        finished = sorted(report.added)
        assert 1 <= len(finished) < 8
        assert progress_line(app).startswith("Cancelled (finished files kept)")
        await wait_for(pilot, lambda: len(rows(app)) == len(finished))
        assert all(int(cells[2]) >= 30 for cells in rows(app).values())

        name = Path(finished[0]).name
        item = name.removeprefix("part").removesuffix(".md")
        retrieval = await job.docs.retrieve(f"item{item} topic7", mode="vector")
        assert retrieval.sources and Path(retrieval.sources[0].path).name == name

        await pilot.press("f5")  # the rest is indexed; finished files are not redone
        await wait_for(pilot, job_idle(app))
        assert job.report is not None and not job.report.cancelled
        assert sorted(job.report.unchanged) == finished
        assert len(job.report.added) == 8 - len(finished)
        await wait_for(pilot, lambda: len(rows(app)) == 8)


async def test_leaving_and_reentering_keeps_the_running_index(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(4):
        (folder / f"n{i}.txt").write_text(f"note {i} about subject{i}\n")
    engine = HashEmbedder(hold_at_call=2)  # the probe, then the one batch is held
    app = Host(Settings(), engine=engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await add_path(pilot, folder)
        await wait_for(pilot, engine.held.is_set)
        await pilot.press("ctrl+b")
        assert not isinstance(app.screen, DocumentsScreen)
        job = documents_job(app)
        assert job.busy
        app.push_screen(make_screen(app))
        await pilot.pause()
        assert app.screen.query_one(IndexProgressPanel).has_class("-running")
        titles = [title for title, _, _ in await app.screen.palette_commands()]
        assert titles[0] == "Documents: cancel indexing"
        assert progress_line(app) == running_line(job.progress, job.phase, False)
        engine.release()
        await wait_for(pilot, job_idle(app))
        assert progress_line(app).startswith("Done: 4 added")
        await wait_for(pilot, lambda: len(rows(app)) == 4)


async def test_remove_asks_first_and_reindex_skips_unchanged(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Alpha\n\nAlpha text about apples.\n")
    (folder / "b.md").write_text("# Beta\n\nBeta text about bananas.\n")
    (folder / "[red]c.txt").write_text("Gamma text about grapes.\n")  # shown as typed
    engine = HashEmbedder()
    app = Host(Settings(), engine=engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await add_path(pilot, folder)
        await wait_for(pilot, job_idle(app))
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md", "b.md", "[red]c.txt"})

        table = app.screen.query_one(DocumentTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(str(folder / "b.md")))
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause()
        assert "b.md" in rows(app)
        detail = str(app.screen.query_one("#detail").render())
        assert detail == f"{folder / 'b.md'} · Beta"
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md", "[red]c.txt"})
        assert note(app) == "removed b.md"
        job = documents_job(app)
        retrieval = await job.docs.retrieve("bananas", mode="lexical")
        assert not retrieval.sources

        (folder / "a.md").write_text("# Alpha\n\nAlpha text about apricots now.\n")
        (folder / "[red]c.txt").unlink()
        embedded_before = len(engine.texts)
        await pilot.press("f5")
        assert note(app) == "re-indexing 1 folder (unchanged files are skipped)"
        await wait_for(pilot, job_idle(app))
        report = job.report
        assert report is not None
        assert report.updated == [str(folder / "a.md")]
        assert report.added == []  # the folder is walked again, but b.md stays removed
        assert report.removed == [str(folder / "[red]c.txt")]
        assert report.unchanged == []
        assert len(engine.texts) - embedded_before == 1  # a.md, nothing else
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md"})

        await add_path(pilot, folder / "b.md")  # adding it again takes it back
        await wait_for(pilot, job_idle(app))
        assert job.report is not None and job.report.added == [str(folder / "b.md")]
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md", "b.md"})

        embedded_before = len(engine.texts)
        await pilot.press("f5")
        await wait_for(pilot, job_idle(app))
        assert sorted(job.report.unchanged) == [str(folder / "a.md"), str(folder / "b.md")]
        assert len(engine.texts) == embedded_before
        assert "2 unchanged" in progress_line(app)


async def test_reindex_after_restart_finds_new_files_in_saved_folders(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Alpha\n\nAlpha text about apples.\n")
    memo = tmp_path / "memo.txt"
    memo.write_text("A memo about the Friday meeting.\n")
    app = Host(Settings(), engine=HashEmbedder())
    async with app.run_test(size=(120, 36)) as pilot:
        await add_path(pilot, folder)
        await wait_for(pilot, job_idle(app))
        await add_path(pilot, memo)
        await wait_for(pilot, job_idle(app))
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md", "memo.txt"})

    (folder / "sub").mkdir()
    (folder / "sub" / "b.md").write_text("# Beta\n\nBeta text about bananas.\n")
    engine = HashEmbedder()
    app = Host(Settings(), engine=engine)  # a restart: nothing carried over but the index
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md", "memo.txt"})
        saved = "Re-index (F5) walks 1 folder and 1 file: docs/, memo.txt"
        assert summary(app).splitlines()[1] == saved
        tooltip = str(app.screen.query_one("#summary").tooltip)
        assert str(folder) in tooltip and str(memo) in tooltip
        await pilot.press("f5")
        assert note(app) == "re-indexing 1 folder and 1 file (unchanged files are skipped)"
        await wait_for(pilot, job_idle(app))
        report = documents_job(app).report
        assert report is not None and not report.cancelled
        assert report.added == [str(folder / "sub" / "b.md")]
        assert sorted(report.unchanged) == [str(folder / "a.md"), str(memo)]
        assert not any("apples" in text or "Friday" in text for text in engine.texts)
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md", "b.md", "memo.txt"})


async def test_skipped_files_are_listed_after_a_restart(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Alpha\n\nAlpha text about apples.\n")
    (folder / "photo.png").write_bytes(bytes(range(256)))
    (folder / "empty.txt").write_text("")
    os.symlink(folder, folder / "loop")  # skipped by the walk, not by a loader
    app = Host(Settings(), engine=HashEmbedder())
    async with app.run_test(size=(120, 36)) as pilot:
        await add_path(pilot, folder)
        await wait_for(pilot, job_idle(app))
        await wait_for(pilot, lambda: len(rows(app)) == 4)

    app = Host(Settings(), engine=HashEmbedder())
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: len(rows(app)) == 4)
        table = rows(app)
        assert table["a.md"][-1] == "indexed"
        assert table["photo.png"][-1] == "skipped: unsupported file type (.png)"
        assert table["empty.txt"][-1] == "skipped: empty file"
        assert "symlink loop" in table["loop"][-1]
        assert "4 documents (3 skipped)" in summary(app)

        grid = app.screen.query_one(DocumentTable)  # a skipped row can be removed too
        grid.focus()
        grid.move_cursor(row=grid.get_row_index(str(folder / "loop")))
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md", "photo.png", "empty.txt"})
        assert note(app) == "removed loop"


async def test_cancel_right_after_start_stops_the_run(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(3):
        (folder / f"n{i}.txt").write_text(f"note {i} about subject{i}\n")
    engine = HashEmbedder()
    app = Host(Settings(), engine=engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: note(app).startswith("No documents yet"))
        job = documents_job(app)
        assert job.start([str(folder)]) == ""
        assert job.cancel()  # before the worker has even begun
        await wait_for(pilot, job_idle(app))
        assert job.phase == "cancelled"
        assert job.report is not None and job.report.cancelled
        assert engine.calls == 0
        assert progress_line(app).startswith("Cancelled (finished files kept)")
        assert not job.cancel()  # nothing is running any more

        engine.hold_at_call = 1  # the model's first call (its dimension probe) is held
        await add_path(pilot, folder)
        await wait_for(pilot, engine.held.is_set)
        await pilot.press("escape")
        assert isinstance(app.screen, DocumentsScreen)
        await wait_for(pilot, job_idle(app))  # the model's start is not waited for either
        engine.release()
        assert job.phase == "cancelled"
        assert job.report is not None and job.report.cancelled and job.report.added == []
        assert engine.calls == 1  # the probe, and no document text after it
        await pilot.pause()
        assert rows(app) == {}


async def test_model_change_shows_reembedding_progress(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    write_parts(folder, 3)
    settings = Settings()
    settings.rag.chunk_tokens, settings.rag.chunk_overlap = 24, 0
    workspace = Workspace.open("default")
    await index_paths(workspace, HashEmbedder(), settings, [folder])
    total = sum(r.chunks for r in list_documents(workspace))
    assert total > 64  # more than two batches

    settings.rag.embedding_model = "hash-embed-2"  # another model: every vector is redone
    engine = HashEmbedder(hold_at_call=3)  # the probe, one batch, then the next is held
    app = Host(settings, engine=engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: len(rows(app)) == 3)
        await pilot.press("f5")
        await wait_for(pilot, engine.held.is_set)
        job = documents_job(app)
        assert job.progress is not None and job.progress.phase == "reembedding"
        done = job.progress.chunks_done
        assert 0 < done < total
        expected = f"Re-embedding for the new model: {done}/{total} chunks"
        await wait_for(pilot, lambda: progress_line(app).startswith(expected))
        bar = app.screen.query_one("#bar")
        assert (bar.total, bar.progress) == (total, done)  # type: ignore[attr-defined]
        engine.release()
        await wait_for(pilot, job_idle(app))
        assert job.report is not None and job.report.reembedded == total
        assert f"{total} re-embedded for the new model" in progress_line(app)
        await wait_for(pilot, lambda: "hash-embed-2 via hash" in summary(app))
