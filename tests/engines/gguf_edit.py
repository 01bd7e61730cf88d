"""Copy a GGUF with some metadata removed or added (the ``gguf`` package's own way).

Tests use it to make real model files that differ from the bundled ones in one
respect: no chat template, a template that cannot render, recommended sampling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gguf


def rewrite_gguf(
    source: Path,
    target: Path,
    *,
    drop: Sequence[str] = (),
    add: Mapping[str, tuple[Any, gguf.GGUFValueType]] | None = None,
) -> Path:
    """Write ``target``: ``source`` without the keys in ``drop``, with the keys in ``add``."""
    add = dict(add or {})
    reader = gguf.GGUFReader(source)
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(target, arch=arch, endianess=reader.endianess)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        if field.name in drop or field.name in add:
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), kind, sub_type=sub)
    for key, (value, kind) in add.items():
        writer.add_key_value(key, value, kind)
    for tensor in reader.tensors:
        writer.add_tensor_info(
            tensor.name, tensor.data.shape, tensor.data.dtype, tensor.data.nbytes,
            tensor.tensor_type,
        )  # fmt: skip
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for tensor in reader.tensors:
        writer.write_tensor_data(tensor.data, tensor_endianess=reader.endianess)
    writer.close()
    return target
