"""Online widening of a key family to bigint: expand, backfill, verify, (later) swap.

The library API the command line calls (see docs/online-widening.md):

>>> from seqdoctor.repairs import online
>>> built = online.plan("postgresql:///shop", [("public", "orders", "id")])  # doctest: +SKIP
>>> print(online.script(built))  # doctest: +SKIP
>>> online.advance("postgresql:///shop", [("public", "orders", "id")])  # doctest: +SKIP
>>> online.revert("postgresql:///shop", [("public", "orders", "id")])  # doctest: +SKIP

Every call reads the state from the catalog first; each can be run again
after a crash and goes on where the last one stopped.
"""

from seqdoctor.repairs.online.backfill import Walked
from seqdoctor.repairs.online.model import (
    Carried,
    OnlineError,
    OnlineOptions,
    OnlinePlan,
    Phase,
    Refusal,
    Step,
    TablePlan,
)
from seqdoctor.repairs.online.run import (
    Advanced,
    Column,
    advance,
    cleanup,
    plan,
    revert,
    status,
    under_way,
)
from seqdoctor.repairs.online.script import record, script
from seqdoctor.repairs.online.state import Status, TableState, TableStatus

__all__ = [
    "Advanced",
    "Carried",
    "Column",
    "OnlineError",
    "OnlineOptions",
    "OnlinePlan",
    "Phase",
    "Refusal",
    "Status",
    "Step",
    "TablePlan",
    "TableState",
    "TableStatus",
    "Walked",
    "advance",
    "cleanup",
    "plan",
    "record",
    "revert",
    "script",
    "status",
    "under_way",
]
