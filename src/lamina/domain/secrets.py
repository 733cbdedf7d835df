"""Secret parameter values in rendered objects.

Rendering writes each secret parameter's value as the placeholder `${lamina_secret_NAME}`.
Only a Kubernetes `Secret` may take the real value back (`fill`), and only to be encrypted
before it is written anywhere; any other object keeps its placeholders (`placeholders`).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

DIGEST_ANNOTATION = "lamina.dev/secret-digest"
_PLACEHOLDER = re.compile(r"\$\{lamina_secret_([^}\s]+)\}")


def is_secret(obj: dict[str, Any]) -> bool:
    """Whether `obj` is a core Kubernetes Secret."""
    return obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def placeholders(tree: Any) -> set[str]:
    """The secret parameters whose placeholders appear in the strings of `tree`."""
    if isinstance(tree, dict):
        return set().union(*(placeholders(value) for value in tree.values()))
    if isinstance(tree, list):
        return set().union(*(placeholders(item) for item in tree))
    if isinstance(tree, str):
        return set(_PLACEHOLDER.findall(tree))
    return set()


def fill(secret: dict[str, Any], values: dict[str, str]) -> tuple[dict[str, Any], set[str]]:
    """`secret` with the placeholders of `values` in `stringData` and (base64-decoded)
    `data` replaced by the values, and the names of placeholders left unfilled."""
    unknown: set[str] = set()

    def text(value: str) -> str:
        def one(found: re.Match[str]) -> str:
            if found.group(1) in values:
                return values[found.group(1)]
            unknown.add(found.group(1))
            return found.group(0)

        return _PLACEHOLDER.sub(one, value)

    filled = dict(secret)
    string_data = secret.get("stringData")
    if isinstance(string_data, dict):
        filled["stringData"] = {
            k: text(v) if isinstance(v, str) else v for k, v in string_data.items()
        }
    data = secret.get("data")
    if isinstance(data, dict):
        filled["data"] = {k: _in_base64(v, text) for k, v in data.items()}
    return filled, unknown


def _in_base64(value: Any, replace: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return value
    if not _PLACEHOLDER.search(decoded):
        return value
    return base64.b64encode(replace(decoded).encode("utf-8")).decode("ascii")


def with_annotation(obj: dict[str, Any], key: str, value: str) -> dict[str, Any]:
    """`obj` with one more metadata annotation."""
    metadata = obj.get("metadata")
    metadata = dict(metadata) if isinstance(metadata, dict) else {}
    annotations = metadata.get("annotations")
    annotations = dict(annotations) if isinstance(annotations, dict) else {}
    metadata["annotations"] = {**annotations, key: value}
    return {**obj, "metadata": metadata}


def annotation(obj: dict[str, Any], key: str) -> str | None:
    metadata = obj.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    found = annotations.get(key) if isinstance(annotations, dict) else None
    return found if isinstance(found, str) else None
