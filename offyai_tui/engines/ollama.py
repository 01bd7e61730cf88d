"""Ollama over its native HTTP API (not the OpenAI shim, which drops num_ctx and keep_alive).

Streams are NDJSON. There is no total timeout on a stream (a long answer is
fine) but httpx's read timeout is set to the stall timeout, so a server that
goes quiet between two chunks ends the answer with :class:`StreamInterrupted`
and the text received so far.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import httpx

from offyai_tui.engines.base import (
    ChatEvent,
    ChatOptions,
    Done,
    Engine,
    ErrorEvent,
    Health,
    LoadedModel,
    Message,
    ModelInfo,
    PullProgress,
)
from offyai_tui.engines.errors import (
    EngineError,
    EngineUnavailable,
    ModelNotFound,
    StreamInterrupted,
)
from offyai_tui.engines.ndjson import MalformedLine, NDJSONDecoder, preview
from offyai_tui.engines.ollama_lines import (
    ChatTurn,
    count_field,
    pull_progress,
    stream_error,
    wire_message,
)
from offyai_tui.engines.sampling import ollama_sampling
from offyai_tui.settings.config import Settings
from offyai_tui.util.netguard import is_loopback_host

DEFAULT_PORT = 11434
EMBEDDING_FAMILIES = frozenset({"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2"})
"""Model families that only embed; ``/api/tags`` has no capability field."""
_CAPABILITIES = {"completion": "chat", "embedding": "embedding"}


def base_url(host: str) -> str:
    """The base URL for an ``OLLAMA_HOST``-style value, following Ollama's own rules.

    ``host``, ``host:port``, ``:port``, ``[v6]:port`` and ``http(s)://host[:port][/path]``
    are accepted. Without a scheme the port defaults to 11434; with one, to the
    scheme's port (as the ``ollama`` CLI does). ``0.0.0.0`` and ``::`` are bind
    addresses, so they mean this machine. ``user:pass@`` is dropped, as Ollama
    drops it. Everything else that is not a host name or an IP address (``:::``,
    a value with a line break, ``a b``) is refused here, before any connection
    or name lookup is attempted.

    Raises:
        ValueError: an unusable value, with a readable reason.
    """
    raw = host.strip() or f"127.0.0.1:{DEFAULT_PORT}"
    if any(ord(c) < 32 or ord(c) == 127 for c in raw):
        raise ValueError("it contains a control character (a stray line break?)")
    scheme, sep, rest = raw.partition("://")
    if not sep:
        scheme, rest, default_port = "http", raw, DEFAULT_PORT
    else:
        scheme = scheme.lower()
        if scheme not in {"http", "https"}:
            raise ValueError(f"unsupported scheme {scheme!r}; use http or https")
        default_port = 80 if scheme == "http" else 443
    if any(c in rest for c in "?#"):
        raise ValueError("a query or fragment has no place in a server address")
    hostport, _, path = rest.partition("/")
    hostport = hostport.rpartition("@")[2]  # credentials: Ollama ignores them too
    name, port = _split_host_port(hostport, default_port)
    if name in {"", "0.0.0.0"}:
        name = "127.0.0.1"
    elif name == "::":
        name = "::1"
    _check_host_name(name)
    shown = f"[{name}]" if ":" in name else name
    path = path.strip("/")
    url = f"{scheme}://{shown}:{port}" + (f"/{path}" if path else "")
    try:
        httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(str(exc)) from None
    return url


_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


def _check_host_name(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is an IP address or a valid host name."""
    try:
        ipaddress.ip_address(name.partition("%")[0])
        return
    except ValueError:
        pass
    labels = name.removesuffix(".").split(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{name!r} is not a host name or an IP address")


def _split_host_port(hostport: str, default_port: int) -> tuple[str, int]:
    if hostport.startswith("["):
        name, bracket, after = hostport[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise ValueError(f"{hostport!r} is not a [IPv6]:port address")
        port_text = after[1:]
    elif hostport.count(":") == 1:
        name, _, port_text = hostport.partition(":")
    else:  # a bare name, or a bare IPv6 address
        name, port_text = hostport, ""
    if not port_text:
        return name, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad port {port_text!r}")
    return name, int(port_text)


def keep_alive_value(value: str) -> str | int | float:
    """Ollama reads a JSON string as a Go duration ("5m") and a number as seconds.

    A bare number in a string (``"0"``, ``"-1"``) is sent as a number, because
    Go rejects ``"-1"`` as a duration.
    """
    if re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if re.fullmatch(r"-?\d*\.\d+", value.strip()):
        return float(value)
    return value


def _capabilities(family: str, families: Sequence[str] = ()) -> tuple[str, ...]:
    if family in EMBEDDING_FAMILIES or any(f in EMBEDDING_FAMILIES for f in families):
        return ("embedding",)
    return ("chat",)


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return preview(response.content) if response.content else response.reason_phrase
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return data["error"]
    return preview(response.content)


class OllamaEngine(Engine):
    """A local (or explicitly configured remote) Ollama server."""

    kind = "ollama"
    IMPLEMENTS_PULL = True
    IMPLEMENTS_DELETE = True
    IMPLEMENTS_EMBED = True
    IMPLEMENTS_UNLOAD = True
    IMPLEMENTS_LOAD = True
    IMPLEMENTS_CONTINUE = True
    """/api/chat continues a final assistant message (its template leaves that turn open)."""

    def __init__(self, settings: Settings) -> None:
        """Prepare a client; nothing connects until the first request.

        Raises:
            EngineUnavailable: ``ollama.host`` / ``OLLAMA_HOST`` cannot be parsed.
        """
        config = settings.ollama
        try:
            self._base = base_url(config.host)
        except ValueError as exc:
            source = settings.overrides.get("ollama.host", "ollama.host")
            raise EngineUnavailable(
                f"{source} = {config.host!r} is not a usable Ollama address: {exc}"
            ) from None
        self._keep_alive = config.keep_alive
        self._connect_timeout = config.connect_timeout
        self._stall_timeout = config.stall_timeout
        self._client = httpx.AsyncClient(
            base_url=self._base,
            timeout=httpx.Timeout(config.stall_timeout, connect=config.connect_timeout),
            trust_env=False,  # a proxy from the environment must never see local traffic
        )

    @property
    def endpoint(self) -> str:
        return self._base

    @property
    def is_remote(self) -> bool:
        return not is_loopback_host(httpx.URL(self._base).host)

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- errors ---------------------------------------------------------------

    def _not_running(self, exc: Exception) -> EngineUnavailable:
        reason = "connection refused" if "refused" in str(exc).lower() else str(exc)
        if isinstance(exc, httpx.ConnectTimeout):
            reason = f"no answer within {self._connect_timeout:g} s"
        return EngineUnavailable(
            f"Ollama is not running at {self._base} ({reason or type(exc).__name__}); "
            "start it with `ollama serve`"
        )

    def _transport_error(self, exc: httpx.HTTPError) -> EngineError:
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            return self._not_running(exc)
        if isinstance(exc, httpx.ReadTimeout):
            return StreamInterrupted(
                f"Ollama at {self._base} sent nothing for {self._stall_timeout:g} s"
            )
        detail = str(exc) or type(exc).__name__
        return StreamInterrupted(f"the connection to Ollama at {self._base} was cut ({detail})")

    async def _status_error(self, response: httpx.Response, model: str = "") -> EngineError:
        message = _error_text(response)
        if "does not support thinking" in message:
            return stream_error(message, model)
        if response.status_code == 404 and model:
            if not response.headers.get("content-type", "").startswith("application/json"):
                return EngineError(f"{self._base} does not look like Ollama (HTTP 404: {message})")
            return ModelNotFound(model, await self._installed_names(), self.kind)
        return EngineError(f"Ollama: {message} (HTTP {response.status_code})")

    async def _installed_names(self) -> list[str]:
        try:
            return [m.name for m in await self.list_models()]
        except EngineError:
            return []

    async def _json(
        self, method: str, path: str, body: Any = None, *, model: str = "", timeout: Any = None
    ) -> dict[str, Any]:
        """One request/response call; errors become :class:`EngineError`."""
        try:
            response = await self._client.request(
                method, path, json=body, timeout=timeout or httpx.USE_CLIENT_DEFAULT
            )
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None
        if response.status_code >= 400:
            raise await self._status_error(response, model)
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise EngineError(f"unexpected answer from Ollama {path}: {preview(response.content)}")
        return data

    # -- queries --------------------------------------------------------------

    async def health(self) -> Health:
        try:
            data = await self._json(
                "GET", "/api/version", timeout=httpx.Timeout(self._connect_timeout)
            )
        except EngineError as exc:
            return Health(False, self.kind, self._base, detail=str(exc))
        return Health(True, self.kind, self._base, version=str(data.get("version", "")))

    async def list_models(self) -> list[ModelInfo]:
        data = await self._json("GET", "/api/tags")
        models = []
        for entry in data.get("models") or []:
            details = entry.get("details") or {}
            family = details.get("family") or ""
            models.append(
                ModelInfo(
                    name=entry.get("name") or entry.get("model", ""),
                    engine=self.kind,
                    size_bytes=count_field(entry.get("size")),
                    family=family,
                    parameter_size=details.get("parameter_size") or "",
                    quantization=details.get("quantization_level") or "",
                    capabilities=_capabilities(family, details.get("families") or ()),
                    details=entry,
                )
            )
        return models

    async def model_info(self, name: str) -> ModelInfo:
        """Details from ``/api/show``, including the model's trained context length."""
        data = await self._json("POST", "/api/show", {"model": name}, model=name)
        details = data.get("details") or {}
        info = data.get("model_info") or {}
        arch = info.get("general.architecture", "")
        family = details.get("family") or arch
        caps = data.get("capabilities")
        capabilities = (
            tuple(_CAPABILITIES.get(c, c) for c in caps)
            if caps
            else _capabilities(family, details.get("families") or ())
        )
        sizes = {m.name: m.size_bytes for m in await self.list_models()}
        return ModelInfo(
            name=name,
            engine=self.kind,
            size_bytes=sizes.get(name, sizes.get(f"{name}:latest", 0)),
            family=family,
            parameter_size=details.get("parameter_size") or "",
            quantization=details.get("quantization_level") or "",
            context_length=count_field(info.get(f"{arch}.context_length")),
            capabilities=capabilities,
            details={
                key: data.get(key, "")
                for key in ("template", "parameters", "license", "system", "modified_at")
            }
            | {"model_info": info},
        )

    async def sampling_defaults(self, model: str = "") -> dict[str, tuple[Any, str]]:
        """What ``model`` samples with when a request leaves a value unset, and why
        (Ollama's defaults, then its Modelfile's parameters), for ``/show parameters``."""
        data = await self._json("POST", "/api/show", {"model": model}, model=model)
        return ollama_sampling(str(data.get("parameters") or ""))

    async def loaded(self) -> list[LoadedModel]:
        data = await self._json("GET", "/api/ps")
        return [
            LoadedModel(
                name=entry.get("name") or entry.get("model", ""),
                size_bytes=count_field(entry.get("size")),
                vram_bytes=count_field(entry.get("size_vram")),
                expires_at=str(entry.get("expires_at") or ""),
            )
            for entry in data.get("models") or []
        ]

    async def load(self, name: str) -> None:
        """A generate request with no prompt loads the model (Ollama's documented way).

        It stays loaded for the configured ``keep_alive``.
        """
        body: dict[str, Any] = {"model": name, "stream": False}
        if self._keep_alive:
            body["keep_alive"] = keep_alive_value(self._keep_alive)
        await self._json("POST", "/api/generate", body, model=name)

    async def unload(self, name: str) -> None:
        """A generate request with no prompt and ``keep_alive: 0`` frees the model."""
        await self._json(
            "POST", "/api/generate", {"model": name, "keep_alive": 0, "stream": False}, model=name
        )

    async def delete(self, name: str) -> None:
        await self._json("DELETE", "/api/delete", {"model": name}, model=name)

    async def embed(self, texts: Sequence[str], model: str = "") -> list[list[float]]:
        if not texts:
            return []
        if not model:
            models = await self.list_models()
            embedders = [m.name for m in models if "embedding" in m.capabilities]
            if not embedders:
                raise ModelNotFound("(an embedding model)", [m.name for m in models], self.kind)
            model = embedders[0]
        body: dict[str, Any] = {"model": model, "input": list(texts)}
        if self._keep_alive:
            body["keep_alive"] = keep_alive_value(self._keep_alive)
        data = await self._json("POST", "/api/embed", body, model=model)
        vectors = data.get("embeddings")
        if not isinstance(vectors, list) or len(vectors) != len(texts):
            raise EngineError(f"Ollama returned no usable embeddings for {len(texts)} texts")
        return [[float(x) for x in vector] for vector in vectors]

    # -- streams --------------------------------------------------------------

    def _chat_body(self, messages: Sequence[Message], options: ChatOptions) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": options.model,
            "messages": [wire_message(m) for m in messages],
            "stream": True,
        }
        if options.tools:
            body["tools"] = [tool.as_function() for tool in options.tools]
        if sampling := options.sampling():
            body["options"] = sampling
        if options.think is not None:
            body["think"] = options.think  # true/false, or "low"/"medium"/"high" (gpt-oss)
        keep_alive = options.keep_alive or self._keep_alive
        if keep_alive:
            body["keep_alive"] = keep_alive_value(keep_alive)
        return body

    async def stream_chat(
        self, messages: Sequence[Message], options: ChatOptions
    ) -> AsyncIterator[ChatEvent]:
        """Stream one answer from ``/api/chat``; problems end it with an ``ErrorEvent``.

        Close the iterator (``aclosing``) or cancel the task to stop: the HTTP
        response is closed on the way out, which makes Ollama stop generating.
        """
        turn = ChatTurn(model=options.model)
        try:
            if not turn.model:
                turn.model = await self.default_model()
            options = replace(options, model=turn.model)
            if any(m.images for m in messages):  # files to read: off the event loop
                body = await asyncio.to_thread(self._chat_body, messages, options)
            else:
                body = self._chat_body(messages, options)
            async with self._client.stream("POST", "/api/chat", json=body) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise await self._status_error(response, turn.model)
                decoder = NDJSONDecoder()
                async for chunk in response.aiter_bytes():
                    for line in decoder.feed(chunk):
                        for event in turn.on_line(line):
                            yield event
                            if isinstance(event, (Done, ErrorEvent)):
                                return
                try:
                    tail = decoder.close()
                except MalformedLine:
                    tail = []  # the connection ended inside a line: reported below
                for line in tail:
                    for event in turn.on_line(line):
                        yield event
                        if isinstance(event, (Done, ErrorEvent)):
                            return
        except MalformedLine as exc:
            yield turn.fail(StreamInterrupted(f"malformed line from Ollama: {preview(exc.line)}"))
            return
        except httpx.HTTPError as exc:
            yield turn.fail(self._transport_error(exc))
            return
        except EngineError as exc:
            yield turn.fail(exc)
            return
        yield turn.fail(StreamInterrupted("Ollama ended the stream before the answer finished"))

    async def pull(self, name: str) -> AsyncIterator[PullProgress]:
        """Download ``name``, yielding Ollama's progress lines.

        Raises:
            EngineError: Ollama reported an error (its message is kept).
            StreamInterrupted: the stream stopped before ``success``.
        """
        try:
            async with self._client.stream(
                "POST", "/api/pull", json={"model": name, "stream": True}
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise await self._status_error(response)
                decoder = NDJSONDecoder()
                async for chunk in response.aiter_bytes():
                    for line in decoder.feed(chunk):
                        progress = pull_progress(name, line)
                        yield progress
                        if progress.status == "success":
                            return
        except MalformedLine as exc:
            raise StreamInterrupted(f"malformed line from Ollama: {preview(exc.line)}") from None
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None
        raise StreamInterrupted(f"Ollama stopped pulling {name!r} before it finished")
