"""``offyai ask --image/--file`` through the real binary against the Ollama-protocol
stand-in on loopback (which records what it was sent) and the embedded engine.

A file goes into the prompt as a fenced block headed by its name; an image reaches
a vision model as its own bytes in base64; a model without vision, a file over the
window, or something that is not an image is one line on stderr and nothing is sent.
"""

from __future__ import annotations

import base64

import httpx
import pytest
from PIL import Image

from tests.e2e.conftest import run_offyai

pytestmark = pytest.mark.slow


def _chats(server: str) -> list[dict]:
    state = httpx.get(f"{server}/_test/state", timeout=5, trust_env=False).json()
    return [r["body"] for r in state["requests"] if r["path"] == "/api/chat"]


def _ask(app_home, user_home, server: str, *args: str, stdin: str | None = None):
    return run_offyai(["--engine", "ollama", "--model", "smollm2:135m", "ask",
                       "--max-tokens", "8", *args], app_home, user_home,
                      OLLAMA_HOST=server, stdin=stdin, timeout=120)


def test_a_file_goes_into_the_prompt_headed_by_its_name(
    app_home, user_home, ollama_server: str, tmp_path
) -> None:
    notes = tmp_path / "meeting notes.txt"
    notes.write_text("Launch moved to Tuesday.\n", encoding="utf-8")
    before = len(_chats(ollama_server))
    result = _ask(app_home, user_home, ollama_server, "--file", str(notes), "When is launch?")
    assert result.returncode == 0, result.stderr
    sent = _chats(ollama_server)[before:][-1]["messages"][-1]
    assert "meeting notes.txt" in sent["content"] and "Launch moved to Tuesday." in sent["content"]
    assert sent["content"].rstrip().endswith("When is launch?")


def test_stdin_can_be_the_file(app_home, user_home, ollama_server: str) -> None:
    before = len(_chats(ollama_server))
    result = _ask(app_home, user_home, ollama_server, "--file", "-", "Summarize.",
                  stdin="error: disk quota exceeded on /var\n")
    assert result.returncode == 0, result.stderr
    sent = _chats(ollama_server)[before:][-1]["messages"][-1]["content"]
    assert "disk quota exceeded" in sent and sent.count("disk quota exceeded") == 1


def test_an_image_to_a_model_without_vision_is_refused_before_sending(
    app_home, user_home, ollama_server: str, tmp_path
) -> None:
    photo = tmp_path / "chart.png"
    Image.new("RGB", (64, 48), "red").save(photo)
    before = len(_chats(ollama_server))
    result = _ask(app_home, user_home, ollama_server, "--image", str(photo), "What is this?")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "vision" in lines[0] and "Traceback" not in result.stderr
    assert len(_chats(ollama_server)) == before  # nothing was sent


def test_an_image_reaches_a_vision_model_as_its_bytes(
    app_home, user_home, ollama_server: str, tmp_path
) -> None:
    photo = tmp_path / "chart.png"
    Image.new("RGB", (64, 48), "blue").save(photo)
    before = len(_chats(ollama_server))
    result = run_offyai(["--engine", "ollama", "--model", "vision-model", "ask",
                         "--max-tokens", "8", "--image", str(photo), "What is this?"],
                        app_home, user_home, OLLAMA_HOST=ollama_server, timeout=120)
    assert result.returncode == 0, result.stderr
    sent = _chats(ollama_server)[before:][-1]["messages"][-1]
    assert base64.b64decode(sent["images"][0]) == photo.read_bytes()


def test_not_an_image_and_too_big_are_one_line_each(
    app_home, user_home, ollama_server: str, tmp_path
) -> None:
    fake = tmp_path / "photo.png"
    fake.write_text("not a picture", encoding="utf-8")
    huge = tmp_path / "huge.txt"
    huge.write_text("word " * 200_000, encoding="utf-8")
    before = len(_chats(ollama_server))
    for args in (["--image", str(fake)], ["--file", str(huge)]):
        result = _ask(app_home, user_home, ollama_server, *args, "Look.")
        assert result.returncode == 1, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert len(_chats(ollama_server)) == before


def test_an_image_reaches_an_embedded_model_through_its_projector(
    app_home, user_home, tmp_path
) -> None:
    from offyai_tui.engines import bundled
    from offyai_tui.settings import locations
    from offyai_tui.util import fileio
    from tests.engines.mmproj import write_projector

    folder = fileio.ensure_private_dir(locations.models_dir())
    (folder / "gemma-vision.gguf").symlink_to(bundled.gemma3_path())
    write_projector(folder / "gemma-vision.mmproj.gguf", bundled.gemma3_path())
    photo = tmp_path / "chart.png"
    Image.new("RGB", (64, 48), "green").save(photo)
    result = run_offyai(["--engine", "llamacpp", "--model", "gemma-vision", "ask",
                         "--max-tokens", "8", "--image", str(photo), "What is this?"],
                        app_home, user_home, timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
