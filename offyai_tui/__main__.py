"""Command line: ``offyai`` opens the TUI; subcommands work headless.

Every failure a user can cause (engine down, unknown model, bad config, bad
workspace name) ends as one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import gc
import sys
from types import SimpleNamespace
from typing import TYPE_CHECKING, NoReturn

from offyai_tui import __version__

if TYPE_CHECKING:
    import argparse

COMMANDS = (
    "ask", "models", "fit", "pull", "rm", "index", "doctor", "tools", "transcribe", "say",
    "locate", "setup",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    import argparse

    class Parser(argparse.ArgumentParser):
        """Usage errors quote the arguments, which may be file names a shell glob
        expanded (``offyai index *`` with a file named ``--x ESC]0;…``): shown inertly."""

        def error(self, message: str) -> NoReturn:
            from offyai_tui.util.textsafe import visible

            super().error(visible(message))

    parser = Parser(
        prog="offyai", description="Private AI in the terminal: local models, nothing leaves."
    )
    parser.add_argument("--version", action="version", version=f"offyai {__version__}")
    parser.add_argument("-w", "--workspace", default="default", help="workspace name")
    parser.add_argument(
        "--engine", help="ollama, openai[:NAME], llamacpp or a plugin's name (default: detect)"
    )
    parser.add_argument("--model", help="model name (default: the engine's default)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer a prompt on stdout (stdin is appended when piped)")
    ask.add_argument("prompt", nargs="*", help="the prompt")
    ask.add_argument("--mode", help="system-prompt mode: default, coder, teacher, creative, …")
    ask.add_argument("--system", help="a system prompt (overrides --mode)")
    ask.add_argument("--docs", action="store_true", help="answer from the workspace documents")
    ask.add_argument(
        "--allow-remote-docs", action="store_true", dest="allow_remote_docs",
        help="let a remote engine get the documents, for this run only",
    )  # fmt: skip
    ask.add_argument("--max-tokens", type=int, dest="max_tokens", help="limit the answer length")
    ask.add_argument(
        "--timeout", type=float, metavar="SECONDS",
        help="give up when the engine says nothing this long (default chat.timeout; 0: never)",
    )  # fmt: skip
    ask.add_argument("--temperature", type=float)
    ask.add_argument("--seed", type=int)
    ask.add_argument("--stats", action="store_true", help="print token statistics to stderr")
    ask.add_argument(
        "-c", "--continue", action="store_true", dest="continue_chat",
        help="continue the workspace's latest conversation (a new one if none): the "
             "prompt is a new turn after the branch it shows, sent with that history "
             "(not a cut answer grown in place: Ctrl+G in the app); flags given are "
             "stored in it as /set would",
    )  # fmt: skip
    ask.add_argument(
        "--chat", metavar="ID",
        help="like --continue, for the conversation ID (its transcript's file name)",
    )  # fmt: skip
    ask.add_argument(
        "--think", metavar="WORD",
        help="reasoning: on, off, low, medium, high or default (the model's own)",
    )  # fmt: skip
    ask.add_argument(
        "--hide-thinking", action="store_true", dest="hide_thinking",
        help="do not write the model's reasoning to stderr",
    )  # fmt: skip
    ask.add_argument(
        "--image", action="append", default=[], metavar="PATH",
        help="attach an image for a vision model (repeatable; - reads stdin)",
    )  # fmt: skip
    ask.add_argument(
        "--file", action="append", default=[], metavar="PATH",
        help="put a text file or PDF in the prompt (repeatable; - reads stdin)",
    )  # fmt: skip
    ask.add_argument(
        "--tools", action="store_true",
        help="let the model call the enabled tools (offyai tools lists them); each call asks",
    )  # fmt: skip
    ask.add_argument(
        "--approve-tools", action="store_true", dest="approve_tools",
        help="with --tools: run calls whose policy is ask without asking (never a denied tool)",
    )  # fmt: skip

    models = sub.add_parser("models", help="list models of every reachable engine")
    models.add_argument("--json", action="store_true", help="print JSON for scripts")
    add_fit_parser(sub)
    pull = sub.add_parser("pull", help="download a model through Ollama")
    pull.add_argument("name")
    rm = sub.add_parser("rm", help="delete a model")
    rm.add_argument("name")
    index = sub.add_parser(
        "index", help="add files or folders to the workspace documents (none: re-index)"
    )
    index.add_argument("paths", nargs="*", help="files or folders; none re-checks the saved ones")
    index.add_argument(
        "--follow-symlinks", action="store_true", dest="follow_symlinks",
        help="also follow links out of the folders (hidden targets stay skipped)",
    )  # fmt: skip
    index.add_argument(
        "--allow-remote-docs", action="store_true", dest="allow_remote_docs",
        help="let a remote embedding engine get the documents, for this run only",
    )  # fmt: skip
    index.add_argument(
        "--embedder", metavar="NAME",
        help="embedding model (an Ollama one such as bge-m3, or a GGUF's name) instead of "
        "rag.embedding_model; a new model re-embeds every chunk",
    )  # fmt: skip
    doctor = sub.add_parser("doctor", help="show the chosen engine and why, hardware and paths")
    doctor.add_argument("--json", action="store_true", help="print JSON for scripts")
    tools = sub.add_parser("tools", help="list the tools models may call, and their policies")
    tools.add_argument("--json", action="store_true", help="print JSON for scripts")
    add_voice_parsers(sub)
    sub.add_parser("locate", help="print where config, data and cache live")
    sub.add_parser("setup", help="prepare the bundled models (run once by make)")

    for command in ("ask", "models", "fit", "pull", "rm", "index", "doctor", "tools"):
        # Global options are also accepted after the subcommand.
        p = sub.choices[command]
        p.add_argument("-w", "--workspace", default=argparse.SUPPRESS)
        p.add_argument("--engine", default=argparse.SUPPRESS)
        p.add_argument("--model", default=argparse.SUPPRESS)
    return parser


def add_fit_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``offyai fit MODEL``: will it run here, or on the machine the flags describe?"""
    fit = sub.add_parser(
        "fit", help="will a model fit and how fast will it run, here or on a described machine"
    )
    fit.add_argument("model", help="catalog name, Ollama tag (llama3.1:8b-instruct-q8_0) or .gguf")
    fit.add_argument(
        "--gpu", action="append", metavar="NAME:GiB",
        help="a GPU and its memory, e.g. 'NVIDIA GeForce RTX 4090:24' (repeat for several;"
        " 'none' for no GPU)",
    )  # fmt: skip
    fit.add_argument("--apple", metavar="CHIP", help="a Mac's chip, e.g. 'M3 Max' (with --ram)")
    fit.add_argument("--ram", type=float, metavar="GiB", help="system (or unified) memory")
    fit.add_argument("--cores", type=int, help="CPU cores the engine may use")
    fit.add_argument(
        "--ram-gbps", type=float, dest="ram_gbps", metavar="GB/s",
        help="the RAM's bandwidth, if known (dual-channel DDR5-5600: 89.6)",
    )  # fmt: skip
    fit.add_argument("--ctx", type=int, metavar="TOKENS", help="context size (default 4096)")
    fit.add_argument(
        "--prompt", type=int, metavar="TOKENS",
        help="prompt length for the time-to-first-token estimate (default 1000)",
    )  # fmt: skip
    fit.add_argument("--json", action="store_true", help="print JSON for scripts")


def add_voice_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``offyai transcribe FILE...`` and ``offyai say TEXT -o out.wav``."""
    transcribe = sub.add_parser("transcribe", help="print what is said in audio files (whisper)")
    transcribe.add_argument("files", nargs="+", metavar="FILE", help="WAV, FLAC, OGG or MP3")
    transcribe.add_argument(
        "--whisper-model", dest="whisper_model", metavar="PATH",
        help="a whisper.cpp ggml model (default: the models directory's, else the bundled)",
    )  # fmt: skip
    transcribe.add_argument("--threads", type=int, help="CPU threads (default: up to 4)")
    transcribe.add_argument("--stats", action="store_true", help="print the speed on stderr")
    say = sub.add_parser("say", help="read text aloud, or into a WAV file (piper or espeak-ng)")
    say.add_argument("text", nargs="*", help="the text (piped stdin when none)")
    say.add_argument("-o", "--output", metavar="FILE", help="write a WAV instead of playing")
    say.add_argument(
        "--engine", dest="voice_engine", choices=("piper", "espeak-ng"),
        help="the speech engine (default: piper with a voice, else espeak-ng)",
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    args: argparse.Namespace | SimpleNamespace
    if words:
        args = build_parser().parse_args(words)
    else:  # the TUI with defaults: building the parser would delay its first frame
        args = SimpleNamespace(command=None, workspace="default", engine=None, model=None)
    if args.command is None:
        # Keys typed while the app starts are read raw from now on, not echoed or
        # turned into line feeds by the terminal (see term_input).
        from offyai_tui.ui.term_input import claim_terminal

        claim_terminal()
        # Starting the TUI allocates much and frees little, so collections only
        # slow it down (by about a tenth); the app re-enables them after its
        # first frame (OffyApp._after_first_frame).
        gc.disable()
    from offyai_tui import cli

    try:
        return cli.dispatch(args)
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return 130
    except cli.UserError as exc:
        # Errors quote names, paths and server messages: never raw escapes.
        from offyai_tui.util.textsafe import visible

        print(f"offyai: {visible(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
