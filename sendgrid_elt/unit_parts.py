"""What a unit's parent ids not read mean for its stream's outcome and snapshot.

:func:`~sendgrid_elt.unit_reads.read_pages` names the ids of a fan-out it did not read
(:class:`~sendgrid_elt.unit_reads.Part`). A refused id's data is missing: a refused subuser is
a skipped unit (:func:`~sendgrid_elt.subuser_roster.refused_ids`); any other refused id (an API
key, a template) is kept in the outcome's ``refused`` (:func:`refused_parents`), a health
problem of kind ``refused_ids``. The snapshot leaves alone only the rows of the ids not read
(:func:`left_alone`): the unit's other ids, one deleted since its list was read included, are
its complete read, and the deleted one's rows are marked deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from sendgrid_elt.catalog import StreamSpec
    from sendgrid_elt.unit_reads import Part


def refused_parents(spec: StreamSpec, parts: Mapping[str, Sequence[Part]]) -> dict[str, str]:
    """Parent id -> why SendGrid refused it, of a fan-out over another list than the subusers'.

    A fan-out over the subuser list names refused subusers, skipped units instead
    (:func:`~sendgrid_elt.subuser_roster.refused_ids`).

    Args:
        spec: The stream.
        parts: Unit -> its parent ids not read.
    """
    if spec.fan_out is None or spec.fan_out.parent == "subusers":
        return {}
    return {p.pid: p.why for unit_parts in parts.values() for p in unit_parts if p.refused}


def parent_column(spec: StreamSpec) -> str | None:
    """The staging column holding a fan-out row's parent id (``None``: none does).

    ``parent_key`` when the fan-out stores its id there (``template_versions``,
    ``singlesend_stats``); ``record_key`` when a path fan-out's record has one key field, the
    parent's id field (``api_key_scopes``: a key's scopes keyed by its id). A fan-out labelling
    its rows with the id as their subuser (``subuser_credits``) is left alone by label instead.
    """
    fan = spec.fan_out
    if fan is None or fan.as_subuser:
        return None
    if fan.as_parent_key:
        return "parent_key"
    return "record_key" if fan.path_param and spec.primary_key == (fan.field,) else None


class LeftAlone(NamedTuple):
    """What a snapshot leaves alone of the units with parent ids not read (:func:`left_alone`).

    Attributes:
        units: Units left alone whole (their ids' rows cannot be told apart).
        ids: ``(unit, parent id)`` of each id not read, whose rows alone are left alone: the
            unit's other rows, a deleted id's included, are its complete read.
        column: The column holding a row's parent id (:func:`parent_column`).
    """

    units: list[str]
    ids: list[tuple[str, str]]
    column: str | None


def left_alone(
    spec: StreamSpec, parts: Mapping[str, Sequence[Part]], unsent: Iterable[tuple[str, str]] = ()
) -> LeftAlone:
    """What a snapshot leaves alone of the units with parent ids not read (``parts``).

    ``unsent``: ``(unit, parent id)`` of ids not sent at all (stored repaired:
    :mod:`~sendgrid_elt.repaired_ids`), left alone as an id not read is.
    """
    column = parent_column(spec)
    unsent = list(unsent)
    if column is None:
        return LeftAlone(list(dict.fromkeys([*parts, *(u for u, _ in unsent)])), [], None)
    return LeftAlone([], [*((u, p.pid) for u, unit_parts in parts.items() for p in unit_parts),
                          *unsent], column)  # fmt: skip
