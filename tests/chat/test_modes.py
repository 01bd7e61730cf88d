"""Modes: four built-ins, user TOML files, bad files reported and skipped."""

from __future__ import annotations

from pathlib import Path

from offyai_tui.chat import BUILTIN_MODES, load_modes
from offyai_tui.chat.modes import find_mode
from offyai_tui.settings import locations

GOOD = '''
name = "Reviewer"
description = "Strict code review"
system_prompt = """You review code.
Point out bugs first."""

[parameters]
temperature = 0.1
num_ctx = 8192
'''


def _modes_dir() -> Path:
    directory = locations.config_dir() / "modes"
    directory.mkdir(parents=True)
    return directory


def test_builtins_without_a_modes_dir() -> None:
    catalog = load_modes()
    assert catalog.names() == ["Default", "Coder", "Teacher", "Creative"]
    assert catalog.warnings == []
    assert all(len(m.system_prompt) > 100 for m in BUILTIN_MODES)
    coder = catalog.get("CODER")
    assert coder is not None and coder.key == "coder" and "code" in coder.system_prompt
    assert catalog.resolve("gone").name == "Default"


def test_user_mode_is_loaded_with_parameters() -> None:
    (_modes_dir() / "reviewer.toml").write_text(GOOD)
    catalog = load_modes()
    reviewer = catalog.get("reviewer")
    assert reviewer is not None
    assert reviewer.system_prompt == "You review code.\nPoint out bugs first."
    assert reviewer.parameters == {"temperature": 0.1, "num_ctx": 8192}
    assert reviewer.source.endswith("reviewer.toml") and catalog.warnings == []
    assert catalog.names()[-1] == "Reviewer"


def test_user_mode_can_replace_a_builtin() -> None:
    (_modes_dir() / "coder.toml").write_text('name = "Coder"\nsystem_prompt = "Rust only."\n')
    catalog = load_modes()
    assert catalog.get("coder").system_prompt == "Rust only."
    assert catalog.names() == ["Default", "Coder", "Teacher", "Creative"]


def test_bad_files_are_reported_and_skipped() -> None:
    directory = _modes_dir()
    bad = {
        "broken.toml": 'name = "Broken\nsystem_prompt = ',
        "noprompt.toml": 'name = "No prompt"\n',
        "hot.toml": 'name = "Hot"\nsystem_prompt = "x"\n[parameters]\ntemperature = 9\n',
        "unknownparam.toml": 'name = "U"\nsystem_prompt = "x"\n[parameters]\ntfs_z = 1\n',
        "typo.toml": 'name = 5\nsystem_prompt = "x"\n',
        "latin1.toml": b'name = "caf\xe9"\nsystem_prompt = "x"\n',
        "dupe.toml": 'name = "reviewer"\nsystem_prompt = "second"\n',
    }
    (directory / "a-reviewer.toml").write_text(GOOD)
    for name, text in bad.items():
        target = directory / name
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text)
    (directory / "extra.toml").write_text('system_prompt = "fine"\nsytem = "typo"\n')
    catalog = load_modes()
    assert catalog.names() == ["Default", "Coder", "Teacher", "Creative", "Reviewer", "extra"]
    skipped = [w for w in catalog.warnings if w.endswith("skipped")]
    assert len(skipped) == len(bad)
    for name in bad:
        assert any(name in w for w in skipped), name
    assert any("not valid TOML" in w for w in skipped)
    assert any("between 0 and 2" in w for w in skipped)
    assert any("unknown keys ignored: sytem" in w for w in catalog.warnings)
    assert all("\n" not in w for w in catalog.warnings)


def test_find_mode_for_the_cli() -> None:
    (_modes_dir() / "reviewer.toml").write_text(GOOD)
    assert find_mode("Reviewer").parameters["temperature"] == 0.1
    assert find_mode("teacher").name == "Teacher"
    assert find_mode("nope") is None
