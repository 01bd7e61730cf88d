"""Attachments: images for vision models and whole files in the prompt (headless).

Nothing here imports Textual; the chat screen, ``offyai ask`` and the tests
drive it alike. The stored values are :class:`offyai_tui.chat.attachments.Attachment`
(``is_image``, ``name``, ``size``, ``width``/``height``, ``tokens``, ``note``),
which ``Conversation.add_user(text, images=..., files=...)`` keeps by reference.

API summary::

    limits = image_limits(engine.kind, settings.attachments.max_image_side,
                          settings.attachments.max_image_mb)
    item = prepare(workspace.root, "shot.png", want="image", limits=limits)   # or "-" / bytes
    item = prepare(workspace.root, "notes.txt", budget=plan.documents_budget(share=0.8))
    items = prepare_all(workspace.root, images=args.image, files=args.file,   # offyai ask
                        limits=limits, budget=room)
    pending = Pending(); pending.add(item)          # False: the same content is there
    pending.chips(); pending.remove(2)              # chips renumber; ValueError one line
    pending.file_tokens(); pending.budget_left(room)  # meter before sending, next budget
    images, files = pending.take()    # conv.add_user(text, images=images, files=files)
    chip(item, 1)                     # "[image 1: shot.png 1200×800 210 KB]"
    notes([item])                     # "shot.png: downscaled from 4000×3000 to 2048×1536"
    found = at_paths(prompt, cwd)     # found.text, found.paths, found.refused
    dropped_paths(pasted_text, cwd)   # [Path, ...] or None (the paste is text)
    path_argument(rest_of_line, cwd)  # after /image or /file (slash.Attach.path)
    if pending.has_images or carries_images(conversation.history()):  # earlier turns too
        check = await vision_support(engine, model, settings)   # check.ok, check.reason
    await require_vision(engine, model, settings)           # raises NoVision
    remote_notice(engine, items)      # "" locally, else where the files go

Every refusal is an ``AttachmentError`` subclass (:mod:`.errors`) whose
``str()`` is one line; nothing is stored or sent when one is raised.
"""

from __future__ import annotations

from offyai_tui.attach.chips import chip, chips, message_chips, notes
from offyai_tui.attach.consent import remote_destination, remote_notice
from offyai_tui.attach.errors import (
    CorruptImage,
    NotAFile,
    NotAnImage,
    NotFound,
    NotText,
    NoVision,
    OverBudget,
    Refused,
    TooLarge,
    Unreadable,
)
from offyai_tui.attach.limits import ImageLimits, image_limits
from offyai_tui.attach.paths import PromptPaths, at_paths, dropped_paths, path_argument
from offyai_tui.attach.pending import Pending
from offyai_tui.attach.prepare import by_kind, file_tokens, prepare, prepare_all, read_source
from offyai_tui.attach.vision import (
    VisionCheck,
    carries_images,
    find_projector,
    require_vision,
    vision_support,
)
from offyai_tui.chat.attachments import Attachment, AttachmentError

__all__ = [
    "Attachment",
    "AttachmentError",
    "CorruptImage",
    "ImageLimits",
    "NoVision",
    "NotAFile",
    "NotAnImage",
    "NotFound",
    "NotText",
    "OverBudget",
    "Pending",
    "PromptPaths",
    "Refused",
    "TooLarge",
    "Unreadable",
    "VisionCheck",
    "at_paths",
    "by_kind",
    "carries_images",
    "chip",
    "chips",
    "dropped_paths",
    "file_tokens",
    "find_projector",
    "image_limits",
    "message_chips",
    "notes",
    "path_argument",
    "prepare",
    "prepare_all",
    "read_source",
    "remote_destination",
    "remote_notice",
    "require_vision",
    "vision_support",
]
