"""Textual widgets used by the screens."""
