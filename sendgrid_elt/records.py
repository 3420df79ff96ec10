r"""Shape API records into staging rows; repair what PostgreSQL cannot store, reject the rest.

:class:`Shaper` turns one API record into staging rows (exploded, keyed, serialized once) or
:class:`~sendgrid_elt.rejects.Reject` objects, and counts what it did:

* **serialized once**: msgspec encodes the record to canonical JSON bytes (keys sorted,
  compact); those bytes are hashed (md5) and handed to ``COPY`` as they are;
* **repaired** (the record loads, the value is replaced and counted): a NUL character (``jsonb``
  refuses ``\u0000``) and a lone UTF-16 surrogate become U+FFFD, also in the ``subuser`` and
  ``parent_key`` labels taken from a record field (a name that is not UTF-8 must not fail the
  ``COPY``); ``NaN``/``Infinity`` (and numbers beyond a double) become ``null``;
* **keys kept apart**: a key is made of the values as received, so distinct records keep
  distinct keys (:func:`~sendgrid_elt.rejects.key_text`: a NUL or a lone surrogate escaped
  visibly, not U+FFFD; ``|`` and ``\`` escaped in a composite key's parts); ``7`` and ``"7"``
  are one key (SendGrid ids);
* **rejected** (kept in the rejects table, the stream goes on): a missing primary-key field, a
  key field that is an object or a list, a key longer than
  :data:`~sendgrid_elt.rejects.KEY_LIMIT` (in UTF-8 bytes, as an index entry's limit is), a
  cursor value that does not parse as the stream's cursor kind, a value nested too deeply to
  parse, an integer literal too long to parse, a record that is not a JSON object, an exploded
  field that is not a list (the record) or an item of it that is not an object (that item);
* **cursor bound**: a cursor value beyond ``bound`` (the API's clock plus a small skew) is not
  a cursor candidate (the record itself loads), so a record dated in the future cannot move the
  cursor past records not yet written; one within the skew counts as the API's clock itself
  (``ceiling``), so it cannot either;
* **secrets masked**: a page whose rows hold a credential the hook registered has those rows'
  strings masked before they are stored (:mod:`sendgrid_elt.echoed_secrets`).

The markers of :mod:`sendgrid_hook.json_body` (``NonFinite``, ``Unparsed``, ``HugeInt``) are not
serializable: a record holding one fails the fast encode and takes the repair path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from hashlib import md5
from typing import TYPE_CHECKING, Any

import msgspec
from sendgrid_hook.json_body import NonFinite, Unparsed

from sendgrid_elt.echoed_secrets import mask_rows
from sendgrid_elt.record_values import (
    Unloadable,
    absent,
    clean,
    json_kind,
    key_text_of,
    origins,
    repair,
    unclean,
)
from sendgrid_elt.rejects import KEY_FITS_CHARS, Reject, joined_key, oversized, raw_text
from sendgrid_elt.windows import parse_cursor

if TYPE_CHECKING:
    from sendgrid_elt.catalog import StreamSpec

#: ``(subuser, parent_key, record_key, record_json, record_hash, cursor)``; the JSON is bytes.
Row = tuple[str, str, str, bytes, str, Any]
#: The rows and the rejects of one API page.
Page = tuple[list[Row], list[Reject]]
_CARRY = ("date",)  # parent fields copied into exploded child records
_ENCODE = msgspec.json.Encoder(order="sorted").encode
_NUL = rb"\u0000"  # the 6 bytes msgspec writes for a NUL character (JSON's escape)
_ENCODE_ERRORS = (TypeError, UnicodeEncodeError, RecursionError, OverflowError)


@dataclass
class ShapeStats:
    """What a :class:`Shaper` did to the records of one stream."""

    rejected: int = 0
    repaired: int = 0
    cursor_ignored: int = 0
    duplicates: int = 0  # not stored, another of their key kept (``StreamWriter.duplicates``)
    replaced: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)

    def summary(self) -> str | None:
        """One line for ``stream_status.detail`` (``None`` when nothing happened)."""
        parts = []
        if self.rejected:
            why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.reasons.items()))
            parts.append(f"{self.rejected} records rejected ({why}; see rejects)")
        if self.repaired:
            what = ", ".join(f"{n} {kind}" for kind, n in sorted(self.replaced.items()))
            parts.append(f"{self.repaired} records repaired ({what})")
        if self.cursor_ignored:
            parts.append(
                f"{self.cursor_ignored} cursor values beyond the API's clock not adopted "
                "(records loaded)"
            )
        if self.duplicates:
            parts.append(
                f"{self.duplicates} records not stored: another record of the same read had "
                "their key (the latest by cursor, else the last, kept)"
            )
        return "; ".join(parts) or None


class Shaper:
    """Shapes the records of one stream.

    Args:
        spec: The stream.
        bound: Largest cursor value that may become the cursor (epoch seconds or an ISO day,
            by the stream's cursor kind); ``None``: no bound.
        ceiling: The API's clock (at most ``bound``): a value between it and ``bound`` (clock
            skew) becomes the cursor as ``ceiling``; ``None``: ``bound`` itself.
        secrets: The forms of the tenant's credentials (``SendGridHook.secret_forms``), masked
            in any record that echoes one (:mod:`sendgrid_elt.echoed_secrets`); ``None``: none.
    """

    def __init__(
        self,
        spec: StreamSpec,
        bound: int | str | None = None,
        ceiling: int | str | None = None,
        secrets: Callable[[], tuple[str, ...]] | None = None,
    ) -> None:
        self.spec = spec
        self._secrets = secrets
        self.bound = bound
        self.ceiling = bound if ceiling is None else ceiling
        self.stats = ShapeStats()
        cursor = spec.cursor_field
        self._cursor_field, self._cursor_kind = cursor if cursor else (None, None)
        fan = spec.fan_out
        self._as_subuser = fan is not None and fan.as_subuser
        self._as_parent = fan is not None and fan.as_parent_key
        self._child_field = fan.child_field if fan is not None else None
        # labels taken from a record field (not from the unit or a stored parent id) are
        # checked for what PostgreSQL text cannot hold
        self._labelled = bool(spec.subuser_field or (self._as_parent and self._child_field))
        self._drop = frozenset(spec.drop_fields)
        self._urls = frozenset(spec.url_fields)
        pk = spec.primary_key
        self._single = pk[0] if len(pk) == 1 and not pk[0].startswith("@") else None
        self._optional = frozenset(spec.key_optional)
        self._alias = spec.key_alias
        #: Plain records (one row per record, keyed by one field): :meth:`rows` inlines them.
        self._fast = (
            self._single is not None
            and not self._optional
            and not (spec.explode or spec.drop_fields or spec.scalar_field or spec.subuser_field)
            and not spec.url_fields
            and not spec.key_alias
            and not self._as_subuser
            and not self._as_parent
        )

    # ----- a page of records --------------------------------------------------------------
    def rows(self, records: list[Any], unit: str, parent_id: str | None) -> Page:
        """Rows and rejects of one page of API records (rows in API order).

        The common case (a plain JSON object keyed by one string field, a clean cursor) is
        handled inline; anything else takes :meth:`shape`, the general path.
        """
        rejects: list[Reject] = []
        if not self._fast:
            out: list[Row] = []
            for record in records:
                for item in self.shape(record, unit, parent_id):
                    (out if type(item) is tuple else rejects).append(item)  # type: ignore[arg-type]
            return mask_rows(out, self._secrets() if self._secrets else ()), rejects
        out = []
        append = out.append
        field, cursor_field, kind = self._single, self._cursor_field, self._cursor_kind
        ceiling, skip_empty, encode = self.ceiling, self.spec.skip_empty, _ENCODE
        for record in records:
            if type(record) is not dict or (skip_empty and not record):
                for item in self.shape(record, unit, parent_id):
                    (out if type(item) is tuple else rejects).append(item)  # type: ignore[arg-type]
                continue
            try:
                data = encode(record)
            except _ENCODE_ERRORS:
                data = None
            key = record.get(field)
            if (data is None or _NUL in data or type(key) is not str or not key
                    or (len(key) > KEY_FITS_CHARS and oversized(key))):  # fmt: skip
                item = self._row(record, unit, "")
                (out if type(item) is tuple else rejects).append(item)  # type: ignore[arg-type]
                continue
            cv = None
            if cursor_field is not None:
                cv = value = record.get(cursor_field)
                if value is not None and (type(value) is not int or kind != "epoch"):
                    cv = parse_cursor(value, kind)  # type: ignore[arg-type]
                    if cv is None:
                        rejects.append(self._row(record, unit, ""))  # type: ignore[arg-type]
                        continue
                if ceiling is not None and cv is not None and cv > ceiling:
                    cv = self._capped(cv)
            append((unit, "", key, data, md5(data, usedforsecurity=False).hexdigest(), cv))
        return mask_rows(out, self._secrets() if self._secrets else ()), rejects

    # ----- one record ---------------------------------------------------------------------
    def shape(self, record: Any, unit: str, parent_id: str | None) -> Iterator[Row | Reject]:
        """Rows (or rejects) of one API record read for ``unit`` (and fan-out ``parent_id``)."""
        spec = self.spec
        if not isinstance(record, dict):
            if spec.scalar_field and isinstance(record, str | int | float):
                record = {spec.scalar_field: record}
            else:
                kind = "too deeply nested" if isinstance(record, Unparsed) else "not an object"
                yield self._reject(record, unit, parent_id or "", None, f"record {kind}")
                return
        if spec.skip_empty and not record:
            return
        if self._drop:
            record = {k: v for k, v in record.items() if k not in self._drop}
        if self._urls:
            record = origins(record, self._urls)
        base = parent_id if self._as_subuser and parent_id is not None else unit
        items: Any = (record,)
        if spec.explode:
            items = record.get(spec.explode)
            if items is None:
                return
            if type(items) is not list:
                yield self._reject(record, base, parent_id or "", None,
                                   f"exploded field {spec.explode} not a list: "
                                   f"{json_kind(items)}")  # fmt: skip
                return
        carried = {k: record[k] for k in _CARRY if k in record} if spec.explode else {}
        for i, item in enumerate(items):
            if spec.explode:
                if not isinstance(item, dict):
                    yield self._reject({**carried, f"{spec.explode}[{i}]": item}, base,
                                       parent_id or "", None,
                                       f"exploded field {spec.explode} item not an object: "
                                       f"item {i} is {json_kind(item)}")  # fmt: skip
                    continue
                item = {**{k: v for k, v in carried.items() if k not in item}, **item}
            subuser, parent_key = base, ""
            if self._as_parent:
                parent_key = str(item.get(self._child_field) if self._child_field else parent_id)
            if spec.subuser_field:
                subuser = str(item.get(spec.subuser_field) or "")
            fixed = None
            if self._labelled and (unclean(subuser) or unclean(parent_key)):  # not UTF-8
                fixed = Counter({"subuser/parent key labels": 1})  # cleaned as values are
                subuser, parent_key = clean(subuser, Counter()), clean(parent_key, Counter())
            yield self._row(item, subuser, parent_key, fixed)

    def _row(
        self, item: dict, subuser: str, parent_key: str, fixed: Counter | None = None
    ) -> Row | Reject:
        """One row of ``item`` (or its reject); ``fixed``: repairs already made to its labels."""
        try:
            data = _ENCODE(item)
            dirty = _NUL in data
        except _ENCODE_ERRORS:
            dirty = True
        try:  # from the values as received (a repair would merge distinct keys)
            key = self._key(item, subuser, parent_key, dirty)
        except Unloadable as exc:
            return self._reject(item, subuser, parent_key, None, str(exc))
        replaced = fixed
        if dirty:
            replaced = replaced if replaced is not None else Counter()
            try:
                item = repair(item, replaced, 0)
                data = _ENCODE(item)
            except (Unloadable, *_ENCODE_ERRORS) as exc:
                reason = str(exc) if isinstance(exc, Unloadable) else type(exc).__name__
                return self._reject(item, subuser, parent_key, key, reason)
        if replaced:
            self.stats.repaired += 1
            self.stats.replaced.update(replaced)
        if key is None:
            missing = [
                p
                for p in self.spec.primary_key
                if not p.startswith("@") and p not in self._optional and absent(item.get(p))
            ]
            return self._reject(item, subuser, parent_key, None,
                                f"primary key field missing: {', '.join(missing)}")  # fmt: skip
        too_long = oversized(key)
        if too_long:
            return self._reject(item, subuser, parent_key, key[:200],
                                f"primary key longer than {too_long}")  # fmt: skip
        cv = None
        if self._cursor_field is not None:
            value = item.get(self._cursor_field)
            if value is not None:
                cv = parse_cursor(value, self._cursor_kind)  # type: ignore[arg-type]
                if cv is None:
                    return self._reject(item, subuser, parent_key, key,
                                        f"cursor {self._cursor_field}: unparseable value "
                                        f"{str(value)[:60]!r}")  # fmt: skip
                if self.ceiling is not None and cv > self.ceiling:
                    cv = self._capped(cv)
        return subuser, parent_key, key, data, md5(data, usedforsecurity=False).hexdigest(), cv

    def _capped(self, cv: Any) -> Any:
        """A cursor value past the API's clock: the clock within the skew, else no candidate."""
        if self.bound is not None and cv > self.bound:
            self.stats.cursor_ignored += 1
            return None
        return self.ceiling

    def _key(self, item: dict, subuser: str, parent_key: str, dirty: bool) -> str | None:
        """The key of ``item`` as received; ``None``: a key field missing (or NaN).

        ``dirty``: the record may hold a NUL or a lone surrogate, which ``key_text`` escapes.
        """
        if self._single is not None:
            name = self._single
            value = item.get(name)
            if absent(value) and self._alias is not None:
                name, value = self._alias, item.get(self._alias)
            if absent(value) or isinstance(value, NonFinite):
                return None
            return value if type(value) is str and not dirty else key_text_of(value, name)
        parts = []
        for name in self.spec.primary_key:
            if name == "@subuser":
                parts.append(subuser)
            elif name == "@parent":
                parts.append(parent_key)
            else:
                value = item.get(name)
                if absent(value) or isinstance(value, NonFinite):
                    if name not in self._optional:
                        return None
                    value = ""
                parts.append(
                    value if type(value) is str and not dirty else key_text_of(value, name)
                )
        return joined_key(parts)

    def reject_unit(self, unit: str, why: str) -> Reject:
        """The reject of a unit whose name cannot be used (``why``): it is not read at all."""
        return self._reject({"subuser": unit}, unit, "", None, why)

    def reject_id(self, unit: str, pid: str, field: str, why: str) -> Reject:
        """The reject of a unit's fan-out parent id ``pid`` that is not sent (``why``)."""
        return self._reject({field: pid}, unit, pid, None, why)

    def _reject(
        self, record: Any, subuser: str, parent_key: str, key: str | None, reason: str
    ) -> Reject:
        self.stats.rejected += 1
        self.stats.reasons[reason.split(":")[0]] += 1
        labels = [clean(text, Counter()) if text else text for text in (subuser, parent_key, key)]
        return Reject(*labels, reason, raw_text(record))  # type: ignore[arg-type]
