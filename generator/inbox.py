"""`generate_inbox`: a whole synthetic dealer group, written as a messy inbox plus its truth."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generator.dealers import pick_dealers
from generator.events import build_events
from generator.export import InboxWriter
from generator.people import Families, PhoneBook, build_people
from generator.recalls import build_recalls
from generator.reference import load
from generator.render import Renderer
from generator.vehicles import build_catalog, simulate


@dataclass(frozen=True)
class GenerationSummary:
    """What was written. `rows` counts CSV rows per source, re-exported duplicates included;
    `records` counts distinct source_record_ids (the truth file has one line per record)."""

    out_dir: Path
    seed: int
    people: int
    households: int
    businesses: int
    dealers: int
    rows: dict[str, int]
    records: dict[str, int]
    files: dict[str, int]
    bad_rows: dict[str, int] = field(default_factory=dict)
    families: Families = field(default_factory=Families.default)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def generate_inbox(
    out_dir: Path,
    people: int = 3000,
    seed: int = 42,
    *,
    mess: float = 1.0,
    progress: bool = False,
    bad_rows: float = 0.0,
    reexports: bool = True,
) -> GenerationSummary:
    """Write a realistic, messy inbox for `people` individuals (plus ~4 % businesses).

    Writes `out_dir/<source>/*.csv` for the six landing sources (deleting CSVs a previous
    run left there), `out_dir/truth.csv` (source, source_record_id, person_id),
    `out_dir/truth_people.csv` (household, role, business owner of each person_id) and
    `out_dir/truth_families.csv` (this seed's family rates, people.Families).

    Deterministic: the same (people, seed, mess, bad_rows, reexports) gives byte-identical
    files, and `mess` changes only how records are typed, never the world behind them.
    `mess` scales every kind of slip (0 clean, 1 realistic, 2 hostile); `bad_rows` is the
    share of person rows that break the contract (quarantine material), 0 by default;
    `reexports` re-sends the tail of one deals file under another name.
    """
    if people < 1:
        raise ValueError(f"people must be at least 1, got {people}")
    if mess < 0 or bad_rows < 0:
        raise ValueError("mess and bad_rows must not be negative")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    # The contract's later columns draw from their own stream (see Renderer.round2).
    round2 = rng.spawn(1)[0]
    # So do the family rates (people.Families): drawing them leaves every other draw as it was.
    families = Families.draw(rng.spawn(1)[0])
    ref = load()
    with _stages(progress) as stage:
        stage("dealers and people")
        phones = PhoneBook(rng)
        dealers = pick_dealers(rng, ref, phones)
        world = build_people(rng, ref, dealers, phones, people, families)
        stage("vehicle lifetimes")
        catalog = build_catalog(ref, dealers)
        acquisitions = simulate(rng, world, catalog)
        stage("deals, repair orders, registrations, leads")
        events = build_events(rng, ref, world, catalog, acquisitions)
        events["oem_recalls"] = build_recalls(
            round2, catalog, acquisitions, events["service_orders"]
        )
        stage("typing it in and writing files")
        del acquisitions
        renderer = Renderer(rng, ref, world, catalog, mess, round2)
        writer = InboxWriter(rng, out_dir, bad_rows=bad_rows, reexports=reexports)
        writer.dealers(renderer.dealer_list())
        for source, render in (
            ("dealer_sales", renderer.dealer_sales),
            ("service_orders", renderer.service_orders),
            ("oem_registrations", renderer.oem_registrations),
            ("crm_leads", renderer.crm_leads),
            ("oem_recalls", renderer.oem_recalls),
        ):
            # Repair orders are most of the volume: one rooftop at a time keeps memory flat.
            todo = events.pop(source)
            parts = [p for _, p in todo.groupby("dealer")] if source == "service_orders" else [todo]
            del todo
            while parts:
                frame, styles = render(parts.pop(0))
                writer.source(source, frame, styles)
                del frame
        writer.truth()
        writer.people(world.entities)
        writer.families(families.rows())
    ent = world.entities
    return GenerationSummary(
        out_dir=out_dir,
        seed=seed,
        people=int((~ent["is_business"]).sum()),
        households=world.households,
        businesses=int(ent["is_business"].sum()),
        dealers=len(dealers),
        rows=writer.rows,
        records=writer.records,
        files=writer.files,
        bad_rows=writer.broken,
        families=families,
        seconds=round(time.perf_counter() - started, 2),
    )


@contextmanager
def _stages(show: bool) -> Iterator[Callable[[str], None]]:
    """A progress bar over the generation stages, or nothing."""
    if not show:
        yield lambda _label: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("generating", total=4)
        count = {"n": 0}

        def stage(label: str) -> None:
            if count["n"]:
                bar.advance(task)
            count["n"] += 1
            bar.update(task, description=label)

        yield stage
        bar.advance(task)
