"""Checks for the embedded engine's settings and the answer guard, run by the config.

Split from :mod:`offyai_tui.settings.config_checks` because these settings are tables
and names, not ranges: ``[llamacpp.parameters."MODEL"]`` is checked against the
same parameter table as ``/set parameter`` and mode files, so one name and one
range hold everywhere. A bad entry is reported once and dropped; the others stay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from offyai_tui.engines.llamacpp_setup import KV_CACHE_TYPES

FLASH_CHOICES = ("auto", "on", "off")
MAX_REPEAT_GUARD = 1000


def check_llamacpp(settings: Any, report: Callable[..., None]) -> None:
    """Put the default back for each bad value; ``report(message, default)`` says so."""
    config = settings.llamacpp
    if config.kv_cache_type not in KV_CACHE_TYPES:
        report(f"llamacpp.kv_cache_type must be one of {', '.join(KV_CACHE_TYPES)}, "
               f"got {config.kv_cache_type!r}", "f16")
        config.kv_cache_type = "f16"
    if config.flash_attention not in FLASH_CHOICES:
        report(f"llamacpp.flash_attention must be auto, on or off, "
               f"got {config.flash_attention!r}", "auto")
        config.flash_attention = "auto"
    if not 0 <= config.n_threads_batch <= 4096:
        report(f"llamacpp.n_threads_batch must be 0 (every core) or more, "
               f"got {config.n_threads_batch!r}", 0)
        config.n_threads_batch = 0
    guard = settings.chat.repeat_guard
    if not 0 <= guard <= MAX_REPEAT_GUARD or guard == 1:
        report(f"chat.repeat_guard must be 0 (off) or 2 to {MAX_REPEAT_GUARD}, got {guard!r}", 10)
        settings.chat.repeat_guard = 10
    if config.parameters:
        config.parameters = _checked_tables(config.parameters, report)


def _checked_tables(
    tables: dict[str, dict[str, Any]], report: Callable[..., None]
) -> dict[str, dict[str, Any]]:
    from offyai_tui.engines.options import OptionError, check_param

    checked: dict[str, dict[str, Any]] = {}
    for model, table in tables.items():
        good: dict[str, Any] = {}
        for name, value in table.items():
            if name in ("num_ctx", "stop"):
                report(f"llamacpp.parameters.{model}.{name}: set it in a mode or with "
                       "/set parameter (the context is llamacpp.n_ctx)", None, kept="ignored")
                continue
            try:
                good[name] = check_param(name, value)
            except OptionError as exc:
                report(f"llamacpp.parameters.{model}: {exc}", None, kept="ignored")
        checked[model] = good
    return checked
