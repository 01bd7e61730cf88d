"""Importing a vision GGUF brings its projector; a projector alone is not a model.

Real files: a copy of the bundled SmolLM2 as the model and a projector written by
:mod:`tests.engines.mmproj` (a real Gemma-3-type ``mmproj`` GGUF).
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from offyai_tui.__main__ import main
from offyai_tui.engines import bundled
from offyai_tui.engines.llamacpp_catalog import scan_models
from offyai_tui.engines.llamacpp_vision import projector_of
from offyai_tui.manage.gguf_import import ImportFailed, import_gguf
from offyai_tui.settings import locations
from tests.engines.mmproj import write_projector


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    """A download folder with a vision model: a GGUF and its projector beside it."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    shutil.copyfile(bundled.smollm2_path(), folder / "seer-Q4_1.gguf")
    write_projector(folder / "mmproj-F16.gguf", bundled.gemma3_path())
    return folder


def models() -> list[str]:
    return sorted(p.name for p in locations.models_dir().iterdir())


def test_the_projector_comes_along_and_gives_the_model_vision(downloads: Path) -> None:
    seen: list[tuple[int, int]] = []
    imported = import_gguf(downloads / "seer-Q4_1.gguf", progress=lambda *a: seen.append(a))
    assert models() == ["mmproj-F16.gguf", "seer-Q4_1.gguf"]
    copy = locations.models_dir() / "mmproj-F16.gguf"
    assert copy.read_bytes() == (downloads / "mmproj-F16.gguf").read_bytes()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    total = sum(p.stat().st_size for p in downloads.iterdir())
    assert seen[-1] == (total, total)
    assert imported.summary().endswith("; with its projector mmproj-F16.gguf (vision)")
    (entry,) = [e for e in scan_models() if e.name == "seer-Q4_1"]
    assert "vision" in entry.model_info().capabilities
    assert "mmproj-F16" not in {e.name for e in scan_models()}


def test_a_projector_is_not_importable_as_a_model(downloads: Path, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match=r"^mmproj-F16\.gguf is a multimodal projector, not"):
        import_gguf(downloads / "mmproj-F16.gguf")
    renamed = tmp_path / "vision-tower.gguf"  # the header says so whatever the name
    shutil.copyfile(downloads / "mmproj-F16.gguf", renamed)
    with pytest.raises(ImportFailed, match="vision-tower.gguf is a multimodal projector"):
        import_gguf(renamed)
    assert not locations.models_dir().exists() or models() == []


def test_the_same_projector_is_shared_and_another_of_that_name_is_renamed(
    downloads: Path, tmp_path: Path
) -> None:
    import_gguf(downloads / "seer-Q4_1.gguf")
    shutil.copyfile(downloads / "seer-Q4_1.gguf", downloads / "seer-Q8_0.gguf")
    second = import_gguf(downloads / "seer-Q8_0.gguf")
    assert "its projector mmproj-F16.gguf was already there and is shared" in second.summary()
    assert models() == ["mmproj-F16.gguf", "seer-Q4_1.gguf", "seer-Q8_0.gguf"]

    other = tmp_path / "other"  # another model's projector under the same generic name
    other.mkdir()
    shutil.copyfile(bundled.smollm2_path(), other / "llava-7b.gguf")
    write_projector(other / "mmproj-F16.gguf", bundled.gemma3_path(), seed=1)
    third = import_gguf(other / "llava-7b.gguf")
    assert "with its projector llava-7b.mmproj.gguf (vision)" in third.summary()
    folder = locations.models_dir()
    assert projector_of(folder / "llava-7b.gguf") == folder / "llava-7b.mmproj.gguf"
    assert projector_of(folder / "seer-Q8_0.gguf") == folder / "mmproj-F16.gguf"
    assert (folder / "llava-7b.mmproj.gguf").read_bytes() == (
        other / "mmproj-F16.gguf"
    ).read_bytes()


def test_a_failed_model_copy_leaves_no_projector(downloads: Path) -> None:
    def stop(done: int, total: int) -> None:
        if done > (downloads / "mmproj-F16.gguf").stat().st_size:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_gguf(downloads / "seer-Q4_1.gguf", progress=stop)
    assert models() == []


def test_on_a_tie_a_projector_named_for_another_model_is_passed_over(tmp_path: Path) -> None:
    for name in ("seer.gguf", "llava-7b.gguf", "llava-7b.mmproj.gguf", "mmproj-F16.gguf"):
        shutil.copyfile(bundled.smollm2_path(), tmp_path / name)  # names are what count
    assert projector_of(tmp_path / "seer.gguf") == tmp_path / "mmproj-F16.gguf"
    assert projector_of(tmp_path / "llava-7b.gguf") == tmp_path / "llava-7b.mmproj.gguf"


def test_doctor_and_models_json_name_the_projector(
    downloads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_gguf(downloads / "seer-Q4_1.gguf")
    main(["--engine", "llamacpp", "--model", "seer-Q4_1", "doctor"])
    out = capsys.readouterr().out.splitlines()
    assert "model      seer-Q4_1 (vision through its projector mmproj-F16.gguf)" in out
    main(["--engine", "llamacpp", "--model", "smollm2-135m-instruct", "doctor"])
    out = capsys.readouterr().out.splitlines()
    no = "no vision: no projector (mmproj*.gguf) beside its file"
    assert f"model      smollm2-135m-instruct ({no})" in out

    main(["--engine", "llamacpp", "--model", "seer-Q4_1", "doctor", "--json"])
    doctor = json.loads(capsys.readouterr().out)
    assert doctor["model"] == "seer-Q4_1"
    assert doctor["model_vision"] == "vision through its projector mmproj-F16.gguf"

    assert main(["--engine", "llamacpp", "models", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)["models"]}
    assert rows["seer-Q4_1"]["projector"] == str(locations.models_dir() / "mmproj-F16.gguf")
    assert rows["smollm2-135m-instruct"]["projector"] is None


def test_a_projector_that_cannot_be_placed_or_read_is_left_and_said(
    downloads: Path, tmp_path: Path
) -> None:
    folder = locations.models_dir()
    folder.mkdir(parents=True)
    shutil.copyfile(bundled.smollm2_path(), folder / "seer.gguf")  # seer's own projector
    write_projector(folder / "mmproj-F16.gguf", bundled.gemma3_path(), seed=2)
    imported = import_gguf(downloads / "seer-Q4_1.gguf")  # its own would be seer's too
    assert imported.summary().endswith(
        f"; its projector mmproj-F16.gguf was not brought: in {folder} it would be mixed up "
        "with another model's (copy it there under a name that starts like the model's)"
    )
    assert models() == ["mmproj-F16.gguf", "seer-Q4_1.gguf", "seer.gguf"]

    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copyfile(bundled.smollm2_path(), broken / "owl.gguf")
    good = (downloads / "mmproj-F16.gguf").read_bytes()
    (broken / "owl.mmproj.gguf").write_bytes(good[: len(good) // 2])
    summary = import_gguf(broken / "owl.gguf").summary()
    assert "; its projector is not usable: owl.mmproj.gguf is truncated: " in summary
    assert "owl.mmproj.gguf" not in models()


def test_a_projector_not_named_as_one_is_listed_with_an_error(downloads: Path) -> None:
    folder = locations.models_dir()
    folder.mkdir(parents=True)
    shutil.copyfile(downloads / "mmproj-F16.gguf", folder / "vision-tower.gguf")
    (entry,) = [e for e in scan_models() if e.name == "vision-tower"]
    assert entry.error == (
        "vision-tower.gguf is a multimodal projector, not a model: give it a name with "
        "mmproj in it (e.g. MODEL.mmproj.gguf) so the model beside it uses it"
    )
    assert entry.capabilities == ()
