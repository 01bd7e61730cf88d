"""The ToolBox's contract with the turn runner: what is offered, asked, run or denied."""

from __future__ import annotations

from pathlib import Path

import pytest

from offyai_tui.engines.openai_compat import OpenAICompatEngine
from offyai_tui.engines.parts import ToolCall
from offyai_tui.settings.config import OpenAIEndpoint, Settings, parse_settings
from offyai_tui.settings.privacy import Consent, destination
from offyai_tui.settings.workspace import Workspace
from offyai_tui.tools import ConversationGrants, ToolBox, denial, mcp_name
from tests.tools.test_files import allow_folders


async def test_builtins_are_offered_with_safe_default_policies() -> None:
    async with ToolBox(Settings(), Workspace.open("box")) as box:
        specs = await box.specs()
        assert [s.name for s in specs] == ["calculator", "datetime", "read_file",
                                           "search_documents"]
        assert all(s.as_function()["function"]["parameters"]["type"] == "object" for s in specs)
        policies = {name: box.policy(name) for name in (s.name for s in specs)}
    assert policies == {"calculator": "allow", "datetime": "allow", "read_file": "ask",
                        "search_documents": "ask"}


async def test_decisions_follow_policy_then_the_conversation_grants() -> None:
    settings = parse_settings('[tools.policy]\ndatetime = "deny"\n')
    async with ToolBox(settings, Workspace.open("box")) as box:
        read = ToolCall("c1", "read_file", {"path": "x"})
        assert box.decide(read) == "ask"
        grants = ConversationGrants().allow("read_file")
        assert box.decide(read, grants) == "run"
        assert box.decide(read, ConversationGrants()) == "ask"  # grants are values
        assert box.decide(ToolCall("c2", "calculator", {"expression": "1"})) == "run"
        assert box.decide(ToolCall("c3", "datetime", {}), grants.allow("datetime")) == "deny"
        assert "datetime" not in [s.name for s in await box.specs()]
        denied = await box.call(ToolCall("c3", "datetime", {}))  # the toolbox refuses too
        assert denied.is_error and "denied" in denied.text
        # A name that is no tool runs nothing: the model is told what there is.
        assert box.decide(ToolCall("c4", "rm_rf", {})) == "run"
        unknown = await box.call(ToolCall("c4", "rm_rf", {}))
        assert unknown.is_error and "no tool named 'rm_rf'" in unknown.text


async def test_a_server_tool_asked_about_before_the_listing_is_never_run_unasked() -> None:
    box = ToolBox(Settings(), Workspace.open("box"))
    assert box.decide(ToolCall("c1", "time__get_current_time", {})) == "ask"
    await box.specs()
    assert box.decide(ToolCall("c1", "time__get_current_time", {})) == "run"  # no such tool
    await box.aclose()


def test_grants_survive_a_transcript_round_trip() -> None:
    grants = ConversationGrants().allow("time__get_current_time").allow("read_file")
    assert ConversationGrants.from_list(grants.to_list()) == grants
    assert ConversationGrants.from_list("garbage") == ConversationGrants()


def test_a_denial_tells_the_model_it_did_not_run() -> None:
    result = denial(ToolCall("c1", "read_file", {"path": "a"}), "not now")
    assert result.is_error
    assert result.for_model() == ("Error: The user denied running the tool read_file (not now). "
                                  "It did not run. Do not call it again for this request; "
                                  "answer without it, or ask the user how to proceed.")
    assert ToolBox.deny(ToolCall("c1", "x", {})).text.startswith("The user denied")


async def test_arguments_that_are_not_an_object_come_back_to_the_model() -> None:
    async with ToolBox(Settings(), Workspace.open("box")) as box:
        result = await box.call(ToolCall("c1", "calculator", {}, raw_arguments="1+1"))
    assert result.is_error and "not a JSON object ('1+1')" in result.text


async def test_a_remote_model_gets_no_file_contents_without_the_workspace_consent(
    tmp_path: Path,
) -> None:
    (tmp_path / "plan.md").write_text("ship in March\n")
    workspace = Workspace.open("box")
    allow_folders(workspace, tmp_path)
    settings = Settings()
    remote = OpenAICompatEngine(OpenAIEndpoint(name="cloud", url="https://api.example.com/v1"),
                                settings)
    call = ToolCall("c1", "read_file", {"path": "plan.md"})
    async with ToolBox(settings, workspace, chat_engine=remote) as box:
        refused = await box.call(call)
        assert refused.is_error and "documents not sent" in refused.text
        assert "ship in March" not in refused.text
        assert (await box.call(ToolCall("c2", "calculator", {"expression": "2*3"}))).text \
            == "2*3 = 6"
    async with ToolBox(settings, workspace, chat_engine=remote,
                       remote_docs_this_run=True) as box:
        assert "ship in March" in (await box.call(call)).text
    Consent(workspace).grant(destination(remote))
    async with ToolBox(settings, workspace, chat_engine=remote) as box:
        assert "ship in March" in (await box.call(call)).text


@pytest.mark.parametrize(
    ("server", "tool", "name"),
    [("time", "get_current_time", "time__get_current_time"),
     ("my-fs", "read.file v2", "my-fs__read_file_v2"),
     ("s", "x" * 100, "s__" + "x" * 61)],
)
def test_mcp_names_are_valid_function_names(server: str, tool: str, name: str) -> None:
    assert mcp_name(server, tool) == name
