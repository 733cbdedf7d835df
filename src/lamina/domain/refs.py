"""References by name or id: a reference of ASCII digits only is an id, any other a name.

So that every row stays reachable by its name, a new name may not be digits only, and a
profile may not take a name that a fixed segment of the profile paths uses.
"""

from __future__ import annotations

# Fixed segments under /stack-profiles/ that a profile name would be shadowed by.
RESERVED_PROFILE_NAMES = frozenset({"drafts", "import"})
# Ids are 32-bit on PostgreSQL (int4): the same range on both stores; larger numbers name
# nothing.
MAX_ID = 2**31 - 1


def is_id(ref: str) -> bool:
    """Whether a reference is an id: ASCII digits only."""
    return ref.isascii() and ref.isdigit()


def name_problem(name: str, noun: str, *, reserved: frozenset[str] = frozenset()) -> str | None:
    """Why `name` cannot name a new `noun`, as a sentence; None when it can."""
    if is_id(name):
        return f"A {noun} name cannot be made of digits only: '{name}' would read as an id"
    if name in reserved:
        return f"'{name}' is reserved: the API uses it in the paths of {noun}s"
    return None
