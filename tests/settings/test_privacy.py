"""The workspace's opt-in for documents to remote engines: keyed by origin, fails closed."""

from __future__ import annotations

import stat

import pytest

from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.engines.openai_compat import OpenAICompatEngine
from offyai_tui.settings.config import OpenAIEndpoint, Settings, parse_settings
from offyai_tui.settings.privacy import (
    CONSENT_FILE,
    Consent,
    Destination,
    check,
    origin_of,
    where_it_goes,
)
from offyai_tui.settings.workspace import Workspace


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://10.0.0.5:8080/v1", "http://10.0.0.5:8080"),
        ("HTTPS://Api.Example.com/v1", "https://api.example.com:443"),
        ("http://example.com", "http://example.com:80"),
        ("10.0.0.5:11434", "http://10.0.0.5:11434"),
        ("http://[fd00::1]:8080/v1", "http://[fd00::1]:8080"),
    ],
)
def test_origin_is_scheme_host_and_explicit_port(url: str, origin: str) -> None:
    assert origin_of(url) == origin


async def test_check_is_per_workspace_and_per_origin() -> None:
    settings = Settings()
    remote = OpenAICompatEngine(OpenAIEndpoint(name="box", url="http://10.0.0.5:8080/v1"), settings)
    local = OpenAICompatEngine(OpenAIEndpoint(name="lf", url="http://127.0.0.1:8080/v1"), settings)
    try:
        home, other = Workspace.open("default"), Workspace.open("other")
        assert check(local, home) == ""
        why = check(remote, home)
        assert why.startswith("documents not sent: box at 10.0.0.5:8080 is not on this machine")
        assert check(remote, home, this_run=True) == ""
        Consent(home).grant(Destination("box", "http://10.0.0.5:8081"))  # another port
        assert check(remote, home)
        Consent(home).grant(Destination("box", "http://10.0.0.5:8080"))
        assert check(remote, home) == ""
        assert check(remote, other)  # another workspace asks again
        path = home.root / CONSENT_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        Consent(home).revoke(Destination("box", "http://10.0.0.5:8080"))
        assert check(remote, home)
    finally:
        await remote.aclose()
        await local.aclose()


async def test_a_damaged_consent_file_allows_nothing() -> None:
    workspace = Workspace.open("default").ensure()
    settings = Settings()
    settings.ollama.host = "10.0.0.5:11434"
    engine = OllamaEngine(settings)
    try:
        for text in ["not json", '{"hosts": ["http://10.0.0.5:11434"]}', "[]", ""]:
            (workspace.root / CONSENT_FILE).write_text(text, encoding="utf-8")
            assert check(engine, workspace), text
    finally:
        await engine.aclose()


async def test_the_ui_claims_local_only_for_a_local_engine_only() -> None:
    settings = Settings()
    remote = OpenAICompatEngine(OpenAIEndpoint(name="box", url="http://10.0.0.5:8080/v1"), settings)
    local = OpenAICompatEngine(OpenAIEndpoint(name="lf", url="http://127.0.0.1:8080/v1"), settings)
    try:
        assert where_it_goes(local) == "Everything stays on this machine."
        assert "stays" not in where_it_goes(remote)
        assert where_it_goes(remote).startswith("⚠ box at 10.0.0.5:8080 is not on this machine")
        assert where_it_goes(None) == ""
    finally:
        await remote.aclose()
        await local.aclose()


def test_the_old_global_switch_grants_nothing_and_says_so() -> None:
    settings = parse_settings("[rag]\nallow_remote = true\n")
    (warning,) = [w for w in settings.warnings if "allow_remote" in w]
    assert "ignored" in warning and "--allow-remote-docs" in warning
    assert not [w for w in parse_settings("[rag]\nallow_remote = false\n").warnings]
