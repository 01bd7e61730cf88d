"""Fixtures for the chat core: a real workspace in the per-test OFFYAI_HOME."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from offyai_tui.chat import ConversationStore
from offyai_tui.settings.workspace import Workspace


class FakeClock:
    """A monotonic clock the test advances by hand (drives checkpoints)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def workspace() -> Workspace:
    return Workspace.open("default").ensure()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(workspace: Workspace, clock: FakeClock) -> Iterator[ConversationStore]:
    with ConversationStore.open(workspace, clock=clock) as opened:
        yield opened
