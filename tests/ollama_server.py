"""A loopback stand-in for Ollama, following its docs/api.md field by field.

The answers come from the real bundled SmolLM2 (llama-cpp-python, one thread),
loaded in this process, never in pytest's. Every NDJSON stream is written in
1-7 byte HTTP chunks so the client sees lines (and UTF-8 characters) cut at
awkward places (``tests/ollama_wire.py``). Model names choose faults, per request
(scripted in ``tests/ollama_replies.py``):

- ``cut-model``: the connection is dropped in the middle of a line;
- ``stall-model``: the stream goes quiet (until the client gives up);
- ``garbage-model``: a line that is not JSON;
- ``error-model``: an ``{"error": ...}`` line with status 200, as Ollama does;
- ``slow-model``: 100 ms between lines (for cancellation tests);
- ``thinking-model``: non-ASCII ``message.thinking`` deltas before the answer, a
  thinking pace apart (:data:`THINKING_PAUSE`: long enough for a test to see the
  reasoning stream before the answer begins; none with ``"think": false``); it
  alone has the ``thinking`` capability, and a request with ``think`` on for any
  other model is refused as Ollama refuses it;
- ``tools-model``: instead of an answer, one line with two ``message.tool_calls``
  (one with an id, one without, arguments as JSON objects), then ``done``; once the
  last message is a tool result, it answers (from the real model) like any other; a
  prompt ``calls: [{"name": ..., "arguments": {...}}]`` makes those the calls;
- ``vision-model``: answers like the chat model (the images are not looked at) and
  lists the ``vision`` capability;
- pulling a name starting with ``bad-`` fails half-way with an error line.

``POST /api/create`` with ``from`` and ``parameters`` makes a model from an installed
one, as a Modelfile's ``PARAMETER`` lines do: ``/api/show`` lists them in Ollama's
layout and each answer samples with them under the request's own options.

A chat whose last message is the assistant's is continued, as Ollama does: that
text ends the prompt, still open, and what is streamed extends it.

``GET /_test/state`` reports what the server saw (requests, finished and
abandoned streams). Usage: ``python tests/ollama_server.py --port 0`` prints
``listening on http://127.0.0.1:PORT`` once the model is loaded.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import ThreadingHTTPServer
from typing import Any

from tests.ollama_replies import (
    CHAT_MODEL,
    FAULT_AFTER,
    FAULTS,
    MID_STREAM_ERROR,
    THINKING,
    THINKING_PAUSE,
    TOOL_CALLS,
    Model,
    State,
    _asked_calls,
    _parameters_text,
    _vector,
    canonical,
    now_text,
    parse_keep_alive,
)
from tests.ollama_wire import ClientGone, WireHandler, go_json

__all__ = ["CHAT_MODEL", "THINKING", "Handler", "Server", "main"]


class Handler(WireHandler):
    protocol_version = "HTTP/1.1"
    server: Server
    server_version = "ollama-test"
    _think_off = False
    """The request being answered sent ``"think": false``."""

    # -- routes ---------------------------------------------------------------

    def do_HEAD(self) -> None:
        self._reply(200, b"", "text/plain; charset=utf-8")

    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/":
            self._reply(200, b"Ollama is running", "text/plain; charset=utf-8")
        elif self.path == "/api/version":
            self._reply(200, {"version": "0.9.0"})
        elif self.path == "/api/tags":
            with state.lock:
                models = list(state.installed.values())
            self._reply(200, {"models": models})
        elif self.path == "/api/ps":
            self._reply(200, {"models": self._running()})
        elif self.path == "/_test/state":
            with state.lock:
                report = {"requests": list(state.requests), "last_done": state.last_done}
                report |= state.counters
            self._reply(200, report)
        else:
            self._reply(404, b"404 page not found", "text/plain")

    def do_POST(self) -> None:
        routes = {
            "/api/chat": self._chat,
            "/api/generate": self._generate,
            "/api/show": self._show,
            "/api/embed": self._embed,
            "/api/pull": self._pull,
            "/api/create": self._create,
        }
        body = self._body()  # read it first: the connection is reused after an error
        route = routes.get(self.path)
        if body is None:
            return
        if route is None:
            self._reply(404, b"404 page not found", "text/plain")
            return
        self.server.state.record(self.path, body)
        route(body)

    def do_DELETE(self) -> None:
        body = self._body()
        if body is None:
            return
        if self.path != "/api/delete":
            self._reply(404, b"404 page not found", "text/plain")
            return
        name = canonical(str(body.get("model") or body.get("name") or ""))
        state = self.server.state
        with state.lock:
            found = state.installed.pop(name, None)
            state.loaded.pop(name, None)
        if found is None:
            self._reply(
                404, {"error": f"model '{body.get('model') or body.get('name')}' not found"}
            )
        else:
            self._reply(200)

    def _running(self) -> list[dict[str, Any]]:
        state = self.server.state
        now = datetime.now(timezone.utc)
        with state.lock:
            return [
                {
                    **state.installed[name],
                    "expires_at": until.isoformat(),
                    "size_vram": 0,
                    "context_length": 2048,
                }
                for name, until in state.loaded.items()
                if until > now and name in state.installed
            ]

    def _lookup(self, body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        name = canonical(str(body.get("model") or ""))
        if not name:
            self._reply(400, {"error": "model is required"})
            return name, None
        with self.server.state.lock:
            entry = self.server.state.installed.get(name)
        if entry is None:
            self._not_found(str(body.get("model")))
        return name, entry

    def _show(self, body: dict[str, Any]) -> None:
        name, entry = self._lookup(body)
        if entry is None:
            return
        model = self.server.state.model
        if entry["details"]["family"] == "bert":
            info: dict[str, Any] = {
                "general.architecture": "bert",
                "bert.context_length": 512,
                "bert.embedding_length": 384,
            }
            capabilities = ["embedding"]
        else:
            info, capabilities = dict(model.info), ["completion"]
            if name.split(":")[0] == "thinking-model":
                capabilities.append("thinking")
            if name.split(":")[0] == "tools-model":
                capabilities.append("tools")
            if name.split(":")[0] == "vision-model":
                capabilities.append("vision")
        self._reply(
            200,
            {
                "license": str(model.info.get("general.license", "")),
                "modelfile": f'# Modelfile generated by "ollama show"\nFROM {model.path}\n',
                "parameters": _parameters_text(entry.get("parameters") or {}),
                "template": model.template,
                "details": entry["details"],
                "model_info": info,
                "capabilities": capabilities,
                "modified_at": entry["modified_at"],
            },
        )

    def _embed(self, body: dict[str, Any]) -> None:
        name, entry = self._lookup(body)
        if entry is None:
            return
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        self.server.state.touch(name, body.get("keep_alive"))
        self._reply(
            200,
            {
                "model": name,
                "embeddings": [_vector(t) for t in texts],
                "total_duration": 1_000_000,
                "load_duration": 100_000,
                "prompt_eval_count": sum(len(t.split()) for t in texts),
            },
        )

    def _generate(self, body: dict[str, Any]) -> None:
        prompt = body.get("prompt") or ""
        messages = [{"role": "user", "content": prompt}] if prompt else []
        self._answer(body, messages, field="response")

    def _chat(self, body: dict[str, Any]) -> None:
        self._answer(body, list(body.get("messages") or []), field="message")

    def _answer(self, body: dict[str, Any], messages: list[dict[str, Any]], field: str) -> None:
        name, entry = self._lookup(body)
        if entry is None:
            return
        if entry["details"]["family"] == "bert":
            action = "chat" if field == "message" else "generate"
            self._reply(400, {"error": f'"{name}" does not support {action}'})
            return
        if body.get("think") not in (None, False) and name.split(":")[0] != "thinking-model":
            self._reply(400, {"error": f'"{name}" does not support thinking'})
            return
        self._think_off = body.get("think") is False
        self._after_tools = bool(messages) and messages[-1].get("role") == "tool"
        self._asked_calls = _asked_calls(messages)
        state = self.server.state
        try:
            state.touch(name, body.get("keep_alive"))
        except ValueError as exc:
            self._reply(400, {"error": str(exc)})
            return

        def line(
            text: str = "", thinking: str = "", tool_calls: Any = None, **extra: Any
        ) -> dict[str, Any]:
            out: dict[str, Any] = {"model": name, "created_at": now_text()}
            if field == "message":
                out["message"] = {"role": "assistant", "content": text}
                if thinking:
                    out["message"]["thinking"] = thinking
                if tool_calls:
                    out["message"]["tool_calls"] = tool_calls
            else:
                out["response"] = text
            return {**out, **extra}

        if not messages:  # load, or unload with keep_alive 0
            reason = (
                "unload" if parse_keep_alive(body.get("keep_alive")) == timedelta(0) else "load"
            )
            self._reply(200, line(done=True, done_reason=reason))
            return
        stats: dict[str, Any] = {}
        options = {**(entry.get("parameters") or {}), **(body.get("options") or {})}
        pieces = state.model.generate(messages, options, stats)
        if body.get("stream") is False:
            text = "".join(pieces)
            self._reply(200, line(text, done=True, done_reason=stats.pop("done_reason"), **stats))
            return
        fault = name.split(":")[0] if name.split(":")[0] in FAULTS else ""
        state.count("active")
        try:
            self._start_stream()
            self._stream(fault, pieces, line, stats)
        except ClientGone:
            state.count("disconnects")
            self.close_connection = True
        finally:
            pieces.close()
            state.count("active", -1)

    def _stream(self, fault: str, pieces: Iterator[str], line: Any, stats: dict[str, Any]) -> None:
        state = self.server.state
        if fault == "thinking-model" and not self._think_off:
            for word in THINKING:
                self._send(line(thinking=word))
                time.sleep(THINKING_PAUSE)
        if fault == "tools-model" and not self._after_tools:
            pieces.close()  # the model is asked nothing: the calls are the answer
            self._send(line(tool_calls=self._asked_calls or TOOL_CALLS))
            final = line(done=True, done_reason="stop", eval_count=1, eval_duration=1_000_000)
            self._send(final)
            self._end_stream()
            state.finished(final)
            return
        for sent, piece in enumerate(pieces):
            if sent == FAULT_AFTER and fault in {
                "cut-model",
                "stall-model",
                "garbage-model",
                "error-model",
            }:
                pieces.close()  # frees the model for other requests
                if fault == "cut-model":
                    self._send(None, raw=go_json(line(piece))[:17])
                    self._cut()
                elif fault == "stall-model":
                    self._wait_for_hangup()
                    self._cut()
                elif fault == "garbage-model":
                    self._send(None, raw=b"<html><body>502 Bad Gateway</body></html>\n")
                    self._end_stream()
                else:
                    self._send({"error": MID_STREAM_ERROR})
                    self._end_stream()
                return
            if fault == "slow-model":
                time.sleep(0.1)
            self._send(line(piece))
        final = line(done=True, done_reason=stats.pop("done_reason"), **stats)
        self._send(final)
        self._end_stream()
        state.finished(final)

    def _pull(self, body: dict[str, Any]) -> None:
        raw = str(body.get("model") or body.get("name") or "")
        name = canonical(raw)
        if not name:
            self._reply(400, {"error": "model is required"})
            return
        seed = hashlib.sha256(name.encode()).hexdigest()
        layers = [
            (f"sha256:{seed[:8]}{i}{seed[9:]}"[:71], size)
            for i, size in enumerate((4_096_000, 11_357, 487))
        ]
        failing = raw.startswith("bad-")
        self._start_stream()
        try:
            self._send({"status": "pulling manifest"})
            for digest, total in layers:
                status = f"pulling {digest[7:19]}"
                self._send({"status": status, "digest": digest, "total": total})
                for step in range(1, 5):
                    if failing and step == 3:
                        self._send({"error": "max retries exceeded: unexpected EOF"})
                        self._end_stream()
                        return
                    time.sleep(0.005)
                    self._send(
                        {
                            "status": status,
                            "digest": digest,
                            "total": total,
                            "completed": total * step // 4,
                        }
                    )
            for status in (
                "verifying sha256 digest",
                "writing manifest",
                "removing any unused layers",
            ):
                self._send({"status": status})
            state = self.server.state
            state.install(name, sum(size for _, size in layers), state.model.details)
            self._send({"status": "success"})
            self._end_stream()
        except ClientGone:
            self.close_connection = True


    def _create(self, body: dict[str, Any]) -> None:
        name = canonical(str(body.get("model") or ""))
        base = canonical(str(body.get("from") or ""))
        state = self.server.state
        with state.lock:
            source = state.installed.get(base)
        if not name:
            self._reply(400, {"error": "model is required"})
            return
        if source is None:
            self._not_found(str(body.get("from")))
            return
        parameters = body.get("parameters") or {}
        if not isinstance(parameters, dict):
            self._reply(400, {"error": "parameters must be an object"})
            return
        state.install(name, source["size"], source["details"])
        with state.lock:
            state.installed[name]["parameters"] = {"stop": ["<|im_end|>"], **parameters}
        self._reply(200, {"status": "success"})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, state: State, write_sizes: tuple[int, int]) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.state = state
        self.write_sizes = write_sizes


def _exit_with_parent() -> None:
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--model", default="", help="GGUF path (default: bundled SmolLM2)")
    parser.add_argument(
        "--write-sizes",
        default="1-7",
        help="byte range of each streamed write, e.g. 1-7; 0 writes whole lines",
    )
    args = parser.parse_args(argv)
    low, _, high = args.write_sizes.partition("-")
    sizes = (0, 0) if args.write_sizes == "0" else (int(low), int(high or low))
    if not args.model:
        from offyai_tui.engines import bundled

        args.model = str(bundled.smollm2_path())
    server = Server(args.port, State(Model(args.model)), sizes)
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
