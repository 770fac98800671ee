"""The `dealer360` command. Each command calls one function of its stage; errors a user
can fix are printed as one sentence with exit status 1, never as a traceback."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from dealer360.errors import UserError

app = typer.Typer(
    help="dealer360: one lifetime customer profile per person across dealer, service, OEM and CRM data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database dealer360 uses.", no_args_is_help=True)
app.add_typer(db_app, name="db")
export_app = typer.Typer(help="Write what dealer360 knows to CSV files.", no_args_is_help=True)
app.add_typer(export_app, name="export")
grant_app = typer.Typer(
    help="Login roles that row-level security limits to a dealer's or a brand's data.",
    no_args_is_help=True,
)
app.add_typer(grant_app, name="grant")


def _console(stderr: bool = False) -> Console:
    """The terminal's width in a terminal. A log or a pipe has no width: rich would assume 80
    columns and cut file names and paths short, so there every line is as long as it needs."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=1_000_000)


console = _console()
err_console = _console(stderr=True)

F = TypeVar("F", bound=Callable)


def friendly_errors(func: F) -> F:
    """Turn the errors a user can act on into one red sentence and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            # soft_wrap: a path or URL in the sentence stays whole, to copy and paste
            err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
):
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    if not verbose:
        # A lost database makes the pool log every dead connection it discards, traceback and
        # all; the command itself then says what happened, in one sentence.
        logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)


@db_app.command("url")
@friendly_errors
def db_url() -> None:
    """Print the connection URL of the database in use (for psql or a BI tool)."""
    from dealer360 import db

    print(db.libpq_url(db.database_url()))


@db_app.command("stop")
@friendly_errors
def db_stop() -> None:
    """Stop the embedded PostgreSQL (it otherwise keeps running between commands)."""
    from dealer360 import db
    from dealer360.settings import get_settings

    settings = get_settings()
    if settings.database_url:
        raise UserError("DATABASE_URL is set: dealer360 does not stop a database it did not start.")
    stopped = db.stop_embedded_server(settings)
    print(
        "stopped the embedded PostgreSQL" if stopped else "the embedded PostgreSQL was not running"
    )


@app.command()
@friendly_errors
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the inbox into.")],
    people: Annotated[int, typer.Option(min=1, help="How many people to simulate.")] = 3000,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed writes the same files.")
    ] = 42,
    mess: Annotated[
        float, typer.Option(min=0.0, max=5.0, help="How messy: 0 clean, 1 realistic, 2 hostile.")
    ] = 1.0,
) -> None:
    """Write a messy sample inbox that follows the landing contract, with truth.csv beside it."""
    from generator import generate_inbox

    summary = generate_inbox(out, people=people, seed=seed, mess=mess, progress=True)
    table = Table(title=f"Wrote {summary.out_dir}", title_justify="left")
    for column in ("source", "files", "rows", "distinct records"):
        table.add_column(column, justify="left" if column == "source" else "right")
    for source, rows in summary.rows.items():
        files, records = summary.files.get(source, 0), summary.records.get(source, 0)
        table.add_row(source, f"{files:,}", f"{rows:,}", f"{records:,}")
    console.print(table)
    console.print(
        f"{summary.people:,} people in {summary.households:,} households and"
        f" {summary.businesses:,} businesses, dealing with {summary.dealers:,} rooftops"
        f" (seed {summary.seed}, {summary.seconds:.1f} s); the truth, one line per record,"
        f" is in {summary.out_dir / 'truth.csv'}."
    )


@app.command()
@friendly_errors
def run(
    inbox: Annotated[
        Path, typer.Option("--inbox", help="The inbox folder: one sub-folder per source.")
    ],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Build the marts as they were known on this day (YYYY-MM-DD): rows dated"
            " later are left out, and 'today' is that day (for backtests).",
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="Where identity resolution runs: in-process (default) or spark"
            " (DEALER360_ENGINE).",
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            help="With --engine spark: local[N], spark://host:port, yarn, k8s://... or a"
            " Spark Connect sc://host:port (DEALER360_SPARK_MASTER, default local[*]).",
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Learn the matching model again and re-resolve every record (by default a"
            " run re-resolves only the customers that new and changed records touch).",
        ),
    ] = False,
) -> None:
    """Land the inbox, resolve identities and build every mart; print a summary.

    By default a run costs what changed since the last one; --full rebuilds everything.

    Exits 0 when the pipeline completed, even if rows were quarantined or files rejected
    (the summary lists them); 1 when a stage failed.
    """
    from dealer360.settings import get_matching
    from dealer360.summary import render_pipeline_summary
    from orchestration.runner import run_pipeline

    matching = get_matching(engine, spark_master)
    summary = run_pipeline(inbox, progress=True, as_of=as_of or "", matching=matching, full=full)
    render_pipeline_summary(summary, console)
    if not summary.succeeded:
        raise UserError(f"The pipeline did not complete: {summary.error}")


@export_app.command("links")
@friendly_errors
def export_links(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
) -> None:
    """CSV source,source_record_id,customer_id: every landed person record and its customer.

    Written to the audit log (who, when, row count, sha256 of the file).
    """
    from dealer360 import db, exports

    written = exports.write_links(db.connect_checked(), out)
    console.print(f"wrote {written.row_count:,} links to {written.path}")


@export_app.command("leads")
@friendly_errors
def export_leads(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    dealer: Annotated[
        str | None, typer.Option("--dealer", help="Only the leads of this dealer code.")
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option(
            "--outcome",
            help="sold_here, sold_in_group, sold_elsewhere, open or lost; or a worklist:"
            " known_paid (paid leads for people already customers, with the earlier record"
            " that proves it) or lost_in_group (leads the CRM marked lost who bought at a"
            " sister rooftop).",
        ),
    ] = None,
) -> None:
    """Leads and what became of them (marts.lead_outcomes), with the person's contact.

    Written to the audit log (who, when, filters, row count, sha256 of the file).
    """
    from dealer360 import db, exports

    written = exports.write_leads(db.connect_checked(), out, dealer, outcome)
    console.print(
        f"wrote {written.row_count:,} leads to {written.path}"
        f" (sha256 {written.sha256[:12]}…, written to the audit log)"
    )


@export_app.command("worklist")
@friendly_errors
def export_worklist(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    dealer: Annotated[str, typer.Option("--dealer", help="The rooftop whose worklist it is.")],
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            help="Only one reason: open_recall, maintenance_due, warranty_ending,"
            " lapsed_service or new_owner_never_seen.",
        ),
    ] = None,
) -> None:
    """A rooftop's service-lane worklist (marts.service_worklist): open recalls, maintenance
    due, warranties ending, lapsed service and new owners, with why and by when.

    Contactable customers only (the rooftop's sender may contact them on some channel).
    Written to the audit log (who, when, filters, row count, sha256 of the file).
    """
    from dealer360 import db, exports

    written = exports.write_worklist(db.connect_checked(), out, dealer, reason)
    console.print(
        f"wrote {written.row_count:,} worklist rows of {written.dealer_code} to {written.path}"
        f" (sha256 {written.sha256[:12]}…, written to the audit log)"
    )


@export_app.command("audience")
@friendly_errors
def export_audience(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    dealer: Annotated[
        str | None,
        typer.Option("--dealer", help="Send as this rooftop (its legal entity, else itself)."),
    ] = None,
    brand: Annotated[
        str | None, typer.Option("--brand", help="Send as this manufacturer (oem:BRAND).")
    ] = None,
    channel: Annotated[
        str, typer.Option("--channel", help="email (a usable e-mail) or sms (a phone).")
    ] = "email",
    control_share: Annotated[
        float,
        typer.Option(
            "--control-share",
            help="Hold out this share (0 to 0.99) at random as a control group, not written.",
        ),
    ] = 0.0,
) -> None:
    """The campaign list of one sender: customers it may contact today on one channel.

    Consent belongs to its sender (marts.contact_permissions), so a list needs one: --dealer
    or --brand. Every export is written to the audit log (who, when, filters, row count,
    sha256 of the file) and its members, controls included, to raw.export_members. SMS
    lists hold every phone: which ones are mobiles is not known. An unknown dealer or brand
    is an error, not an empty file.
    """
    from dealer360 import db, exports

    written = exports.write_audience(
        db.connect_checked(), out, dealer, brand, channel=channel, control_share=control_share
    )
    sender = f"dealer {written.dealer_code}" if written.dealer_code else f"brand {written.brand}"
    if written.row_count == 0:
        err_console.print(
            f"[yellow]warning:[/] no customer may be contacted by {sender} by {channel};"
            f" {written.path} holds only the header."
        )
    held_out = f", {written.controls:,} held out as controls" if written.controls else ""
    console.print(
        f"wrote {written.row_count:,} contactable customers to {written.path}{held_out}"
        f" (export {written.export_id}, sha256 {written.sha256[:12]}…, written to the audit log)"
    )


@app.command()
@friendly_errors
def forget(
    customer: Annotated[
        str, typer.Option("--customer", help="The customer ID (a retired ID is followed).")
    ],
) -> None:
    """Erase a person: their identifying values leave raw, resolve and the marts; their
    amounts and vehicle history stay under an anonymous key; their identifiers are
    suppressed so a file sent again does not bring them back. Audited."""
    from dealer360 import db
    from dealer360.exports import cli_actor
    from dealer360.forget import forget_customer

    engine = db.connect_checked()
    db.migrate(engine)
    result = forget_customer(engine, customer, actor=cli_actor())
    if result.already:
        console.print(
            f"{result.customer_id} was already forgotten on {result.already_forgotten_at:%Y-%m-%d};"
            " nothing to do."
        )
        return
    console.print(
        f"forgot {result.customer_id}: {result.records:,} records anonymized,"
        f" {result.suppressed_identifiers:,} identifiers suppressed, written to the audit log"
    )


@grant_app.command("dealer")
@friendly_errors
def grant_dealer(
    code: Annotated[str, typer.Argument(help="The dealer code, as in the dealers file.")],
) -> None:
    """Create or refresh a read-only login role limited to that dealer's customers; print its URL.

    A refresh keeps the role and gives it a new password (the old URL stops working).
    """
    from dealer360 import access, db

    granted = access.grant_dealer(db.connect_checked(), code)
    err_console.print(f"role {granted.role}: the password is shown only in this URL")
    print(granted.url)


@grant_app.command("oem")
@friendly_errors
def grant_oem(
    brand: Annotated[str, typer.Argument(help="The brand, e.g. Toyota.")],
) -> None:
    """Create or refresh a read-only login role for a manufacturer: its brand's registrations
    and aggregates, no customer's personal data; print its URL."""
    from dealer360 import access, db

    granted = access.grant_oem(db.connect_checked(), brand)
    err_console.print(f"role {granted.role}: the password is shown only in this URL")
    print(granted.url)


@grant_app.command("sharing")
@friendly_errors
def grant_sharing(
    state: Annotated[str, typer.Argument(help="on: rooftops see the whole group; off: their own.")],
) -> None:
    """Share customers and their events across all the group's rooftops (on), or not (off)."""
    from dealer360 import access, db

    if state not in ("on", "off"):
        raise UserError(f"Group sharing is `on` or `off`, not {state!r}.")
    access.set_group_sharing(db.connect_checked(), state == "on")
    print(f"group sharing is {state}")


@grant_app.command("user")
@friendly_errors
def grant_user(
    email: Annotated[str, typer.Argument(help="The person's e-mail, as they sign in with it.")],
    dealer: Annotated[
        str | None, typer.Option("--dealer", help="They see this rooftop's customers.")
    ] = None,
    oem: Annotated[
        str | None,
        typer.Option("--oem", help="They see this brand's aggregates, no personal data."),
    ] = None,
    group: Annotated[
        bool,
        typer.Option(
            "--group",
            help="They see the whole group, data health and identity review, and are whom"
            " people without access are told to ask.",
        ),
    ] = False,
) -> None:
    """Let a person who signs in to the dashboard see what a dealer, a brand or the group sees.

    Their queries run as that dealer's or brand's role, so row-level security decides what
    they see; granting again replaces what they had. `dealer360 revoke user EMAIL` undoes it.
    """
    from dealer360 import access, db
    from dealer360.exports import cli_actor

    person = access.grant_user(
        db.connect_checked(), email, dealer=dealer, brand=oem, group=group, granted_by=cli_actor()
    )
    print(f"{person.email} sees {person.sees} once signed in")


@app.command()
@friendly_errors
def revoke(
    role: Annotated[
        str, typer.Argument(help="The role `dealer360 grant` printed, or `user` and an e-mail.")
    ],
    email: Annotated[
        str | None, typer.Argument(help="With `user`: the person's e-mail.", show_default=False)
    ] = None,
) -> None:
    """Drop a login role `dealer360 grant` created: its URL stops working at once (and the
    people granted it see nothing). `dealer360 revoke user EMAIL`: that person sees nothing
    from their next click on."""
    from dealer360 import access, db

    if role == "user":
        if email is None:
            raise UserError("Name the person: `dealer360 revoke user EMAIL`.")
        access.revoke_user(db.connect_checked(), email)
        print(f"{email} no longer sees anything in the dashboard")
        return
    if email is not None:
        raise UserError(f"`dealer360 revoke {role}` takes no second argument.")
    access.revoke(db.connect_checked(), role)
    print(f"role {role} revoked")


@app.command()
@friendly_errors
def dashboard(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    host: Annotated[
        str,
        typer.Option(
            help="Address to bind; any other than loopback (127.0.0.1) needs sign-in"
            " (DEALER360_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET, DEALER360_COOKIE_SECRET)."
        ),
    ] = "127.0.0.1",
) -> None:
    """Serve the Streamlit dashboard and print its address (Ctrl-C stops it).

    With sign-in configured, people sign in with OpenID Connect and each sees what
    `dealer360 grant user` gave them; without, it serves only this computer (loopback).
    """
    import sys
    import tempfile

    import dashboard as dashboard_package
    from dealer360 import db
    from dealer360.settings import get_sign_in, is_loopback

    sign_in = get_sign_in()
    if sign_in is None and not is_loopback(host):
        raise UserError(
            f"Refusing to serve the dashboard on {host} without sign-in: set"
            " DEALER360_OIDC_ISSUER, DEALER360_OIDC_CLIENT_ID, DEALER360_OIDC_CLIENT_SECRET and"
            " DEALER360_COOKIE_SECRET, or keep the default --host 127.0.0.1."
        )
    if sign_in is not None and os.environ.get("DEALER360_DASHBOARD_URL"):
        raise UserError(
            "DEALER360_DASHBOARD_URL cannot be used with sign-in: the signed-in dashboard"
            " connects as the pipeline and runs each person's queries as their own role."
        )
    db.connect_checked()  # fail here, in one sentence, rather than on the first page view
    app_path = Path(dashboard_package.__file__).with_name("app.py")
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    address = f"http://{shown}:{port}"
    console.print(f"dealer360 dashboard: [bold]{address}[/]  (Ctrl-C stops it)")
    command = [
        sys.executable, "-m", "streamlit", "run", str(app_path),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        # Streamlit's full garbage collection after every page run costs ~115 ms of CPU in
        # the one server process all sessions share; Python's own collector still runs.
        "--runner.postScriptGC", "false",
        # A served dashboard is not being edited: watching the sources costs a walk over
        # every loaded module after each page run (~6 % of the server's CPU under load).
        "--server.fileWatcherType", "none",
        # Pages never rely on "magic" (a bare expression drawn as if st.write'd), and without
        # it compiling a page skips an AST rewrite of the whole file.
        "--runner.magicEnabled", "false",
    ]  # fmt: skip
    # Streamlit reads sign-in from a secrets file only: a private one for this server's life,
    # and no other (not ~/.streamlit/secrets.toml), so what is configured is what the
    # environment says. Without sign-in, an empty one: no stray [auth] turns it half on.
    with tempfile.TemporaryDirectory(prefix="dealer360-dashboard-") as run_dir:
        secrets = Path(run_dir) / "secrets.toml"
        _write_private(secrets, sign_in.streamlit_secrets(address) if sign_in else "")
        command += ["--secrets.files", str(secrets)]
        raise typer.Exit(_serve(command))


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read (0600), created so from the start."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(text)


def _serve(command: list[str]) -> int:
    """Run the server as this process's child, and stop it when this process is told to stop:
    Ctrl-C reaches both, but SIGTERM (a service manager, `kill`) or SIGHUP (a closed terminal)
    reaches only this one, and would leave the server running and holding its port."""
    import signal
    import subprocess
    import threading

    server = subprocess.Popen(command)
    stopped = threading.Event()

    def stop(*_signal) -> None:
        if not stopped.is_set():
            stopped.set()
            server.terminate()
            deadline = threading.Timer(10, server.kill)  # in case it does not stop in time
            deadline.daemon = True
            deadline.start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    while True:
        try:
            code = server.wait()
        except KeyboardInterrupt:
            stop()
            continue
        return 0 if stopped.is_set() else code


if __name__ == "__main__":
    app()
