"""The `dealer360` command. Each command calls one function of its stage; errors a user
can fix are printed as one sentence with exit status 1, never as a traceback."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

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

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable)


def friendly_errors(func: F) -> F:
    """Turn the errors a user can act on into one red sentence and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            err_console.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
):
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")


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
    console.print(summary)


@app.command()
@friendly_errors
def run(
    inbox: Annotated[
        Path, typer.Option("--inbox", help="The inbox folder: one sub-folder per source.")
    ],
) -> None:
    """Land the inbox, resolve identities and build every mart; print a summary.

    Exits 0 when the pipeline completed, even if rows were quarantined or files rejected
    (the summary lists them); 1 when a stage failed.
    """
    from dealer360.summary import render_pipeline_summary
    from orchestration.runner import run_pipeline

    summary = run_pipeline(inbox, progress=True)
    render_pipeline_summary(summary, console)
    if not summary.succeeded:
        raise UserError(f"The pipeline did not complete: {summary.error}")


@export_app.command("links")
@friendly_errors
def export_links(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
) -> None:
    """CSV source,source_record_id,customer_id: every landed person record and its customer."""
    import entity_resolution
    from dealer360 import db

    out = out.expanduser()
    if not out.parent.is_dir():
        raise UserError(f"Cannot write {out}: the folder {out.parent} does not exist.")
    rows = entity_resolution.export_links(db.connect_checked(), out)
    console.print(f"wrote {rows:,} links to {out}")


@app.command()
@friendly_errors
def dashboard(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    host: Annotated[
        str, typer.Option(help="Address to bind; keep 127.0.0.1 unless others must reach it.")
    ] = "127.0.0.1",
) -> None:
    """Serve the Streamlit dashboard and print its address (Ctrl-C stops it)."""
    import subprocess
    import sys

    import dashboard as dashboard_package
    from dealer360 import db

    db.connect_checked()  # fail here, in one sentence, rather than on the first page view
    app_path = Path(dashboard_package.__file__).with_name("app.py")
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    console.print(f"dealer360 dashboard: [bold]http://{shown}:{port}[/]  (Ctrl-C stops it)")
    command = [
        sys.executable, "-m", "streamlit", "run", str(app_path),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
    ]  # fmt: skip
    try:
        raise typer.Exit(subprocess.call(command))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


if __name__ == "__main__":
    app()
