"""The pieces of the command line beyond argument parsing: tables, guards, hardware advice.

``offyai_tui.cli`` parses and dispatches; what a command prints and how it stops
lives here so that each stays small and testable without a terminal.
"""

from __future__ import annotations


class UserError(Exception):
    """A failure to report as one line on stderr with exit code 1."""
