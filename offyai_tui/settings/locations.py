"""Where OffyAI keeps its files.

Every path the app touches is derived here so that one environment variable,
``OFFYAI_HOME``, can move all of it (tests rely on that), and so that
``offyai locate`` can print the truth. Nothing is created at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import PlatformDirs

APP_NAME = "offyai"

_DIRS = PlatformDirs(APP_NAME, appauthor=False)


def _home() -> Path | None:
    home = os.environ.get("OFFYAI_HOME")
    return Path(home).expanduser() if home else None


def config_dir() -> Path:
    """Directory holding ``config.toml``, user ``modes/`` and ``themes/``."""
    home = _home()
    return home / "config" if home else Path(_DIRS.user_config_dir)


def data_dir() -> Path:
    """Directory holding workspaces and imported models."""
    home = _home()
    return home / "data" if home else Path(_DIRS.user_data_dir)


def cache_dir() -> Path:
    """Directory for files that can be rebuilt at any time."""
    home = _home()
    return home / "cache" if home else Path(_DIRS.user_cache_dir)


def config_file() -> Path:
    return config_dir() / "config.toml"


def models_dir() -> Path:
    """User GGUF files scanned by the llama.cpp engine."""
    return data_dir() / "models"


def model_cache_dir() -> Path:
    """Derived bundled models (assembled Gemma, converted MiniLM).

    ``OFFYAI_MODEL_CACHE`` lets every test run of one checkout share a single
    conversion instead of repeating it in each temporary home.
    """
    override = os.environ.get("OFFYAI_MODEL_CACHE")
    return Path(override).expanduser() if override else cache_dir() / "models"


def workspaces_dir() -> Path:
    return data_dir() / "workspaces"


def all_locations() -> dict[str, Path]:
    """The named paths ``offyai locate`` prints."""
    return {
        "config": config_dir(),
        "config file": config_file(),
        "data": data_dir(),
        "workspaces": workspaces_dir(),
        "models": models_dir(),
        "cache": cache_dir(),
        "logs": cache_dir() / "logs",
        "model cache": model_cache_dir(),
    }
