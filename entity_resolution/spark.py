"""The steps of matching that grow with candidate pairs, on Apache Spark.

A `Backend` for `engine.link` (see there): the same `LinkSettings`, run as Spark
DataFrames instead of NumPy arrays.

- Blocking: each signature gives one (rule, key) row per blocking rule whose key columns
  it holds; the rows are hashed by (rule, key), so each block is whole in one partition, and
  each partition pairs its blocks with the in-process `pairs_within_groups` (blocks of 2 to
  `max_block_size`, left < right, across sources for `link_only`); only the pairs, two
  integers each, go on to one `distinct`. Pairs and skipped blocks per rule are counted
  from the block sizes, as `blocking.py` counts them, without the rule pairs.
- Comparing: the driver's encodings of the compared columns (integer codes per signature
  and each column's distinct values, as the in-process engine builds them) are broadcast
  once; the candidate pairs travel as two integers and go through the very same
  `comparisons.compare` a batch of pairs at a time (`mapInPandas`), so the levels are the
  in-process levels by construction. Over Spark Connect (no SparkContext, so no broadcast)
  the pairs are joined with both signatures' string values instead and each batch encodes
  its own values (a pair's levels depend only on its two records' values).
- Connected components: contraction by partition-local components. Up to
  `one_partition_edges` links go to one Spark task, which finds the components with SciPy
  in one round. Above that, each round sends every link to the partitions of both its
  nodes (hashed, salted by round); each partition finds its local components with SciPy
  and replaces its links by stars, (the local component's smallest node, each other node).
  The stars join exactly the nodes the links joined; rounds end when the links form
  disjoint stars (every node a leaf at most once, no leaf a centre), whose centres are
  their components' smallest nodes.

What comes back to the driver is what the model learns from: per candidate pair its two
signature numbers and its comparison levels (one byte each), sorted by (left, right) as the
in-process backend returns them; per linked signature its component. Standardizing,
signatures, EM, scoring and the constrained re-clustering of troubled components run on
the driver (docs/scaling.md says why and what that costs).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark import SparkContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from dealer360.errors import UserError
from entity_resolution.blocking import Candidates, pairs_within_groups
from entity_resolution.comparisons import Compared, Encoded, compare
from entity_resolution.settings import AnyEqual, LinkSettings

log = logging.getLogger(__name__)

_SIG = "sig"
_LOCAL_SHUFFLE_PARTITIONS = "2"  # small jobs on one machine: not Spark's 200
_MAX_ROUNDS = 100  # contraction rounds: 5-11 on the tests' chains and random graphs
_COMPARE_PAIRS = 500_000  # pairs per call of `compare` in a worker (Arrow sends 10k a batch)
_ONE_PARTITION_EDGES = 4_000_000  # links one Python worker takes at once (a few 100 MB)
_BLOCK_ROWS = 4_000_000  # (rule, key) rows a blocking partition holds, at most about


def compared_columns(settings: LinkSettings) -> list[str]:
    """Every column a comparison (or the swapped-names test) reads."""
    columns = list(settings.swap_columns or ())
    for comp in settings.comparisons:
        columns += comp.columns
        for level in comp.levels:
            if isinstance(level.when, AnyEqual):
                columns += level.when.columns
    return list(dict.fromkeys(columns))


def _gathered(batches: Iterator[pd.DataFrame], rows: int) -> Iterator[pd.DataFrame]:
    """Arrow's batches joined into frames of at least `rows` rows (the last one smaller):
    each call of the kernels has a fixed cost, paid here per half a million pairs."""
    held: list[pd.DataFrame] = []
    count = 0
    for batch in batches:
        held.append(batch)
        count += len(batch)
        if count >= rows:
            yield pd.concat(held, ignore_index=True)
            held, count = [], 0
    if count:
        yield pd.concat(held, ignore_index=True)


def _levels_frame(batch: pd.DataFrame, compared: Compared) -> pd.DataFrame:
    out = pd.DataFrame(
        {"left": batch["left"], "right": batch["right"], "swapped": compared.swapped}
    )
    for k in range(compared.levels.shape[1]):
        out[f"level_{k}"] = compared.levels[:, k]
    return out


def _position_batches(
    settings: LinkSettings, encodings, rows: int = _COMPARE_PAIRS
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """The mapInPandas function: pairs (left, right signature numbers) → their levels, by
    `compare` over the driver's encodings (`encodings.value`: a broadcast, or anything with
    a `value`), exactly as the in-process engine compares them."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        shared: dict[str, Encoded] = encodings.value
        for batch in _gathered(batches, rows):
            left = batch["left"].to_numpy(np.int64)
            right = batch["right"].to_numpy(np.int64)
            yield _levels_frame(batch, compare(pd.DataFrame(), left, right, settings, shared))

    return run


def _comparison_batches(
    settings: LinkSettings, columns: list[str], rows: int = _COMPARE_PAIRS
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """The mapInPandas function over Spark Connect: each batch's pairs (l_*, r_* values) →
    their levels, the batch encoding its own values."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in _gathered(batches, rows):
            m = len(batch)
            # Both sides as one frame of 2m rows: pair i is row i against row m + i.
            frame = pd.DataFrame(
                {
                    c: pd.concat([batch[f"l_{c}"], batch[f"r_{c}"]], ignore_index=True).astype(
                        "string"
                    )
                    for c in columns
                }
            )
            pairs = np.arange(m)
            yield _levels_frame(batch, compare(frame, pairs, pairs + m, settings))

    return run


def _block_pairs(
    limits: list[int], link_only: bool
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """The mapInPandas function of blocking: a partition's (sig, [src], rule, key) rows, its
    blocks whole, → every pair (left < right) within a block of 2 to the rule's limit
    (`limits[rule]`), across sources for `link_only`: `pairs_within_groups`, as in process."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        frames = list(batches)
        if not frames:
            return
        rows = pd.concat(frames, ignore_index=True)
        del frames
        rule = rows["rule"].to_numpy()
        for k, limit in enumerate(limits):
            mine = np.flatnonzero(rule == k)
            if mine.size < 2:
                continue
            keys = pd.factorize(rows["key"].to_numpy()[mine])[0].astype(np.int64)
            i, j, _ = pairs_within_groups(keys, limit)
            sig = rows[_SIG].to_numpy(np.int64)[mine]
            a, b = sig[i], sig[j]
            if link_only:
                src = pd.factorize(rows["src"].to_numpy()[mine])[0]
                cross = src[i] != src[j]
                a, b = a[cross], b[cross]
            for start in range(0, a.size, _COMPARE_PAIRS):  # frames of at most 8 MB
                part = slice(start, start + _COMPARE_PAIRS)
                yield pd.DataFrame(
                    {"left": np.minimum(a[part], b[part]), "right": np.maximum(a[part], b[part])}
                )

    return run


def _local_stars(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The mapInPandas function of one contraction round: a partition's edges (a, b) → one
    star per local component, (its smallest node, each other node)."""
    frames = list(batches)
    edges = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if edges.empty:
        return
    m = len(edges)
    nodes, ends = np.unique(
        np.concatenate([edges["a"].to_numpy(np.int64), edges["b"].to_numpy(np.int64)]),
        return_inverse=True,
    )
    graph = coo_matrix((np.ones(m, dtype=np.int8), (ends[:m], ends[m:])), shape=(nodes.size,) * 2)
    _, local = connected_components(graph, directed=False)
    # SciPy numbers components in the order of their smallest node, and `nodes` is sorted:
    # a label's first position is its component's smallest node.
    _, first = np.unique(local, return_index=True)
    centre = nodes[first[local]]
    leaf = centre != nodes
    yield pd.DataFrame({"a": centre[leaf], "b": nodes[leaf]})


@dataclass(frozen=True)
class SparkBackend:
    """Blocking, comparing and connected components on the Spark session `spark`.

    `one_partition_edges`: up to this many links, connected components run in one Spark
    task (one round); above it, in partitions of about that many links each."""

    spark: SparkSession
    name: str = "spark"
    one_partition_edges: int = _ONE_PARTITION_EDGES

    @property
    def ui_url(self) -> str | None:
        """The Spark UI's address (None over Spark Connect, where the server shows it)."""
        return ui_url(self.spark)

    @property
    def master(self) -> str | None:
        """The session's master (None over Spark Connect: the client does not know it)."""
        context = _context(self.spark)
        return context.master if context else None

    def _signatures(self, signatures: pd.DataFrame, columns: list[str]) -> DataFrame:
        frame = signatures[columns].astype("string").assign(**{_SIG: np.arange(len(signatures))})
        schema = ", ".join([f"`{c}` string" for c in columns] + [f"{_SIG} long"])
        return self.spark.createDataFrame(frame[[*columns, _SIG]], schema=schema)

    def _rule_pairs(
        self, sigs: DataFrame, settings: LinkSettings, n_signatures: int
    ) -> tuple[DataFrame, dict[str, int], dict[str, int]]:
        """The candidate pairs (left, right; each pair once), and pairs and skipped blocks
        per rule.

        Each signature gives one (rule, key) row per rule whose key columns it holds. The
        rows are hashed by (rule, key), so every block is whole in one partition, and each
        partition pairs its blocks with the in-process `pairs_within_groups`
        (`_block_pairs`): only the pairs travel, as two integers, to one `distinct`. The
        per-rule counts come from the block sizes (n(n-1)/2 a kept block, less the pairs
        within one source for `link_only`), not from counting rule pairs.
        """
        source = settings.source_column if settings.link_type == "link_only" else None
        rules = settings.blocking_rules
        keys = []
        for number, rule in enumerate(rules):
            held = F.lit(True)
            for c in rule.columns:  # a key with a missing column blocks nothing
                held = held & F.col(f"`{c}`").isNotNull()
            if len(rule.columns) == 1:
                value = F.col(f"`{rule.columns[0]}`")
            else:  # each value after its length: one string per key, and no two keys alike
                value = F.concat(
                    *[
                        F.concat(
                            F.length(F.col(f"`{c}`")).cast("string"), F.lit(":"), F.col(f"`{c}`")
                        )
                        for c in rule.columns
                    ]
                )
            keys.append(F.struct(F.lit(number).alias("rule"), F.when(held, value).alias("key")))
        keyed = (
            sigs.select(F.col(_SIG), *_source(source, "src"), F.explode(F.array(*keys)).alias("k"))
            .select(_SIG, *(["src"] if source else []), "k.rule", "k.key")
            .where(F.col("key").isNotNull())
        ).localCheckpoint()
        per_rule, skipped_blocks = self._rule_counts(keyed, settings, bool(source))
        for name, n_skipped in skipped_blocks.items():
            if n_skipped:
                log.info("blocking rule %r skipped %d oversized blocks", name, n_skipped)
        rows = n_signatures * len(rules)
        parts = max(
            int(self.spark.conf.get("spark.sql.shuffle.partitions")), math.ceil(rows / _BLOCK_ROWS)
        )
        limits = [rule.max_block_size for rule in rules]
        pairs = (
            keyed.repartition(parts, "rule", "key")
            .mapInPandas(_block_pairs(limits, bool(source)), "left long, right long")
            .distinct()
        )
        return pairs, per_rule, skipped_blocks

    def _rule_counts(
        self, keyed: DataFrame, settings: LinkSettings, link_only: bool
    ) -> tuple[dict[str, int], dict[str, int]]:
        """Pairs and skipped blocks per rule, from the block sizes as `blocking.py` counts
        them: blocks over `max_block_size` skipped, a kept block of n giving n(n-1)/2 pairs,
        less those within one source for `link_only`."""
        rules = settings.blocking_rules
        limit = F.element_at(
            F.array(*[F.lit(rule.max_block_size) for rule in rules]), F.col("rule") + 1
        )
        if link_only:
            blocks = (
                keyed.groupBy("rule", "key", "src")
                .agg(F.count(F.lit(1)).alias("n"))
                .groupBy("rule", "key")
                .agg(F.sum("n").alias("n"), F.sum(F.expr("n * (n - 1) div 2")).alias("same"))
            )
        else:
            blocks = keyed.groupBy("rule", "key").agg(F.count(F.lit(1)).alias("n"))
            blocks = blocks.withColumn("same", F.lit(0))
        kept = (F.col("n") >= 2) & (F.col("n") <= limit)
        counted = (
            blocks.groupBy("rule")
            .agg(
                F.sum(F.when(kept, F.expr("n * (n - 1) div 2") - F.col("same"))).alias("pairs"),
                F.count(F.when(F.col("n") > limit, 1)).alias("skipped"),
            )
            .collect()
        )
        by_rule = {row["rule"]: row for row in counted}
        per_rule, skipped = {}, {}
        for k, rule in enumerate(rules):
            row = by_rule.get(k)
            per_rule[rule.name] = int(row["pairs"] or 0) if row else 0
            skipped[rule.name] = int(row["skipped"] or 0) if row else 0
        return per_rule, skipped

    def compare_candidates(
        self, signatures: pd.DataFrame, settings: LinkSettings, encodings: dict[str, Encoded]
    ) -> tuple[Candidates, Compared]:
        """Candidate pairs and their levels, computed on Spark from the driver's `encodings`
        (broadcast once), or over Spark Connect from the signatures' values."""
        compared_cols = compared_columns(settings)
        blocking_cols = [c for rule in settings.blocking_rules for c in rule.columns]
        source = [settings.source_column] if settings.link_type == "link_only" else []
        columns = list(dict.fromkeys([*compared_cols, *blocking_cols, *source]))
        missing = [c for c in columns if c not in signatures.columns]
        if missing:
            raise KeyError(f"the settings need columns the records do not have: {missing}")
        t = time.perf_counter()
        sigs = self._signatures(signatures, columns)
        candidates, per_rule, skipped = self._rule_pairs(sigs, settings, len(signatures))
        # The pairs themselves are made (and made distinct) as comparing reads them.
        log.info("blocking on Spark (keys, block sizes, counts): %.1f s", time.perf_counter() - t)
        t = time.perf_counter()
        n_comp = len(settings.comparisons)
        schema = "left long, right long, swapped boolean, " + ", ".join(
            f"level_{k} tinyint" for k in range(n_comp)
        )
        context = _context(self.spark)
        if context is not None:
            shared = context.broadcast({c: encodings[c] for c in compared_cols})
            try:
                levels = candidates.mapInPandas(
                    _position_batches(settings, shared), schema
                ).toPandas()
            finally:
                shared.destroy()
        else:
            levels = self._compare_values(sigs, candidates, settings, compared_cols, schema)
        log.info(
            "pairing blocks and comparing %d pairs on Spark (%s): %.1f s",
            len(levels),
            "broadcast encodings" if context is not None else "values joined to pairs",
            time.perf_counter() - t,
        )
        # The in-process order, sorted here: (left, right) is unique, so the order is total.
        levels = levels.sort_values(["left", "right"], kind="stable", ignore_index=True)
        position = np.int32 if len(signatures) < 2**31 else np.int64
        level_cols = [f"level_{k}" for k in range(n_comp)]
        return (
            Candidates(
                left=levels["left"].to_numpy(position),
                right=levels["right"].to_numpy(position),
                pairs_per_rule=per_rule,
                skipped_blocks=skipped,
            ),
            Compared(
                levels=np.ascontiguousarray(levels[level_cols].to_numpy(np.int8)).reshape(
                    len(levels), n_comp
                ),
                tf_bits=np.zeros((len(levels), n_comp), dtype=np.float32),
                swapped=levels["swapped"].to_numpy(bool),
            ),
        )

    def _compare_values(
        self,
        sigs: DataFrame,
        candidates: DataFrame,
        settings: LinkSettings,
        compared_cols: list[str],
        schema: str,
    ) -> pd.DataFrame:
        """Levels over Spark Connect: both signatures' values joined to each pair."""
        values = sigs.select(_SIG, *[F.col(f"`{c}`") for c in compared_cols])
        left = values.select(
            F.col(_SIG).alias("left"), *[F.col(f"`{c}`").alias(f"l_{c}") for c in compared_cols]
        )
        right = values.select(
            F.col(_SIG).alias("right"), *[F.col(f"`{c}`").alias(f"r_{c}") for c in compared_cols]
        )
        return (
            candidates.join(left, "left")
            .join(right, "right")
            .mapInPandas(_comparison_batches(settings, compared_cols), schema)
            .toPandas()
        )

    def components(self, n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Connected components by contraction, numbered by their smallest member.

        Each round replaces the edges by the stars of each partition's local components
        (`_local_stars`), which join the same nodes; rounds end when the edges are disjoint
        stars, each centred on its component's smallest node (with a single partition, after
        one round). Nodes without links are their own component and never go to Spark.
        """
        t = time.perf_counter()
        labels = np.arange(n, dtype=np.int64)
        a = np.minimum(left, right).astype(np.int64)
        b = np.maximum(left, right).astype(np.int64)
        a, b = a[a != b], b[a != b]
        if a.size == 0:
            return labels
        edges = self.spark.createDataFrame(pd.DataFrame({"a": a, "b": b}), "a long, b long")
        m = a.size
        for rounds in range(1, _MAX_ROUNDS + 1):  # noqa: B007 (logged below)
            if m <= self.one_partition_edges:
                edges = edges.coalesce(1).mapInPandas(_local_stars, "a long, b long")
                break
            # Each link goes to the partitions of both its nodes, so every node meets all
            # its neighbours in one partition (a link sent to one random partition would
            # leave a triangle's three links apart round after round).
            parts = math.ceil(2 * m / self.one_partition_edges)
            homed = edges.select("a", "b", F.col("a").alias("home")).union(
                edges.select("a", "b", F.col("b").alias("home"))
            )
            spread = homed.repartition(parts, F.xxhash64("home", F.lit(rounds))).select("a", "b")
            edges = spread.mapInPandas(_local_stars, "a long, b long").distinct()
            edges = edges.localCheckpoint()
            m = edges.count()
            log.info(
                "connected components: round %d in %d partitions gave %d links", rounds, parts, m
            )
            if _disjoint_stars(edges):
                break
        else:
            raise RuntimeError(f"connected components did not settle in {_MAX_ROUNDS} rounds")
        stars = edges.toPandas()
        log.info(
            "connected components of %d links on Spark: %d round(s), %.1f s",
            left.size,
            rounds,
            time.perf_counter() - t,
        )
        labels[stars["b"].to_numpy(np.int64)] = stars["a"].to_numpy(np.int64)
        # Labels are smallest members: their ranks number components as scipy does.
        return np.unique(labels, return_inverse=True)[1]


def _disjoint_stars(edges: DataFrame) -> bool:
    """Whether every node is a leaf (b) at most once and no leaf is also a centre (a)."""
    roles = edges.select(F.col("b").alias("node"), F.lit(1).alias("leaf")).union(
        edges.select(F.col("a").alias("node"), F.lit(0).alias("leaf"))
    )
    clash = (
        roles.groupBy("node")
        .agg(F.sum("leaf").alias("leaf"), F.count(F.lit(1)).alias("seen"))
        .where((F.col("leaf") >= 1) & (F.col("seen") > 1))
    )
    return clash.limit(1).count() == 0


def _context(spark: SparkSession) -> SparkContext | None:
    """The session's SparkContext; None over Spark Connect, whose client has none."""
    try:
        return spark.sparkContext
    except Exception:
        return None


def _source(column: str | None, name: str) -> list:
    """The source column under `name`, when pairs must cross sources (`link_only`)."""
    return [F.col(f"`{column}`").alias(name)] if column else []


def ui_url(spark: SparkSession) -> str | None:
    """The Spark UI of a classic session; None over Spark Connect."""
    context = _context(spark)
    return context.uiWebUrl if context else None


def java_missing() -> bool:
    home = os.environ.get("JAVA_HOME")
    return not (
        (home and os.path.exists(os.path.join(home, "bin", "java"))) or shutil.which("java")
    )


def start_session(master: str, conf: Mapping[str, str] | None = None) -> SparkSession:
    """A Spark session on `master`: `local[N]`, a cluster's URL, or `sc://` Spark Connect.

    `conf` is Spark's own settings, as `spark-submit --conf` takes them (spark.driver.memory,
    spark.executor.memory, …); they win over this function's defaults for local mode."""
    builder = SparkSession.builder.appName("dealer360 resolve")
    if master.startswith("sc://"):
        builder = builder.remote(master)
        for key, value in (conf or {}).items():
            builder = builder.config(key, value)
        return builder.getOrCreate()
    if java_missing():
        raise UserError(
            "The spark engine needs Java 17 or later: install it (apt install openjdk-17-jre)"
            " or set JAVA_HOME, or run with --engine in-process."
        )
    builder = builder.master(master).config("spark.sql.execution.arrow.pyspark.enabled", "true")
    if master.startswith("local"):
        # Python workers here run this machine's Python, the one running dealer360 with its
        # packages (PySpark reads PYSPARK_PYTHON, else a `python3` on PATH; on a cluster
        # the executors' image decides).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.config("spark.sql.shuffle.partitions", _LOCAL_SHUFFLE_PARTITIONS)
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


@contextlib.contextmanager
def spark_backend(master: str, conf: Mapping[str, str] | None = None) -> Iterator[SparkBackend]:
    """A Spark backend for one resolve run, its session stopped when the run ends.

    A session already active in this process (a notebook's, Databricks' own, a test's) is
    used as it stands and left running: it is not ours to stop, and Spark keeps one
    context per process, so `master` and `conf` cannot change it."""
    running = SparkSession.getActiveSession()
    if running is not None:
        log.info("resolving on the Spark session already running in this process")
        yield SparkBackend(running)
        return
    spark = start_session(master, conf)
    try:
        yield SparkBackend(spark)
    finally:
        spark.stop()
