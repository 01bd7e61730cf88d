"""Engine plugins in-process: discovery, names, config tables, failures as one line.

The end-to-end proof (a package outside the tree answering through the real
``offyai`` binary) is ``tests/e2e/test_engine_plugins.py``; these pin the rules
behind it with real registrations (a ``*.dist-info`` on ``sys.path``).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import offyai_tui.engines as api
from offyai_tui.engines import plugins
from offyai_tui.engines.errors import EngineError
from offyai_tui.engines.plugins import PluginError
from offyai_tui.engines.registry import EngineRegistry
from offyai_tui.settings.config import OpenAIEndpoint, Settings, parse_settings, tomllib

ROOT = Path(__file__).resolve().parents[2]
MODULE = '''
from offyai_tui.engines import Engine, Health, ModelInfo, TextDelta

closed = []


class Table(Engine):
    kind = "table"

    def __init__(self, config):
        self.config = config

    async def health(self):
        return Health(True, self.kind)

    async def list_models(self):
        return [ModelInfo(str(self.config.get("model", "none")), self.kind)]

    async def stream_chat(self, messages, options):
        try:
            yield TextDelta("one")
            if options.model == "fail":
                {}["missing"]
            yield TextDelta("two")
        finally:
            closed.append(options.model)


def not_an_engine(config):
    return object()
'''


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A package registering ``table``, one taking the name ``ollama``, one giving no Engine."""
    (tmp_path / "offyai_table.py").write_text(MODULE, encoding="utf-8")
    info = tmp_path / "offyai_table-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: offyai-table\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[offyai.engines]\ntable = offyai_table:Table\nollama = offyai_table:Table\n"
        "odd = offyai_table:not_an_engine\nbad:name = offyai_table:Table\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins.forget()
    yield tmp_path
    plugins.forget()
    sys.modules.pop("offyai_table", None)


def test_pyproject_registers_the_builtins_the_registry_resolves() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["offyai.engines"] == plugins.BUILTINS
    installed = {e.name: e.value for e in entry_points(group=plugins.GROUP)}
    assert {k: installed.get(k) for k in plugins.BUILTINS} == plugins.BUILTINS


def test_the_plugin_api_is_importable_from_the_package() -> None:
    wanted = {"Engine", "Message", "ChatOptions", "TextDelta", "ThinkingDelta", "Done",
              "ErrorEvent", "ChatStats", "Health", "ModelInfo", "ImageRef", "ToolCall",
              "ToolSpec", "ToolCallEvent", "Unsupported"}  # fmt: skip
    assert wanted <= set(api.__all__)
    assert all(getattr(api, name) is not None for name in api.__all__)


def test_starting_on_a_builtin_engine_reads_no_entry_points() -> None:
    """Cold start: built-in names never scan the installed distributions."""
    code = (
        "import sys\n"
        "from offyai_tui.settings.config import Settings\n"
        "from offyai_tui.engines import plugins\n"
        "from offyai_tui.engines.registry import EngineRegistry\n"
        "r = EngineRegistry(Settings())\n"
        "r.engine('ollama'); r.engine('openai'); r.engine('llama.cpp')\n"
        "print(plugins._found is None)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    assert done.stdout.strip() == "True", done.stderr


async def test_a_plugin_gets_its_table_as_a_copy_and_bad_registrations_are_one_line(
    site: Path,
) -> None:
    settings = parse_settings('[engine]\ndefault = "table"\n[engines.table]\nmodel = "m1"\n')
    assert settings.warnings == [] and settings.engine.default == "table"
    registry = EngineRegistry(settings)
    try:
        engine = registry.engine("table")
        assert [m.name for m in await engine.list_models()] == ["m1"]
        engine.config["model"] = "changed"  # type: ignore[attr-defined]
        assert settings.engines["table"]["model"] == "m1"
        assert (await registry.detect()).engine is engine  # engine.default names it
        assert registry.engine("ollama").kind == "ollama"  # the built-in, not the impostor
        with pytest.raises(PluginError, match=r"^engine plugin 'odd' \(offyai-table 1\.0\) "
                           r"gave a object, not an offyai_tui.engines.Engine$"):  # fmt: skip
            registry.engine("odd")
        assert plugins.problems() == [
            "engine plugin 'bad:name' (offyai-table 1.0) has a name that cannot be typed after "
            "--engine (letters, digits, '.', '_', '-'); ignored",
            "engine plugin 'ollama' (offyai-table 1.0) uses a built-in engine's name; ignored",
        ]
        names = [e.kind for e in registry.configured()]
        assert names[-1] == "table" and "odd" not in names
        assert registry.skipped[-1].startswith("engine plugin 'odd' (offyai-table 1.0) gave a")
    finally:
        await registry.aclose()


def test_a_table_for_a_builtin_engine_says_where_its_settings_go() -> None:
    settings = parse_settings('[engines.ollama]\nhost = "x"\n[engines.other]\nkey = 1\n')
    assert settings.warnings == [
        "config: [engines.ollama] is for engine plugins; the built-in ollama engine reads "
        "[ollama]; ignored"
    ]
    assert settings.engines == {"other": {"key": 1}}
    assert Settings().engines == {}


def test_an_unknown_engine_names_the_choices() -> None:
    plugins.forget()
    with pytest.raises(EngineError, match=r"unknown engine 'cloud'; choose one of: ollama, "
                       r"openai\[:NAME\], llamacpp$"):  # fmt: skip
        EngineRegistry(Settings()).engine("cloud")


async def test_every_model_names_an_engine_the_registry_finds() -> None:
    """The palette switches engines by ``ModelInfo.engine``: an endpoint's name included."""
    settings = Settings()
    settings.openai = [OpenAIEndpoint(name="studio", url="http://127.0.0.1:1234/v1")]
    registry = EngineRegistry(settings)
    try:
        engine = registry.engine("studio")
        assert engine is registry.engine("openai:studio") and engine.label == "studio"
    finally:
        await registry.aclose()


async def test_a_plugin_that_raises_mid_answer_is_one_error_event_and_esc_closes_it(
    site: Path,
) -> None:
    from offyai_tui.engines import ChatOptions, ErrorEvent, Message, TextDelta

    registry = EngineRegistry(Settings())
    try:
        engine = registry.engine("table")
        prompt = [Message("user", "hi")]
        events = [e async for e in engine.stream_chat(prompt, ChatOptions(model="fail"))]
        assert events[0] == TextDelta("one") and len(events) == 2
        error = events[1]
        assert isinstance(error, ErrorEvent) and error.partial_text == "one"
        assert str(error.error) == ("engine plugin 'table' (offyai-table 1.0) failed while "
                                    "answering: KeyError: 'missing'")  # fmt: skip
        stream = engine.stream_chat(prompt, ChatOptions(model="esc"))
        assert await stream.__anext__() == TextDelta("one")
        await stream.aclose()  # type: ignore[attr-defined]
        assert sys.modules["offyai_table"].closed == ["fail", "esc"]  # at once, not when collected
    finally:
        await registry.aclose()
