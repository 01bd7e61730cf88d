"""The indexing progress panel: bar, files, chunks, chunks/s, time left, Cancel.

The screen passes the job's state to :meth:`IndexProgressPanel.show`; the
panel only renders it and says when Cancel is pressed. It stays hidden until
the first run of the session, then keeps the last run's outcome.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, ProgressBar, Static

from offyai_tui.rag.indexer import IndexProgress, IndexReport
from offyai_tui.util.textsafe import visible


def duration(seconds: float) -> str:
    """``8 s``, ``2 min 05 s``, ``1 h 04 min``: a time left, rounded up to the second."""
    whole = max(0, int(seconds + 0.999))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def running_line(progress: IndexProgress | None, phase: str, cancelling: bool) -> str:
    """What a run is doing now, in one line."""
    if cancelling:
        return "Cancelling… (what is embedded is kept)"
    if phase == "committing":
        return "Saving the index…"
    if progress is None or phase == "scanning":
        return "Looking for files and starting the embedding model…"
    parts = []
    if progress.phase == "reembedding":
        done = progress.chunks_done
        of = f"/{progress.chunks_total}" if progress.chunks_total else ""
        parts.append(f"Re-embedding for the new model: {done}{of} chunks")
    else:
        parts.append(f"{progress.files_done}/{progress.files_total} files")
        estimate = f"/~{progress.chunks_total}" if progress.chunks_total else ""
        parts.append(f"{progress.chunks_done}{estimate} chunks")
        if progress.bytes_total >= 1 << 20:  # a large file: how far into it
            mb = (progress.bytes_done / 2**20, progress.bytes_total / 2**20)
            parts.append(f"{mb[0]:.1f}/{mb[1]:.1f} MB")
    if progress.chunks_per_s:
        parts.append(f"{progress.chunks_per_s:.1f} chunks/s")
    if progress.eta_s is not None and progress.fraction < 1:
        parts.append(f"about {duration(progress.eta_s)} left")
    if progress.skipped:
        parts.append(f"{progress.skipped} skipped")
    if progress.current:
        parts.append(progress.current.rsplit("/", 1)[-1])
    return " · ".join(parts)


def bar_counts(progress: IndexProgress | None) -> tuple[int, int] | None:
    """``(total, done)`` for the bar: bytes while indexing (they move inside a large
    file, where files would sit at 0/1), files at the end, chunks while re-embedding
    (also in the final snapshot of a re-embedding-only run); ``None`` if unknown."""
    if progress is None:
        return None
    if progress.phase == "indexing" and progress.bytes_total > 1:
        return progress.bytes_total, progress.bytes_done
    if progress.phase != "reembedding" and progress.files_total:
        return progress.files_total, progress.files_done
    if progress.chunks_total:
        return progress.chunks_total, progress.chunks_done
    return None


def finished_line(report: IndexReport) -> str:
    """The outcome of a finished run, in one line."""
    counts = [
        (len(report.added), "added"),
        (len(report.updated), "updated"),
        (len(report.unchanged), "unchanged"),
        (len(report.skipped), "skipped"),
        (len(report.removed), "removed"),
    ]
    parts = [f"{n} {label}" for n, label in counts if n or label in ("added", "skipped")]
    parts.append(f"{report.chunks} chunk{'' if report.chunks == 1 else 's'} embedded")
    if report.reembedded:
        parts.append(f"{report.reembedded} re-embedded for the new model")
    if report.partial:
        parts.append(f"{len(report.partial)} partly indexed (F5 goes on)")
    outside = sum(1 for s in report.skipped if s.reason.startswith("symlink to outside"))
    if outside:  # the folder rule (offyai_tui.util.confine): say how to change it
        links = f"{outside} link{'' if outside == 1 else 's'}"
        parts.append(f"{links} out of the folder not followed (rag.follow_symlinks)")
    if report.chunks_per_s:
        parts.append(f"{report.chunks_per_s:.1f} chunks/s")
    head = "Cancelled (finished files kept)" if report.cancelled else "Done"
    return f"{head}: " + " · ".join(parts)


class IndexProgressPanel(Widget):
    """Progress of the workspace's indexing run."""

    DEFAULT_CSS = """
    IndexProgressPanel { height: auto; display: none; padding: 0 1; }
    IndexProgressPanel.-shown { display: block; }
    IndexProgressPanel Horizontal { height: 1; }
    IndexProgressPanel ProgressBar { width: 1fr; }
    IndexProgressPanel #cancel {
        min-width: 10; height: 1; border: none; margin: 0 0 0 1; display: none;
    }
    IndexProgressPanel.-running #cancel { display: block; }
    IndexProgressPanel #progress-line { color: $text-muted; }
    IndexProgressPanel.-failed #progress-line { color: $text-error; }
    """

    class CancelPressed(Message):
        """The user asked to stop indexing."""

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield ProgressBar(total=None, show_eta=False, id="bar")
            yield Button("Cancel (Esc)", id="cancel", variant="warning", compact=True)
        yield Static(id="progress-line")

    def show(
        self,
        phase: str,
        progress: IndexProgress | None,
        report: IndexReport | None,
        error: str = "",
        *,
        running: bool = False,
        cancelling: bool = False,
    ) -> None:
        """Render one state of the job (see ``DocumentsJob``)."""
        self.set_class(bool(phase), "-shown")
        self.set_class(running, "-running")
        self.set_class(phase == "failed", "-failed")
        bar = self.query_one("#bar", ProgressBar)
        counts = bar_counts(progress)
        if running:
            line = running_line(progress, phase, cancelling)
            moving = progress is not None and progress.phase in ("indexing", "reembedding")
            if moving and counts is not None:
                bar.update(total=counts[0], progress=counts[1])
            else:
                bar.update(total=None)
        elif phase == "failed":
            line = f"Indexing stopped: {error}"
            bar.update(total=1, progress=0)
        elif report is not None:
            line = finished_line(report)
            total, done = counts or (1, 0 if report.cancelled else 1)
            bar.update(total=total, progress=done)
        else:
            line = "Cancelled (finished files kept)" if phase == "cancelled" else ""
        self.query_one("#progress-line", Static).update(Content(visible(line, multiline=True)))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            event.stop()
            self.post_message(self.CancelPressed())
