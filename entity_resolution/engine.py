"""The matching engine: records in, one cluster label per record out, with the evidence.

It knows nothing about car dealers: `settings` names the columns. Records that agree on
every identity column are one *signature* and are matched once (a customer's twenty
repair orders with the same name, phone and VIN cost one comparison, not 190), then the
result is expanded back to records.

The relational steps, the ones that grow with candidate pairs, run on a `Backend`: blocking
and comparing the candidate pairs, and the connected components of the confident links.
`IN_PROCESS` runs them here (NumPy, SciPy); `entity_resolution.spark` runs them on Spark.
Either returns the same arrays in the same order (pairs sorted by (left, right), components
numbered by their smallest signature), so what follows (EM, scoring, constrained
clustering, the evidence) is one code path and gives the same customers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from entity_resolution import learning
from entity_resolution.blocking import (
    Candidates,
    block_key,
    candidate_pairs,
    pairs_touching,
    rule_keys,
)
from entity_resolution.clustering import (
    Clusters,
    ComponentsFn,
    Contacts,
    Exclusive,
    cluster,
    components,
)
from entity_resolution.comparisons import (
    Compared,
    Encoded,
    compare,
    compare_one,
    encode_all,
    term_frequency_bits,
    tf_columns,
)
from entity_resolution.scoring import (
    Parameters,
    Scored,
    Session,
    estimate,
    frequencies,
    score,
)
from entity_resolution.settings import Comparison, LinkSettings
from entity_resolution.standardize import family_mailboxes

log = logging.getLogger(__name__)

_PIN = "__pin"
_RANDOM_PAIRS = 200_000
_MUST_LINK_STRENGTH = 1e6
_NO_TF_BITS = np.zeros((0, 0), dtype=np.float32)


class Backend(Protocol):
    """Where the steps that grow with candidate pairs run."""

    name: str

    def compare_candidates(
        self, signatures: pd.DataFrame, settings: LinkSettings, encodings: dict[str, Encoded]
    ) -> tuple[Candidates, Compared]:
        """Every blocking rule's pairs of `signatures`, deduplicated and sorted by (left,
        right), with each comparison's level per pair (`encodings` are the signatures')."""
        ...

    def components(self, n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Connected components of n nodes, numbered in the order of their smallest node."""
        ...


@dataclass(frozen=True)
class InProcess:
    """The backend of one machine: NumPy blocking, the comparison kernels, SciPy."""

    name: str = "in-process"

    def compare_candidates(
        self, signatures: pd.DataFrame, settings: LinkSettings, encodings: dict[str, Encoded]
    ) -> tuple[Candidates, Compared]:
        candidates = candidate_pairs(signatures, settings)
        compared = compare(signatures, candidates.left, candidates.right, settings, encodings)
        return candidates, compared

    def components(self, n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return components(n, left, right)


IN_PROCESS = InProcess()


@dataclass
class LinkResult:
    settings: LinkSettings
    record_signature: np.ndarray  # signature number per input record
    signatures: pd.DataFrame  # one row per signature (identity and blocking columns)
    candidates: Candidates
    compared: Compared
    scored: Scored
    params: Parameters
    contradiction: np.ndarray  # bool per candidate pair
    clusters: Clusters  # over signatures
    record_cluster: np.ndarray  # cluster number per input record
    record_probability: np.ndarray  # strength of each record's link into its cluster
    must_link: tuple[np.ndarray, np.ndarray]  # signature pairs forced together
    timings: dict[str, float] = field(default_factory=dict)
    verdicts: learning.Verdicts | None = None  # people's verdicts on candidate pairs
    learnt: learning.Learnt | None = None  # the classifier they taught, once in force

    @property
    def review(self) -> np.ndarray:
        """Candidate pairs in the uncertain band that ended in different clusters, less
        those the learnt classifier calls two people as surely as the threshold asks."""
        labels = self.clusters.labels
        apart = labels[self.candidates.left] != labels[self.candidates.right]
        review = learning.in_band(self.scored.probability, self.contradiction, self.settings)
        review &= apart
        pairs = np.flatnonzero(review)
        review[
            pairs[learning.dismissed(self.learnt, self.compared.levels[pairs], self.settings)]
        ] = False
        return review

    def learnt_probability(self, pairs: np.ndarray) -> np.ndarray:
        """The learnt classifier's probability of a match for `pairs` (NaN before it is in
        force)."""
        if self.learnt is None:
            return np.full(pairs.size, np.nan)
        return self.learnt.probability(self.compared.levels[pairs])


def signatures_of(
    records: pd.DataFrame, columns: list[str], pin: pd.Series | None = None
) -> tuple[np.ndarray, pd.DataFrame]:
    """Signature number per record and the first record of each signature.

    `pin` is one more key (a record of its own where set), passed as a column of its own
    so that the records are not copied to hold it.
    """
    keys = [records[c] for c in columns] + ([] if pin is None else [pin])
    sig = records.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(records))).groupby(sig).first().to_numpy()
    return sig, records.iloc[first].reset_index(drop=True)


def _name_only(frame: pd.DataFrame, settings: LinkSettings) -> np.ndarray:
    """Records whose only identity is a name (`weak_alone` comparisons).

    Two such records with the same name are not thereby the same person (two leads
    "Sylvie Roy" whose e-mail was a placeholder), so they are not collapsed into one
    signature: each is matched on its own and stays alone unless evidence joins it.
    """
    weak = {
        c for comp in settings.comparisons if comp.name in settings.weak_alone for c in comp.columns
    }
    strong = [c for c in settings.identity_columns if c not in weak]
    if not weak or not strong:
        return np.zeros(len(frame), dtype=bool)
    return frame[strong].isna().all(axis=1).to_numpy()


def _contradictions(
    compared: Compared, settings: LinkSettings, cluster_wide_only: bool = False
) -> np.ndarray:
    """Pairs the settings' contradictions declare two people (only the rules that also
    keep their two clusters apart, with `cluster_wide_only`)."""
    out = np.zeros(compared.levels.shape[0], dtype=bool)
    index = {c.name: k for k, c in enumerate(settings.comparisons)}
    for rule in settings.contradictions:
        if cluster_wide_only and not rule.cluster_wide:
            continue
        hit = np.ones(compared.levels.shape[0], dtype=bool)
        for name, labels in rule.levels.items():
            k = index[name]
            comp = settings.comparisons[k]
            wanted = [comp.level_number(label) for label in labels]
            hit &= np.isin(compared.levels[:, k], wanted)
        out |= hit
    return out


def _exclusives(
    settings: LinkSettings, encodings: dict[str, Encoded], records_per_signature: np.ndarray
) -> tuple[Exclusive, ...]:
    """For each exclusive column: values are incompatible when the column's own comparison
    puts them at a level that a single-field contradiction names.

    A given name (`swap_columns`' first) written on one record in all the data is left
    out: most such names are slips of the keyboard (`Ertc`, `Ebic`), and two slips of one
    name are further apart than either is from the name, so held against a whole cluster
    they would cut one person in two. Such a record still contradicts the records it is
    compared with directly; a name that two records carry keeps its cluster to it.
    """
    given = settings.swap_columns[0] if settings.swap_columns else None
    out = []
    for column in settings.exclusive:
        comp = next(c for c in settings.comparisons if c.columns[0] == column)
        bad_levels = [
            comp.level_number(label)
            for rule in settings.contradictions
            if set(rule.levels) == {comp.name}
            for label in rule.levels[comp.name]
        ]
        enc = encodings[column]
        # A value stands for the first signature holding it (for the comparison's other
        # columns, such as the formal name behind a nickname).
        holder = np.full(len(enc.values), -1, dtype=np.int64)
        known = np.flatnonzero(enc.codes >= 0)
        holder[enc.codes[known[::-1]]] = known[::-1]

        def incompatible(a, b, comp=comp, holder=holder, bad_levels=bad_levels):
            sa, sb = holder[a], holder[b]
            levels = compare_one(
                comp,
                [encodings[c].codes[sa] for c in comp.columns],
                [encodings[c].codes[sb] for c in comp.columns],
                [encodings[c] for c in comp.columns],
            )
            return np.isin(levels, bad_levels)

        codes = enc.codes
        if column == given:
            known = codes >= 0
            written = np.bincount(
                codes[known], weights=records_per_signature[known], minlength=len(enc.values)
            )
            codes = np.where(known & (written[np.maximum(codes, 0)] <= 1), -1, codes)
        out.append(Exclusive(column, codes, incompatible))
    return tuple(out)


def _sessions(frame: pd.DataFrame, candidates: Candidates, settings: LinkSettings) -> list[Session]:
    """One EM session per blocking rule: the candidates agreeing on that rule's key."""
    out = []
    for rule in settings.blocking_rules:
        key = block_key(frame, rule.columns).astype(np.int32)  # group numbers < signatures
        same = key[candidates.left]
        agree = same >= 0
        agree &= same == key[candidates.right]
        del same
        sources = {s for c in rule.columns for s in settings.derived.get(c, (c,))}
        involved = frozenset(
            k for k, comp in enumerate(settings.comparisons) if sources & set(comp.columns)
        )
        out.append(Session(rule.name, agree, involved))
    return out


def _total_pairs(frame: pd.DataFrame, settings: LinkSettings) -> float:
    """Pairs the model could be asked about: all pairs, or all cross-source pairs."""
    n = float(len(frame))
    if settings.link_type == "dedupe":
        return n * (n - 1) / 2
    sizes = frame[settings.source_column].value_counts().to_numpy(dtype=float)
    return float((sizes.sum() ** 2 - (sizes**2).sum()) / 2)


@dataclass(frozen=True)
class _RandomPairs:
    """A sample of pairs drawn at random, with their comparison levels."""

    left: np.ndarray
    right: np.ndarray
    levels: np.ndarray

    def u(self, settings: LinkSettings, labels: np.ndarray | None = None) -> list[np.ndarray]:
        """Level frequencies among the pairs, those inside one cluster left out.

        Random pairs are nearly all non-matches on large data, so their level frequencies
        are u. Not on small data: among 300 people one random pair in three hundred is a
        match, and a match agrees on phone or e-mail far more often than strangers do, so
        u of every agreement level comes out several times too high and every link too
        weak. Pairs that the clusters put together are left out once clusters exist.
        """
        levels = self.levels
        if labels is not None:
            levels = levels[labels[self.left] != labels[self.right]]
        return frequencies(levels, settings)


def _random_pairs(
    frame: pd.DataFrame, settings: LinkSettings, encodings: dict[str, Encoded], seed: int = 0
) -> _RandomPairs:
    """Random pairs of records (every pair on small data), compared."""
    n = len(frame)
    if n * (n - 1) // 2 <= _RANDOM_PAIRS:  # small data: every pair, exactly
        a, b = np.triu_indices(n, k=1)
    else:
        rng = np.random.default_rng(seed)
        a = rng.integers(0, n, _RANDOM_PAIRS)
        b = rng.integers(0, n, _RANDOM_PAIRS)
    keep = a != b
    a, b = a[keep], b[keep]
    compared = compare(frame, a, b, settings, encodings)
    return _RandomPairs(a, b, compared.levels)


@dataclass
class _Problem:
    """What both passes of `link` share: the signatures, their candidate pairs compared,
    and what the model holds fixed while it learns (contradictions, reviewers' decisions,
    random pairs)."""

    signatures: pd.DataFrame
    candidates: Candidates
    compared: Compared
    encodings: dict[str, Encoded]
    contradiction: np.ndarray  # pairs that are two people: never a link
    apart: np.ndarray  # … whose clusters also stay apart
    random_pairs: _RandomPairs
    sessions: list[Session]
    total_pairs: float
    decided: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    exclusives: tuple[Exclusive, ...]
    components: ComponentsFn
    verdicts: learning.Verdicts  # every decided pair, compared
    learnt: learning.Learnt | None  # what they teach, once there are enough
    contacts: tuple[np.ndarray, ...]  # per `contacts` field, a signature's own value's code


@dataclass
class _Pass:
    params: Parameters
    scored: Scored
    clusters: Clusters


def link(
    records: pd.DataFrame,
    settings: LinkSettings,
    must_link: tuple[np.ndarray, np.ndarray] | None = None,
    cannot_link: tuple[np.ndarray, np.ndarray] | None = None,
    backend: Backend = IN_PROCESS,
    before: learning.Learnt | None = None,
) -> LinkResult:
    """Resolve `records` (one row each) into clusters.

    `must_link` / `cannot_link` are pairs of record positions decided by a person; they
    override the model. A record named in a cannot-link decision becomes its own
    signature, so the decision can separate it from an otherwise identical record; so
    does a record identified by nothing but a name.

    The model learns twice (`_learn_and_cluster`): first counting values among
    signatures, then among the people the first pass found. `backend` runs blocking,
    comparing and connected components; the rest runs here.
    `before` is the classifier of the run before on the same settings (its stored model):
    the patterns it held linked or dismissed stay so unless their own verdicts turn
    (`learning.learn`); the result's classifier holds also what this run decided.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    n_records = len(records)
    frame = _positional(records)
    record_signature, signatures = _signatures(frame, settings, cannot_link)
    n = len(signatures)
    timings["signatures"] = time.perf_counter() - t0

    t = time.perf_counter()
    encodings = encode_all(signatures, settings)
    candidates, compared = backend.compare_candidates(signatures, settings, encodings)
    timings["blocking and comparing"] = time.perf_counter() - t

    t = time.perf_counter()
    decided = _decided_pairs(record_signature, must_link, cannot_link)
    verdicts = _verdicts(signatures, encodings, candidates, decided, settings, n)
    problem = _Problem(
        signatures=signatures,
        candidates=candidates,
        compared=compared,
        encodings=encodings,
        contradiction=_contradictions(compared, settings),
        apart=_contradictions(compared, settings, cluster_wide_only=True),
        random_pairs=_random_pairs(signatures, settings, encodings),
        sessions=_sessions(signatures, candidates, settings),
        total_pairs=_total_pairs(signatures, settings),
        decided=decided,
        exclusives=_exclusives(settings, encodings, np.bincount(record_signature, minlength=n)),
        components=backend.components,
        verdicts=verdicts,
        learnt=learning.learn(verdicts, settings, before),
        contacts=_contact_codes(frame, settings, encodings),
    )
    timings["random pairs and sessions"] = time.perf_counter() - t

    t = time.perf_counter()
    # Only the first pass's clusters are kept: its scores go before the second scores
    # every pair again (not two sets at once).
    people = _learn_and_cluster(problem, settings).clusters
    timings["first pass"] = time.perf_counter() - t

    t = time.perf_counter()
    final = _learn_and_cluster(problem, settings, people)
    timings["second pass"] = time.perf_counter() - t

    clusters = final.clusters
    ml_left, ml_right = problem.decided[0], problem.decided[1]
    sig_probability = _signature_probability(
        n, candidates, final.scored, clusters, (ml_left, ml_right)
    )
    result = LinkResult(
        settings=settings,
        record_signature=record_signature,
        signatures=signatures,
        candidates=candidates,
        compared=compared,
        scored=final.scored,
        params=final.params,
        contradiction=problem.contradiction,
        clusters=clusters,
        record_cluster=clusters.labels[record_signature],
        record_probability=sig_probability[record_signature],
        must_link=(ml_left, ml_right),
        timings=timings,
        verdicts=problem.verdicts,
        learnt=learning.remember(
            problem.learnt,
            final.scored.probability,
            compared.levels,
            problem.contradiction,
            settings,
        ),
    )
    log.info(
        "linked %d records (%d signatures, %d candidate pairs) into %d clusters in %.1fs",
        n_records,
        n,
        candidates.left.size,
        clusters.labels.max() + 1 if n else 0,
        time.perf_counter() - t0,
    )
    return result


def _positional(records: pd.DataFrame) -> pd.DataFrame:
    """Positions, not labels, from here on; a copy only when the index is not already that
    (a copy of every column of millions of records is gigabytes)."""
    if records.index.equals(pd.RangeIndex(len(records))):
        return records
    return records.reset_index(drop=True)


def _signatures(
    frame: pd.DataFrame, settings: LinkSettings, cannot_link: tuple[np.ndarray, np.ndarray] | None
) -> tuple[np.ndarray, pd.DataFrame]:
    """Signatures of `frame`, a record of its own for each name-only record and each record
    named in a cannot-link decision."""
    pinned = np.flatnonzero(_name_only(frame, settings))
    if cannot_link is not None and len(cannot_link[0]):
        pinned = np.union1d(pinned, np.concatenate(cannot_link))
    pin = None
    if pinned.size:
        pin_values = np.full(len(frame), None, dtype=object)
        pin_values[pinned] = pinned.astype(str)
        pin = pd.Series(pin_values, index=frame.index, dtype="string", name=_PIN)
    return signatures_of(frame, list(settings.identity_columns), pin)


def _learn_and_cluster(
    problem: _Problem, settings: LinkSettings, people: Clusters | None = None
) -> _Pass:
    """Learn m, u and the prior, score every candidate pair and cluster the confident links.

    First pass (`people` None): value frequencies and u are counted among signatures, and
    only links with evidence beyond names (not `weak_alone`) count.

    Second pass, given the first pass's clusters as `people`: how common a value is among
    *people*, not among signatures. A firm with two hundred repair orders makes its name
    frequent among signatures, yet one customer carries it; two Gary Lees are two people,
    and their name is that much less telling. Likewise u: how often two *different*
    people agree, so random pairs that the first pass put in one cluster are left out,
    and m is learnt again against that u. Signatures known by a vehicle alone then
    follow the one cluster holding it (`_attach_followers`).
    """
    candidates, compared, encodings = problem.candidates, problem.compared, problem.encodings
    labels = None if people is None else people.labels
    u = problem.random_pairs.u(settings, labels)
    frequency = None
    if labels is not None:
        frequency = {
            column: _cluster_frequency(encodings[column].codes, labels)
            for column in tf_columns(settings)
        }
    compared.tf_bits = term_frequency_bits(
        compared.levels, candidates.left, encodings, settings, u, frequency
    )
    if labels is not None and settings.joint_tf:
        _add_joint_frequency(compared, candidates, encodings, labels, frequency, settings)
    params = estimate(
        compared.levels,
        compared.tf_bits,
        settings,
        u,
        problem.sessions,
        problem.contradiction,
        problem.total_pairs,
    )
    scored = score(compared, params, settings)
    compared.tf_bits = _NO_TF_BITS  # `scored` keeps the columns it needs
    # What reviewers taught re-scores the final pass's uncertain band (the first pass only
    # counts people for the second).
    promoted = None
    if people is not None:
        promoted = learning.promoted(
            problem.learnt,
            scored.probability,
            compared.levels,
            problem.contradiction,
            problem.verdicts,
            settings,
        )
    clusters = _cluster(
        len(problem.signatures),
        candidates,
        scored,
        problem.contradiction,
        problem.apart,
        problem.decided,
        problem.exclusives,
        problem.components,
        settings,
        problem.contacts,
        _corroborated(scored, settings) if people is None else None,
        promoted,
        compared.swapped,
        _generation_marks(encodings, settings),
        _reached(problem.signatures, settings),
    )
    if people is not None:
        _attach_followers(
            problem.signatures, candidates, scored, clusters, problem.decided, settings
        )
        _attach_by_name(
            _full_names(encodings, settings),
            _identified_signatures(problem.signatures, settings),
            candidates,
            scored,
            clusters,
            problem.apart,
            problem.decided,
            problem.exclusives,
            settings,
        )
    return _Pass(params, scored, clusters)


def _attach_followers(
    frame: pd.DataFrame,
    candidates: Candidates,
    scored: Scored,
    clusters: Clusters,
    decided: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    settings: LinkSettings,
) -> None:
    """Put each signature identified only by `follow_alone` columns and contacts into the
    one cluster that holds its values, in place; the pair that carries it joins the
    cluster's tree.

    Such a record (an internal repair order: a VIN, no name, no contact) says nothing
    about who it is, so the model cannot link it (a shared car alone is weak evidence
    between two people); yet it is no new person either. Likewise a record known by
    nothing but a phone or an e-mail (a lead that left only a number): a phone alone
    stays under the match threshold because households share landlines, but where one
    customer alone holds the number, the record is whoever answers it. Left alone when
    no cluster or several hold the values (a household's landline), or when a
    reviewer's decision names it.
    """
    follow = _follow_columns(frame, settings)
    follower = _followers(frame, settings)
    if follower is None or candidates.left.size == 0:
        return
    sizes = np.bincount(clusters.labels)
    follower &= sizes[clusters.labels] == 1
    follower[np.concatenate(decided)] = False
    if not follower.any():
        return
    share = np.zeros(candidates.left.size, dtype=bool)
    for column in follow:
        codes = block_key(frame, (column,))
        a, b = codes[candidates.left], codes[candidates.right]
        share |= (a >= 0) & (a == b)
    pairs = []
    for lone, other in ((candidates.left, candidates.right), (candidates.right, candidates.left)):
        hit = np.flatnonzero(share & follower[lone] & ~follower[other])
        pairs.append(pd.DataFrame({"pair": hit, "sig": lone[hit], "to": other[hit]}))
    links = pd.concat(pairs, ignore_index=True)
    links["cluster"] = clusters.labels[links["to"].to_numpy()]
    one_owner = links.groupby("sig")["cluster"].transform("nunique") == 1
    links = links[one_owner.to_numpy()]
    if links.empty:
        return
    links = links.assign(p=scored.probability[links["pair"].to_numpy()])
    best = links.sort_values("p", ascending=False, kind="stable").drop_duplicates("sig")
    clusters.labels[best["sig"].to_numpy()] = best["cluster"].to_numpy()
    _, clusters.labels = np.unique(clusters.labels, return_inverse=True)
    clusters.tree = np.r_[clusters.tree, best["pair"].to_numpy()]


def _follow_columns(frame: pd.DataFrame, settings: LinkSettings) -> list[str]:
    """The values a record known by nothing else follows: a car's period, a contact."""
    contact_columns = [settings.comparison(name).columns[0] for name in settings.contacts]
    return [c for c in (*settings.follow_alone, *contact_columns) if c in frame.columns]


def _followers(frame: pd.DataFrame, settings: LinkSettings) -> np.ndarray | None:
    """Signatures known only by `_follow_columns` values (None when nothing can be)."""
    follow = _follow_columns(frame, settings)
    others = [c for c in settings.identity_columns if c not in follow]
    if not follow or not others:
        return None
    return (
        frame[others].isna().all(axis=1).to_numpy() & frame[follow].notna().any(axis=1).to_numpy()
    )


def _generation_marks(encodings: dict[str, Encoded], settings: LinkSettings) -> np.ndarray | None:
    """Each signature's `generation_suffix` code (Jr, Sr; -1 when none), if the settings
    name one."""
    if settings.generation_suffix is None:
        return None
    return encodings[settings.generation_suffix].codes


def _reached(frame: pd.DataFrame, settings: LinkSettings) -> np.ndarray:
    """Signatures with some contact, a household's shared mailbox too."""
    columns = [settings.comparison(name).columns[0] for name in settings.contacts]
    return frame[columns].notna().any(axis=1).to_numpy()


def _identified_signatures(frame: pd.DataFrame, settings: LinkSettings) -> np.ndarray:
    """Signatures known by more than a name and a place: a contact (a household's mailbox
    too: it reaches somebody) or another identifying value (a firm, a birth date), not
    what a record is about (a car)."""
    columns = [
        comp.columns[0]
        for comp in settings.comparisons
        if comp.name in settings.identifying and comp.columns[0] not in settings.follow_alone
    ]
    return frame[columns].notna().any(axis=1).to_numpy()


def _full_names(encodings: dict[str, Encoded], settings: LinkSettings) -> np.ndarray:
    """A code per signature for its whole given name and surname together (-1 where either
    is missing or the given name is an initial)."""
    given, surname = settings.swap_columns
    first, last = encodings[given], encodings[surname]
    whole = np.array([len(v) > 1 for v in first.values], dtype=bool)
    known = (first.codes >= 0) & (last.codes >= 0)
    known[known] = whole[first.codes[known]]
    out = np.full(first.codes.size, -1, dtype=np.int64)
    out[known] = first.codes[known].astype(np.int64) * (len(last.values) + 1) + last.codes[known]
    return out


def _holders_elsewhere(
    names: np.ndarray, identified: np.ndarray, customer: np.ndarray, outside: np.ndarray
) -> dict[int, int]:
    """For each full name, how many identified customers outside an increment's region
    hold it (their clusters are not rebuilt, yet they are namesakes all the same)."""
    frame = pd.DataFrame({"name": names, "customer": customer, "identified": identified})
    frame = frame[outside & (names >= 0) & (customer >= 0)]
    known = frame.groupby("customer")["identified"].transform("any").to_numpy()
    frame = frame[known].drop_duplicates(["name", "customer"])
    return frame["name"].value_counts().to_dict()


def _attach_by_name(
    names: np.ndarray,
    identified: np.ndarray,
    candidates: Candidates,
    scored: Scored,
    clusters: Clusters,
    apart: np.ndarray,
    decided: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    exclusives: tuple[Exclusive, ...],
    settings: LinkSettings,
    elsewhere: dict[int, int] | None = None,
) -> None:
    """Put each cluster known by a name alone into the one identified cluster that holds
    its full name, in place; the strongest pair agreeing on that name joins the tree.

    A lead that left nothing but "Francesca Ferrari", or the repair orders of a car she
    bought elsewhere, carry no contact, birth date or firm: the model cannot link them
    (namesakes exist, so a name alone stays under the threshold), yet they are no new
    person either when one customer in all the data bears that name. With two or more
    identified namesakes (a father and son of one name) the cluster stays alone, for a
    reviewer: a name cannot tell them apart. `names` is each signature's full-name code
    (`_full_names`), `identified` marks signatures with a contact or another identifying
    value, `elsewhere` counts identified namesakes outside an increment's region. Left
    alone: a cluster whose names point at two clusters, one kept apart from it (a
    contradiction or a reviewer's decision), or one holding an incompatible value of an
    exclusive field (another suffix).
    """
    if not settings.attach_by_name or candidates.left.size == 0:
        return
    labels = clusters.labels
    known = np.bincount(labels, weights=identified.astype(np.float64)) > 0
    holders = pd.DataFrame({"name": names, "cluster": labels})
    holders = holders[(names >= 0) & known[labels]].drop_duplicates()
    count = holders["name"].value_counts()
    if elsewhere:
        count = count.add(pd.Series(elsewhere, dtype=np.int64), fill_value=0)
    left, right = candidates.left, candidates.right
    same_name = (names[left] >= 0) & (names[left] == names[right])
    pairs = []
    for lone, other in ((left, right), (right, left)):
        hit = np.flatnonzero(same_name & ~known[labels[lone]] & known[labels[other]])
        pairs.append(
            pd.DataFrame({"pair": hit, "weak": labels[lone[hit]], "to": labels[other[hit]]})
        )
    links = pd.concat(pairs, ignore_index=True)
    if links.empty:
        return
    # Every full name the weak cluster bears must be held by at most one identified cluster
    # in all the data, and all by the same one.
    borne = pd.DataFrame({"weak": labels, "name": names})
    borne = borne[(names >= 0) & ~known[labels]].drop_duplicates()
    borne["holders"] = borne["name"].map(count).fillna(0).to_numpy()
    crowded = borne.loc[borne["holders"] > 1, "weak"].unique()
    links = links[~links["weak"].isin(crowded)]
    one_target = links.groupby("weak")["to"].transform("nunique") == 1
    links = links[one_target.to_numpy()]
    if links.empty:
        return
    # Kept apart: a contradiction or a reviewer's decision between the two clusters (as
    # integer keys: millions of contradicting pairs at scale).
    size = np.int64(labels.max()) + 1
    a = labels[np.r_[left[apart], decided[2]]].astype(np.int64)
    b = labels[np.r_[right[apart], decided[3]]].astype(np.int64)
    blocked = np.r_[a * size + b, b * size + a]
    wanted = links["weak"].to_numpy(np.int64) * size + links["to"].to_numpy(np.int64)
    links = links[~np.isin(wanted, blocked)]
    for exclusive in exclusives:
        if links.empty:
            return
        values = pd.DataFrame({"cluster": labels, "v": exclusive.codes})
        values = values[values["v"] >= 0].drop_duplicates()
        pairs = links[["weak", "to"]].drop_duplicates()
        cross = pairs.merge(values, left_on="weak", right_on="cluster").merge(
            values, left_on="to", right_on="cluster", suffixes=("_w", "_t")
        )
        cross = cross[cross["v_w"] != cross["v_t"]]
        if cross.empty:
            continue
        bad = exclusive.incompatible(cross["v_w"].to_numpy(), cross["v_t"].to_numpy())
        links = links[~links["weak"].isin(cross.loc[bad, "weak"].unique())]
    if links.empty:
        return
    links = links.assign(p=scored.probability[links["pair"].to_numpy()])
    best = links.sort_values(["p", "pair"], ascending=[False, True], kind="stable")
    best = best.drop_duplicates("weak")
    target = np.arange(labels.max() + 1)
    target[best["weak"].to_numpy()] = best["to"].to_numpy()
    _, clusters.labels = np.unique(target[labels], return_inverse=True)
    clusters.tree = np.r_[clusters.tree, best["pair"].to_numpy()]


def _decided_pairs(
    record_signature: np.ndarray,
    must_link: tuple[np.ndarray, np.ndarray] | None,
    cannot_link: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Reviewers' decisions as signature pairs: (must left, must right, cannot left, right)."""
    empty = np.empty(0, dtype=np.int64)
    ml = (empty, empty)
    cl = (empty, empty)
    if must_link is not None and len(must_link[0]):
        ml = (
            record_signature[np.asarray(must_link[0])],
            record_signature[np.asarray(must_link[1])],
        )
    if cannot_link is not None and len(cannot_link[0]):
        cl = (
            record_signature[np.asarray(cannot_link[0])],
            record_signature[np.asarray(cannot_link[1])],
        )
    return ml[0], ml[1], cl[0], cl[1]


def _verdicts(
    signatures: pd.DataFrame,
    encodings: dict[str, Encoded],
    candidates: Candidates,
    decided: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    settings: LinkSettings,
    n: int,
    position: np.ndarray | None = None,
) -> learning.Verdicts:
    """Reviewers' decisions (signature pairs) compared, to teach the classifier: a pair
    blocking never found teaches as well. The candidates number `n` signatures;
    `position` maps `signatures` to that numbering (an increment's region)."""
    left, right, match = learning.decided_pairs(decided)
    levels = compare(signatures, left, right, settings, encodings).levels
    if position is not None:
        left, right = position[left], position[right]
    return learning.verdicts(candidates.left, candidates.right, n, (left, right, match), levels)


def _corroborated(scored: Scored, settings: LinkSettings) -> np.ndarray:
    """Pairs with positive evidence from a comparison that is not `weak_alone`."""
    out = np.zeros(scored.log_odds.shape[0], dtype=bool)
    for k, comp in enumerate(settings.comparisons):
        if comp.name not in settings.weak_alone:
            out |= scored.weight(k) > 0
    return out


def _identified(
    scored: Scored,
    candidates: Candidates,
    settings: LinkSettings,
    contact_codes: tuple[np.ndarray, ...],
) -> np.ndarray:
    """Pairs with positive evidence from an `identifying` comparison (more than a name and
    an address); a contact counts only where it is both sides' own, not a household's,
    and where it agrees only up to a slip, only when the slip is not as near another's
    (`_ambiguous_slips`)."""
    own = dict(zip(settings.contacts, contact_codes, strict=True))
    out = np.zeros(scored.log_odds.shape[0], dtype=bool)
    for k, comp in enumerate(settings.comparisons):
        if comp.name in settings.identifying:
            hit = scored.weight(k) > 0
            if comp.name in own:
                codes = own[comp.name]
                hit &= (codes[candidates.left] >= 0) & (codes[candidates.right] >= 0)
                hit &= ~_ambiguous_slips(scored.levels[:, k], comp, candidates, codes, hit)
            out |= hit
    return out


def _ambiguous_slips(
    levels: np.ndarray,
    comp: Comparison,
    candidates: Candidates,
    codes: np.ndarray,
    positive: np.ndarray,
) -> np.ndarray:
    """Pairs whose contact agrees only up to a slip that may not be one: the rarer value is
    one slip from two other values (`patrick.martel@hotmail.co` is as near `…@hotmail.ca`
    as `…@hotmail.com`, two namesakes' mailboxes), or both values are in steady use
    (`li.leung@` and `l.leung@`, `line.rousseau@` and `lise.rousseau@`, each on several
    records: a slip is rare beside the value it slips from). Such a link says whose the
    records are no more than a name does. A value one person mistyped twice stays near one
    value only."""
    out = np.zeros(levels.shape[0], dtype=bool)
    if "exact" not in comp.labels:
        return out
    fuzzy = np.flatnonzero(positive & (levels != comp.level_number("exact")))
    if fuzzy.size == 0:
        return out
    held = np.bincount(codes[codes >= 0], minlength=int(codes.max()) + 1)
    a, b = codes[candidates.left[fuzzy]], codes[candidates.right[fuzzy]]
    near = pd.DataFrame({"v": np.r_[a, b], "w": np.r_[b, a]}).drop_duplicates()
    partners = near.groupby("v")["w"].size()
    count = np.zeros(held.size, dtype=np.int64)
    count[partners.index.to_numpy()] = partners.to_numpy()
    rarer_a = held[a] <= held[b]
    rarer_b = held[b] <= held[a]
    rarer, commoner = np.minimum(held[a], held[b]), np.maximum(held[a], held[b])
    steady = (rarer >= _STEADY_USE) & (rarer * _STEADY_RATIO >= commoner)
    out[fuzzy] = (rarer_a & (count[a] > 1)) | (rarer_b & (count[b] > 1)) | steady
    return out


# A contact value in steady use: on this many signatures at least, the rarer of two within
# this ratio of the other (`_ambiguous_slips`). A mistyped value is mostly on one record.
_STEADY_USE = 3
_STEADY_RATIO = 5


def _contact_codes(
    records: pd.DataFrame, settings: LinkSettings, encodings: dict[str, Encoded]
) -> tuple[np.ndarray, ...]:
    """Each signature's value code of every `contacts` field: -1 where unknown, and where
    the value is a household's (`family_contacts`: one e-mail written beside two people's
    given names, `standardize.family_mailboxes`), which links a household, not a person."""
    out = []
    for name in settings.contacts:
        column = settings.comparison(name).columns[0]
        enc = encodings[column]
        codes = enc.codes
        if column in settings.family_contacts and settings.swap_columns:
            given, surname = settings.swap_columns
            shared = family_mailboxes(records[column], records[given], records[surname])
            household = np.isin(enc.values, list(shared))
            if household.any():
                codes = np.where(household[np.maximum(codes, 0)] & (codes >= 0), -1, codes)
        out.append(codes)
    return tuple(out)


def _add_joint_frequency(
    compared: Compared,
    candidates: Candidates,
    encodings: dict[str, Encoded],
    labels: np.ndarray,
    frequency: dict[str, np.ndarray],
    settings: LinkSettings,
) -> None:
    """Correct two exact agreements for the frequency of their combination among people.

    The two adjustments assume the values independent: log2(1/f(first)) + log2(1/f(last)).
    The combination's own frequency replaces that: the correction log2(f(first) f(last) /
    f(first, last)) goes to the second comparison's term-frequency bits.
    """
    first_col, last_col = settings.joint_tf
    index = {c.name: k for k, c in enumerate(settings.comparisons)}
    k_first, k_last = index[first_col], index[last_col]
    exact_first = settings.comparisons[k_first].level_number("exact")
    exact_last = settings.comparisons[k_last].level_number("exact")
    first, last = encodings[first_col], encodings[last_col]
    both = (first.codes >= 0) & (last.codes >= 0)
    joint = np.full(first.codes.size, -1, dtype=np.int64)
    joint[both] = pd.factorize(first.codes[both] * (len(last.values) + 1) + last.codes[both])[0]
    f_joint = _cluster_frequency(joint, labels)
    f_first = frequency.get(first_col, first.frequency)
    f_last = frequency.get(last_col, last.frequency)
    pairs = np.flatnonzero(
        (compared.levels[:, k_first] == exact_first)
        & (compared.levels[:, k_last] == exact_last)
        & ~compared.swapped
    )
    a = candidates.left[pairs]
    ok = joint[a] >= 0
    pairs, a = pairs[ok], a[ok]
    bits = np.log2(
        f_first[first.codes[a]] * f_last[last.codes[a]] / np.maximum(f_joint[joint[a]], 1e-12)
    )
    limit = settings.em.max_tf_bits
    compared.tf_bits[pairs, k_last] += np.clip(bits, -limit, limit).astype(np.float32)


def _cluster(
    n: int,
    candidates: Candidates,
    scored: Scored,
    contradiction: np.ndarray,
    apart: np.ndarray,
    decided: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    exclusives: tuple[Exclusive, ...],
    find_components: ComponentsFn,
    settings: LinkSettings,
    contact_codes: tuple[np.ndarray, ...],
    allowed: np.ndarray | None = None,
    promoted: np.ndarray | None = None,
    swapped: np.ndarray | None = None,
    marks: np.ndarray | None = None,
    reached: np.ndarray | None = None,
) -> Clusters:
    """Clusters from the confident links (and the uncertain ones the learnt classifier
    `promoted`), reviewers' decisions and the contradictions.

    A contradicting pair is never a link; those of `apart` also keep their clusters apart.
    A link with no identifying evidence (a name and an address) cannot join two groups
    whose contacts never meet (`clustering.Contacts`; `marks`: each signature's
    `generation_suffix` code; `reached`: signatures with a contact, a household's too). A record whose confident links all
    read its names the other way round (`swapped`) does not hold its cluster to its given
    name (`_turned_given_names`).
    """
    ml_left, ml_right, dl_left, dl_right = decided
    confident = scored.probability >= settings.match_threshold
    if promoted is not None:
        confident |= promoted
    confident &= ~contradiction
    if allowed is not None:
        confident &= allowed
    if swapped is not None:
        exclusives = _turned_given_names(exclusives, settings, candidates, confident, swapped)
    position = candidates.left.dtype  # int32 positions stay int32: 4 bytes a link less
    clusters = cluster(
        n,
        np.r_[ml_left.astype(position), candidates.left[confident]],
        np.r_[ml_right.astype(position), candidates.right[confident]],
        np.r_[np.full(ml_left.size, _MUST_LINK_STRENGTH), scored.log_odds[confident]],
        np.r_[candidates.left[apart], dl_left],
        np.r_[candidates.right[apart], dl_right],
        exclusives,
        find_components,
        Contacts(
            contact_codes,
            np.r_[
                np.zeros(ml_left.size, dtype=bool),
                ~_identified(scored, candidates, settings, contact_codes)[confident],
            ],
            marks,
            reached,
        ),
    )
    # Tree links index the links passed above; map them back to candidate pairs.
    link_index = np.r_[np.full(ml_left.size, -1), np.flatnonzero(confident)]
    tree = link_index[clusters.tree]
    clusters.tree = tree[tree >= 0]
    return clusters


def _turned_given_names(
    exclusives: tuple[Exclusive, ...],
    settings: LinkSettings,
    candidates: Candidates,
    confident: np.ndarray,
    swapped: np.ndarray,
) -> tuple[Exclusive, ...]:
    """The given-name exclusive without the signatures whose confident links all read their
    names the other way round.

    `T James` on a repair order (a `LAST F` habit read as `F LAST`) links to James Tran's
    records only with its two words exchanged; its given-name box holds his surname's
    initial, and checked as a given name, `T` against `James` would keep the record out of
    the cluster its own link puts it in. Which of a record's words is the given name is
    what such a record cannot tell, so its given name is no evidence of a second person.
    A record with one link in the usual order keeps its given name.
    """
    if not settings.swap_columns or not swapped.any():
        return exclusives
    given = settings.swap_columns[0]
    n = next((e.codes.size for e in exclusives if e.name == given), None)
    if n is None:
        return exclusives
    turned = np.zeros(n, dtype=bool)
    straight = np.zeros(n, dtype=bool)
    for marks, which in ((turned, confident & swapped), (straight, confident & ~swapped)):
        marks[candidates.left[which]] = True
        marks[candidates.right[which]] = True
    doubt = turned & ~straight
    if not doubt.any():
        return exclusives
    return tuple(
        Exclusive(e.name, np.where(doubt, -1, e.codes), e.incompatible) if e.name == given else e
        for e in exclusives
    )


def _cluster_frequency(codes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Share of clusters (people) holding each value, among clusters holding any value."""
    n_values = int(codes.max()) + 1 if codes.size else 0
    known = codes >= 0
    pairs = np.unique(labels[known].astype(np.int64) * max(n_values, 1) + codes[known])
    counts = np.bincount(pairs % max(n_values, 1), minlength=n_values).astype(np.float64)
    return counts / max(counts.sum(), 1.0)


def _signature_probability(
    n: int,
    candidates: Candidates,
    scored: Scored,
    clusters: Clusters,
    must_link: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Each signature's strongest link to another member of its cluster (1 when alone)."""
    prob = np.zeros(n)
    tree = clusters.tree
    for side in (candidates.left[tree], candidates.right[tree]):
        np.maximum.at(prob, side, scored.probability[tree])
    for side in must_link:
        prob[side] = 1.0
    sizes = np.bincount(clusters.labels)
    prob[sizes[clusters.labels] == 1] = 1.0
    return prob


@dataclass
class Increment:
    """What `relink` re-clustered: the records of the touched customers, and their result."""

    records: np.ndarray  # positions (into the records given) of the records re-clustered
    result: LinkResult  # over those records, in that order


def _value_rules(settings: LinkSettings) -> list[int]:
    """The blocking rules keyed by a contact or a car's period alone (a phone, an e-mail,
    a VIN's ownership period): the values records known by nothing else follow."""
    contact_columns = {settings.comparison(name).columns[0] for name in settings.contacts}
    by_value = contact_columns | set(settings.follow_alone)
    return [k for k, rule in enumerate(settings.blocking_rules) if set(rule.columns) <= by_value]


def _neighbourhood(
    seed: np.ndarray,
    keys: list[np.ndarray],
    settings: LinkSettings,
    identified: np.ndarray,
    followers: np.ndarray | None,
    by_name: np.ndarray,
    names: np.ndarray,
    probability: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """The seeds and the signatures their arrival or change can move: a seed's block mate
    whose pair with it could link or be reviewed (`probability`, the stored model's, at or
    over the review band's floor), and besides

    - through a contact or a car's period (`_value_rules`), a block mate when either is a
      record known by such values alone (`followers`): it goes to the one customer holding
      them (`_attach_followers`), so every holder counts;
    - through a name (the other rules), a namesake when the two bear one full name
      (`names`), either is known by no contact or identifying value (`identified`), and the
      name may place a record (`by_name`: at most one customer holds it;
      `_attach_by_name`).

    A namesake or a housemate that shares nothing else with a new record keeps its
    customer untouched, as a run from scratch would leave it.
    """
    near = seed.copy()
    by_value = set(_value_rules(settings))
    n = np.int64(seed.size)
    codes = []
    for k, key in enumerate(keys):
        a, b = pairs_touching(key, seed)
        left, right = np.minimum(a, b), np.maximum(a, b)
        if k in by_value:
            free = (
                np.zeros(left.size, dtype=bool)
                if followers is None
                else followers[left] | followers[right]
            )
        else:
            free = (
                (names[left] == names[right])
                & by_name[left]
                & ~(identified[left] & identified[right])
            )
        near[left[free]] = near[right[free]] = True
        codes.append(left[~free].astype(np.int64) * n + right[~free])
    codes = np.unique(np.concatenate(codes)) if codes else np.empty(0, dtype=np.int64)
    codes = codes[~(near[codes // n] & near[codes % n])]  # both in already: no need to score
    left, right = codes // n, codes % n
    floor = min(settings.review_band[0], settings.match_threshold)
    strong = probability(left, right) >= floor
    near[left[strong]] = near[right[strong]] = True
    return near


def _names_going_by_name(
    names: np.ndarray, identified: np.ndarray, people: np.ndarray, seed: np.ndarray
) -> np.ndarray:
    """Per signature: its full name is borne by at most one customer holding a contact or
    an identifying value (so `_attach_by_name` may put a record known by that name alone
    into it, or into a seed's), counting the customers as the records not seeded hold them.
    With two such customers or more, no record goes anywhere by that name."""
    rest = ~seed
    known = np.zeros(int(people.max(initial=-1)) + 1, dtype=bool)
    known[people[rest & identified]] = True
    bear = rest & (names >= 0) & known[people]
    holders = (
        pd.DataFrame({"name": names[bear], "customer": people[bear]})
        .drop_duplicates()["name"]
        .value_counts()
    )
    count = holders.reindex(names).fillna(0).to_numpy()
    return (names >= 0) & (count <= 1)


def _region(near: np.ndarray, record_signature: np.ndarray, customer: np.ndarray) -> np.ndarray:
    """Signatures to re-cluster: `near` (`_neighbourhood`) and every signature of the
    (previous) customers those hold, until no customer is cut."""
    region = near.copy()
    while True:
        held = region[record_signature]
        touched = np.unique(customer[held])
        held |= np.isin(customer, touched[touched >= 0])
        grown = np.zeros_like(region)
        grown[record_signature[held]] = True
        if np.array_equal(grown, region):
            return region
        region = grown


def relink(
    records: pd.DataFrame,
    settings: LinkSettings,
    params: Parameters,
    customer: np.ndarray,
    changed: np.ndarray,
    must_link: tuple[np.ndarray, np.ndarray] | None = None,
    cannot_link: tuple[np.ndarray, np.ndarray] | None = None,
    learnt: learning.Learnt | None = None,
) -> Increment:
    """Re-cluster only what `changed` records touch, scoring with a stored model.

    `customer` is each record's previous customer as an integer (-1 for a record never
    resolved), `changed` marks the records that are new or changed (or whose customer lost
    a record). The seeds are their signatures and those of the reviewers' decisions; a
    signature sharing a blocking key with a seed joins them when the seed can move it
    (`_neighbourhood`: their pair could link or be reviewed, or where a record known by a
    contact or a name alone goes is at stake), and every customer holding one is
    re-clustered whole, with its pairs compared and scored again, so a new record can join
    a customer, bridge two, or leave one. The rest keeps what the last run gave it.

    `params` (m, u, prior) is the model a full run learnt; value frequencies are counted
    over every signature, among people as the previous run grouped them (a new signature
    is a person of its own), as a full run's second pass counts them among its first
    pass's people. `learnt` is the classifier that full run learnt from the same verdicts
    (`pipeline._plan` runs in full when they changed). Blocking and comparing run in this
    process: an increment is small.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    n_records = len(records)
    frame = _positional(records)
    record_signature, signatures = _signatures(frame, settings, cannot_link)
    n = len(signatures)
    seed = np.zeros(n, dtype=bool)
    seed[record_signature[np.asarray(changed, dtype=bool)]] = True
    for decided in (must_link, cannot_link):
        if decided is not None and len(decided[0]):
            seed[record_signature[np.concatenate(decided)]] = True
    keys = rule_keys(signatures, settings)
    # Comparing and term frequencies index the whole data's encodings (its frequencies).
    encodings = encode_all(signatures, settings)
    first = np.unique(record_signature, return_index=True)[1]
    people = customer[first].astype(np.int64)
    alone = people < 0
    people[alone] = people.max(initial=-1) + 1 + np.arange(int(alone.sum()))
    frequency = {
        column: _cluster_frequency(encodings[column].codes, people)
        for column in tf_columns(settings)
    }

    def scored_pairs(left: np.ndarray, right: np.ndarray) -> tuple[Compared, Scored]:
        """Pairs of signatures compared and scored with the stored model."""
        compared = compare(signatures, left, right, settings, encodings)
        compared.tf_bits = term_frequency_bits(
            compared.levels, left, encodings, settings, params.u, frequency
        )
        if settings.joint_tf:
            pairs = Candidates(left=left, right=right, pairs_per_rule={}, skipped_blocks={})
            _add_joint_frequency(compared, pairs, encodings, people, frequency, settings)
        scored = score(compared, params, settings)
        compared.tf_bits = _NO_TF_BITS
        return compared, scored

    identified = _identified_signatures(signatures, settings)
    names = (
        _full_names(encodings, settings)
        if settings.attach_by_name
        else np.full(n, -1, dtype=np.int64)
    )
    # A pair of namesakes counts when one of them is known by its name alone (it may be
    # put into a customer by that name) and the name goes to at most one customer.
    by_name = _names_going_by_name(names, identified, people, seed)
    near = _neighbourhood(
        seed,
        keys,
        settings,
        identified,
        _followers(signatures, settings),
        by_name,
        names,
        lambda a, b: scored_pairs(a, b)[1].probability,
    )
    region = _region(near, record_signature, customer)
    sub = np.flatnonzero(region)
    in_sub = np.full(n, -1, dtype=np.int64)
    in_sub[sub] = np.arange(sub.size)
    timings["region"] = time.perf_counter() - t0

    t = time.perf_counter()
    sub_signatures = signatures.iloc[sub].reset_index(drop=True)
    candidates = candidate_pairs(sub_signatures, settings, [key[sub] for key in keys])
    compared, scored = scored_pairs(sub[candidates.left], sub[candidates.right])
    timings["blocking and comparing"] = time.perf_counter() - t

    t = time.perf_counter()
    contradiction = _contradictions(compared, settings)
    apart = _contradictions(compared, settings, cluster_wide_only=True)
    exclusives = tuple(
        Exclusive(e.name, e.codes[sub], e.incompatible)
        for e in _exclusives(settings, encodings, np.bincount(record_signature, minlength=n))
    )
    decided = tuple(
        in_sub[side] for side in _decided_pairs(record_signature, must_link, cannot_link)
    )
    verdicts = _verdicts(
        signatures,
        encodings,
        candidates,
        _decided_pairs(record_signature, must_link, cannot_link),
        settings,
        sub.size,
        in_sub,
    )
    contact_codes = _contact_codes(frame, settings, encodings)
    marks = _generation_marks(encodings, settings)
    clusters = _cluster(
        sub.size,
        candidates,
        scored,
        contradiction,
        apart,
        decided,
        exclusives,
        components,
        settings,
        tuple(codes[sub] for codes in contact_codes),
        promoted=learning.promoted(
            learnt, scored.probability, compared.levels, contradiction, verdicts, settings
        ),
        swapped=compared.swapped,
        marks=None if marks is None else marks[sub],
        reached=_reached(sub_signatures, settings),
    )
    _attach_followers(sub_signatures, candidates, scored, clusters, decided, settings)
    if settings.attach_by_name:
        _attach_by_name(
            names[sub],
            identified[sub],
            candidates,
            scored,
            clusters,
            apart,
            decided,
            exclusives,
            settings,
            _holders_elsewhere(names, identified, people, ~region),
        )
    sig_probability = _signature_probability(
        sub.size, candidates, scored, clusters, (decided[0], decided[1])
    )
    timings["scoring and clustering"] = time.perf_counter() - t

    region_records = np.flatnonzero(region[record_signature])
    signature_of = in_sub[record_signature[region_records]]
    result = LinkResult(
        settings=settings,
        record_signature=signature_of,
        signatures=sub_signatures,
        candidates=candidates,
        compared=compared,
        scored=scored,
        params=params,
        contradiction=contradiction,
        clusters=clusters,
        record_cluster=clusters.labels[signature_of],
        record_probability=sig_probability[signature_of],
        must_link=(decided[0], decided[1]),
        timings=timings,
        verdicts=verdicts,
        learnt=learnt,
    )
    log.info(
        "re-linked %d of %d records (%d seed signatures, %d candidate pairs) in %.1fs",
        region_records.size,
        n_records,
        int(seed.sum()),
        candidates.left.size,
        time.perf_counter() - t0,
    )
    return Increment(records=region_records, result=result)
