"""Which schemas and tables an audit looks at: ``--schema``, ``--exclude-schema``, ``--table``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from seqdoctor.errors import UsageError


def patterns(value: str | Sequence[str]) -> tuple[str, ...]:
    """One pattern or several: ``schemas="public"`` is one pattern, not six letters."""
    return (value,) if isinstance(value, str) else tuple(value)


WILDCARDS = frozenset("*?[")


@dataclass(frozen=True)
class Filters:
    """Glob patterns (``*``, ``?``, ``[abc]``), matched case-sensitively against raw names.

    A ``--table`` pattern containing a dot matches ``schema.table``; without one
    it matches the table name in any schema.

    >>> f = Filters(schemas=("shop*",), tables=("order?",))
    >>> f.includes_table("shop_eu", "orders"), f.includes_table("public", "orders")
    (True, False)
    >>> Filters(tables=("public.*",)).includes_table("public", "users")
    True
    >>> dotted = Filters(tables=("a.b", "x.c.d"))  # schema.table, even for a table named c.d
    >>> dotted.includes_table("x", "a.b"), dotted.includes_table("x", "c.d")
    (False, True)
    """

    schemas: Sequence[str] = ()
    exclude_schemas: Sequence[str] = ()
    tables: Sequence[str] = ()
    # --table patterns without a wildcard, looked up rather than matched one by one:
    # fix checks again the tables it repaired, one pattern each, thousands at a time.
    _names: frozenset[str] = field(init=False, repr=False, compare=False)  # table names
    _qualified: frozenset[str] = field(init=False, repr=False, compare=False)  # schema.table
    _globs: tuple[str, ...] = field(init=False, repr=False, compare=False)

    @classmethod
    def of(
        cls,
        schemas: str | Sequence[str] = (),
        exclude_schemas: str | Sequence[str] = (),
        tables: str | Sequence[str] = (),
    ) -> Filters:
        """The filters from the options of ``audit()`` and its kin: a pattern or several each."""
        return cls(patterns(schemas), patterns(exclude_schemas), patterns(tables))

    def __post_init__(self) -> None:
        for option, patterns in (
            ("--schema", self.schemas),
            ("--exclude-schema", self.exclude_schemas),
            ("--table", self.tables),
        ):
            for pattern in patterns:
                if not pattern.strip():
                    raise UsageError(f"{option} needs a non-empty pattern")
        literal = {p for p in self.tables if not WILDCARDS.intersection(p)}
        object.__setattr__(self, "_names", frozenset(p for p in literal if "." not in p))
        object.__setattr__(self, "_qualified", frozenset(p for p in literal if "." in p))
        object.__setattr__(self, "_globs", tuple(p for p in self.tables if p not in literal))

    @property
    def active(self) -> bool:
        return bool(self.schemas or self.exclude_schemas or self.tables)

    def includes_schema(self, schema: str) -> bool:
        if self.schemas and not any(fnmatchcase(schema, p) for p in self.schemas):
            return False
        return not any(fnmatchcase(schema, p) for p in self.exclude_schemas)

    def includes_table(self, schema: str, table: str) -> bool:
        if not self.includes_schema(schema):
            return False
        if not self.tables:
            return True
        qualified = f"{schema}.{table}"
        if table in self._names or qualified in self._qualified:
            return True
        return any(fnmatchcase(qualified if "." in p else table, p) for p in self._globs)

    def describe(self) -> str:
        parts = [f"--schema {p}" for p in self.schemas]
        parts += [f"--exclude-schema {p}" for p in self.exclude_schemas]
        parts += [f"--table {p}" for p in self.tables]
        return " ".join(parts)
