"""The chat core's workspace fixtures, for tests that store attachments in conversations."""

from __future__ import annotations

from tests.chat.conftest import clock, store, workspace  # noqa: F401
