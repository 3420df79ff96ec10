r"""Bad data inside records: switches that poison chosen records of a tenant's stream.

Unlike :mod:`.faults` (random, retriable trouble at the HTTP level), a poison changes the
*content* of one record every time it is served, the way a real account can hold odd data.
A poison names the tenant, the stream (simulator stream name, e.g. ``bounces``), the account
(``subuser``: a subuser's username, or empty for the parent) and the record's primary-key value
(``key``, the first primary-key field), and one kind (``depth``, ``days`` and ``value`` tune
some kinds):

==================  ===================================================================
kind                what the served record becomes
==================  ===================================================================
``nul``             field ``poison`` holds a string with a NUL (``\u0000``)
``surrogate``       field ``poison`` holds a lone UTF-16 surrogate (``\ud800``)
``nan``             field ``poison`` is ``NaN`` and ``poison_inf`` is ``Infinity``
``deep``            field ``poison`` is an array nested ``depth`` (5,000) levels deep
``missing_key``     the primary-key field is removed
``garbage_cursor``  the cursor field (``created``) is ``value`` (``"9999-garbage"``)
``string_cursor``   the cursor field holds its value as a string of digits (mixed types)
``future_date``     the cursor field is ``days`` (3,650) days after the simulated clock
``not_object``      the record is replaced by the number ``42``
==================  ===================================================================

The record keeps its place in the list (paging and ``start_time`` filters see the true record).
Control API: ``GET /__sim/poison`` (list), ``POST /__sim/poison`` (add one), ``POST
/__sim/poison/clear``; ``POST /__sim/subusers/rename`` renames a subuser (e.g. to a name that
is not Latin-1) before anything was read. Truth lists the poisons under ``poisoned``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from typing import Any

from .streams import BY_NAME, BY_PATH
from .truth import build_truth
from .wire import Reply, Request, json_reply
from .world import World

KINDS = (
    "nul",
    "surrogate",
    "nan",
    "deep",
    "missing_key",
    "garbage_cursor",
    "string_cursor",
    "future_date",
    "not_object",
)
#: Kinds whose record a loader cannot load (the others load, repaired or as they are).
UNLOADABLE = frozenset({"deep", "missing_key", "garbage_cursor", "not_object"})
_DEEP = "__poison_deep__"


@dataclass(frozen=True)
class Poison:
    """One poisoned record (see the module docstring)."""

    tenant_id: str
    stream: str
    key: str
    kind: str
    subuser: str = ""
    depth: int = 5000
    days: int = 3650
    value: str = "9999-garbage"

    @classmethod
    def from_dict(cls, data: dict[str, Any], world: World) -> Poison:
        """Validate and build.

        Raises:
            ValueError: Unknown tenant, stream or kind.
        """
        poison = cls(**data)
        if poison.tenant_id not in world.by_id:
            raise ValueError(f"unknown tenant {poison.tenant_id!r}")
        if poison.stream not in BY_NAME or not BY_NAME[poison.stream].primary_key:
            raise ValueError(f"stream {poison.stream!r} unknown or without a primary key")
        if poison.kind not in KINDS:
            raise ValueError(f"unknown poison kind {poison.kind!r}; known: {', '.join(KINDS)}")
        return poison


class Poisoner:
    """Applies the poisons to ``/v3`` replies (JSON bodies, parsed and re-encoded)."""

    def __init__(self, world: World) -> None:
        """No poison at first."""
        self.world = world
        self.poisons: list[Poison] = []
        self._lock = threading.Lock()

    def routes(self) -> dict[tuple[str, str], Any]:
        """Control-API routes to merge into :class:`~.control.ControlApi`."""
        return {
            ("GET", "/__sim/truth"): lambda r: json_reply(
                {**build_truth(self.world), "poisoned": self.describe()}
            ),
            ("GET", "/__sim/poison"): lambda r: json_reply(self.describe()),
            ("POST", "/__sim/poison"): self.add,
            ("POST", "/__sim/poison/clear"): self.clear,
            ("POST", "/__sim/subusers/rename"): self.rename,
        }

    def describe(self) -> list[dict[str, Any]]:
        """The poisons, with whether a loader can load each record."""
        return [{**asdict(p), "loadable": p.kind not in UNLOADABLE} for p in self.poisons]

    def add(self, req: Request) -> Reply:
        """``{"tenant_id", "stream", "key", "kind", "subuser"?, "depth"?, "days"?}``."""
        poison = Poison.from_dict(req.json(), self.world)
        with self._lock:
            self.poisons.append(poison)
        return json_reply(self.describe())

    def clear(self, req: Request) -> Reply:
        """Remove every poison."""
        with self._lock:
            self.poisons.clear()
        return json_reply([])

    def rename(self, req: Request) -> Reply:
        """``{"tenant_id", "username", "new_username"}``: rename a subuser (before any read)."""
        data = req.json()
        tenant = self.world.by_id[data["tenant_id"]]
        account = next(s for s in tenant.subusers if s.username == data["username"])
        new = str(data["new_username"])
        with self.world.lock:
            del self.world.accounts[account.username]
            account.username = new
            self.world.accounts[new] = (tenant, account)
        return json_reply({"subusers": [s.username for s in tenant.subusers]})

    def apply(self, tenant_id: str, subuser: str, route: str, reply: Reply) -> Reply:
        """Poison ``reply`` when a poison matches the tenant, account and stream."""
        if not self.poisons or reply.status != 200:
            return reply
        stream = BY_PATH.get(route)
        if stream is None:
            return reply
        todo = [p for p in self.poisons if (p.tenant_id, p.stream, p.subuser)
                == (tenant_id, stream.name, subuser)]  # fmt: skip
        if not todo:
            return reply
        body = json.loads(reply.body)
        records = _records(body)
        field = stream.primary_key[0]
        for i, record in enumerate(records):
            for poison in todo:
                if isinstance(record, dict) and str(record.get(field)) == poison.key:
                    records[i] = self._poisoned(record, poison, field)
        text = json.dumps(body, separators=(",", ":"))
        for poison in todo:
            if poison.kind == "deep":
                text = text.replace(f'"{_DEEP}"', "[" * poison.depth + "]" * poison.depth)
        return Reply(reply.status, text.encode(), reply.headers, reply.content_type)

    def _poisoned(self, record: dict, poison: Poison, field: str) -> Any:
        out = dict(record)
        kind = poison.kind
        if kind == "nul":
            out["poison"] = "before\x00after"
        elif kind == "surrogate":
            out["poison"] = "lone \ud800 surrogate"
        elif kind == "nan":
            out["poison"], out["poison_inf"] = float("nan"), float("inf")
        elif kind == "deep":
            out["poison"] = _DEEP
        elif kind == "missing_key":
            out.pop(field, None)
        elif kind == "garbage_cursor":
            out["created"] = poison.value
        elif kind == "string_cursor":
            out["created"] = str(out.get("created"))
        elif kind == "future_date":
            out["created"] = self.world.now_epoch() + poison.days * 86400
        elif kind == "not_object":
            return 42
        return out


def _records(body: Any) -> list:
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for name in ("result", "results"):
            if isinstance(body.get(name), list):
                return body[name]
    return []
