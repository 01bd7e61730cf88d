"""The layout holds: the core stays headless (checked in a fresh interpreter, which
import-linter's static view cannot see), modules stay small, the top level stays bare."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import offyai_tui

CORE = ["engines", "chat", "rag", "hw", "manage", "settings", "util", "commands", "cli",
        "turn", "tools", "attach", "voice"]


def _core_modules() -> list[str]:
    root = Path(offyai_tui.__file__).parent
    names = []
    for core in CORE:
        if (root / core).is_dir():
            names.append(f"offyai_tui.{core}")
            names += [
                f"offyai_tui.{core}.{m.name}" for m in pkgutil.iter_modules([str(root / core)])
            ]
        elif (root / f"{core}.py").exists():
            names.append(f"offyai_tui.{core}")
    return names


def test_core_packages_never_import_textual() -> None:
    modules = _core_modules()
    assert "offyai_tui.engines.base" in modules
    assert "offyai_tui.settings.config" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"core modules import Textual: {result.stdout}"


def test_ui_process_never_imports_llama_cpp() -> None:
    code = (
        "import sys\n"
        "import offyai_tui.engines.llamacpp, offyai_tui.engines.registry, offyai_tui.cli\n"
        "print('llama_cpp' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_every_core_package_exists() -> None:
    root = Path(offyai_tui.__file__).parent
    missing = [name for name in CORE if not (root / name).is_dir()
               and not (root / f"{name}.py").exists()]
    assert missing == []


def test_the_top_level_holds_only_the_entry_points() -> None:
    root = Path(offyai_tui.__file__).parent
    loose = sorted(p.name for p in root.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "cli.py"]


def test_no_module_is_over_500_lines() -> None:
    root = Path(offyai_tui.__file__).parent
    long = {
        str(path.relative_to(root)): n
        for path in root.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert long == {}


def test_starting_the_app_loads_no_heavy_pipeline() -> None:
    """The chat screen must draw before documents, tools, images or voice are needed: numpy
    (the index), the MCP SDK, Pillow and the audio libraries load on first use, never with
    the app's modules."""
    code = (
        "import sys\n"
        "import offyai_tui.__main__, offyai_tui.cli, offyai_tui.ui.app\n"
        "import offyai_tui.ui.screens.chat, offyai_tui.voice, offyai_tui.commands.voice\n"
        "import offyai_tui.voice.recorder, offyai_tui.voice.transcribe, offyai_tui.voice.speech\n"
        "heavy = ('numpy', 'mcp', 'PIL', 'faiss', 'llama_cpp', 'pypdf', 'sounddevice',\n"
        "         'pywhispercpp', '_pywhispercpp', 'piper', 'onnxruntime', 'soundfile', 'soxr')\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"loaded at start: {result.stdout.strip()[:300]}"
