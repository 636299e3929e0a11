"""Names of the online widening's own objects: derived from numbers, never from the user's names.

A user's column may be 63 bytes long, quoted, or named like anything else;
a suffix on it could overflow NAMEDATALEN (the server would cut it, silently)
or collide. So every object seqdoctor creates is named from a column number
or an oid, which the catalog gives back, and which fit in a few bytes. The
prefixes are what :file:`catalog/queries/list_online_objects.sql` looks for;
docs/online-widening.md ("Names") is the reference.

>>> shadow_column(1), old_column(1), sync_function(16387)
('seqdoctor_wide_1', 'seqdoctor_old_1', 'seqdoctor_sync_16387')
>>> parse_shadow_column("seqdoctor_wide_12"), parse_shadow_column("seqdoctor_wide_x")
(12, None)
"""

from __future__ import annotations

import re

# Triggers fire in the byte order of their names (RelationBuildTriggers sorts
# with strcmp): "zz_" puts the sync trigger after the user's BEFORE triggers,
# so it copies the key as they left it. The planner refuses a BEFORE ROW
# trigger that sorts after it anyway.
SYNC_TRIGGER = "zz_seqdoctor_sync"
# After the swap: keeps the old column equal to the new one while it fits.
BACK_TRIGGER = "zz_seqdoctor_back"
PREFIX = "seqdoctor_"  # every object of the widening's is named so
_SHADOW = "seqdoctor_wide_"
_OLD = "seqdoctor_old_"
_SYNC_FUNCTION = "seqdoctor_sync_"


def shadow_column(attnum: int) -> str:
    """The bigint column that becomes the column numbered *attnum*, until the swap."""
    return f"{_SHADOW}{attnum}"


def old_column(attnum: int) -> str:
    """What the column numbered *attnum* is called after the swap, until the cleanup."""
    return f"{_OLD}{attnum}"


def replacement(oid: int) -> str:
    """The index or constraint built on the shadow columns in place of the one numbered *oid*.

    >>> replacement(16393)
    'seqdoctor_wide_16393'
    """
    return f"{_SHADOW}{oid}"


def sync_function(table_oid: int) -> str:
    """The sync trigger's function for a table, in that table's schema."""
    return f"{_SYNC_FUNCTION}{table_oid}"


def parse_shadow_column(name: str) -> int | None:
    """The column number a shadow column stands for, or None if *name* is not one."""
    match = re.fullmatch(rf"{_SHADOW}([1-9][0-9]*)", name)
    return int(match.group(1)) if match else None


def parse_old_column(name: str) -> int | None:
    """The column number an old column had, or None if *name* is not one.

    >>> parse_old_column("seqdoctor_old_3"), parse_old_column("seqdoctor_old_03")
    (3, None)
    """
    match = re.fullmatch(rf"{_OLD}([1-9][0-9]*)", name)
    return int(match.group(1)) if match else None
