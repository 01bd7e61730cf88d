"""Sampling a request leaves unset: the model's own applies, and ``/show`` names it.

The embedded engine's side (a GGUF's ``general.sampling.*``) is in
``test_llamacpp_options.py``; here, Ollama's: its defaults under a Modelfile's
``PARAMETER`` lines, against the loopback stand-in, which keeps a model made with
``/api/create`` as Ollama does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from offyai_tui.chat import Conversation, TokenCounter, slash
from offyai_tui.engines.base import Done
from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.engines.sampling import OLLAMA_DEFAULTS, modelfile_sampling, ollama_sampling
from offyai_tui.settings.config import ChatSettings
from tests.engines.test_ollama import last_request
from tests.ollama_fixtures import ollama_settings

ADVISED = "advised-smollm2:latest"


def test_modelfile_parameters_are_read_as_the_user_would_set_them() -> None:
    text = "\n".join([
        'stop                           "<|im_start|>"',
        'stop                           "<|im_end|>"',
        "temperature                    0.6",
        "top_k                          20",
        "num_ctx                        8192",  # the context plan always sends its own
        "top_p                          7",  # out of range: left out
        "tfs_z                          1",  # not one llama.cpp implements
        "repeat_last_n                  lots",
        "",
    ])  # fmt: skip
    assert modelfile_sampling(text) == {
        "stop": ["<|im_start|>", "<|im_end|>"], "temperature": 0.6, "top_k": 20,
    }  # fmt: skip
    shown = ollama_sampling(text)
    assert shown["temperature"] == (0.6, "model file")
    assert shown["top_p"] == (OLLAMA_DEFAULTS["top_p"], "default")
    assert ollama_sampling("") == {k: (v, "default") for k, v in OLLAMA_DEFAULTS.items()}


def create_advised(url: str) -> None:
    """Make ``ADVISED`` on the stand-in: SmolLM2 whose Modelfile sets temperature 0.6
    and top_k 20 (``/api/create``, as ``ollama create`` does)."""
    made = httpx.post(f"{url}/api/create", trust_env=False, timeout=10, json={
        "model": ADVISED, "from": "smollm2:135m",
        "parameters": {"temperature": 0.6, "top_k": 20}, "stream": False,
    })  # fmt: skip
    assert made.status_code == 200, made.text


@pytest.fixture
async def advised(ollama_server: str) -> AsyncIterator[OllamaEngine]:
    """The Ollama engine, with ``ADVISED`` made for the test and deleted after it."""
    create_advised(ollama_server)
    engine = OllamaEngine(ollama_settings(ollama_server))
    try:
        yield engine
    finally:
        await engine.delete(ADVISED)
        await engine.aclose()


@pytest.mark.slow
async def test_an_ollama_chat_sends_no_temperature_and_shows_the_modelfiles(
    advised: OllamaEngine, ollama_server: str
) -> None:
    """Default ``[chat]``: the request carries no temperature, so Ollama applies the
    Modelfile's, and ``/show parameters`` says that is what runs and why."""
    conv = Conversation("advised", writer=None, ephemeral=True, model=ADVISED)
    conv.add_user("Say hello.")
    handle = await conv.start_reply(TokenCounter(), settings=ChatSettings())
    handle.options.num_predict = 3
    events = [e async for e in advised.stream_chat(handle.messages, handle.options)]
    assert isinstance(events[-1], Done), events[-1]
    assert "temperature" not in last_request(ollama_server, "/api/chat").get("options", {})
    defaults = await advised.sampling_defaults(ADVISED)
    shown = slash.show_text(slash.Show("parameters"), conv, ChatSettings(), defaults)
    assert f"{'temperature':<17} 0.6  (model file)" in shown
    assert f"{'top_k':<17} 20  (model file)" in shown
    assert f"{'repeat_penalty':<17} 1.1  (default)" in shown
    assert f"{'stop':<17} '<|im_end|>'  (model file)" in shown
    conv.set_parameter("temperature", 0.2)
    shown = slash.show_text(slash.Show("parameters"), conv, ChatSettings(), defaults)
    assert f"{'temperature':<17} 0.2  (/set)" in shown
