"""Themes as data files: built-ins, user themes, and tolerance of bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from offyai_tui.settings import locations
from offyai_tui.settings.config import Settings
from offyai_tui.ui.themes import (
    ThemeError,
    builtin_themes_dir,
    load_themes,
    parse_theme,
)
from tests.ui.conftest import chat, notices


def test_three_builtin_themes_load_cleanly() -> None:
    themes, warnings = load_themes([builtin_themes_dir()])
    names = {t.name for t in themes}
    assert {"offyai-dark", "offyai-light", "offyai-high-contrast"} <= names
    assert warnings == []
    light = next(t for t in themes if t.name == "offyai-light")
    assert light.dark is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("primary = ", "not valid TOML"),
        ('name = "x"\ndark = true', "primary colour missing"),
        ('primary = "#12345"', "is not a colour"),
        ('primary = "#123456"\nbackground = 7', "must be a colour string"),
        ('primary = "#123456"\ndark = "yes"', "dark must be true or false"),
        ('name = "../evil"\nprimary = "#123456"', "name must be"),
        ('primary = "#123456"\n[variables]\nfooter-key-foreground = 3', "[variables]"),
    ],
)
def test_bad_theme_text_is_one_readable_error(text: str, message: str) -> None:
    with pytest.raises(ThemeError) as info:
        parse_theme(text, "mine.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("mine.toml")


def test_user_themes_override_and_bad_files_are_warnings(tmp_path: Path) -> None:
    user = locations.config_dir() / "themes"
    user.mkdir(parents=True)
    (user / "offyai-dark.toml").write_text('name = "offyai-dark"\nprimary = "#FF0000"\n')
    (user / "broken.toml").write_text("primary = [")
    (user / "extra.toml").write_text('primary = "#00FF00"\nsparkle = true\n')
    themes, warnings = load_themes()
    by_name = {t.name: t for t in themes}
    assert by_name["offyai-dark"].primary == "#FF0000"
    assert "extra" in by_name
    assert any("broken.toml" in w and "skipped" in w for w in warnings)
    assert any("sparkle" in w for w in warnings)


async def test_bad_user_theme_is_a_warning_in_the_app(build) -> None:
    user = locations.config_dir() / "themes"
    user.mkdir(parents=True)
    (user / "broken.toml").write_text("not toml at all [")
    app = build()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.theme == "offyai-dark"
        warnings = notices(app, "warning")
        assert any("broken.toml" in w for w in warnings)


@pytest.mark.parametrize("name", ["offyai-light", "offyai-high-contrast"])
async def test_configured_theme_styles_the_first_frame_as_a_switch_would(build, name) -> None:
    """The start-up theme is set without Textual's theme watcher; nothing may differ."""
    settings = Settings()
    settings.ui.theme = name
    app = build(settings=settings)
    async with app.run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        dark = app.current_theme.dark
        assert app.theme == name
        assert app.has_class(f"-theme-{name}") and app.has_class("-dark-mode") == dark
        assert app.has_class("-light-mode") != dark
        prompt = chat(app).prompt
        first = (app.screen.styles.background, prompt.styles.border, prompt.render_line(0))
        app.theme = "offyai-dark"
        await pilot.pause()
        app.theme = name
        await pilot.pause()
        assert (app.screen.styles.background, prompt.styles.border, prompt.render_line(0)) == first
