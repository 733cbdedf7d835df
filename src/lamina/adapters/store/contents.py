"""Texts stored once by their content digest, shared by every stack draft and revision.

A cluster's stack is mostly the same objects as its neighbours' (nine of ten layers of a
fleet render alike), so drafts and revisions keep `sha256:<hex>` references to rendered
objects and Git files, and each distinct text is stored once (`content_blobs`). References
are resolved when a draft or revision is read; texts stored inline by older versions of
Lamina read as they are.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from lamina.adapters.store import tables as t
from lamina.domain.caches import ByteLru

PREFIX = "sha256:"
_REF_LENGTH = len(PREFIX) + 64
_CHUNK = 2000  # digests per query


def reference(text: str) -> str:
    return PREFIX + hashlib.sha256(text.encode()).hexdigest()


def is_reference(value: str) -> bool:
    return len(value) == _REF_LENGTH and value.startswith(PREFIX)


TEXTS_KEPT_BYTES = 64 * 2**20
STORED_KEPT_BYTES = 8 * 2**20


class ContentMemo:
    """What one process has learnt of the stored contents, kept across units of work.

    - Texts by reference: a reference names one text forever, so a remembered text is true
      wherever it was learnt (read, or about to be stored).
    - References known to be stored: learnt by a unit of work (found, or stored by it) and
      remembered only once that unit has committed, so a rolled-back write is never taken
      for stored. Blobs are never deleted, so a stored reference stays stored; whatever
      comes to delete them must forget these too.

    Both are bounded in bytes, least recently used first."""

    def __init__(
        self, *, text_bytes: int = TEXTS_KEPT_BYTES, stored_bytes: int = STORED_KEPT_BYTES
    ) -> None:
        self.texts: ByteLru[str, str] = ByteLru(text_bytes, lambda text: len(text) + 200)
        self.stored: ByteLru[str, bool] = ByteLru(stored_bytes, lambda _: 150)

    def committed(self, refs: Iterable[str]) -> None:
        for ref in refs:
            self.stored.put(ref, True)


class Contents:
    """The content blobs one unit of work sees. With a memo, texts and stored references
    already known are not asked of the database again; the references this unit learns are
    stored go to the memo when the unit commits (`committed`)."""

    def __init__(self, conn: Connection, memo: ContentMemo | None = None) -> None:
        self._conn = conn
        self._memo = memo
        self._learnt: set[str] = set()

    def committed(self) -> None:
        """Told once the unit's transaction has committed: what it learnt is true now."""
        if self._memo is not None:
            self._memo.committed(self._learnt)

    def put(self, texts: Iterable[str]) -> dict[str, str]:
        """{text: reference}, storing the texts not stored yet."""
        refs = {text: reference(text) for text in texts}
        by_ref = {ref: text for text, ref in refs.items()}
        memo = self._memo
        unknown = sorted(ref for ref in by_ref if memo is None or memo.stored.get(ref) is None)
        # Without a memo most texts are stored already (a fleet renders alike): ask which
        # first, rather than send them all. With one, the unknown are mostly new: insert them,
        # and let the database leave alone those another unit stored meanwhile.
        missing = set(unknown) - self._present(unknown) if memo is None else set(unknown)
        rows = [{"digest": ref, "text": by_ref[ref]} for ref in unknown if ref in missing]
        for start in range(0, len(rows), _CHUNK):
            self._conn.execute(
                _insert_new(self._conn, t.content_blobs), rows[start : start + _CHUNK]
            )
        self._learnt.update(unknown)
        if memo is not None:
            for ref in unknown:
                memo.texts.put(ref, by_ref[ref])
        return refs

    def get(self, refs: Iterable[str]) -> dict[str, str]:
        """{reference: text} of the stored references among `refs`."""
        wanted = sorted({ref for ref in refs if is_reference(ref)})
        found: dict[str, str] = {}
        if self._memo is not None:
            for ref in wanted:
                text = self._memo.texts.get(ref)
                if text is not None:
                    found[ref] = text
            wanted = [ref for ref in wanted if ref not in found]
        c = t.content_blobs.c
        for row in self._select(wanted, c.digest, c.text):
            found[row.digest] = row.text
            if self._memo is not None:
                self._memo.texts.put(row.digest, row.text)
        return found

    def _present(self, refs: list[str]) -> set[str]:
        return {row.digest for row in self._select(refs, t.content_blobs.c.digest)}

    def _select(self, refs: list[str], *columns: sa.ColumnElement[Any]) -> Iterator[sa.Row[Any]]:
        """The `columns` of the stored blobs among `refs`, _CHUNK references per query,
        passed as one array (PostgreSQL) or JSON (SQLite) parameter: a statement of the
        same text for any count, compiled once."""
        for start in range(0, len(refs), _CHUNK):
            chunk = refs[start : start + _CHUNK]
            query = sa.select(*columns).where(self._among())
            yield from self._conn.execute(query, {"refs": self._listed(chunk)})

    def _among(self) -> sa.ColumnElement[bool]:
        digest = t.content_blobs.c.digest
        if self._conn.dialect.name == "postgresql":
            return digest == sa.func.any(sa.bindparam("refs", type_=postgresql.ARRAY(sa.Text)))
        listed = sa.func.json_each(sa.bindparam("refs", type_=sa.Text)).table_valued("value")
        return digest.in_(sa.select(listed.c.value))

    def _listed(self, refs: list[str]) -> Any:
        return refs if self._conn.dialect.name == "postgresql" else json.dumps(refs)


_INSERTS: dict[tuple[str, str], sa.Insert] = {}


def _insert_new(conn: Connection, table: sa.Table) -> sa.Insert:
    """An insert that leaves a row already there alone: two writers may store the same
    content at once. Built once per dialect and table."""
    key = (conn.dialect.name, table.name)
    found = _INSERTS.get(key)
    if found is None:
        made = postgresql.insert(table) if key[0] == "postgresql" else sqlite.insert(table)
        found = _INSERTS[key] = made.on_conflict_do_nothing()
    return found


class SqlRenders:
    """Rendered chart output by the digest of its inputs: the same inputs give the same
    bytes forever, also for charts that use random functions, across restarts. Beside the
    files, the objects parsed from them, as JSON (OBJECTS_FORMAT)."""

    def __init__(self, conn: Connection, contents: Contents | None = None) -> None:
        self._conn = conn
        self._contents = contents if contents is not None else Contents(conn)

    def get(
        self, key: str
    ) -> tuple[dict[str, str], list[tuple[str, dict[str, Any]]] | None] | None:
        r = t.render_outputs.c
        row = self._conn.execute(sa.select(r.files, r.objects).where(r.key == key)).first()
        if row is None:
            return None
        return read_files(self._contents, row.files), _objects_of(row.objects)

    def put(
        self,
        key: str,
        files: Mapping[str, str],
        *,
        objects: list[tuple[str, dict[str, Any]]] | None = None,
        at: datetime,
    ) -> None:
        stored = stored_files(self._contents, files)
        kept = _objects_text(objects) if objects is not None else None
        row = {"key": key, "files": stored, "objects": kept, "created_at": at}
        self._conn.execute(_insert_new(self._conn, t.render_outputs), [row])


OBJECTS_FORMAT = 1


def _objects_text(objects: list[tuple[str, dict[str, Any]]]) -> str | None:
    """The objects as stored, or None when JSON would not give them back exactly (a value
    JSON has no type for, a key that is not a string)."""
    if not all(_plain(body) for _, body in objects):
        return None
    pairs = [[source, body] for source, body in objects]
    return json.dumps({"format": OBJECTS_FORMAT, "objects": pairs}, separators=(",", ":"))


def _objects_of(text: str | None) -> list[tuple[str, dict[str, Any]]] | None:
    if not text:
        return None
    held = json.loads(text)
    if not isinstance(held, dict) or held.get("format") != OBJECTS_FORMAT:
        return None  # kept by another version of Lamina: the files are parsed instead
    return [(str(source), body) for source, body in held["objects"]]


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    return value is None or isinstance(value, str | int | float)  # bool is an int


def stored_objects(contents: Contents, objects: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """A stack's objects ({key: [layer, text]}) as stored: texts replaced by references."""
    refs = contents.put(text for _, text in objects.values())
    return {key: [layer, refs[text]] for key, (layer, text) in objects.items()}


def stored_files(contents: Contents, files: Mapping[str, str]) -> dict[str, str]:
    refs = contents.put(files.values())
    return {path: refs[text] for path, text in files.items()}


def read_objects(
    contents: Contents,
    stored: Mapping[str, list[str]],
    known: Mapping[str, list[str]] | None = None,
) -> dict[str, list[str]]:
    """A stack's objects with their texts. With `known` (objects of another stack, with
    texts), an object whose stored reference is that of the known object's text takes the
    known text, unread."""
    same = {}
    for key, (_, value) in stored.items():
        other = known.get(key) if known else None
        if other is not None and is_reference(value) and reference(other[1]) == value:
            same[key] = other[1]
    texts = contents.get(value for key, (_, value) in stored.items() if key not in same)
    return {
        key: [layer, same[key] if key in same else _text(texts, value)]
        for key, (layer, value) in stored.items()
    }


def read_files(contents: Contents, stored: Mapping[str, str]) -> dict[str, str]:
    texts = contents.get(stored.values())
    return {path: _text(texts, value) for path, value in stored.items()}


def _text(texts: Mapping[str, str], value: str) -> str:
    if not is_reference(value):
        return value  # stored inline before content addressing
    if value not in texts:
        raise LookupError(f"Stored content {value} is missing from the database")
    return texts[value]
