"""Engine for OpenAI-compatible servers: llamafile, llama-server, LM Studio, vLLM.

These servers share ``/v1/models``, ``/v1/chat/completions`` (streamed as
Server-Sent Events) and ``/v1/embeddings`` but differ in the details, so the
engine reads defensively: reasoning arrives as ``reasoning_content`` or
``reasoning``, usage only where ``stream_options`` is honoured (otherwise
content chunks are counted), and some servers answer any model name with
whatever they have loaded. The engine therefore checks a requested model
against ``/v1/models`` itself and reports a typo as :class:`ModelNotFound`
instead of silently answering with another model.

An API key is read from the environment variable named in the endpoint's
config at each request; it is never stored on the engine or put in a message.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import os
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from offyai_tui.engines.base import (
    ChatEvent,
    ChatOptions,
    Done,
    Engine,
    ErrorEvent,
    Health,
    Message,
    ModelInfo,
)
from offyai_tui.engines.errors import (
    EngineError,
    EngineUnavailable,
    ModelNotFound,
    StreamInterrupted,
    Unsupported,
)
from offyai_tui.engines.openai_wire import Turn, wire_message
from offyai_tui.engines.sse import aiter_sse
from offyai_tui.engines.thinking import CAPABILITY, THINK_OFF_HINT
from offyai_tui.settings.config import OpenAIEndpoint, Settings
from offyai_tui.util.netguard import is_loopback_host

LOCAL_SAMPLING = ("top_k", "min_p", "typical_p", "repeat_penalty", "repeat_last_n", "mirostat",
                  "mirostat_tau", "mirostat_eta")
"""Ollama-named options that llama.cpp-based local servers read under the same names."""


_RETRY = object()
"""Sentinel from one chat attempt: send the request again on a fresh connection."""
_EMBEDDING_NAME = re.compile(r"embed|minilm|bge-|\be5-|gte-|mpnet|sentence", re.IGNORECASE)


def _base_url(url: str) -> str:
    """``http://host:8080`` and ``http://host:8080/v1/`` both mean ``.../v1``."""
    url = url.strip().rstrip("/")
    return url if urlsplit(url).path else url + "/v1"


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]


def _capabilities(item: dict[str, Any]) -> tuple[str, ...]:
    declared = item.get("capabilities")
    kind = str(item.get("type", ""))
    if (isinstance(declared, list) and "embedding" in declared) or kind.startswith("embedding"):
        return ("embedding",)
    return ("embedding",) if _EMBEDDING_NAME.search(str(item.get("id", ""))) else ("chat",)


class OpenAICompatEngine(Engine):
    """One configured OpenAI-compatible endpoint (``[[openai]]`` in config.toml)."""

    kind = "openai"
    IMPLEMENTS_EMBED = True

    def __init__(
        self,
        endpoint: OpenAIEndpoint,
        settings: Settings | None = None,
        *,
        stall_timeout: float | None = None,
    ) -> None:
        settings = settings or Settings()
        self._config = endpoint
        self._base = _base_url(endpoint.url)
        self._connect_timeout = settings.ollama.connect_timeout
        self._stall_timeout = stall_timeout or settings.ollama.stall_timeout
        self._client: httpx.AsyncClient | None = None
        self._models: list[ModelInfo] | None = None
        """The last ``/models`` answer; a name it lacks triggers a fresh one."""

    @property
    def endpoint(self) -> str:
        return self._base

    @property
    def is_remote(self) -> bool:
        return not is_loopback_host(urlsplit(self._base).hostname or "")

    @property
    def label(self) -> str:
        return self._config.name or self.kind

    # -- plumbing ---------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._stall_timeout, connect=self._connect_timeout),
                trust_env=False,  # a proxy from the environment must not see local traffic
            )
        return self._client

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self._config.api_key_env, "") if self._config.api_key_env else ""
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _unavailable(self) -> EngineUnavailable:
        parts = urlsplit(self._base)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return EngineUnavailable(
            f"cannot connect to {self.label} at {self._base}; start llamafile or "
            f"`llama-server --port {port}`, or fix the url of [[openai]] {self.label!r} "
            "in config.toml"
        )

    async def _http_error(self, response: httpx.Response, model: str = "") -> EngineError:
        code = response.status_code
        message = self._server_message(response)
        if code in (401, 403):
            env = self._config.api_key_env
            if env and os.environ.get(env):
                hint = f"the key in ${env} was refused"
            elif env:
                hint = f"set the API key in the environment variable {env}"
            else:
                hint = f"set api_key_env of [[openai]] {self.label!r} in config.toml"
            return EngineError(f"{self.label} refused access (HTTP {code}): {hint}")
        if code == 404 and model:
            try:
                installed = [m.name for m in await self.list_models()]
            except EngineError:
                installed = []
            if model not in installed:
                return ModelNotFound(model, installed, self.label)
        return EngineError(f"{self.label} answered HTTP {code} at {response.url}: {message}")

    @staticmethod
    def _server_message(response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return _one_line(response.text) or response.reason_phrase
        if isinstance(body, dict):
            error = body.get("error", body.get("detail", body))
            if isinstance(error, dict):
                error = error.get("message", error)
            return _one_line(str(error))
        return _one_line(str(body))

    async def _request(self, method: str, path: str, model: str = "", **kwargs: Any) -> Any:
        """One JSON request; every failure becomes an :class:`EngineError`."""
        try:
            response = await self._http().request(
                method, self._base + path, headers=self._headers(), **kwargs
            )
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise self._unavailable() from None
        except httpx.TimeoutException:
            raise EngineError(
                f"{self.label} sent no answer within {self._stall_timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise EngineUnavailable(f"lost the connection to {self.label}: {exc}") from None
        if response.status_code >= 400:
            raise await self._http_error(response, model)
        try:
            return response.json()
        except ValueError:
            raise EngineError(f"{self.label} answered {path} with something not JSON") from None

    # -- the interface ----------------------------------------------------

    async def health(self) -> Health:
        try:
            response = await self._http().get(
                self._base + "/models",
                headers=self._headers(),
                timeout=self._connect_timeout,
            )
        except (httpx.HTTPError, OSError) as exc:
            detail = "not running" if isinstance(exc, httpx.ConnectError) else type(exc).__name__
            return Health(False, self.label, self._base, detail=detail)
        if response.status_code >= 400:
            return Health(False, self.label, self._base, detail=f"HTTP {response.status_code}")
        return Health(True, self.label, self._base)

    async def list_models(self) -> list[ModelInfo]:
        body = await self._request("GET", "/models")
        items = body.get("data") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise EngineError(f"{self.label} answered /models without a model list")
        self._models = [self._model_info(item) for item in items if isinstance(item, dict)]
        return list(self._models)

    def _model_info(self, item: dict[str, Any]) -> ModelInfo:
        meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
        context = meta.get("n_ctx_train") or item.get("max_model_len") or 0
        return ModelInfo(
            name=str(item.get("id", "")),
            engine=self.label,
            size_bytes=int(meta.get("size") or 0),
            context_length=int(context),
            capabilities=self._declared(str(item.get("id", "")), _capabilities(item)),
            details=item,
        )

    def _declared(self, name: str, capabilities: tuple[str, ...]) -> tuple[str, ...]:
        """The server's capabilities plus what the ``[[openai]]`` table says of ``name``:
        the protocol does not say which models think, see or call tools."""
        if "chat" not in capabilities:
            return capabilities
        extra = [CAPABILITY] if self.thinks(name) else []
        for capability, patterns in (("vision", self._config.vision_models),
                                     ("tools", self._config.tools_models)):
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
                extra.append(capability)
        return (*capabilities, *extra)

    async def default_model(self) -> str:
        if self._config.model:
            return self._config.model
        models = self._models if self._models is not None else await self.list_models()
        for info in models:
            if "chat" in info.capabilities:
                return info.name
        raise ModelNotFound("(default)", [m.name for m in models], self.label)

    async def _resolve_model(self, name: str) -> str:
        """The model to ask for; a name the server does not list is refused here."""
        name = name or await self.default_model()
        if name not in [m.name for m in self._models or []]:
            installed = [m.name for m in await self.list_models()]
            if name not in installed:
                raise ModelNotFound(name, installed, self.label)
        return name

    def _chat_body(self, model: str, messages: Sequence[Message], options: ChatOptions) -> dict:
        body: dict[str, Any] = {
            "model": model,
            "messages": [wire_message(m) for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if options.tools:
            body["tools"] = [tool.as_function() for tool in options.tools]
        names = [("temperature", "temperature"), ("top_p", "top_p"), ("seed", "seed"),
                 ("presence_penalty", "presence_penalty"),
                 ("frequency_penalty", "frequency_penalty")]  # fmt: skip
        names.append(("num_predict", "max_tokens"))
        if not self.is_remote:  # llama-server, llamafile, LM Studio take these; OpenAI does not
            names += [(name, name) for name in LOCAL_SAMPLING]
            names.append(("mirostat", "mirostat_mode"))  # llama-cpp-python's server's name
        for ours, theirs in names:
            value = getattr(options, ours)
            if value is not None:
                body[theirs] = value
        if options.stop:
            body["stop"] = list(options.stop)
        if self.thinks(model) is False:
            return body  # nothing to switch (an explicit "on" was refused before)
        if isinstance(options.think, str):
            body["reasoning_effort"] = options.think  # OpenAI's, gpt-oss and vLLM's name
        elif isinstance(options.think, bool):  # llama-server and vLLM hand it to the template
            body["chat_template_kwargs"] = {"enable_thinking": options.think}
        return body

    def thinks(self, model: str) -> bool | None:
        """Whether ``model`` thinks, by ``thinking_models`` of its ``[[openai]]`` table;
        ``None`` when that list is empty (the protocol does not say)."""
        patterns = self._config.thinking_models
        if not patterns:
            return None
        return any(fnmatch.fnmatchcase(model, pattern) for pattern in patterns)

    async def stream_chat(
        self, messages: Sequence[Message], options: ChatOptions
    ) -> AsyncIterator[ChatEvent]:
        try:
            model = await self._resolve_model(options.model)
        except EngineError as exc:
            yield ErrorEvent(exc)
            return
        turn = Turn(model)
        if options.think and self.thinks(model) is False:
            yield ErrorEvent(
                Unsupported(
                    f"{model} is not in thinking_models of [[openai]] {self.label!r}, so it "
                    f"cannot think; use {THINK_OFF_HINT} or default, or add it there"
                )
            )
            return
        try:
            if any(m.images for m in messages):  # files to read: off the event loop
                body = await asyncio.to_thread(self._chat_body, model, messages, options)
            else:
                body = self._chat_body(model, messages, options)
        except EngineError as exc:
            yield ErrorEvent(exc)
            return
        for _attempt in range(2):
            retry = False
            async for event in self._chat_attempt(turn, body, model):
                if event is _RETRY:
                    retry = True
                    break
                yield event  # type: ignore[misc]
            if not retry:
                return
        yield self._interrupted(turn, "the connection closed before the server answered")

    async def _chat_attempt(
        self, turn: Turn, body: dict[str, Any], model: str
    ) -> AsyncIterator[ChatEvent | object]:
        """One POST; yields ``_RETRY`` if a pooled connection died before any answer.

        A keep-alive connection to a server that has since restarted or died
        fails on first use; that is not a mid-stream cut, so the request is
        sent once more on a fresh connection before reporting anything.
        """
        answered = False
        try:
            async with self._http().stream(
                "POST", self._base + "/chat/completions", json=body, headers=self._headers()
            ) as response:
                answered = True
                if response.status_code >= 400:
                    await response.aread()
                    yield ErrorEvent(await self._http_error(response, model))
                    return
                async for sse in aiter_sse(response.aiter_bytes()):
                    if sse.data.strip() == "[DONE]":
                        for event in turn.end_events():
                            yield event
                        yield Done(turn.stats())
                        return
                    try:
                        chunk = json.loads(sse.data)
                    except ValueError:
                        chunk = None
                    if not isinstance(chunk, dict):
                        yield self._interrupted(turn, f"malformed data: {sse.data[:80]!r}")
                        return
                    if chunk.get("error") or sse.event == "error":
                        error = chunk.get("error") or chunk
                        if isinstance(error, dict):
                            error = error.get("message", error)
                        message = f"{self.label}: {_one_line(str(error))}"
                        yield ErrorEvent(EngineError(message, partial_text=turn.text), turn.text)
                        return
                    for event in turn.apply(chunk):
                        yield event
        except (httpx.ConnectError, httpx.ConnectTimeout):
            yield ErrorEvent(self._unavailable(), turn.text)
            return
        except httpx.ReadTimeout:
            yield self._interrupted(turn, f"no data for {self._stall_timeout:g} s")
            return
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            if not answered:
                yield _RETRY
                return
            yield self._interrupted(turn, f"connection lost ({_one_line(str(exc), 120)})")
            return
        except httpx.HTTPError as exc:
            yield self._interrupted(turn, f"connection lost ({_one_line(str(exc), 120)})")
            return
        if turn.finish_reason:
            for event in turn.end_events():
                yield event
            yield Done(turn.stats())
        else:
            yield self._interrupted(turn, "the stream ended before the answer was complete")

    def _interrupted(self, turn: Turn, why: str) -> ErrorEvent:
        error = StreamInterrupted(f"{self.label}: {why}", partial_text=turn.text)
        return ErrorEvent(error, turn.text)

    async def embed(self, texts: Sequence[str], model: str = "") -> list[list[float]]:
        if not texts:
            return []
        model = model or await self._embedding_model()
        body = await self._request(
            "POST", "/embeddings", model, json={"model": model, "input": list(texts)}
        )
        items = body.get("data") if isinstance(body, dict) else None
        if not isinstance(items, list) or len(items) != len(texts):
            raise EngineError(f"{self.label} answered /embeddings without one vector per text")
        try:
            items = sorted(items, key=lambda item: item.get("index", 0))
            return [[float(x) for x in item["embedding"]] for item in items]
        except (AttributeError, KeyError, TypeError, ValueError):
            raise EngineError(f"{self.label} answered /embeddings with malformed vectors") from None

    async def _embedding_model(self) -> str:
        models = await self.list_models()
        for info in models:
            if "embedding" in info.capabilities:
                return info.name
        if self._config.model or models:
            return self._config.model or models[0].name
        raise ModelNotFound("(embedding)", [], self.label)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
