"""``manage.py seqdoctor check|fix|guard ... [--database ALIAS]``: seqdoctor on a Django database.

The database comes from settings.DATABASES (``default`` unless
``--database``); everything after the alias is seqdoctor's own command line
(``seqdoctor --help``), run as the console script would, with the exit
status it documents.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from seqdoctor.django.databases import conninfo

# The commands that take a database as their first argument.
TARGETED = {"check", "fix", "forecast", "sync"}


class Command(BaseCommand):  # type: ignore[misc]
    help = "seqdoctor on this project's database: check, fix, guard (seqdoctor --help)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--database", default="default", help="The DATABASES alias (default: default)."
        )
        parser.add_argument("args", nargs=argparse.REMAINDER, help="seqdoctor's own arguments.")

    def handle(self, *args: Any, **options: Any) -> None:
        import click  # noqa: PLC0415 - the command line, loaded when run
        import psycopg  # noqa: PLC0415

        from seqdoctor.cli import cli  # noqa: PLC0415
        from seqdoctor.errors import ExitStatus, SeqdoctorError  # noqa: PLC0415

        argv = list(args)
        if not argv:
            raise CommandError("say what to run: manage.py seqdoctor check (or fix, guard ...)")
        target = conninfo(options["database"])
        if argv[0] in TARGETED:
            argv.insert(1, target)
        elif argv[0] == "guard" and len(argv) > 1:
            argv.insert(2, target)
        try:
            status = cli.main(argv, prog_name="manage.py seqdoctor", standalone_mode=False)
        except click.ClickException as error:
            raise CommandError(error.format_message(), returncode=ExitStatus.UNKNOWN) from None
        except SeqdoctorError as error:
            raise CommandError(str(error), returncode=error.exit_status) from None
        except psycopg.Error as error:
            raise CommandError(f"database error: {error}", returncode=ExitStatus.UNKNOWN) from None
        # Without standalone mode click returns ctx.exit()'s status: the verdict, as documented.
        if isinstance(status, int) and status:
            raise SystemExit(status)
