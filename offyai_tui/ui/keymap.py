"""``[keys]`` in config.toml, checked before Textual sees it.

Textual takes any string as a key and silently never matches one it does not
know: ``"app.quit" = "Ctrl+Q"`` disabled quitting (its keys are lower case),
``"notakey"``, ``",,,"`` and ``"ctrl+"`` were accepted, and ``"chat.new" =
"ctrl+p"`` lost to the palette's key without a word. Here each entry is
normalised (``Ctrl+Q`` is ``ctrl+q``, ``Esc`` is ``escape``), checked against
the keys a terminal can send, and against the keys of every other binding
that can be active at the same time. An entry that fails keeps the binding's
default key and gives one warning naming the binding id and the value.

Pure logic over the binding table (:mod:`offyai_tui.ui.bindings`): which ids
exist, their default keys and their scopes; tested without an app.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping, Sequence

from offyai_tui.ui.bindings import KeySpec, remappable

MODIFIERS = ("alt", "ctrl", "hyper", "meta", "shift", "super")
"""In the order Textual joins them (sorted), e.g. ``ctrl+shift+up``."""
_MODIFIER_ALIASES = {"control": "ctrl", "ctl": "ctrl", "option": "alt", "opt": "alt",
                     "cmd": "super", "command": "super", "win": "super"}
_NAMED = {
    "escape", "enter", "tab", "space", "backspace", "delete", "insert", "home", "end",
    "pageup", "pagedown", "up", "down", "left", "right",
    *(f"f{n}" for n in range(1, 25)),
}
_NAME_ALIASES = {"esc": "escape", "return": "enter", "del": "delete", "ins": "insert",
                 "pgup": "pageup", "pgdn": "pagedown", "page_up": "pageup",
                 "page_down": "pagedown", "bs": "backspace", "spacebar": "space"}
OVERLAPPING = {"chat": {"prompt", "messages"}, "prompt": {"chat"}, "messages": {"chat"}}
"""Scopes active together besides ``everywhere`` (the prompt and the message list live
on the chat screen)."""


def _symbol_names() -> set[str]:
    from textual.keys import _character_to_key

    return {_character_to_key(c) for c in string.punctuation} | {"question_mark", "space"}


def normalise_key(key: str) -> str:
    """One key as Textual names it, or raise ``ValueError`` saying what is wrong.

    ``Ctrl+Q`` -> ``ctrl+q``; ``shift+Ctrl+Up`` -> ``ctrl+shift+up``;
    ``Esc`` -> ``escape``; ``?`` -> ``question_mark``. A single character
    without modifiers keeps its case (``Q`` is what Shift+q types).
    """
    text = key.strip()
    if not text:
        raise ValueError("an empty key")
    if text == "+":
        return "plus"
    parts = text.split("+")
    if text.endswith("++"):  # ctrl++ : the plus key with a modifier
        parts = [*text[:-2].split("+"), "plus"]
    *mods, name = parts
    if not name:
        raise ValueError(f"{key!r} ends with '+' but names no key")
    modifiers = []
    for mod in mods:
        m = _MODIFIER_ALIASES.get(mod.strip().lower(), mod.strip().lower())
        if m not in MODIFIERS:
            raise ValueError(f"{mod!r} is not a modifier (use ctrl, alt, shift)")
        if m in modifiers:
            raise ValueError(f"{mod!r} twice")
        modifiers.append(m)
    name = name.strip()
    if len(name) == 1:
        from textual.keys import _character_to_key

        if not name.isprintable():
            raise ValueError(f"{key!r} is not a key name")
        if modifiers:
            name = name.lower()
        name = name if name.isalnum() else _character_to_key(name)
    else:
        name = _NAME_ALIASES.get(name.lower(), name.lower())
        if name not in _NAMED and name not in _symbol_names():
            raise ValueError(f"{name!r} is not a key name (e.g. ctrl+q, f2, escape, alt+d)")
    return "+".join([*sorted(modifiers), name])


def normalise_keys(value: str) -> str:
    """A comma-separated list of keys, each normalised; ``ValueError`` if any is bad."""
    keys = [normalise_key(part) for part in value.split(",")]
    unique = list(dict.fromkeys(keys))
    return ",".join(unique)


def _overlap(a: str, b: str) -> bool:
    return a == b or "everywhere" in (a, b) or b in OVERLAPPING.get(a, set())


def check_keymap(
    wanted: Mapping[str, str], bindings: Sequence[KeySpec] | None = None
) -> tuple[dict[str, str], list[str]]:
    """The keymap to apply and one warning per entry left out.

    An entry is left out (the binding keeps its default) when its id is not a
    binding, its value is not keys, or one of its keys is already the key of
    another binding active at the same time (after the other accepted entries:
    swapping two keys works). ``bindings`` defaults to every remappable one.
    """
    bindings = remappable() if bindings is None else bindings
    by_id = {b.id: b for b in bindings}
    warnings: list[str] = []
    keymap: dict[str, str] = {}
    for binding_id, value in wanted.items():
        if binding_id not in by_id:
            warnings.append(f"config: [keys] {binding_id!r} is not a binding id (F1 lists them); "
                            "ignored")
            continue
        try:
            keymap[binding_id] = normalise_keys(value)
        except ValueError as exc:
            default = by_id[binding_id].keys
            warnings.append(f"config: [keys] {binding_id!r} = {value!r}: {exc}; keeping {default}")
    changed = True
    while changed:  # dropping one entry gives a key back to its default: check again
        changed = False
        for binding_id in list(keymap):
            clash = _clash(binding_id, keymap, bindings)
            if clash is not None:
                other, key = clash
                default = by_id[binding_id].keys
                warnings.append(
                    f"config: [keys] {binding_id!r} = {wanted[binding_id]!r}: {key} is already "
                    f"the key of {other.id} ({other.description or other.scope}); "
                    f"keeping {default}")
                del keymap[binding_id]
                changed = True
    return keymap, warnings


def _keys_of(binding: KeySpec, keymap: Mapping[str, str]) -> set[str]:
    keys = keymap.get(binding.id, binding.keys)
    out = set()
    for key in keys.split(","):
        try:
            out.add(normalise_key(key))
        except ValueError:
            out.add(key.strip())
    return out


def _clash(
    binding_id: str, keymap: Mapping[str, str], bindings: Iterable[KeySpec]
) -> tuple[KeySpec, str] | None:
    """Another binding active together with ``binding_id`` that has one of its new keys.

    Only keys the user added count: some defaults share a key on purpose (a
    screen's Esc and a dialog's Esc, F1 opening and closing help).
    """
    mine = next(b for b in bindings if b.id == binding_id)
    keys = _keys_of(mine, keymap) - _keys_of(mine, {})  # shared defaults are by design
    for other in bindings:
        if other.id == binding_id or not _overlap(mine.scope, other.scope):
            continue
        common = keys & _keys_of(other, keymap)
        if common:
            return other, sorted(common)[0]
    return None
