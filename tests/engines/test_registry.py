"""Startup detection: the first answering server wins, else the embedded llama.cpp engine."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from offyai_tui.engines.registry import EngineRegistry
from offyai_tui.settings.config import OpenAIEndpoint, Settings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _settings(ollama: str, *openai_urls: str) -> Settings:
    settings = Settings()
    settings.ollama.host = ollama
    settings.openai = [OpenAIEndpoint(name=f"srv{i}", url=u) for i, u in enumerate(openai_urls)]
    return settings


async def test_nothing_running_falls_back_to_llamacpp_with_reason() -> None:
    settings = _settings(f"127.0.0.1:{_closed_port()}", f"http://127.0.0.1:{_closed_port()}/v1")
    registry = EngineRegistry(settings)
    try:
        start = time.perf_counter()
        selection = await registry.detect()
        elapsed = time.perf_counter() - start
        assert selection.engine.kind == "llamacpp"
        assert "no server answered" in selection.reason
        assert [p.engine for p in selection.probes] == ["ollama", "srv0"]
        assert not any(p.ok for p in selection.probes)
        assert elapsed < 2.0  # bounded by the probe budget, not by connect timeouts
        assert await registry.detect() is selection
    finally:
        await registry.aclose()


async def test_ollama_wins_when_it_answers(ollama_server: str, llama_server) -> None:
    registry = EngineRegistry(_settings(ollama_server, llama_server.url))
    try:
        selection = await registry.detect()
        assert selection.engine.kind == "ollama"
        assert "answered" in selection.reason
    finally:
        await registry.aclose()


async def test_openai_endpoint_used_when_ollama_is_down(llama_server) -> None:
    settings = _settings(f"127.0.0.1:{_closed_port()}", f"http://127.0.0.1:{_closed_port()}/v1",
                         llama_server.url)  # fmt: skip
    registry = EngineRegistry(settings)
    try:
        selection = await registry.detect()
        assert selection.engine.kind == "openai"
        assert selection.engine.label == "srv1"
        models = await registry.all_models()
        assert {m.engine for m in models} >= {"srv1", "llamacpp"}
    finally:
        await registry.aclose()


async def test_probe_budget_bounds_a_silent_server() -> None:
    """A server that accepts but never answers must not hold startup past the budget."""
    server = await asyncio.start_server(lambda r, w: asyncio.sleep(30), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = _settings(f"127.0.0.1:{port}")
    settings.engine.probe_timeout_ms = 300
    registry = EngineRegistry(settings)
    try:
        start = time.perf_counter()
        selection = await registry.detect()
        assert time.perf_counter() - start < 1.0
        assert selection.engine.kind == "llamacpp"
        assert "no answer in 300 ms" in selection.probes[0].detail
    finally:
        await registry.aclose()
        server.close()


async def test_invalid_ollama_host_is_reported_not_fatal() -> None:
    registry = EngineRegistry(_settings("ftp://what:ever:1"))
    try:
        selection = await registry.detect()
        assert selection.engine.kind == "llamacpp"
        assert any(p.engine == "ollama" and not p.ok for p in selection.probes)
    finally:
        await registry.aclose()


def test_unknown_engine_kind_is_a_clear_error() -> None:
    from offyai_tui.engines.errors import EngineError

    with pytest.raises(EngineError, match="unknown engine 'cloud'"):
        EngineRegistry(Settings()).engine("cloud")
