"""Fan-out parent ids stored repaired: never sent, each one reject and one WARNING.

A fan-out (:class:`~sendgrid_elt.catalog.FanOut`) reads its parent's ids back from staging.
An id that held a NUL or a lone surrogate was stored with U+FFFD
(:data:`~sendgrid_elt.rejects.REPAIRED`): the id SendGrid holds is unknown, and sent altered it
names nothing SendGrid holds (a category's stats read as "no data" or as a refusal, a
template's versions as deleted). One rule for every parent
(:func:`~sendgrid_elt.rejects.unfaithful`): such an id is never sent (:func:`faithful`); the
stream names it in one reject per unit and id and a WARNING (:func:`unsent_ids`,
:func:`reject_unsent`), the snapshot leaves its rows alone, and every other id loads. A rerun
saves the same reject again (one row, ``times_seen`` counts). A subuser's name is a unit as
well as an id: it is held back as an unusable unit instead
(:func:`~sendgrid_elt.rejects.unusable_unit`), its rows left alone by their label.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sendgrid_hook.display import printable, shorten

from sendgrid_elt import catalog
from sendgrid_elt.rejects import unfaithful

if TYPE_CHECKING:
    from sendgrid_elt.catalog import StreamSpec
    from sendgrid_elt.records import Shaper

#: ``(unit, parent id)`` -> why it is not sent (:func:`~sendgrid_elt.rejects.unfaithful`).
Unsent = dict[tuple[str, str], str]


def faithful(ids: Iterable[str], parent: StreamSpec, field: str) -> list[str]:
    """``ids`` of ``parent``'s ``field`` without those stored repaired (never sent)."""
    return [i for i in ids if not unfaithful(i, parent.name, field)]


def unsent_ids(
    spec: StreamSpec, units: Iterable[str], parent_ids: Callable[[StreamSpec, str, str], list[str]]
) -> Unsent:
    """The parent ids of ``spec``'s fan-out that ``units`` will not send, with why.

    Args:
        spec: The stream.
        units: Its units to be read.
        parent_ids: Ids of a parent stream's current rows, ``(parent, field, unit)``.
    """
    fan = spec.fan_out
    if fan is None or fan.parent == "subusers":  # a subuser is held back as a unit
        return {}
    parent = catalog.get(fan.parent)
    unsent: Unsent = {}
    for unit in units:
        for pid in parent_ids(parent, fan.field, unit if parent.per_subuser else ""):
            why = unfaithful(pid, parent.name, fan.field)
            if why:
                unsent[unit, pid] = why
    return unsent


def reject_unsent(spec: StreamSpec, unsent: Unsent, shaper: Shaper, writer: Any, log: Any) -> None:
    """One reject per unit and id of ``unsent``, and one WARNING each.

    ``log`` writes the names printable (a :class:`~sendgrid_hook.display.PrintableLog`).
    """
    fan = spec.fan_out
    if not unsent or fan is None:
        return
    writer.keep_rejects([shaper.reject_id(u, pid, fan.field, why)
                         for (u, pid), why in unsent.items()])  # fmt: skip
    for (unit, pid), why in unsent.items():
        log.warning("stream %s: %s id %s of %s not sent (%s)", spec.name, fan.parent, pid,
                    unit or "parent", why)  # fmt: skip


def unsent_detail(unsent: Mapping[tuple[str, str], str]) -> str | None:
    """The stream ``detail`` clause naming the ids not sent (``None``: none)."""
    if not unsent:
        return None
    ids = ", ".join(printable(pid) for _, pid in unsent)
    return shorten(f"parent ids stored repaired, not sent (see rejects): {ids}", 300)
