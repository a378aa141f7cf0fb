"""A small YAML writer for the generated Prometheus files.

PyYAML is only a test dependency, and these files are read by people as much as by
Prometheus: block style, keys in the order given, strings quoted only when needed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

# Plain (unquoted) strings: identifiers, and durations such as 1m30s.
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*|(?:\d+[a-z]+)+")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    if "'" not in text and "\n" not in text:
        return f"'{text}'"
    return json.dumps(text)


def number(value: float) -> str:
    """Exact and short: integers without a fraction, floats as Python's shortest repr."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _block(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, Mapping):
        lines = []
        for key, item in value.items():
            if _is_block(item):
                lines.append(f"{pad}{scalar(key)}:")
                lines += _block(item, indent + 2)
            else:
                lines.append(f"{pad}{scalar(key)}: {_inline(item)}")
        return lines
    lines = []
    for item in value:
        if _is_block(item):
            nested = _block(item, indent + 2)
            lines.append(f"{pad}- {nested[0].lstrip()}")
            lines += nested[1:]
        else:
            lines.append(f"{pad}- {_inline(item)}")
    return lines


def _is_block(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple) and len(value) > 0


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[]"
    return scalar(value)


def dump(document: Mapping[str, Any], header: str = "") -> str:
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comment + "\n".join(_block(document, 0)) + "\n"
