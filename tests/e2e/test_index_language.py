"""``offyai index`` on German documents points at a multilingual embedder; on English, not.

Runs the real binary with the bundled English-only embedder, end to end.
"""

from __future__ import annotations

from tests.e2e.conftest import run_offyai

GERMAN = (
    "# Aufbewahrung\n\nDie Protokolle werden dreißig Tage lang aufbewahrt und danach gelöscht. "
    "Das ist nicht nur für die Sicherheit wichtig, sondern auch für den Datenschutz der "
    "Mitarbeiter, die mit dem System arbeiten.\n"
)


def test_index_of_german_documents_suggests_a_multilingual_embedder(
    app_home, user_home, tmp_path
) -> None:
    german = tmp_path / "de"
    german.mkdir()
    (german / "richtlinie.md").write_text(GERMAN, encoding="utf-8")
    run = run_offyai(["index", str(german)], app_home, user_home, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "look mostly German" in run.stderr and "bge-m3" in run.stderr, run.stderr


def test_index_of_english_documents_says_nothing_about_languages(
    app_home, user_home, tmp_path
) -> None:
    english = tmp_path / "en"
    english.mkdir()
    (english / "policy.md").write_text(
        "# Retention\n\nTranscripts are kept for thirty days and then deleted; this is the "
        "policy of the team for all of the logs that are in the system.\n", encoding="utf-8"
    )
    run = run_offyai(["index", str(english)], app_home, user_home, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "multilingual" not in run.stderr and "look mostly" not in run.stderr


def test_index_with_an_unknown_embedder_fails_in_one_line(app_home, user_home, tmp_path) -> None:
    folder = tmp_path / "en"
    folder.mkdir()
    (folder / "policy.md").write_text("# Retention\n\nKept for thirty days.\n", encoding="utf-8")
    run = run_offyai(["index", "--embedder", "no-such-embedder", str(folder)],
                     app_home, user_home, timeout=120)
    assert run.returncode != 0
    assert "no-such-embedder" in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_index_with_a_named_embedder_says_to_put_it_in_the_config(
    app_home, user_home, tmp_path
) -> None:
    folder = tmp_path / "en"
    folder.mkdir()
    (folder / "policy.md").write_text("# Retention\n\nKept for thirty days.\n", encoding="utf-8")
    run = run_offyai(["index", "--embedder", "all-minilm-l6-v2", str(folder)],
                     app_home, user_home, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("1 added"), run.stdout
    assert 'rag.embedding_model = "all-minilm-l6-v2"' in run.stderr, run.stderr
