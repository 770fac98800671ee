"""Progress of a long stage: a bar on the CLI's terminal (stderr: stdout may be a log) and a
line in Dagster's run log at each tenth of the way, so a run watched in the UI moves too."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextlib.contextmanager
def stage_progress(
    stage: str, total: int, log, *, bar: bool
) -> Iterator[Callable[[str | None], None]]:
    """Yields `advance(what)`: one more of `total` steps done (`what` names the next one).
    `log` is Dagster's run log; `bar` draws the terminal bar (the CLI asks for it)."""
    done = 0
    logged_tenth = -1
    progress = (
        Progress(
            TextColumn(f"{stage:<9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        if bar
        else None
    )
    with progress or contextlib.nullcontext():
        task = progress.add_task("", total=total) if progress else None

        def advance(what: str | None = None) -> None:
            nonlocal done, logged_tenth
            done += 1
            if progress is not None:
                progress.update(task, advance=1, description=what or "")
            tenth = done * 10 // max(total, 1)
            if tenth > logged_tenth:
                logged_tenth = tenth
                log.info(f"{stage}: {done:,} of {total:,} done" + (f"; now {what}" if what else ""))

        yield advance
