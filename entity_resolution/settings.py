"""Every matching rule in one declarative object, read like Splink's settings.

A `LinkSettings` says which columns identify a record, how candidate pairs are found
(blocking rules), how each field of a pair is compared (levels tried in order, the first
that holds wins, each with a label a person can read), which level combinations are a
contradiction (two different people, whatever the rest says), and the probability
thresholds. The engine holds no matching rule of its own: `DEALER` resolves the dealer
exports, `FEBRL` runs the same engine on the FEBRL benchmark with other columns.

Settings are checked when built: a contradiction, `exclusive`, `weak_alone` or `joint_tf`
naming a comparison or a level label that does not exist fails at import, with a
sentence naming it.

Thresholds are posterior probabilities, set by reasoning rather than fitted: a pair is
linked when the model puts it at ≥ 0.95 (at most one wrong link in twenty, before
clustering removes contradictions), and goes to a person when it is between 0.5 (more
likely the same than not) and 0.95.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# ---------------------------------------------------------------- comparison levels


@dataclass(frozen=True)
class Null:
    """Either side (any of the columns) is missing: no evidence either way."""


@dataclass(frozen=True)
class Exact:
    """Both sides equal. With `tf`, the weight is adjusted by how common the value is.

    `column` (here and below) names another of the comparison's columns to test;
    by default the comparison's own field.
    """

    tf: bool = False
    column: str | None = None


@dataclass(frozen=True)
class Similar:
    """Similarity of the two strings at or above `threshold` (0–1).

    metric: `jaro_winkler`, `levenshtein` (normalized similarity) or `damerau`
    (absolute Damerau-Levenshtein distance ≤ threshold, threshold an integer count).
    """

    metric: Literal["jaro_winkler", "levenshtein", "damerau"]
    threshold: float
    column: str | None = None


@dataclass(frozen=True)
class Prefix:
    """The first `length` characters agree (an initial against a full name)."""

    length: int
    column: str | None = None


@dataclass(frozen=True)
class Initial:
    """One side is a short form of the other: its initial (`J`), its initials (`JP` for
    Jean-Philippe) or its beginning (`Jos` for Joseph). Two whole names that only begin
    alike (`Michel`, `Monique`) are not one name and its short form."""

    column: str | None = None


@dataclass(frozen=True)
class Nickname:
    """One name is a nickname of the other, or both are nicknames of one formal name."""


@dataclass(frozen=True)
class SharedWord:
    """The names share a whole word: `Marie-Ève` written `Marie`, `Marie-Josée` as `Josée`."""


@dataclass(frozen=True)
class LettersDiffer:
    """The values differ in more than their digits and separators: `isabelle.roy30` and
    `isabelle.roy31` (or `marie.roy` and `marie.roy417`, `a.fortin@hotmail.com` and
    `afortin@hotmail.com`) do not, so they are two mailboxes. A namesake who finds a name
    taken adds digits or moves a dot; a typo is a slip in the letters. Where the provider
    ignores dots (Gmail), `jean.roy` and `jeanroy` are one mailbox, so they may differ."""


@dataclass(frozen=True)
class TwoNames:
    """Two values each common in its own right: each on at least `min_share` of the
    records that have one (and on `min_count` of them: in a small export every value is
    a large share), the rarer at least `min_ratio` as common as the other, and
    neither initials, nor sharing a word with the other, nor one slip away from it. Mark and Maria, Patrick and Patricia, Daniel and Danielle: a couple or a parent
    and child of one household. A slip of the keyboard is rare beside the name it slips
    from (Maia for Maria: one record in thousands), whatever the size of the data; one
    that lands on another common name (Luis for Louis) is left to the other levels."""

    min_share: float
    min_ratio: float
    min_count: int = 3


@dataclass(frozen=True)
class DateTypo:
    """Two ISO dates that differ by one typed character or by day/month transposition."""


@dataclass(frozen=True)
class AnyEqual:
    """Some value among `columns` on one side equals one of them on the other."""

    columns: tuple[str, ...]


@dataclass(frozen=True)
class OneSided:
    """Exactly one side has a value (for fields whose absence is itself informative)."""


@dataclass(frozen=True)
class BothNull:
    """Neither side has a value."""


@dataclass(frozen=True)
class Else:
    """Anything left: both sides known and different."""


@dataclass(frozen=True)
class AnyOf:
    """At least one of `parts` holds (an initial matching the name or its formal name)."""

    parts: tuple


@dataclass(frozen=True)
class AllOf:
    """Every one of `parts` holds (same civic number *and* a similar street name)."""

    parts: tuple


Predicate = (
    Null
    | Exact
    | Similar
    | Prefix
    | Initial
    | Nickname
    | SharedWord
    | TwoNames
    | LettersDiffer
    | DateTypo
    | AnyEqual
    | OneSided
    | BothNull
    | AllOf
    | AnyOf
    | Else
)


@dataclass(frozen=True)
class Level:
    label: str
    when: Predicate
    is_null: bool = False  # carries no evidence (Bayes factor fixed at 1)


@dataclass(frozen=True)
class Comparison:
    """One field of a pair, compared level by level; `columns[0]` is the field itself.

    Extra columns serve multi-column predicates (`AnyEqual` over a VIN and a trade-in VIN).
    """

    name: str
    columns: tuple[str, ...]
    levels: tuple[Level, ...]

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError(f"comparison {self.name!r} has no levels")
        repeated = sorted({label for label in self.labels if self.labels.count(label) > 1})
        if repeated:
            raise ValueError(
                f"comparison {self.name!r} has two levels labelled {repeated[0]!r}: a"
                " contradiction naming it could not say which"
            )

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(level.label for level in self.levels)

    def level_number(self, label: str) -> int:
        """The position of the level labelled `label`: the number `compare` gives a pair
        that falls in it."""
        return self.labels.index(label)


def null_level(label: str = "missing on one side") -> Level:
    return Level(label, Null(), is_null=True)


def name_comparison(name: str, column: str, tf: bool = True) -> Comparison:
    return Comparison(
        name,
        (column,),
        (
            null_level(),
            Level("exact", Exact(tf=tf)),
            Level("very similar (Jaro-Winkler ≥ 0.92)", Similar("jaro_winkler", 0.92)),
            Level("similar (Jaro-Winkler ≥ 0.80)", Similar("jaro_winkler", 0.80)),
            Level("different", Else()),
        ),
    )


def exact_comparison(name: str, column: str, tf: bool = False, typo: bool = False) -> Comparison:
    levels = [null_level(), Level("exact", Exact(tf=tf))]
    if typo:
        levels.append(Level("one typo", Similar("damerau", 1)))
    levels.append(Level("different", Else()))
    return Comparison(name, (column,), tuple(levels))


# ---------------------------------------------------------------- blocking, contradictions


@dataclass(frozen=True)
class BlockingRule:
    """Records that agree exactly on every column are candidate pairs.

    A block larger than `max_block_size` is skipped (and reported): a key shared by
    that many records identifies nobody.
    """

    name: str
    columns: tuple[str, ...]
    max_block_size: int = 400


@dataclass(frozen=True)
class Contradiction:
    """Pairs whose levels fall in all of `levels` (comparison → labels) are two people.

    Such a pair is never linked directly. With `cluster_wide`, clustering also keeps the
    two records' clusters apart, whatever links the rest of their records; without it,
    the rule is a strong hint about these two records only (other records of the two
    clusters may still show they are one person).
    """

    name: str
    levels: dict[str, tuple[str, ...]]
    cluster_wide: bool = True

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.levels))))


@dataclass(frozen=True)
class EMSettings:
    max_iterations: int = 50
    tolerance: float = 1e-5
    max_tf_bits: float = 8.0  # bounds the term-frequency adjustment, in bits
    prior_pairs: float = 20.0  # weight of the starting m/u as pseudo-pairs (small data)


@dataclass(frozen=True)
class LearningSettings:
    """How reviewers' verdicts teach the engine (`entity_resolution/learning.py`).

    A logistic regression over the comparison levels of the pairs people decided re-scores
    the undecided pairs of the review band once both verdicts are common enough: below ten
    of one kind, its intercept and the weight of every level pattern rest on a handful of
    verdicts, and the first verdicts come from the queue's head, which is no sample of the
    band (measured: `benchmarks/active_learning.py`, docs/benchmarks.md).
    """

    enabled: bool = True
    min_verdicts_per_class: int = 10
    # Inverse strength of the L2 penalty (scikit-learn's C): its default, not tuned.
    regularization: float = 1.0
    # Weight of the regression's probability beside the verdicts on a pair's own
    # comparison pattern, in verdicts: six unanimous verdicts carry a pattern the
    # regression puts at 0.8 over a 0.95 threshold, three do not.
    prior_verdicts: float = 2.0


@dataclass(frozen=True)
class LinkSettings:
    link_type: Literal["dedupe", "link_only"]
    identity_columns: tuple[str, ...]
    blocking_rules: tuple[BlockingRule, ...]
    comparisons: tuple[Comparison, ...]
    contradictions: tuple[Contradiction, ...] = ()
    # Columns a cluster may hold only one value of (among those a comparison would not
    # call compatible): two birth dates mean two people.
    exclusive: tuple[str, ...] = ()
    swap_columns: tuple[str, str] | None = None  # first/last typed in each other's box
    # Comparisons whose agreement alone does not vouch for a link when the engine first
    # counts how many people share a value: namesakes exist.
    weak_alone: tuple[str, ...] = ()
    # Columns that say what a record is about, not who: a record with no other identity
    # value (a repair order with no name or contact) is no person of its own; it joins
    # the one cluster holding its value (whoever owned the car during that period).
    follow_alone: tuple[str, ...] = ()
    # Comparisons whose values reach one person (a mobile, an e-mail): two groups of
    # records that each hold some and share none are two people unless evidence beyond a
    # name and an address (`identifying`) joins them: a weak link cannot chain them.
    contacts: tuple[str, ...] = ()
    # Comparisons whose agreement says who a record is beyond its name and address; a
    # link with positive evidence from none of them is weak (a name and an address).
    identifying: tuple[str, ...] = ()
    # Contact columns a household may share: a value written beside two people's given
    # names (`swap_columns` name them) is household evidence, not a person's contact.
    family_contacts: tuple[str, ...] = ()
    # A cluster known by a name alone (no contact and no other `identifying` value: a lead
    # that left only a name, the old repair orders of a car bought elsewhere) joins the one
    # identified cluster in all the data holding its full name; with several namesakes it
    # stays alone (`engine._attach_by_name`). Needs `swap_columns` and `identifying`.
    attach_by_name: bool = False
    # A compared column one of two namesakes of a household writes (Jr, Sr): of two
    # groups that each carry contacts and share none, one writing it and one never are two
    # people, even with contacts of different kinds (`clustering.Contacts.marks`).
    generation_suffix: str | None = None
    # Two comparisons whose values are not independent (given name and surname run in
    # families and origins): when both agree exactly, their term-frequency adjustments
    # are corrected by how often the *combination* occurs among people.
    joint_tf: tuple[str, str] | None = None
    # Blocking-only columns and the compared columns they are derived from, so that the
    # m of a comparison is not learnt from pairs selected for agreeing on it.
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source_column: str | None = None  # link_only: pairs across sources only
    match_threshold: float = 0.95
    review_band: tuple[float, float] = (0.5, 0.95)
    em: EMSettings = field(default_factory=EMSettings)
    learning: LearningSettings = field(default_factory=LearningSettings)

    def __post_init__(self) -> None:
        """Every name that refers to a comparison or to one of its levels must exist: a typo
        in a label would otherwise silently make a contradiction match nothing."""
        names = [c.name for c in self.comparisons]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"two comparisons are named {repeated[0]!r}")
        known = ", ".join(repr(name) for name in names)
        for rule in self.contradictions:
            if not rule.levels:
                raise ValueError(
                    f"contradiction {rule.name!r} names no level: it would call every pair"
                    " two people"
                )
            for name, labels in rule.levels.items():
                if name not in names:
                    raise ValueError(
                        f"contradiction {rule.name!r} names comparison {name!r}, which these"
                        f" settings do not have; their comparisons are: {known}"
                    )
                comp = self.comparison(name)
                for label in labels:
                    if label not in comp.labels:
                        raise ValueError(
                            f"contradiction {rule.name!r} names level {label!r} which"
                            f" comparison {name!r} does not have; its levels are: "
                            + ", ".join(repr(x) for x in comp.labels)
                        )
        for setting, listed in (
            ("weak_alone", self.weak_alone),
            ("joint_tf", self.joint_tf),
            ("contacts", self.contacts),
            ("identifying", self.identifying),
        ):
            for name in listed or ():
                if name not in names:
                    raise ValueError(
                        f"{setting} names comparison {name!r}, which these settings do not"
                        f" have; their comparisons are: {known}"
                    )
        for name in self.joint_tf or ():
            if "exact" not in self.comparison(name).labels:
                raise ValueError(
                    f"joint_tf names comparison {name!r}, which has no level labelled 'exact'"
                )
        fields = [c.columns[0] for c in self.comparisons]
        for setting, columns in (
            ("exclusive", self.exclusive),
            ("family_contacts", self.family_contacts),
            ("generation_suffix", (self.generation_suffix,) if self.generation_suffix else ()),
        ):
            for column in columns:
                if column not in fields:
                    raise ValueError(
                        f"{setting} names column {column!r}, which no comparison compares; the"
                        " compared fields are: " + ", ".join(repr(f) for f in fields)
                    )
        if self.family_contacts and not self.swap_columns:
            raise ValueError(
                "family_contacts needs swap_columns: the given-name and surname columns a"
                " household's shared contact is told by"
            )
        if self.attach_by_name and not (self.swap_columns and self.identifying):
            raise ValueError(
                "attach_by_name needs swap_columns (the full name) and identifying (what"
                " makes a cluster known by more than its name)"
            )

    def comparison(self, name: str) -> Comparison:
        return next(c for c in self.comparisons if c.name == name)


# ---------------------------------------------------------------- the dealer exports

_VEHICLE = Comparison(
    "vehicle",
    ("vin_epoch", "trade_epoch", "vin", "trade_vin"),
    (
        null_level("no valid VIN on one side"),
        Level("same vehicle, same ownership period", AnyEqual(("vin_epoch", "trade_epoch"))),
        Level("same vehicle, another owner's period", AnyEqual(("vin", "trade_vin"))),
        Level("different vehicles", Else()),
    ),
)

_SUFFIX = Comparison(
    "suffix",
    ("suffix",),
    (
        Level("no suffix on either side", BothNull(), is_null=True),
        Level("same suffix", Exact()),
        Level("suffix on one side only", OneSided()),
        Level("different suffixes", Else()),
    ),
)

_BIRTH_DATE = Comparison(
    "birth_date",
    ("birth_date",),
    (
        null_level(),
        Level("exact", Exact()),
        Level("one typo or day/month swapped", DateTypo()),
        Level("different", Else()),
    ),
)

_EMAIL = Comparison(
    "email",
    ("email",),
    (
        null_level(),
        Level("exact", Exact()),
        # A one-character difference in the digits alone is a numbered namesake's mailbox.
        Level("one typo", AllOf((Similar("damerau", 1), LettersDiffer()))),
        Level("different", Else()),
    ),
)

_STREET = Comparison(
    "street",
    ("street", "street_number", "street_name"),
    (
        null_level(),
        Level("exact", Exact(tf=True)),
        Level(
            "same civic number, street name similar (Jaro-Winkler ≥ 0.88)",
            AllOf(
                (
                    Exact(column="street_number"),
                    Similar("jaro_winkler", 0.88, column="street_name"),
                )
            ),
        ),
        Level("different", Else()),
    ),
)

_POSTAL = Comparison(
    "postal_code",
    ("postal_code", "fsa"),
    (
        null_level(),
        Level("exact", Exact(tf=True)),
        Level("same forward sortation area", Prefix(3)),
        Level("different", Else()),
    ),
)

_TWO_NAMES = "two given names in their own right (Mark / Maria, Daniel / Danielle)"
_FIRST_NAME = Comparison(
    "first_name",
    ("first_name", "first_name_key"),
    (
        null_level(),
        Level("exact", Exact(tf=True)),
        Level("nickname (Bob / Robert)", Nickname()),
        # Before the similarity levels: Daniel and Danielle are as alike as Daniel and Dainel.
        Level(_TWO_NAMES, TwoNames(min_share=0.0005, min_ratio=0.05)),
        # Also a slip of the formal name behind a nickname: Ptaricia and Trish.
        Level(
            "very similar (Jaro-Winkler ≥ 0.92)",
            AnyOf(
                (
                    Similar("jaro_winkler", 0.92),
                    Similar("jaro_winkler", 0.92, column="first_name_key"),
                )
            ),
        ),
        Level("one part of a compound name", SharedWord()),
        Level("similar (Jaro-Winkler ≥ 0.80)", Similar("jaro_winkler", 0.80)),
        Level(
            "short form or one typo (J, JP, Jos for Joseph; Jnu for Jun)",
            AnyOf((Initial(), Initial(column="first_name_key"), Similar("damerau", 1))),
        ),
        Level("different", Else()),
    ),
)

# The standardized values that identify a person (a VIN identifies a car, not its owner):
# what a signature is made of with the vehicle keys, what forget erases, what a record
# pinned to an anonymous key loses.
PERSON_IDENTIFIERS = (
    "first_name",
    "last_name",
    "suffix",
    "company",
    "birth_date",
    "phone",
    "email",
    "street",
    "postal_code",
)

# A free-text name's parts as typed (standardize.display_name_parts), kept beside the
# identifiers for dbt to show, so the name is split once; personal data, blanked when forgotten.
DISPLAY_NAME_COLUMNS = ("first_name_display", "last_name_display")

DEALER = LinkSettings(
    link_type="dedupe",
    identity_columns=(*PERSON_IDENTIFIERS, "vin_epoch", "trade_epoch"),
    blocking_rules=(
        BlockingRule("phone", ("phone",)),
        BlockingRule("email", ("email",)),
        BlockingRule("vehicle ownership period", ("vin_epoch",)),
        BlockingRule("traded-in vehicle", ("trade_epoch",)),
        BlockingRule("name + postal area", ("first_name_key", "last_name", "fsa")),
        BlockingRule("swapped name + postal area", ("name_tokens", "fsa")),
        BlockingRule("surname + birth date", ("last_name", "birth_date")),
        BlockingRule("given name + birth date", ("first_name_key", "birth_date")),
        BlockingRule("surname + street", ("last_name", "street")),
        BlockingRule("full name", ("name_tokens",), max_block_size=30),
        BlockingRule("company", ("company",)),
        BlockingRule("surname + phone tail", ("last_name", "phone_tail")),
        BlockingRule("given name + e-mail user", ("first_name_key", "email_user")),
    ),
    comparisons=(
        _FIRST_NAME,
        name_comparison("last_name", "last_name"),
        _SUFFIX,
        name_comparison("company", "company"),
        _BIRTH_DATE,
        exact_comparison("phone", "phone"),
        _EMAIL,
        _STREET,
        _POSTAL,
        _VEHICLE,
    ),
    contradictions=(
        Contradiction("two birth dates", {"birth_date": ("different",)}),
        Contradiction("Jr and Sr", {"suffix": ("different suffixes",)}),
        # Two given names keep their records from linking directly; their clusters are kept
        # apart by `exclusive` (which leaves out a name written once: mostly a slip).
        Contradiction(
            "different given names",
            {"first_name": ("different", _TWO_NAMES)},
            cluster_wide=False,
        ),
        Contradiction(
            "one vehicle, two ownership periods",
            {"vehicle": ("same vehicle, another owner's period",)},
        ),
        # Jr (or Sr) on one side only and the contacts known on both sides differ: a son
        # who writes Jr and his father who does not. A contact missing on one side is no
        # evidence. One differing contact (a landline typed for a mobile, a new phone)
        # keeps these two records from linking directly; both differing keeps their
        # clusters apart too.
        Contradiction(
            "Jr on one side, another phone and e-mail",
            {
                "suffix": ("suffix on one side only",),
                "phone": ("different",),
                "email": ("different",),
            },
        ),
        Contradiction(
            "Jr on one side and another phone",
            {
                "suffix": ("suffix on one side only",),
                "phone": ("different",),
                "email": ("missing on one side",),
            },
            cluster_wide=False,
        ),
        Contradiction(
            "Jr on one side and another e-mail",
            {
                "suffix": ("suffix on one side only",),
                "phone": ("missing on one side",),
                "email": ("different",),
            },
            cluster_wide=False,
        ),
    ),
    exclusive=("birth_date", "suffix", "first_name"),
    swap_columns=("first_name", "last_name"),
    weak_alone=("first_name", "last_name", "suffix"),
    follow_alone=("vin_epoch", "trade_epoch"),
    contacts=("phone", "email"),
    identifying=("company", "birth_date", "phone", "email", "vehicle"),
    family_contacts=("email",),
    attach_by_name=True,
    generation_suffix="suffix",
    joint_tf=("first_name", "last_name"),
    derived={
        "first_name_key": ("first_name",),
        "name_tokens": ("first_name", "last_name"),
        "fsa": ("postal_code",),
        "phone_tail": ("phone",),
        "email_user": ("email",),
    },
)


# ---------------------------------------------------------------- the FEBRL benchmark

FEBRL = LinkSettings(
    link_type="dedupe",
    identity_columns=(
        "given_name",
        "surname",
        "street_number",
        "address_1",
        "address_2",
        "suburb",
        "postcode",
        "state",
        "date_of_birth",
        "soc_sec_id",
        "source",
    ),
    blocking_rules=(
        BlockingRule("given name + surname", ("given_name", "surname")),
        BlockingRule("date of birth", ("date_of_birth",)),
        BlockingRule("social security id", ("soc_sec_id",)),
        BlockingRule("postcode + street number", ("postcode", "street_number")),
        BlockingRule("surname + suburb", ("surname", "suburb")),
        BlockingRule("given name + postcode", ("given_name", "postcode")),
        BlockingRule("address", ("address_1",)),
    ),
    comparisons=(
        name_comparison("given_name", "given_name"),
        name_comparison("surname", "surname"),
        exact_comparison("street_number", "street_number", typo=True),
        name_comparison("address_1", "address_1", tf=False),
        name_comparison("suburb", "suburb"),
        exact_comparison("postcode", "postcode", typo=True),
        exact_comparison("state", "state"),
        Comparison(
            "date_of_birth",
            ("date_of_birth",),
            (
                null_level(),
                Level("exact", Exact()),
                Level("one typo or day/month swapped", DateTypo()),
                Level("different", Else()),
            ),
        ),
        exact_comparison("soc_sec_id", "soc_sec_id", typo=True),
    ),
    swap_columns=("given_name", "surname"),
)


# ---------------------------------------------------------------- preparing dealer records


@dataclass(frozen=True)
class PrepSettings:
    """How raw dealer rows become comparable person records."""

    # Ownership changes of one VIN closer than this are one change (a deal and its OEM
    # registration days later).
    ownership_window_days: int = 45
    # A phone, e-mail or address seen under more distinct people than this is not
    # personal (a rooftop switchboard, a clerk's stock address): a household is smaller.
    max_people_per_value: int = 8


DEALER_PREP = PrepSettings()
