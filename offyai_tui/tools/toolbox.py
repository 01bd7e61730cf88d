"""The tools one conversation may use: what the turn runner offers, asks about and runs.

The runner's loop, per tool call the model makes::

    decision = toolbox.decide(call, grants)       # "run", "ask" or "deny"
    if decision == "ask":                          # the user sees toolbox.describe(call)
        ...                                        # once / this conversation / deny
    result = await toolbox.call(call) if allowed else toolbox.deny(call)
    messages.append(Message.tool_result(call, result.for_model()))

:meth:`ToolBox.call` never raises for a tool's failure and checks the policy
again itself, so a denied tool cannot run whatever the caller does. Nothing
starts before it is needed: MCP servers start on the first :meth:`specs` or
:meth:`call`, and :meth:`aclose` (or leaving ``async with``) stops them.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from offyai_tui.engines.parts import ToolCall, ToolSpec
from offyai_tui.settings.config_tools import DEFAULT_POLICIES, MCP_DEFAULT_POLICY
from offyai_tui.tools.base import BuiltinTool, Decision, Policy, ToolInfo, ToolResult, cut, denial
from offyai_tui.tools.base import error as error_result
from offyai_tui.tools.mcp_client import McpServer, McpUnavailable, one_line
from offyai_tui.tools.mcp_config import configured_servers, enabled_builtins

if TYPE_CHECKING:
    from offyai_tui.engines.base import Engine
    from offyai_tui.settings.config import Settings
    from offyai_tui.settings.workspace import Workspace

BUILTIN = "built-in"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")
MAX_NAME = 64
"""OpenAI-compatible servers refuse longer function names."""


@dataclass(frozen=True)
class ConversationGrants:
    """Tools the user allowed for the rest of one conversation ("allow for this chat").

    A value: :meth:`allow` returns a new one, so a conversation can keep it in
    its state and store it (:meth:`to_list`) without sharing it by accident.
    """

    names: frozenset[str] = field(default_factory=frozenset)

    def allow(self, name: str) -> ConversationGrants:
        return ConversationGrants(self.names | {name})

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def to_list(self) -> list[str]:
        return sorted(self.names)

    @classmethod
    def from_list(cls, names: Any) -> ConversationGrants:
        if not isinstance(names, list):
            return cls()
        return cls(frozenset(n for n in names if isinstance(n, str)))


@dataclass
class _McpTool:
    server: McpServer
    tool: str
    description: str
    schema: dict[str, Any]


class ToolBox:
    """Built-in tools and MCP servers of one workspace, as :mod:`offyai_tui.tools` describes.

    Args:
        settings: ``[tools]`` and ``[mcp]`` (checked by the config).
        workspace: Whose documents ``read_file`` and ``search_documents`` read.
        chat_engine: Where tool results go. A remote one gets results that hold the
            workspace's files only with the workspace's consent
            (:func:`offyai_tui.settings.privacy.check`); others get a one-line refusal.
        embedding_engine: The engine that embeds queries for ``search_documents``
            (``None``: keyword search only, with a note).
        remote_docs_this_run: ``--allow-remote-docs`` was given.
    """

    def __init__(
        self,
        settings: Settings,
        workspace: Workspace,
        *,
        chat_engine: Engine | None = None,
        embedding_engine: Engine | None = None,
        remote_docs_this_run: bool = False,
    ) -> None:
        self.settings = settings
        self.workspace = workspace
        self.chat_engine = chat_engine
        self.remote_docs_this_run = remote_docs_this_run
        self.notes: list[str] = []
        """One line per server that could not be used and per config problem."""
        self._embedding_engine = embedding_engine
        self._builtins: dict[str, BuiltinTool] | None = None
        self._search: Any = None
        self._servers: dict[str, McpServer] | None = None
        self._failed: dict[str, str] = {}
        self._mcp: dict[str, _McpTool] = {}
        self._listed = False
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> ToolBox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- what there is ---------------------------------------------------------------

    def _builtin_tools(self) -> dict[str, BuiltinTool]:
        if self._builtins is None:
            from offyai_tui.tools import calculator, clock, files
            from offyai_tui.tools.documents import DocumentSearch

            made: dict[str, BuiltinTool] = {}
            for name in enabled_builtins(self.settings, self.workspace.name):
                if name == "calculator":
                    made[name] = calculator.TOOL
                elif name == "datetime":
                    made[name] = clock.TOOL
                elif name == "read_file":
                    made[name] = files.make_tool(self.workspace,
                                                 self.settings.tools.max_output_chars)
                elif name == "search_documents":
                    self._search = DocumentSearch(
                        self.workspace, self._embedding_engine, self.settings,
                        remote_this_run=self.remote_docs_this_run,
                    )  # fmt: skip
                    made[name] = self._search.tool()
            self._builtins = made
        return self._builtins

    def _server_table(self) -> dict[str, McpServer]:
        if self._servers is None:
            configs, notes = configured_servers(self.settings, self.workspace.name)
            self.notes.extend(notes)
            timeout = self.settings.tools.start_timeout
            self._servers = {c.name: McpServer(c, timeout) for c in configs}
        return self._servers

    async def _list(self) -> None:
        """Start every server not yet listed (together) and name their tools."""
        async with self._lock:
            if self._listed:
                return
            servers = self._server_table()
            waiting = [s for s in servers.values() if s.name not in self._failed]
            listings = await asyncio.gather(*(s.tools() for s in waiting), return_exceptions=True)
            taken = set(self._builtin_tools())
            self._mcp = {}
            for server, listing in zip(waiting, listings):
                if isinstance(listing, BaseException):
                    why = str(listing) if isinstance(listing, McpUnavailable) else (
                        f"MCP server {server.name!r}: {one_line(listing)}")
                    self._failed[server.name] = why
                    self.notes.append(why)
                    continue
                for tool in listing:
                    name = _unique(mcp_name(server.name, tool.name), taken)
                    taken.add(name)
                    schema = tool.input_schema or {"type": "object", "properties": {}}
                    self._mcp[name] = _McpTool(server, tool.name, tool.description or "",
                                               dict(schema))
            self._listed = True

    async def refresh(self) -> None:
        """Forget failed servers and list every server again (after the user fixed one)."""
        async with self._lock:
            self._failed.clear()
            self._listed = False
        await self._list()

    async def specs(self) -> tuple[ToolSpec, ...]:
        """The tools to offer the model: enabled, and not denied by policy."""
        await self._list()
        specs = [t.spec for name, t in self._builtin_tools().items() if self.policy(name) != "deny"]
        for name, tool in self._mcp.items():
            if self.policy(name) != "deny":
                specs.append(ToolSpec(name, tool.description, tool.schema))
        return tuple(specs)

    async def infos(self) -> list[ToolInfo]:
        """Every tool, denied ones included, for ``offyai tools`` and settings screens."""
        await self._list()
        names = [*self._builtin_tools(), *self._mcp]
        return [self.describe(ToolCall("", name)) for name in names]

    def failures(self) -> dict[str, str]:
        """Server name -> the one line why it cannot be used (after :meth:`specs`)."""
        return dict(self._failed)

    def describe(self, call: ToolCall) -> ToolInfo:
        """What the approval dialog shows about ``call``'s tool."""
        builtin = self._builtin_tools().get(call.name)
        if builtin is not None:
            return ToolInfo(call.name, BUILTIN, builtin.spec.description, self.policy(call.name),
                            call.name)
        tool = self._mcp.get(call.name)
        if tool is not None:
            return ToolInfo(call.name, tool.server.name, tool.description, self.policy(call.name),
                            tool.tool)
        return ToolInfo(call.name, "", "not a tool OffyAI offered", self.policy(call.name))

    def policy(self, name: str) -> Policy:
        """``[tools.policy]`` for the tool, else for its MCP server, else the default."""
        configured = self.settings.tools.policy
        if name in configured:
            return configured[name]  # type: ignore[return-value]
        tool = self._mcp.get(name)
        if tool is not None:
            found = configured.get(tool.server.name, MCP_DEFAULT_POLICY)
            return found  # type: ignore[return-value]
        return DEFAULT_POLICIES.get(name, MCP_DEFAULT_POLICY)  # type: ignore[return-value]

    def decide(self, call: ToolCall, grants: ConversationGrants | None = None) -> Decision:
        """``run`` (allowed, or granted for this conversation), ``ask`` or ``deny``.

        A name that is no tool is ``run``: :meth:`call` then tells the model so,
        and nothing runs. Before the servers were listed (:meth:`specs`), a name
        that is not a built-in may still be an MCP tool, so it is ``ask``.
        """
        if not self.known(call.name):
            return "run" if self._listed else "ask"
        policy = self.policy(call.name)
        if policy == "deny":
            return "deny"
        if policy == "allow" or (grants is not None and call.name in grants):
            return "run"
        return "ask"

    def known(self, name: str) -> bool:
        return name in self._builtin_tools() or name in self._mcp

    @staticmethod
    def deny(call: ToolCall, reason: str = "") -> ToolResult:
        """The result to hand the model for a call the user denied."""
        return denial(call, reason)

    # -- running ---------------------------------------------------------------------

    async def call(self, call: ToolCall) -> ToolResult:
        """Run ``call``: its result, or an error result saying why not (never raises)."""
        try:
            result = await self._call(call)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a tool's bug is the model's error line, not a crash
            result = error_result(f"{call.name} failed: {one_line(exc)}")
        return ToolResult(cut(result.text, self.settings.tools.max_output_chars),
                          result.is_error, result.sources)

    async def _call(self, call: ToolCall) -> ToolResult:
        if call.raw_arguments and not call.arguments:
            return error_result(f"the arguments for {call.name} were not a JSON object "
                                f"({call.raw_arguments[:200]!r}); send an object such as "
                                '{"name": "value"}')
        await self._list()
        if not self.known(call.name):
            offered = ", ".join([*self._builtin_tools(), *self._mcp]) or "none"
            return error_result(f"there is no tool named {call.name!r}; the tools are: {offered}")
        if self.policy(call.name) == "deny":
            return denial(call, "the tool's policy is deny")
        timeout = self.settings.tools.timeout
        builtin = self._builtin_tools().get(call.name)
        if builtin is None:
            tool = self._mcp[call.name]
            return await tool.server.call(tool.tool, dict(call.arguments), timeout)
        if builtin.reads_workspace:
            from offyai_tui.settings import privacy

            if why := privacy.check(self.chat_engine, self.workspace,
                                    this_run=self.remote_docs_this_run):
                return error_result(f"{why}; {call.name} did not run")
        try:
            return await asyncio.wait_for(builtin.run(dict(call.arguments)), timeout)
        except asyncio.TimeoutError:
            return error_result(f"{call.name} took longer than {timeout:g} s and was given up")

    async def aclose(self) -> None:
        """Stop every MCP server this toolbox started and close the documents index."""
        servers = list((self._servers or {}).values())
        await asyncio.gather(*(s.aclose() for s in servers), return_exceptions=True)
        if self._search is not None:
            self._search.close()
        self._listed = False
        self._mcp = {}


def mcp_name(server: str, tool: str) -> str:
    """``server__tool``, as a function name every engine accepts."""
    return _UNSAFE_NAME.sub("_", f"{server}__{tool}")[:MAX_NAME]


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    for n in range(2, 1000):
        candidate = f"{name[:MAX_NAME - 4]}_{n}"
        if candidate not in taken:
            return candidate
    return name
