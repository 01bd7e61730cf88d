"""Every ``/set parameter`` option reaches Ollama and local OpenAI-compatible servers.

The embedded engine's side is ``test_llamacpp_options.py`` (read back from
llama.cpp); here the other engines' requests are checked on the wire, against
the real loopback servers the suite runs.
"""

from __future__ import annotations

import pytest

from offyai_tui.chat import slash
from offyai_tui.chat.params import PARAMETERS, apply_params
from offyai_tui.engines.base import ChatOptions, Done, Message
from offyai_tui.engines.ollama import OllamaEngine
from tests.engines.openai_scripted import collect, engine_for
from tests.engines.test_llamacpp_options import SET_VALUES
from tests.engines.test_ollama import last_request
from tests.llama_server import LlamaServer
from tests.ollama_fixtures import ollama_settings

pytestmark = pytest.mark.slow

HELLO = [Message("user", "Say hello.")]
OPENAI_NAMES = {"temperature", "top_p", "seed", "presence_penalty", "frequency_penalty"}


def every_option() -> ChatOptions:
    """ChatOptions with each parameter set as ``/set parameter`` would set it."""
    values = {}
    for name, (text, _, _) in SET_VALUES.items():
        command = slash.parse(f"/set parameter {name} {text}")
        assert isinstance(command, slash.SetParameter), command
        values[name] = command.value
    options = apply_params(ChatOptions(model="", num_predict=3), values)
    options.num_predict = 3
    return options


async def test_every_option_reaches_ollama_by_its_own_name(ollama_server: str) -> None:
    engine = OllamaEngine(ollama_settings(ollama_server))
    options = every_option()
    options.model = "smollm2:135m"
    try:
        events = [e async for e in engine.stream_chat(HELLO, options)]
    finally:
        await engine.aclose()
    assert isinstance(events[-1], Done)
    sent = last_request(ollama_server, "/api/chat")["options"]
    assert set(sent) == set(PARAMETERS) - {"num_ctx"}  # the plan sends num_ctx in the chat
    for name, (_, _, expected) in SET_VALUES.items():
        if name != "num_ctx":
            assert sent[name] == (3 if name == "num_predict" else expected), name


async def test_local_openai_servers_get_llama_cpp_options_and_remote_ones_do_not(
    llama_server: LlamaServer,
) -> None:
    engine = engine_for(llama_server.url)
    options = every_option()
    try:
        body = engine._chat_body("m", HELLO, options)
        events = await collect(engine, options)  # the real server takes them all
    finally:
        await engine.aclose()
    assert isinstance(events[-1], Done), events[-1]
    for name in ("top_k", "min_p", "typical_p", "repeat_penalty", "repeat_last_n",
                 "presence_penalty", "frequency_penalty", "mirostat_tau", "mirostat_eta"):
        assert body[name] == SET_VALUES[name][2], name
    assert body["mirostat"] == body["mirostat_mode"] == 2
    assert body["stop"] == ["###", "User:"] and body["max_tokens"] == 3

    remote = engine_for("https://api.example.com/v1")._chat_body("m", HELLO, options)
    sampling = set(remote) - {"model", "messages", "stream", "stream_options", "stop",
                              "max_tokens"}
    assert sampling == OPENAI_NAMES
