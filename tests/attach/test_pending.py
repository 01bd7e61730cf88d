"""The chips waiting under the prompt: numbered, removable, counted, sent once each."""

from __future__ import annotations

from pathlib import Path

import pytest

from offyai_tui.attach import Pending, carries_images, prepare
from offyai_tui.engines.base import Message
from tests.attach.pictures import picture


@pytest.fixture
def items(tmp_path: Path) -> list:
    (tmp_path / "a.png").write_bytes(picture(30, 20))
    (tmp_path / "b.txt").write_text("bravo " * 50)
    (tmp_path / "c.txt").write_text("charlie\n")
    return [prepare(tmp_path / "ws", tmp_path / n) for n in ("a.png", "b.txt", "c.txt")]


def test_chips_renumber_when_one_is_removed(items: list) -> None:
    pending = Pending()
    assert all(pending.add(item) for item in items)
    assert [c.split(":")[0] for c in pending.chips()] == ["[image 1", "[file 2", "[file 3"]
    removed = pending.remove(2)
    assert removed.name == "b.txt"
    assert pending.chips()[1].startswith("[file 2: c.txt ")
    with pytest.raises(ValueError, match=r"^no attachment 3; attachments are 1-2$"):
        pending.remove(3)


def test_the_same_content_is_pending_once(items: list, tmp_path: Path) -> None:
    pending = Pending()
    pending.add(items[0])
    (tmp_path / "copy.png").write_bytes(picture(30, 20))
    assert not pending.add(prepare(tmp_path / "ws", tmp_path / "copy.png"))
    assert len(pending) == 1


def test_taking_splits_for_the_message_and_empties(items: list) -> None:
    pending = Pending()
    for item in items:
        pending.add(item)
    assert pending.has_images
    assert pending.file_tokens() == items[1].tokens + items[2].tokens
    assert pending.budget_left(items[1].tokens) == 0
    images, files = pending.take()
    assert (images, files) == ([items[0]], items[1:])
    assert len(pending) == 0 and not pending.has_images
    with pytest.raises(ValueError, match=r"^no attachment 1; nothing is attached$"):
        pending.remove(1)


def test_chips_put_back_go_before_the_ones_added_since_and_stay_once(items: list) -> None:
    pending = Pending()
    pending.add(items[2])  # attached for the next prompt while the first one waited
    pending.put_back([items[0], items[1], items[2]])  # the first prompt's, not sent
    assert [a.name for a in pending] == ["a.png", "b.txt", "c.txt"]


def test_earlier_images_still_need_vision(items: list, tmp_path: Path) -> None:
    ref = items[0].ref(tmp_path / "ws")
    history = [Message("user", "what is it?", images=(ref,)), Message("assistant", "a chart"),
               Message("user", "and now?")]  # fmt: skip
    assert carries_images(history)
    assert not carries_images(history[1:])
