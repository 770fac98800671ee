"""The steps of matching that grow with candidate pairs, on Apache Spark.

A `Backend` for `engine.link` (see there): the same `LinkSettings`, run as Spark
DataFrames instead of NumPy arrays.

- Blocking: per blocking rule, the signatures holding every key column are grouped by the
  key; blocks of 2 to `max_block_size` signatures are joined with themselves (left < right,
  across sources for `link_only`), larger ones are counted as skipped, as `blocking.py`
  does. The rules' pairs are unioned and made distinct.
- Comparing: the candidate pairs joined with both signatures' values go through the
  comparison kernels of `comparisons.py` a batch at a time (`mapInPandas`). A pair's levels
  depend only on its two records' values, so each batch encodes its own values.
- Connected components: minimum-label propagation over the links, iterated until no
  label changes (as Splink's connected components do in SQL), each round also following
  each label's own label (pointer jumping) so long chains settle in fewer rounds.

What comes back to the driver is what the model learns from: per candidate pair its two
signature numbers and its comparison levels (one byte each), sorted by (left, right) as the
in-process backend returns them; per linked signature its component. Standardizing,
signatures, EM, scoring and the constrained re-clustering of troubled components run on
the driver (docs/scaling.md says why and what that costs).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dealer360.errors import UserError
from entity_resolution.blocking import Candidates
from entity_resolution.comparisons import Compared, Encoded, compare
from entity_resolution.settings import AnyEqual, LinkSettings

log = logging.getLogger(__name__)

_SIG = "sig"
_LOCAL_SHUFFLE_PARTITIONS = "2"  # small jobs on one machine: not Spark's 200
_MAX_ROUNDS = 100  # label propagation rounds; a component's diameter, halved by jumping


def compared_columns(settings: LinkSettings) -> list[str]:
    """Every column a comparison (or the swapped-names test) reads."""
    columns = list(settings.swap_columns or ())
    for comp in settings.comparisons:
        columns += comp.columns
        for level in comp.levels:
            if isinstance(level.when, AnyEqual):
                columns += level.when.columns
    return list(dict.fromkeys(columns))


def _comparison_batches(
    settings: LinkSettings, columns: list[str]
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """The mapInPandas function: each batch's pairs (l_*, r_* values) → their levels."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
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
            rows = np.arange(m)
            compared = compare(frame, rows, rows + m, settings)
            out = pd.DataFrame(
                {"left": batch["left"], "right": batch["right"], "swapped": compared.swapped}
            )
            for k in range(compared.levels.shape[1]):
                out[f"level_{k}"] = compared.levels[:, k]
            yield out

    return run


@dataclass(frozen=True)
class SparkBackend:
    """Blocking, comparing and connected components on the Spark session `spark`."""

    spark: SparkSession
    name: str = "spark"

    @property
    def ui_url(self) -> str | None:
        """The Spark UI's address (None over Spark Connect, where the server shows it)."""
        return ui_url(self.spark)

    @property
    def master(self) -> str | None:
        """The session's master (None over Spark Connect: the client does not know it)."""
        try:
            return self.spark.sparkContext.master
        except Exception:  # Spark Connect has no SparkContext on the client
            return None

    def _signatures(self, signatures: pd.DataFrame, columns: list[str]) -> DataFrame:
        frame = signatures[columns].astype("string").assign(**{_SIG: np.arange(len(signatures))})
        schema = ", ".join([f"`{c}` string" for c in columns] + [f"{_SIG} long"])
        return self.spark.createDataFrame(frame[[*columns, _SIG]], schema=schema)

    def _rule_pairs(
        self, sigs: DataFrame, settings: LinkSettings
    ) -> tuple[DataFrame, dict[str, int], dict[str, int]]:
        """Every rule's pairs (rule, left, right), and pairs and skipped blocks per rule.

        All rules in one plan: each signature gives one (rule, key) row per rule whose key
        columns it holds, the key as an array of the rule's values, so one grouping sizes
        every rule's blocks and one self-join pairs them.
        """
        source = settings.source_column if settings.link_type == "link_only" else None
        keys = []
        for number, rule in enumerate(settings.blocking_rules):
            held = F.lit(True)
            for c in rule.columns:  # a key with a missing column blocks nothing
                held = held & F.col(f"`{c}`").isNotNull()
            key = F.when(held, F.array(*[F.col(f"`{c}`") for c in rule.columns]))
            keys.append(F.struct(F.lit(number).alias("rule"), key.alias("key")))
        keyed = (
            sigs.select(F.col(_SIG), *_source(source, "src"), F.explode(F.array(*keys)).alias("k"))
            .select(_SIG, *(["src"] if source else []), "k.rule", "k.key")
            .where(F.col("key").isNotNull())
        )
        limit = F.element_at(
            F.array(*[F.lit(rule.max_block_size) for rule in settings.blocking_rules]),
            F.col("rule") + 1,
        )
        blocks = keyed.groupBy("rule", "key").agg(F.count(F.lit(1)).alias("size"))
        blocks = blocks.withColumn("too_big", F.col("size") > limit).localCheckpoint()
        kept = keyed.join(
            blocks.where(~F.col("too_big") & (F.col("size") >= 2)).select("rule", "key"),
            on=["rule", "key"],
        )
        a = kept.select(
            "rule", "key", F.col(_SIG).alias("left"), *_source(source and "src", "src_l")
        )
        b = kept.select(
            "rule", "key", F.col(_SIG).alias("right"), *_source(source and "src", "src_r")
        )
        pairs = a.join(b, on=["rule", "key"]).where(F.col("left") < F.col("right"))
        if source:
            pairs = pairs.where(F.col("src_l") != F.col("src_r"))
        pairs = pairs.select("rule", "left", "right").localCheckpoint()
        counted = dict(pairs.groupBy("rule").count().collect())
        skipped = dict(blocks.where("too_big").groupBy("rule").count().collect())
        names = [rule.name for rule in settings.blocking_rules]
        per_rule = {name: int(counted.get(k, 0)) for k, name in enumerate(names)}
        skipped_blocks = {name: int(skipped.get(k, 0)) for k, name in enumerate(names)}
        for name, n_skipped in skipped_blocks.items():
            if n_skipped:
                log.info("blocking rule %r skipped %d oversized blocks", name, n_skipped)
        return pairs, per_rule, skipped_blocks

    def compare_candidates(
        self, signatures: pd.DataFrame, settings: LinkSettings, encodings: dict[str, Encoded]
    ) -> tuple[Candidates, Compared]:
        """Candidate pairs and their levels, computed on Spark (`encodings` are not needed:
        each batch encodes its own values)."""
        compared_cols = compared_columns(settings)
        blocking_cols = [c for rule in settings.blocking_rules for c in rule.columns]
        source = [settings.source_column] if settings.link_type == "link_only" else []
        columns = list(dict.fromkeys([*compared_cols, *blocking_cols, *source]))
        missing = [c for c in columns if c not in signatures.columns]
        if missing:
            raise KeyError(f"the settings need columns the records do not have: {missing}")
        sigs = self._signatures(signatures, columns)
        rule_pairs, per_rule, skipped = self._rule_pairs(sigs, settings)
        candidates = rule_pairs.select("left", "right").distinct()
        values = sigs.select(_SIG, *[F.col(f"`{c}`") for c in compared_cols])
        left = values.select(
            F.col(_SIG).alias("left"), *[F.col(f"`{c}`").alias(f"l_{c}") for c in compared_cols]
        )
        right = values.select(
            F.col(_SIG).alias("right"), *[F.col(f"`{c}`").alias(f"r_{c}") for c in compared_cols]
        )
        n_comp = len(settings.comparisons)
        schema = "left long, right long, swapped boolean, " + ", ".join(
            f"level_{k} tinyint" for k in range(n_comp)
        )
        levels = (
            candidates.join(left, "left")
            .join(right, "right")
            .mapInPandas(_comparison_batches(settings, compared_cols), schema)
            .toPandas()
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

    def components(self, n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Connected components by minimum-label propagation with pointer jumping.

        Each node's label is the smallest node it has heard of; a round lowers it to the
        smallest label among its neighbours' and its label's own label. Labels only fall
        and stay inside the component, so when no label changes each component carries its
        smallest node. Nodes without links are their own component and never go to Spark.
        """
        labels = np.arange(n, dtype=np.int64)
        if left.size == 0:
            return labels
        links = self.spark.createDataFrame(
            pd.DataFrame({"a": left.astype(np.int64), "b": right.astype(np.int64)}),
            schema="a long, b long",
        )
        edges = (
            links.select(F.col("a").alias("node"), F.col("b").alias("nbr"))
            .union(links.select(F.col("b").alias("node"), F.col("a").alias("nbr")))
            .localCheckpoint()
        )
        label = (
            edges.groupBy("node")
            .agg(F.least(F.min("nbr"), F.col("node")).alias("label"))
            .localCheckpoint()
        )
        for rounds in range(1, _MAX_ROUNDS + 1):  # noqa: B007 (logged below)
            heard = (
                edges.join(
                    label.withColumnRenamed("node", "nbr").withColumnRenamed("label", "l"), "nbr"
                )
                .groupBy("node")
                .agg(F.min("l").alias("heard"))
            )
            jumped = (
                label.alias("x")
                .join(label.alias("y"), F.col("x.label") == F.col("y.node"))
                .select(F.col("x.node").alias("node"), F.col("y.label").alias("jump"))
            )
            new = (
                label.join(heard, "node")
                .join(jumped, "node")
                .select(
                    "node",
                    F.col("label").alias("old"),
                    F.least("label", "heard", "jump").alias("label"),
                )
                .localCheckpoint()
            )
            changed = new.where(F.col("label") != F.col("old")).count()
            label = new.select("node", "label")
            if changed == 0:
                break
        else:
            raise RuntimeError(f"connected components did not settle in {_MAX_ROUNDS} rounds")
        log.info("connected components settled in %d rounds", rounds)
        found = label.toPandas()
        labels[found["node"].to_numpy(np.int64)] = found["label"].to_numpy(np.int64)
        # Labels are smallest members: their ranks number components as scipy does.
        return np.unique(labels, return_inverse=True)[1]


def _source(column: str | None, name: str) -> list:
    """The source column under `name`, when pairs must cross sources (`link_only`)."""
    return [F.col(f"`{column}`").alias(name)] if column else []


def ui_url(spark: SparkSession) -> str | None:
    """The Spark UI of a classic session; None over Spark Connect."""
    try:
        return spark.sparkContext.uiWebUrl
    except Exception:  # Spark Connect has no SparkContext on the client
        return None


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
