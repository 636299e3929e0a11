"""``seqdoctor grants``: the psql script that lets a monitoring role audit a database."""

from __future__ import annotations

from typing import Any

import click

from seqdoctor.cli.options import CONTEXT, _seconds


@click.command(context_settings=CONTEXT)
@click.argument("role", metavar="ROLE")
@click.argument("conninfo", default="", metavar="[CONNINFO]")
@click.option(
    "--future-tables",
    is_flag=True,
    help="Also grant SELECT on whole tables created later (default privileges cannot grant "
    "single columns).",
)
@_seconds("--lock-timeout", 2.0, "Longest wait for a lock, reading the catalog.")
@_seconds("--statement-timeout", 30.0, "Longest any one query may run.")
def grants(role: str, conninfo: str, **options: Any) -> None:
    """Print the psql script that lets ROLE audit the database. Only reads.

    The script grants USAGE on the schemas, SELECT on every sequence and on
    the columns they feed (not whole tables), and default privileges for new
    sequences (and, with --future-tables, tables), for the roles that own
    today's objects. Run it as a superuser: seqdoctor grants monitor CONNINFO
    | psql -X -v ON_ERROR_STOP=1 CONNINFO. Exit status: 0 printed; 3 bad
    arguments, no such role, or no connection.
    """
    from seqdoctor.grants import read_grants, script  # noqa: PLC0415 - see check

    click.echo(script(read_grants(conninfo, role, **options)), nl=False)
