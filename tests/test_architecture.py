"""Core packages stay headless: they never import Textual (checked in a fresh interpreter)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import offyai_tui

CORE = [
    "engines",
    "chat",
    "rag",
    "hardware",
    "hw",
    "catalog",
    "speedlog",
    "bundled",
    "config",
    "locations",
    "workspace",
    "manage",
    "config_write",
    "textsafe",
    "fileio",
    "netguard",
    "cli",
]


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
