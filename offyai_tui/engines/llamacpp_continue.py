"""Continuing an answer in place on the embedded engine (worker side).

``create_chat_completion`` always renders the conversation with a new, empty
assistant turn at its end, so a request whose last message is the assistant's
partial answer would close that answer and have the model start a second one.
To continue, the messages before the partial answer are rendered with the model
file's own chat template and its generation prompt (exactly the prompt the answer
began on), the partial text follows, and the model completes that text with
``create_completion``: what it writes is the rest of the same answer.

The template part is tokenized as llama-cpp-python's chat handler tokenizes it
(special tokens parsed, BOS unless the template wrote it); the partial text is
tokenized as text, so words in it that look like turn markers stay words. A model
run in a named chat format (no usable template in its file) is refused: the named
formats have no way to render a conversation without closing its last turn.

Nothing here imports llama-cpp-python at module level (the parent imports this
module's package; only the worker loads llama.cpp).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from offyai_tui.engines.llamacpp_setup import file_formatter, one_line

THINK_OPENERS = ("<think>", "<thinking>")


class CannotContinue(Exception):
    """This model cannot continue an answer in place (one line, for the user)."""


@dataclass(frozen=True)
class ContinuePrompt:
    """What ``create_completion`` is given to grow a partial answer."""

    tokens: list[int]
    stop: list[str]
    stopping_criteria: Any


def is_continue(messages: list[dict[str, Any]]) -> bool:
    """A request continues an answer when its final message is the assistant's."""
    return bool(messages) and messages[-1].get("role") == "assistant"


def continue_prompt(
    llm: Any, messages: list[dict[str, Any]], chat_format: str | None,
    variables: dict[str, Any],
) -> ContinuePrompt:
    """The prompt that ends with the partial answer (``messages[-1]``), not a closed turn.

    Args:
        llm: The loaded ``Llama``.
        messages: The request's messages (system text already folded); the last
            one is the assistant's partial answer.
        chat_format: The named format in use, ``None`` when the file's template is.
        variables: Template variables (reasoning switches) for this request.

    Raises:
        CannotContinue: the model runs in a named format, or its template fails.
    """
    template = (llm.metadata or {}).get("tokenizer.chat_template")
    if chat_format is not None or not template:
        raise CannotContinue(
            f"this model runs in the {chat_format or 'built-in'} chat format, which cannot "
            "continue an answer in place; regenerate it instead"
        )
    formatter = file_formatter(llm, template, stop_at_eos=True)
    try:
        result = formatter(messages=messages[:-1], **variables)
    except Exception as exc:
        raise CannotContinue(f"the model's chat template failed: {one_line(exc)}") from None
    head = result.prompt
    if head.rstrip().endswith(THINK_OPENERS):  # the answer goes after the reasoning
        head = head.rstrip() + "\n" + _closer(head.rstrip()) + "\n\n"
    tokens = llm.tokenize(head.encode("utf-8"), add_bos=not result.added_special, special=True)
    partial = str(messages[-1].get("content") or "")
    tokens += llm.tokenize(partial.encode("utf-8"), add_bos=False, special=False)
    stop = result.stop if isinstance(result.stop, list) else [result.stop]
    return ContinuePrompt(tokens, [s for s in stop if s], result.stopping_criteria)


def _closer(head: str) -> str:
    return "</thinking>" if head.endswith("<thinking>") else "</think>"

