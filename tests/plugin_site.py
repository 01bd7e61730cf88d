"""Engine plugins installed outside the tree, as pip would leave them, for tests.

:func:`install` writes, into one folder meant for ``sys.path`` / ``PYTHONPATH``:

- the complete plugin of ``docs/plugins.md`` (``offyai-completions``), built from
  the page's two file blocks: its module, and a ``*.dist-info`` whose
  ``entry_points.txt`` comes from the page's ``pyproject.toml``, so the page
  cannot drift from what works;
- ``offyai-broken``: one entry point whose module does not exist, one whose
  factory raises with escapes and a line break in its message, and one whose
  engine raises ``KeyError`` instead of answering.

A folder with a ``*.dist-info`` holding ``METADATA`` and ``entry_points.txt`` is a
real installation to :mod:`importlib.metadata`.
"""

from __future__ import annotations

import re
from pathlib import Path

from offyai_tui.settings.config import tomllib

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
FILE_BLOCK = re.compile(r"<!-- file: (\S+) -->\n```\w+\n(.*?)```", re.DOTALL)
BROKEN = '''
from offyai_tui.engines import Engine, Health, ModelInfo


def make(config):
    raise ValueError("no key \\x1b]0;pwned\\x07 in\\nthe table: " + repr(config))


class Stumbling(Engine):
    kind = "broken-stream"

    def __init__(self, config):
        self.config = config

    async def health(self):
        return Health(True, self.kind)

    async def list_models(self):
        return [ModelInfo("stumble", self.kind)]

    async def stream_chat(self, messages, options):
        if False:
            yield
        raise KeyError("lost my \\x1b[2J place")
'''


def dist_info(site: Path, name: str, version: str, entry_points: dict[str, str]) -> None:
    """The metadata pip writes for an installed package that registers engines."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = ["[offyai.engines]", *(f"{k} = {v}" for k, v in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def install(folder: Path) -> Path:
    """Both packages in ``folder`` (created); returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    files = dict(FILE_BLOCK.findall(DOC.read_text(encoding="utf-8")))
    assert set(files) == {"pyproject.toml", "offyai_completions.py"}, set(files)
    project = tomllib.loads(files["pyproject.toml"])["project"]
    (folder / "offyai_completions.py").write_text(files["offyai_completions.py"], "utf-8")
    dist_info(folder, project["name"], project["version"],
              project["entry-points"]["offyai.engines"])  # fmt: skip
    (folder / "offyai_broken.py").write_text(BROKEN, encoding="utf-8")
    dist_info(folder, "offyai-broken", "0.1", {
        "broken-import": "offyai_missing_module:Engine",
        "broken-init": "offyai_broken:make",
        "broken-stream": "offyai_broken:Stumbling",
    })  # fmt: skip
    return folder
