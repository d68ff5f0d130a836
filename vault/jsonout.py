"""The ``--json`` form of the service's results and read models: one function.

Kept apart from vault.service so that the CLI can import it before the
service (SQLAlchemy, cryptography) is loaded.
"""

from __future__ import annotations

import base64
from dataclasses import fields, is_dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from vault.timeutil import iso


def json_name(name: str, group: str | None = None) -> dict[str, str]:
    """Field metadata: the field's JSON key is *name*, inside the object *group*."""
    return {"json": name, **({"group": group} if group else {})}


#: Field metadata: the field is not part of the JSON form (what a caller uses
#: but ``--json`` does not print, e.g. the whole receipt behind an export).
JSON_OMIT: dict[str, bool] = {"omit": True}

#: Field metadata: the field is left out of the JSON form while it is None.
JSON_OMIT_NONE: dict[str, bool] = {"omit_none": True}


def to_json(value: Any) -> Any:
    """The JSON form of a result or read model: the one place it is made.

    A dataclass becomes an object of its fields (a field's metadata may
    rename it or nest it in a group, see :func:`json_name`, or leave it out,
    see :data:`JSON_OMIT`) and of the properties it names in
    ``JSON_PROPERTIES`` (a property, or a method that takes no argument, whose
    result is the value); times become RFC 3339 UTC text to the second, enums
    their values, paths text, bytes standard base64.
    """
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in fields(value):
            if f.metadata.get("omit"):
                continue
            item = getattr(value, f.name)
            if item is None and f.metadata.get("omit_none"):
                continue
            key = f.metadata.get("json", f.name)
            group = f.metadata.get("group")
            target = out.setdefault(group, {}) if group else out
            target[key] = to_json(item)
        for name in getattr(value, "JSON_PROPERTIES", ()):
            item = getattr(value, name)
            out[name] = to_json(item() if callable(item) else item)
        return out
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value
