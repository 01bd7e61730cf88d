"""One MCP server, started on first use and stopped with the toolbox.

The SDK's client is an anyio context whose task groups must be entered and
left by the same task, while OffyAI starts a server from whichever task
first needs a tool (a chat turn, ``offyai tools``) and stops it from another
(the app closing). So each server gets a task of its own that owns the
connection from start to stop; calls from other tasks go through the open
session, which the SDK allows.

A server is a program someone else wrote. Whatever it does, the user sees
one line: it does not start (command not found, exits at once: the last line
it wrote to stderr says why), it does not answer in time, it dies during a
call. None of that raises out of this module: starting raises only
:class:`McpUnavailable`, and :meth:`McpServer.call` returns a
:class:`~offyai_tui.tools.base.ToolResult`. A server that died is started
again on its next use.

Environment: a stdio server gets ``PATH``, ``HOME``, ``USER``, ``LOGNAME``,
``SHELL`` and ``TERM`` (what a program, ``npx`` or ``uvx`` needs to start
and find its caches: the SDK's own default set), the variables the config
names, and the values the Claude-Desktop JSON file spells out; nothing else
of OffyAI's environment (API keys, tokens) reaches it. Its stderr goes to a
private temporary file, never to the terminal the app draws on.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any

from offyai_tui.settings.config_tools import McpServerConfig, loopback_problem
from offyai_tui.tools.base import ToolResult, error

STOP_TIMEOUT = 8.0
"""The SDK closes stdin, waits 2 s, sends SIGTERM, waits 2 s, then kills: 8 s bounds it all."""
BASE_ENV = ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM")
"""What a stdio server gets from OffyAI's environment besides the names it is given."""


class McpUnavailable(Exception):
    """A server that cannot be used now; the message is one line naming it."""


def server_env(config: McpServerConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment a stdio server starts with (see the module's docstring)."""
    env = {k: environ[k] for k in (*BASE_ENV, *config.env) if k in environ}
    env.update(dict(config.env_values))
    return env


def one_line(exc: BaseException) -> str:
    """The innermost reason of ``exc`` (task groups wrap it in exception groups) as one line."""
    while getattr(exc, "exceptions", None):  # an exception group (3.10: the backport)
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    error_data = getattr(exc, "error", None)
    if error_data is not None and getattr(error_data, "message", None):
        text = str(error_data.message)
    elif isinstance(exc, FileNotFoundError):
        text = f"command not found: {exc.filename or exc}"
    elif isinstance(exc, PermissionError):
        text = f"permission denied: {exc.filename or exc}"
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


class McpServer:
    """A connection to one configured server; see the module's docstring."""

    def __init__(self, config: McpServerConfig, start_timeout: float = 30.0) -> None:
        self.config = config
        self.start_timeout = start_timeout
        self._client: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        self._tools: list[Any] = []
        self._errlog: Any = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def running(self) -> bool:
        return self._client is not None and self._task is not None and not self._task.done()

    async def tools(self) -> list[Any]:
        """The server's tools (``mcp_types.Tool``), starting it if needed.

        Raises:
            McpUnavailable: it cannot be started, or did not list its tools in time.
        """
        async with self._lock:
            if self.running:
                return self._tools
            await self._shutdown()
            loop = asyncio.get_running_loop()
            ready: asyncio.Future[list[Any]] = loop.create_future()
            self._stop = asyncio.Event()
            self._task = asyncio.create_task(self._own(ready), name=f"mcp server {self.name}")
            try:
                self._tools = await asyncio.wait_for(asyncio.shield(ready), self.start_timeout)
            except asyncio.TimeoutError:
                await self._shutdown()
                raise McpUnavailable(
                    f"MCP server {self.name!r} did not start within {self.start_timeout:g} s"
                    f"{self._stderr_tail(' (it said: {})')}"
                ) from None
            except McpUnavailable:
                await self._shutdown()
                raise
            return self._tools

    async def call(self, tool: str, arguments: dict[str, Any], timeout: float) -> ToolResult:
        """Run ``tool``; every failure is an error result naming the server."""
        try:
            await self.tools()
        except McpUnavailable as exc:
            return error(str(exc))
        client = self._client
        if client is None:  # stopped between the two lines above
            return error(f"MCP server {self.name!r} stopped")
        try:
            result = await asyncio.wait_for(
                client.call_tool(tool, arguments, read_timeout_seconds=timeout), timeout + 1
            )
        except (asyncio.TimeoutError, TimeoutError):
            return error(f"{self.name}__{tool} took longer than {timeout:g} s and was given up")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if "timed out" in one_line(exc):  # the SDK's own read timeout
                return error(f"{self.name}__{tool} took longer than {timeout:g} s and was "
                             "given up")
            if not self._task or self._task.done() or _connection_lost(exc):
                tail = self._stderr_tail(" (it said: {})")
                await self._forget()
                return error(f"MCP server {self.name!r} stopped during the call: "
                             f"{one_line(exc)}{tail}")
            return error(f"MCP server {self.name!r}: {one_line(exc)}")
        return _as_result(result)

    async def aclose(self) -> None:
        """Stop the server (bounded: a server that will not stop is killed)."""
        async with self._lock:
            await self._shutdown()

    async def _forget(self) -> None:
        async with self._lock:
            await self._shutdown()

    async def _shutdown(self) -> None:
        task, self._task = self._task, None
        started, self._client = self._client is not None, None
        if task is not None and not task.done():
            self._stop.set()
            try:  # a server still starting is not waiting for the stop: cancel it at once
                if started:
                    await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT)
                else:
                    raise asyncio.TimeoutError
            except (asyncio.TimeoutError, asyncio.CancelledError):
                task.cancel()
                with suppress(BaseException):
                    await asyncio.wait_for(task, STOP_TIMEOUT)
        if self._errlog is not None:
            self._errlog.close()
            self._errlog = None

    def _transport(self) -> Any:
        """An async context yielding the streams: the ``Transport`` ``mcp.Client`` takes."""
        if self.config.url:
            if why := loopback_problem(self.config.url):
                raise McpUnavailable(f"MCP server {self.name!r}: its url {why}")
            return _http(self.config.url)
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=self.config.command, args=list(self.config.args),
            env=server_env(self.config, os.environ), cwd=self.config.cwd or None,
        )  # fmt: skip
        # Kept open for the server's life and closed by _shutdown, so no ``with``.
        self._errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        return stdio_client(params, errlog=self._errlog)

    async def _own(self, ready: asyncio.Future[list[Any]]) -> None:
        """The server's life, in its own task: start, list tools, wait for stop."""
        import mcp_types
        from mcp import Client

        from offyai_tui import __version__

        try:
            info = mcp_types.Implementation(name="offyai", version=__version__)
            async with Client(self._transport(), client_info=info, cache=None) as client:
                tools = await _list_all(client)
                self._client = client
                if not ready.done():
                    ready.set_result(tools)
                await self._stop.wait()
        except asyncio.CancelledError:
            if not ready.done():
                ready.set_exception(McpUnavailable(f"MCP server {self.name!r} was stopped"))
            raise
        except Exception as exc:  # a server's failure must not escape its task
            if not ready.done():
                what = "cannot be started" if not self.config.url else "cannot be reached"
                ready.set_exception(McpUnavailable(
                    f"MCP server {self.name!r} {what}: {one_line(exc)}"
                    f"{self._stderr_tail(' (it said: {})')}"
                ))
        finally:
            self._client = None

    def _stderr_tail(self, template: str) -> str:
        """The server's last stderr line, in ``template``, or ``""``."""
        if self._errlog is None:
            return ""
        try:
            self._errlog.flush()
            self._errlog.seek(0)
            lines = [line.strip() for line in self._errlog.read()[-4000:].splitlines()]
        except (OSError, ValueError):
            return ""
        lines = [line for line in lines if line]
        return template.format(" ".join(lines[-1].split())[:300]) if lines else ""


@asynccontextmanager
async def _http(url: str) -> AsyncIterator[Any]:
    """Streamable HTTP to a loopback server, with no proxy taken from the environment
    (``HTTPS_PROXY`` would otherwise carry a loopback request off the machine)."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    timeout = httpx2.Timeout(30.0, read=300.0)
    async with httpx2.AsyncClient(trust_env=False, timeout=timeout) as http, \
            streamable_http_client(url, http_client=http) as streams:
        yield streams


async def _list_all(client: Any) -> list[Any]:
    tools: list[Any] = []
    cursor = None
    for _ in range(100):  # a server that pages forever is cut off
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _connection_lost(exc: BaseException) -> bool:
    text = one_line(exc).lower()
    return any(word in text for word in ("closed", "broken", "connection", "eof"))


def _as_result(result: Any) -> ToolResult:
    """The text of an MCP result: its text parts, and what the other parts are."""
    parts = []
    for item in getattr(result, "content", []) or []:
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(item.text)
        elif kind == "resource" and hasattr(getattr(item, "resource", None), "text"):
            parts.append(item.resource.text)
        else:
            parts.append(f"[{kind or 'unknown'} content not shown]")
    text = "\n".join(parts)
    if not text and getattr(result, "structured_content", None) is not None:
        import json

        text = json.dumps(result.structured_content, ensure_ascii=False)
    is_error = bool(getattr(result, "is_error", False))
    return ToolResult(text or ("(no output)" if not is_error else "the tool failed"), is_error)
