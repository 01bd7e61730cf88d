"""A real MCP server for the tests, written with the SDK's MCPServer (formerly FastMCP).

``python -m tests.tools.mcp_test_server stdio`` serves over stdin/stdout;
``... http PORTFILE`` serves streamable HTTP on 127.0.0.1 at a free port and
writes the port to PORTFILE once it listens.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time

from mcp.server.mcpserver import MCPServer

server = MCPServer("offyai-test")


@server.tool()
def add(a: int, b: int) -> str:
    """Add two whole numbers."""
    return str(a + b)


@server.tool()
def env_names() -> str:
    """The names of the environment variables this server was started with."""
    return " ".join(sorted(os.environ))


@server.tool()
def env_value(name: str) -> str:
    """One environment variable's value, or (unset)."""
    return os.environ.get(name, "(unset)")


@server.tool()
def crash() -> str:
    """Die in the middle of the call, as a buggy server does."""
    print("segfault-like failure on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@server.tool()
def sleep(seconds: float) -> str:
    """Take this long to answer."""
    time.sleep(seconds)
    return "woke up"


@server.tool()
def big() -> str:
    """One megabyte of text."""
    return "x" * 1_000_000


@server.tool()
def lines(count: int) -> str:
    """``count`` numbered lines (a long result, shown cut until asked for)."""
    return "\n".join(f"line {i} of {count}" for i in range(1, count + 1))


@server.tool()
def markup() -> str:
    """Output with Rich markup and terminal escapes in it."""
    return "[bold red]not bold[/] \x1b]0;pwned\x07 \x1b[2J done"


async def serve_http(portfile: str) -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    app = server.streamable_http_app()
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    web = uvicorn.Server(config)
    port = sock.getsockname()[1]
    serving = asyncio.create_task(web.serve(sockets=[sock]))
    while not web.started:
        await asyncio.sleep(0.02)
    with open(portfile + ".tmp", "w") as handle:
        handle.write(str(port))
    os.replace(portfile + ".tmp", portfile)
    await serving


if __name__ == "__main__":
    if sys.argv[1] == "http":
        asyncio.run(serve_http(sys.argv[2]))
    else:
        server.run("stdio")
