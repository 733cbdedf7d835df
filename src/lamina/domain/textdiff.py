"""Line diffs of two texts for a person to read: unified (one column) or side by side.

Pure functions over `difflib`; the rows carry plain text, and whoever shows them escapes it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

CONTEXT_LINES = 3

SAME = "same"
ADDED = "added"
REMOVED = "removed"
GAP = "gap"  # unchanged lines left out between two hunks


@dataclass(frozen=True)
class UnifiedRow:
    """One line of a unified diff: `op` is "same", "added", "removed" or "gap"; line numbers
    are 1-based, None where the line does not exist on that side (and for a gap)."""

    op: str
    old: int | None
    new: int | None
    text: str


@dataclass(frozen=True)
class SideRow:
    """One row of a side-by-side diff: the old line (left) and the new one (right), either
    None where that side has no line; `op` is "same", "changed", "added", "removed" or "gap"."""

    op: str
    old: int | None
    old_text: str | None
    new: int | None
    new_text: str | None


@dataclass(frozen=True)
class LineDiff:
    unified: list[UnifiedRow]
    side: list[SideRow]
    added: int
    removed: int


def line_diff(old: str, new: str, context: int = CONTEXT_LINES) -> LineDiff:
    """The diff from `old` to `new`, with `context` unchanged lines around each change (all
    lines when one side is empty, as for an added or removed object). A missing final newline
    is no difference."""
    a, b = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    around = max(len(a), len(b)) if not a or not b else context
    unified: list[UnifiedRow] = []
    side: list[SideRow] = []
    added = removed = 0
    for number, group in enumerate(matcher.get_grouped_opcodes(around)):
        if number:
            unified.append(UnifiedRow(GAP, None, None, "…"))
            side.append(SideRow(GAP, None, "…", None, "…"))
        for tag, i1, i2, j1, j2 in group:
            unified += _unified(tag, a, b, i1, i2, j1, j2)
            side += _side(tag, a, b, i1, i2, j1, j2)
            removed += i2 - i1 if tag in ("delete", "replace") else 0
            added += j2 - j1 if tag in ("insert", "replace") else 0
    return LineDiff(unified, side, added, removed)


def _unified(
    tag: str, a: list[str], b: list[str], i1: int, i2: int, j1: int, j2: int
) -> list[UnifiedRow]:
    if tag == "equal":
        return [UnifiedRow(SAME, i + 1, j1 + k + 1, a[i]) for k, i in enumerate(range(i1, i2))]
    gone = [UnifiedRow(REMOVED, i + 1, None, a[i]) for i in range(i1, i2)]
    came = [UnifiedRow(ADDED, None, j + 1, b[j]) for j in range(j1, j2)]
    return gone + came


def _side(
    tag: str, a: list[str], b: list[str], i1: int, i2: int, j1: int, j2: int
) -> list[SideRow]:
    if tag == "equal":
        return [
            SideRow(SAME, i + 1, a[i], j1 + k + 1, b[j1 + k]) for k, i in enumerate(range(i1, i2))
        ]
    rows: list[SideRow] = []
    for k in range(max(i2 - i1, j2 - j1)):
        i, j = i1 + k, j1 + k
        left = (i + 1, a[i]) if i < i2 else (None, None)
        right = (j + 1, b[j]) if j < j2 else (None, None)
        op = "changed" if left[0] and right[0] else (REMOVED if left[0] else ADDED)
        rows.append(SideRow(op, left[0], left[1], right[0], right[1]))
    return rows
