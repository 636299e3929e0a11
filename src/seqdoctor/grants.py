"""``seqdoctor grants ROLE``: the psql script that lets a monitoring role audit a database.

The audit needs to read every sequence's position (SELECT on the sequence,
USAGE on its schema) and the key columns the sequences feed (their max() and
min(), through an index); what it may not read it reports as not checked
(SEQ900), and the status is UNKNOWN, never OK. A ``pg_monitor`` role reads
none of that. The script grants exactly it, read from the same catalog
queries the audit runs, so that the two cannot disagree:

- USAGE on each schema that holds a sequence or a fed table;
- SELECT on each sequence (enough to read its position; USAGE would also
  let the role call nextval());
- SELECT on the fed columns only, not on whole tables: the monitor reads
  ids, never the rest of a row (customer data). Default privileges cannot
  grant single columns, so new tables are granted whole only with
  *future_tables*; otherwise a new table shows as not checked until the
  script is run again;
- ALTER DEFAULT PRIVILEGES, for the roles that own today's objects (default
  privileges apply to what a given role creates), for new sequences and
  schemas, and new tables with *future_tables*;
- BYPASSRLS when row-level security is enabled on a fed table: it would
  hide rows, and a max() over the rest would be wrong.

https://www.postgresql.org/docs/current/sql-grant.html
https://www.postgresql.org/docs/current/sql-alterdefaultprivileges.html
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

from psycopg import sql

from seqdoctor.catalog.connection import (
    Target,
    Timeouts,
    audit_session,
    opened,
    read_only_transaction,
    timeout_statements,
)
from seqdoctor.catalog.display import comment, script_sql
from seqdoctor.catalog.inventory import list_column_uses
from seqdoctor.catalog.model import SequenceState, ServerInfo, qualify, quote_ident
from seqdoctor.catalog.reading import fetch, load_query
from seqdoctor.errors import UsageError


@dataclass(frozen=True)
class Role:
    name: str
    superuser: bool
    bypass_rls: bool
    reads_all_data: bool  # a member of pg_read_all_data (14+)


@dataclass(frozen=True)
class RelationOwner:
    oid: int
    schema: str
    owner: str
    row_security: bool  # row-level security enabled


@dataclass(frozen=True)
class KeyColumns:
    """The fed columns of one table."""

    schema: str
    table: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Grants:
    """What the role needs to audit the database, read from its catalog."""

    database: str
    role: Role
    schemas: tuple[str, ...]
    sequences: tuple[tuple[str, str], ...]  # (schema, name)
    keys: tuple[KeyColumns, ...]
    owners: tuple[tuple[str, str], ...]  # (owner, schema): who creates objects where
    row_security: tuple[tuple[str, str], ...]  # (schema, table) with row-level security
    timeouts: Timeouts
    future_tables: bool = False


def read_grants(
    target: Target,
    role: str,
    *,
    future_tables: bool = False,
    lock_timeout: float = 2.0,
    statement_timeout: float = 30.0,
) -> Grants:
    """What *role* needs to audit the database at *target*; a UsageError if it does not exist."""
    timeouts = Timeouts(lock_timeout, statement_timeout)
    with ExitStack() as stack:
        conn = stack.enter_context(audit_session(opened(target, stack)))
        with read_only_transaction(conn, timeouts):
            (server,) = fetch(conn, load_query("get_server_info"), ServerInfo)
            found = fetch(conn, load_query("get_role"), Role, {"role": role})
            sequences = fetch(conn, load_query("list_sequences"), SequenceState)
            uses = list_column_uses(conn, index_facts=False)
            oids = sorted({s.oid for s in sequences} | {u.table_oid for u in uses})
            owners = fetch(conn, load_query("list_relation_owners"), RelationOwner, {"oids": oids})
    if not found:
        raise UsageError(f"role {role!r} does not exist: create it first (CREATE ROLE ... LOGIN)")
    columns: dict[tuple[str, str], list[str]] = defaultdict(list)
    for use in uses:
        columns[use.schema, use.table].append(use.column)
    by_oid = {o.oid: o for o in owners}
    secured = {(u.schema, u.table) for u in uses if _owner(by_oid, u.table_oid).row_security}
    return Grants(
        database=server.database,
        role=found[0],
        schemas=tuple(sorted({s.schema for s in sequences} | {u.schema for u in uses})),
        sequences=tuple((s.schema, s.name) for s in sequences),
        keys=tuple(KeyColumns(s, t, tuple(c)) for (s, t), c in sorted(columns.items())),
        owners=tuple(sorted({(o.owner, o.schema) for o in owners})),
        row_security=tuple(sorted(secured)),
        timeouts=timeouts,
        future_tables=future_tables,
    )


def _owner(by_oid: dict[int, RelationOwner], oid: int) -> RelationOwner:
    # A table dropped after the columns were listed has no row here (each query
    # sees the catalog as it is then); the script's GRANT on it will fail: run it again.
    return by_oid.get(oid) or RelationOwner(oid, "", "", row_security=False)


Group = tuple[str, list[sql.Composed]]  # a comment, and the statements it explains


def groups(grants: Grants) -> Iterator[Group]:
    """The script's statements, in groups that each open with a comment."""
    role = sql.Identifier(grants.role.name)
    yield (
        "Schemas that hold sequences or the tables they feed:",
        [
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), role)
            for schema in grants.schemas
        ],
    )
    yield (
        "Every sequence: SELECT reads its position (USAGE would also allow nextval()):",
        [
            sql.SQL("GRANT SELECT ON SEQUENCE {} TO {}").format(sql.Identifier(*name), role)
            for name in grants.sequences
        ],
    )
    yield (
        "The columns the sequences feed, not whole tables: the audit reads their max() and min():",
        [
            sql.SQL("GRANT SELECT ({}) ON TABLE {} TO {}").format(
                sql.SQL(", ").join(map(sql.Identifier, key.columns)),
                sql.Identifier(key.schema, key.table),
                role,
            )
            for key in grants.keys
        ],
    )
    if grants.row_security and not grants.role.bypass_rls:
        tables = ", ".join(qualify(*pair) for pair in grants.row_security)
        yield (
            f"Row-level security is enabled on {tables}: it would hide rows from the role, "
            "and the max() of the rest would be wrong. BYPASSRLS lets it see them "
            "(only where it has SELECT); ALTER ROLE needs a superuser:",
            [sql.SQL("ALTER ROLE {} BYPASSRLS").format(role)],
        )
    yield _defaults(grants, role)


def _defaults(grants: Grants, role: sql.Identifier) -> Group:
    """ALTER DEFAULT PRIVILEGES for the owners of today's objects, in their schemas."""
    said = (
        "New objects. Default privileges apply to objects a given role creates: these are "
        "for the roles that own the objects above (a role that creates objects later and is "
        "not one of them needs its own: run seqdoctor grants again). They cannot grant single "
        "columns: "
        + (
            "new tables are granted whole (--future-tables)."
            if grants.future_tables
            else "a new table's key is reported as not checked (SEQ900) until this script is "
            "run again, or granted whole with seqdoctor grants --future-tables."
        )
    )
    kinds = [sql.SQL("SEQUENCES"), *([sql.SQL("TABLES")] if grants.future_tables else [])]
    return said, [
        *(
            sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT USAGE ON SCHEMAS TO {}").format(
                sql.Identifier(owner), role
            )
            for owner in sorted({owner for owner, _ in grants.owners})
        ),
        *(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT ON {} TO {}"
            ).format(sql.Identifier(owner), sql.Identifier(schema), kind, role)
            for owner, schema in grants.owners
            for kind in kinds
        ),
    ]


def script(grants: Grants) -> str:
    """The psql script: one transaction, every name escaped for psql and the terminal."""
    role = grants.role
    lines = [
        *comment(
            f"seqdoctor grants: what lets role {quote_ident(role.name)} audit database "
            f"{quote_ident(grants.database)}. "
            "Run as a superuser (or as the owner of these objects, a member of their owners' "
            "roles), with psql -X -v ON_ERROR_STOP=1: all of it, or nothing."
        ),
        *comment(
            "The alternative on PostgreSQL 14 or later: GRANT pg_read_all_data TO the role. It "
            "covers every table and sequence, now and to come, and every column of them: "
            "the role then reads all the data, not only the keys."
        ),
    ]
    if role.superuser or role.reads_all_data:
        why = "a superuser" if role.superuser else "a member of pg_read_all_data"
        lines += comment(f"nothing to grant: role {quote_ident(role.name)} is {why}")
        return "\n".join(lines) + "\n"
    lines += ["", "BEGIN;"]
    lines += [_statement(s) + ";" for s in timeout_statements(grants.timeouts)]
    for said, group in groups(grants):
        if group:
            lines += ["", *comment(said), *(_statement(s) + ";" for s in group)]
    lines += ["COMMIT;"]
    return "\n".join(lines) + "\n"


def _statement(statement: sql.Composed) -> str:
    return script_sql(statement.as_string())
