"""Whether a subuser SendGrid refused is still one: a refusal after it left is no problem.

A subuser SendGrid refuses in a per-subuser read (403/404, or every parent id of its fan-out
gone), or as an id of a fan-out over the subuser list (``subuser_stats`` asks for them in
chunks of ids, ``subuser_credits`` one by one: :func:`refused_ids`), is skipped and its rows
kept. When it still exists, its volume is missing from the
tenant's totals: the stream keeps it in ``skipped`` (a health problem, one alert). When it was
deleted or disabled since the run read the subuser list (a normal race with the tenant's own
admins), the refusal is only named in ``detail``. SendGrid is asked once per subuser and run
(``GET /v3/subusers?username=``); a 451 (its data in another region) is never a race, and a
check that cannot answer leaves the refusal counted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sendgrid_hook import errors
from sendgrid_hook.display import PrintableLog

from sendgrid_elt import catalog
from sendgrid_elt.stream_outcome import TENANT_ERRORS, failure

if TYPE_CHECKING:
    from sendgrid_elt.catalog import StreamSpec

log = PrintableLog(logging.getLogger(__name__))  # subuser names forge no line

#: A refusal that says the subuser exists (its data lives in another region).
_EXISTS = "451"


class SubuserRoster:
    """The run's answers about refused subusers (one lookup per subuser).

    Args:
        hook: The tenant's hook (``iter_record_pages``).
    """

    def __init__(self, hook: Any) -> None:
        self.hook = hook
        self._left: dict[str, str | None] = {}  # subuser -> why it left (None: still there)

    def counted(self, skipped: dict[str, str]) -> dict[str, str]:
        """The skipped units that still exist: their data is missing (a problem).

        The others' reasons in ``skipped`` are completed in place (``403; the subuser is
        deleted now, not a problem``), so ``detail`` names them.
        """
        still: dict[str, str] = {}
        for unit, why in skipped.items():
            left = None if not unit or why.startswith(_EXISTS) else self.left(unit)
            if left is None:
                still[unit] = why
            else:
                skipped[unit] = f"{why}; the subuser is {left} now, not a problem"
        return still

    def left(self, name: str) -> str | None:
        """``deleted`` or ``disabled`` when ``name`` is no enabled subuser now, else ``None``."""
        if name not in self._left:
            self._left[name] = self._ask(name)
        return self._left[name]

    def _ask(self, name: str) -> str | None:
        spec = catalog.get("subusers")
        try:
            for page in self.hook.iter_record_pages(
                spec.path, pagination=spec.pagination, records_path=spec.records_path,
                params={**dict(spec.params), "username": name}, page_size=spec.page_size,
                page_items=spec.page_items, route=spec.path,
            ):  # fmt: skip
                for row in page:
                    if isinstance(row, dict) and row.get("username") == name:
                        return "disabled" if row.get("disabled") is True else None
        except TENANT_ERRORS:
            raise
        except errors.SendGridError as exc:  # cannot tell: the refusal stays a problem
            log.warning("subuser %s refused; whether it still exists is unknown: %s", name,
                        failure(exc))  # fmt: skip
            return None
        return "deleted"


def refused_ids(spec: StreamSpec, parts: Mapping[str, Sequence[Any]]) -> dict[str, str]:
    """Subuser -> why SendGrid refused it, of the ids a fan-out over the subuser list was refused.

    A chunk of ids refused is read again in halves down to the ids refused alone
    (:mod:`sendgrid_elt.unit_reads`), so each is a subuser by name, whose volume is missing
    like a refused per-subuser unit's (:meth:`SubuserRoster.counted` tells whether it still
    exists). Ids of any other parent stream (categories, single sends) are no subusers.

    Args:
        spec: The stream.
        parts: Unit -> its parent ids not read (:class:`~sendgrid_elt.unit_reads.Part`).
    """
    if spec.fan_out is None or spec.fan_out.parent != "subusers":
        return {}
    return {p.pid: p.why for unit_parts in parts.values() for p in unit_parts if p.refused}
