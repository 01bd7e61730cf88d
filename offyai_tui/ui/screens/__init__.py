"""Textual screens: the chat, Models, Documents screens and their dialogs."""
