"""Headless engines: one async interface over Ollama, llama.cpp and OpenAI-compatible servers.

Nothing in this package imports Textual; the CLI, the tests and the UI all drive
engines through :class:`offyai_tui.engines.base.Engine`.
"""
