"""Turn the many spellings of one fact into one value, so equal facts compare equal.

Every function takes and returns whole pandas columns. Costly per-value work (unidecode,
phonenumbers) runs once per *distinct* value and is mapped back, because exports repeat
the same name or phone thousands of times. Missing or unusable values become <NA>:
downstream, <NA> means "no evidence", never "different".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import phonenumbers
from rapidfuzz.distance import JaroWinkler
from unidecode import unidecode

from ingest.vin import vins_are_valid

GENERATIONAL_SUFFIXES = {
    "jr": "jr",
    "junior": "jr",
    "fils": "jr",
    "sr": "sr",
    "senior": "sr",
    "pere": "sr",
    "ii": "ii",
    "iii": "iii",
    "iv": "iv",
}
_TITLES = {"mr", "mrs", "ms", "miss", "dr", "m", "mme", "mlle", "me", "monsieur", "madame"}

# What people type when a customer declines to give an e-mail or a phone: one list, the dbt
# seed that int_person_records reads too. The data-driven check in `shared_values` catches
# the ones not listed there.
PLACEHOLDER_CONTACTS = (
    Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "placeholder_contacts.csv"
)
_EMAIL = re.compile(r"^[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")
_POSTAL = re.compile(r"^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\d[ABCEGHJ-NPRSTV-Z]\d$")

# Street words and their one spelling; keys are compared after accents and dots are gone.
STREET_WORDS = {
    "boulevard": "boul",
    "boul": "boul",
    "blvd": "boul",
    "bd": "boul",
    "bl": "boul",
    "street": "st",
    "st": "st",
    "str": "st",
    "avenue": "av",
    "ave": "av",
    "av": "av",
    "rue": "rue",
    "r": "rue",
    "chemin": "ch",
    "ch": "ch",
    "road": "rd",
    "rd": "rd",
    "route": "rte",
    "rte": "rte",
    "drive": "dr",
    "dr": "dr",
    "place": "pl",
    "pl": "pl",
    "court": "crt",
    "crt": "crt",
    "ct": "crt",
    "crescent": "cres",
    "cres": "cres",
    "croissant": "crois",
    "crois": "crois",
    "rang": "rang",
    "montee": "mtee",
    "mtee": "mtee",
    "impasse": "imp",
    "imp": "imp",
    "terrasse": "terr",
    "terr": "terr",
    "lane": "ln",
    "ln": "ln",
    "north": "n",
    "nord": "n",
    "south": "s",
    "sud": "s",
    "east": "e",
    "est": "e",
    "west": "o",
    "ouest": "o",
    "o": "o",
    "w": "o",
    "saint": "st",
    "sainte": "ste",
    "ste": "ste",
}
_UNIT_WORDS = r"(?:apt|app|appt|apartment|appartement|unit|unite|suite|bureau|ste)"
_UNIT = re.compile(rf"\b{_UNIT_WORDS}\.?\s*#?\s*\w+")
_NUMBERED = re.compile(r"#\s*\w+")
_UNIT_PREFIX = re.compile(r"^\s*\w+\s*-\s*(\d+)")
_NOT_STREET = re.compile(r"[^a-z0-9]+")
_STREET_APOSTROPHES = re.compile(r"['`’]")
_NOT_DIGIT = re.compile(r"\D")
_SPACES = re.compile(r"\s+")
_NOT_POSTAL = re.compile(r"[^A-Z0-9]")


def distinct(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 for missing) and the distinct values as a plain object array."""
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    return codes, np.asarray(uniq, dtype=object)


def spread(codes: np.ndarray, results: list, index: pd.Index) -> pd.Series:
    """One result per distinct value (code) spread back to the rows; code -1 (missing) is
    <NA>. The string column is checked once per distinct value, not once per row."""
    values = pd.array([*results, None], dtype="string")
    return pd.Series(values.take(codes), index=index)


def distinct_rows(*columns: pd.Series) -> np.ndarray:
    """A code per row, equal for rows whose values (<NA> included) are equal in every column:
    the columns' codes combined one at a time, so no key outgrows 64 bits."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        codes, uniq = pd.factorize(column, use_na_sentinel=True)
        key = pd.factorize(key * (len(uniq) + 1) + (codes + 1))[0]
    return key


def representatives(codes: np.ndarray) -> np.ndarray:
    """A row of each code 0, 1, … (any one: the rows of a code hold equal values)."""
    row = np.empty(codes.max(initial=-1) + 1, dtype=np.int64)
    row[codes] = np.arange(len(codes))
    return row


def map_values(s: pd.Series, fn: Callable[[str], object]) -> pd.Series:
    """`fn` of each non-null value, worked out once per distinct value (exports repeat
    values), one string object per distinct result: cheaper than a `.str` method, which
    works row by row."""
    codes, uniq = distinct(s)
    return spread(codes, [fn(v) for v in uniq], s.index)


def map_pairs(a: pd.Series, b: pd.Series, fn: Callable[[str, str], object]) -> pd.Series:
    """`fn(a, b)` where both are present (<NA> elsewhere), once per distinct pair."""
    pair = distinct_rows(a, b)
    row = representatives(pair)
    left, right = (s.to_numpy(dtype=object, na_value=None) for s in (a, b))
    results = [None if left[r] is None or right[r] is None else fn(left[r], right[r]) for r in row]
    return spread(pair, results, a.index)


def _map_unique_pair(
    s: pd.Series, fn: Callable[[str], tuple[str | None, str | None]]
) -> tuple[pd.Series, pd.Series]:
    """Like `map_values` for a function returning two values."""
    codes, uniq = distinct(s)
    results = [fn(v) for v in uniq]
    return (
        spread(codes, [r[0] for r in results], s.index),
        spread(codes, [r[1] for r in results], s.index),
    )


def ascii_text(value: str) -> str:
    """`Côté` → `Cote`; unidecode only for the (few) values that are not already ASCII."""
    return value if value.isascii() else unidecode(value)


def fold(s: pd.Series) -> pd.Series:
    """Lower-case ASCII: `Côté` and `COTE` become `cote`; blank becomes <NA>."""
    return map_values(s, lambda v: ascii_text(v).lower().strip() or None)


# ---------------------------------------------------------------- names


@cache
def nicknames() -> dict[str, frozenset[str]]:
    """Nickname → the formal given names it stands for (Mike → Michael, Michel).

    From the shipped reference file `data/nicknames.csv`; names are folded like any
    standardized name (lower-case ASCII, hyphens as spaces).
    """
    path = resources.files("entity_resolution") / "data" / "nicknames.csv"
    with resources.as_file(path) as p:
        table = pd.read_csv(p, dtype="string")
    table = table.assign(
        nickname=table["nickname"].map(_clean_name_one), formal=table["formal"].map(_clean_name_one)
    )
    grouped = table.groupby("nickname")["formal"].agg(frozenset)
    return grouped.to_dict()


def nickname_related(a: str, b: str) -> bool:
    """Bob = Robert, Bob = Rob (both Robert); Pat ≠ Patricia's husband Patrick through Pat."""
    table = nicknames()
    fa, fb = table.get(a, frozenset()), table.get(b, frozenset())
    return b in fa or a in fb or bool(fa & fb)


_APOSTROPHES = re.compile(r"['`´’]")
_NOT_NAME = re.compile(r"[^a-z,]+")
_SAINT = re.compile(r"\bst\b")
_SAINTE = re.compile(r"\bste\b")


def _clean_name_one(value: str) -> str | None:
    """`Côté-St-Pierre, JEAN` → `cote saint pierre, jean` (commas kept for `LAST, FIRST`)."""
    out = _NOT_NAME.sub(" ", _APOSTROPHES.sub("", ascii_text(value).lower()))
    out = _SAINTE.sub("sainte", _SAINT.sub("saint", out))
    return " ".join(out.split()).replace(" ,", ",") or None


def _strip_name_one(value: str, keep_commas: bool = False) -> tuple[str | None, str | None]:
    """Name without titles and generational suffixes, and the suffix found (if any)."""
    text = value if keep_commas else value.replace(",", " ")
    suffix = None
    kept = []
    for word in text.replace(",", " , ").split():
        if word in GENERATIONAL_SUFFIXES:
            suffix = GENERATIONAL_SUFFIXES[word]
        elif word not in _TITLES:
            kept.append(word)
    out = " ".join(kept).replace(" ,", ",").strip(" ,")
    return out or None, suffix


def _name_parts(s: pd.Series, keep_commas: bool = False) -> tuple[pd.Series, pd.Series]:
    """Cleaned name text and generational suffix, per distinct raw value."""

    def one(value: str) -> tuple[str | None, str | None]:
        cleaned = _clean_name_one(value)
        return _strip_name_one(cleaned, keep_commas) if cleaned else (None, None)

    return _map_unique_pair(s, one)


def _name_lexicon(names: pd.Series) -> dict[str, float]:
    """log share of each name among the structured names (first or last) seen in the data."""
    counts = names.dropna().value_counts()
    total = float(counts.sum()) + 1.0
    return (np.log((counts + 0.5) / total)).to_dict()


def _name_scores(
    first_names: pd.Series | None, last_names: pd.Series | None
) -> tuple[Callable[[list[str]], float], Callable[[list[str]], float]]:
    """Log-likelihood of words as a given name and as a surname, from the data's own
    structured name columns (an initial counts as a likely given name)."""
    first_lex = _name_lexicon(first_names) if first_names is not None else {}
    last_lex = _name_lexicon(last_names) if last_names is not None else {}
    # A word never seen says nothing about its role: the same score as either.
    unknown = min([*first_lex.values(), *last_lex.values()], default=0.0) - 2.0
    best_first = max(first_lex.values(), default=0.0)

    def as_first(words: list[str]) -> float:
        name = " ".join(words)
        return best_first if len(name) == 1 else first_lex.get(name, unknown)

    def as_last(words: list[str]) -> float:
        return last_lex.get(" ".join(words), unknown)

    return as_first, as_last


_SWAP_EVIDENCE = 3.0  # nats: the exchanged reading must be ~20 times likelier


def unswap_names(first: pd.Series, last: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Put back given name and surname typed in each other's box (`Fortin` / `Simon`).

    A pair is exchanged only when the data's own name columns make the exchanged
    reading far likelier (`Martin` is both a given name and a surname: left alone).
    """
    as_first, as_last = _name_scores(first, last)
    pair, firsts, lasts = _name_pairs(first, last)
    swap = np.array(
        [
            f is not None
            and la is not None
            and as_first(la.split()) + as_last(f.split())
            > as_first(f.split()) + as_last(la.split()) + _SWAP_EVIDENCE
            for f, la in zip(firsts, lasts, strict=True)
        ],
        dtype=bool,
    )
    return _exchange(first, last, swap[pair])


def unswap_by_majority(first: pd.Series, last: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Put a name written in the less common of its two orders into the more common one.

    `Morgan Paul` once and `Paul Morgan` six times is one person typed both ways, whatever
    the name lists say (both are given names and surnames). A tie changes nothing.
    """
    both = (first.notna() & last.notna() & (first != last)).to_numpy(dtype=bool)
    if not both.any():
        return first, last
    pair, firsts, lasts = _name_pairs(first, last)
    count = np.bincount(pair[both], minlength=len(firsts))
    seen = {(f, la): k for k, (f, la) in enumerate(zip(firsts, lasts, strict=True)) if count[k]}
    reverse = np.array(
        [
            count[seen[(la, f)]] if (la, f) in seen else 0
            for f, la in zip(firsts, lasts, strict=True)
        ],
        dtype=np.int64,
    )
    return _exchange(first, last, ((count > 0) & (reverse > count))[pair])


def _name_pairs(first: pd.Series, last: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A code per row for its (given name, surname) pair, and each pair's two names (None
    where missing): the decisions are taken once per pair."""
    pair = distinct_rows(first, last)
    row = representatives(pair)
    return (
        pair,
        first.to_numpy(dtype=object, na_value=None)[row],
        last.to_numpy(dtype=object, na_value=None)[row],
    )


def _exchange(first: pd.Series, last: pd.Series, rows: np.ndarray) -> tuple[pd.Series, pd.Series]:
    """Given name and surname exchanged on `rows` (booleans)."""
    if not rows.any():
        return first, last
    return first.where(~rows, last), last.where(~rows, first)


def split_full_name(
    full: pd.Series, first_names: pd.Series | None = None, last_names: pd.Series | None = None
) -> pd.DataFrame:
    """Split a free-text customer name into given name and surname.

    `LAST, FIRST` when there is a comma. Without one, exports disagree (`Leblanc André`,
    `André Leblanc`, `Saint Laurent Isabelle`), so every split point and both orders are
    tried, and the reading whose parts are most common *as given names and as surnames
    in the structured columns of the same data* wins. `full` is cleaned text without
    titles and suffixes (see `standardize_names`); `first_names` / `last_names` are the
    structured columns, cleaned the same way.
    """
    text = full.astype("string")
    as_first, as_last = _name_scores(first_names, last_names)

    def split(value: str) -> tuple[str | None, str | None]:
        if "," in value:
            last, first = (part.strip() or None for part in value.split(",", 1))
            if first and last and len(first) > 1:
                # `John, Khalil`: the comma says LAST, FIRST, but a clerk who typed the
                # names the other way round leaves the comma where it was.
                direct = as_first(first.split()) + as_last(last.split())
                crossed = as_first(last.split()) + as_last(first.split())
                if crossed > direct + _SWAP_EVIDENCE:
                    return last, first
            return first, last
        words = value.split()
        if len(words) == 1:
            if as_first(words) > as_last(words):
                return words[0], None
            return None, words[0]
        best = (-np.inf, None, None)
        for k in range(1, len(words)):
            head, tail = words[:k], words[k:]
            for first, last in ((head, tail), (tail, head)):
                score = as_first(first) + as_last(last)
                if score > best[0]:
                    best = (score, " ".join(first), " ".join(last))
        return best[1], best[2]

    first, last = _map_unique_pair(text, split)
    return pd.DataFrame({"first": first, "last": last}, index=full.index)


def standardize_names(
    first: pd.Series | None = None,
    last: pd.Series | None = None,
    full: pd.Series | None = None,
) -> pd.DataFrame:
    """Given name, surname and generational suffix (Jr, Sr, II), each its own field.

    `full` (free text such as `TREMBLAY, JEAN JR`) is used where `first` and `last` are
    both empty. Returns columns first_name, first_name_key (nicknames resolved, for
    blocking), last_name, suffix; hyphens and spaces inside a name become one space
    (`Marie-Claude` = `Marie Claude`), `St-` and `Ste-` become `Saint-` and `Sainte-`.
    """
    index = next(s.index for s in (first, last, full) if s is not None)
    empty = pd.Series(pd.NA, index=index, dtype="string")
    f, suffix_f = _name_parts(first if first is not None else empty)
    la, suffix_l = _name_parts(last if last is not None else empty)
    suffix = suffix_l.fillna(suffix_f)
    f, la = unswap_names(f, la)
    if full is not None:
        free = f.isna() & la.isna() & full.notna()
        text, suffix_full = _name_parts(full[free], keep_commas=True)
        parsed = split_full_name(text, f, la)
        f = f.where(~free, parsed["first"].reindex(index))
        la = la.where(~free, parsed["last"].reindex(index))
        suffix = suffix.fillna(suffix_full.reindex(index))
    f, la = unswap_by_majority(f, la)
    display = pd.DataFrame({"first_name": empty, "last_name": empty}, index=index, dtype="string")
    if full is not None:
        display = display_name_parts(full.where(free), f, la)
    return pd.DataFrame(
        {
            "first_name": f,
            "first_name_key": first_name_key(f),
            "last_name": la,
            "suffix": suffix,
            "first_name_display": display["first_name"],
            "last_name_display": display["last_name"],
        },
        index=index,
    )


def display_name_parts(full: pd.Series, first: pd.Series, last: pd.Series) -> pd.DataFrame:
    """The words of a free-text name as typed (`TREMBLAY`, `Côté-St-Pierre`) that its split
    (`first`, `last`: standardized, as `standardize_names` gives them) put in each part.

    People read the name as the customer wrote it; the split is decided once, here, so
    nothing downstream splits `LAST, FIRST` again. A word is matched through its cleaned
    form, so titles and suffixes drop out; a split the words cannot show (not expected)
    gives the standardized part in title case.
    """
    full, first, last = (s.astype("string") for s in (full, first, last))
    triple = distinct_rows(full, first, last)
    row = representatives(triple)
    texts, firsts, lasts = (s.to_numpy(dtype=object, na_value=None) for s in (full, first, last))
    cleaned: dict[str, str | None] = {}  # a word's cleaned form, worked out once per call
    shown = [
        (None, None) if texts[r] is None else _display_one(texts[r], firsts[r], lasts[r], cleaned)
        for r in row
    ]
    return pd.DataFrame(
        {
            "first_name": spread(triple, [p[0] for p in shown], full.index),
            "last_name": spread(triple, [p[1] for p in shown], full.index),
        }
    )


def _clean_word(word: str, cleaned: dict[str, str | None]) -> str | None:
    if word not in cleaned:
        cleaned[word] = _strip_name_one(_clean_name_one(word) or "")[0] if word else None
    return cleaned[word]


def _display_one(
    text: str, first: str | None, last: str | None, memo: dict[str, str | None]
) -> tuple[str | None, str | None]:
    words = [w.strip(".") for w in text.replace(",", " ").split()]
    cleaned = [_clean_word(w, memo) for w in words]
    named = [k for k, c in enumerate(cleaned) if c]
    for start in range(len(named)):
        for stop in range(start + 1, len(named) + 1):
            run = named[start:stop]
            rest = named[:start] + named[stop:]
            if " ".join(cleaned[k] for k in run) == (first or "") and " ".join(
                cleaned[k] for k in rest
            ) == (last or ""):
                return (
                    " ".join(words[k] for k in run) or None,
                    " ".join(words[k] for k in rest) or None,
                )
    if first is None and last is not None and " ".join(cleaned[k] for k in named) == last:
        return None, " ".join(words[k] for k in named)
    return (first.title() if first else None, last.title() if last else None)


def first_name_key(first: pd.Series) -> pd.Series:
    """A blocking key that puts Bob, Robert and Robert-Luc together: the first word of the
    formal name (a nickname's first formal name).

    Ambiguous nicknames (Mike: Michael or Michel) take the alphabetically first, so this
    is for finding candidates only; comparisons use the nickname relation itself.
    """
    table = {nick: min(formals) for nick, formals in nicknames().items()}

    def key(name: str) -> str:
        head = name.split(" ")[0]
        return table.get(name, table.get(head, head)).split(" ")[0]

    return map_values(first, key)


@cache
def business_words() -> dict[str, str]:
    """Words that make a name a firm's (legal forms, trades), from `data/business_words.csv`."""
    path = resources.files("entity_resolution") / "data" / "business_words.csv"
    with resources.as_file(path) as p:
        table = pd.read_csv(p, dtype="string")
    return dict(zip(table["word"], table["kind"], strict=True))


def standardize_company(s: pd.Series) -> pd.Series:
    """A company name without legal-form words, so `Transport Roy Ltée` = `TRANSPORT ROY`."""
    legal = {w for w, kind in business_words().items() if kind == "legal form"} | {"et", "and"}

    def one(value: str) -> str | None:
        cleaned = _clean_name_one(value.replace("&", " ")) or ""
        return " ".join(w for w in cleaned.replace(",", " ").split() if w not in legal) or None

    return map_values(s, one)


def is_business_name(company: pd.Series, known: set[str]) -> pd.Series:
    """Standardized names that are a firm's: a company name seen elsewhere in the data, or
    a name holding a legal form or trade word (`Plomberie Roy`, `Roy Logistics Inc.`)."""
    words = set(business_words())
    tagged = map_values(company, lambda v: "1" if words.intersection(v.split()) else "0")
    return (company.isin(list(known)) | (tagged == "1")).fillna(False).astype(bool)


# ---------------------------------------------------------------- contacts


def _e164(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, "CA")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@cache
def _valid_area_code(npa: str) -> bool:
    """phonenumbers' verdict on a North-American area code (asked once per code)."""
    return _e164(f"+1{npa}2345678") is not None


def standardize_phone(s: pd.Series) -> pd.Series:
    """Any spelling to E.164 (`(514) 555-0199` → `+15145550199`); invalid → <NA>.

    Extensions are dropped first: `x12` is a desk, not a different person. Ten digits
    (or eleven starting with 1) are a North-American number: its area code is checked
    with phonenumbers once per code and its exchange must not start with 0 or 1.
    Anything else (`+33 …`) goes through phonenumbers whole.
    """

    def one(value: str) -> str | None:
        text = _EXTENSION.sub("", value.lower()).strip()
        if text.startswith("+") and not text.startswith("+1"):
            return _e164(text)
        digits = _NOT_DIGIT.sub("", text)
        if len(digits) == 11 and digits[0] == "1":
            digits = digits[1:]
        if len(digits) != 10 or digits in placeholders["phone"]:
            return None
        ok = digits[3] not in "01" and _valid_area_code(digits[:3])
        return f"+1{digits}" if ok else None

    placeholders = placeholder_contacts()
    return map_values(s, one)


_EXTENSION = re.compile(r"\s*(x|ext\.?|poste)\s*\d+\s*$")


def standardize_email(s: pd.Series) -> pd.Series:
    """Lower case, no spaces; malformed or placeholder (`noemail@…`, `aucun@…`) → <NA>."""

    def one(value: str) -> str | None:
        out = _SPACES.sub("", value.lower()).strip(".;,<>")
        if not _EMAIL.match(out):
            return None
        local, domain = out.split("@", 1)
        if local in placeholders["email_local_part"]:
            return None
        if domain.split(".", 1)[0] in placeholders["email_domain"]:
            return None
        return out

    placeholders = placeholder_contacts()
    return map_values(s, one)


@cache
def placeholder_contacts() -> dict[str, frozenset[str]]:
    """Channel (email_local_part, email_domain: a domain's first label, phone: 10 digits)
    → the placeholders typed on it, from the seed `placeholder_contacts.csv`."""
    table = pd.read_csv(PLACEHOLDER_CONTACTS, dtype=str, keep_default_na=False)
    values = {c: frozenset(v.str.lower()) for c, v in table.groupby("channel")["value"]}
    return {c: values.get(c, frozenset()) for c in ("email_local_part", "email_domain", "phone")}


def _postal_one(value: str) -> str | None:
    out = _NOT_POSTAL.sub("", value.upper())
    if len(out) == 6:  # letter O typed for zero and back, in the positions they belong to
        chars = list(out)
        for i in (1, 3, 5):
            chars[i] = {"O": "0", "I": "1"}.get(chars[i], chars[i])
        for i in (0, 2, 4):
            chars[i] = {"0": "O"}.get(chars[i], chars[i])
        out = "".join(chars)
    return out if _POSTAL.match(out) else None


def standardize_postal(s: pd.Series) -> pd.DataFrame:
    """Canadian postal code `H2X 1Y4` → `H2X1Y4` and its forward sortation area `H2X`."""
    out = map_values(s, _postal_one)
    return pd.DataFrame(
        {"postal_code": out, "fsa": map_values(out, lambda v: v[:3])}, index=s.index
    )


def _street_one(text: str) -> str | None:
    out = ascii_text(text).lower()
    out = _UNIT.sub(" ", out)
    out = _NUMBERED.sub(" ", out)
    out = _UNIT_PREFIX.sub(r"\1", out)
    out = _NOT_STREET.sub(" ", _STREET_APOSTROPHES.sub("", out))
    words = [STREET_WORDS.get(w, w) for w in out.split()]
    return " ".join(words) or None


def standardize_street(s: pd.Series) -> pd.Series:
    """One spelling per street: `123, Boul. René-Lévesque O.` = `123 boulevard rene levesque ouest`.

    Unit numbers (`app. 4`, `#4`, `4-123 …`) are dropped: people omit them far more often
    than two different people live at the same civic number and street.
    """
    return map_values(s, _street_one)


def split_street(street: pd.Series) -> pd.DataFrame:
    """Civic number and street name of a standardized street (`123 boul rene levesque o`)."""
    codes, uniq = distinct(street)
    parts = pd.Series(uniq, dtype="string").str.extract(
        r"^(?P<street_number>\d+[a-z]?)\s+(?P<street_name>.+)$"
    )
    return pd.DataFrame(
        {
            column: spread(
                codes,
                parts[column].astype(object).where(parts[column].notna(), None).tolist(),
                street.index,
            )
            for column in parts.columns
        }
    )


# ---------------------------------------------------------------- vehicles and dates


def standardize_vin(s: pd.Series, is_valid: pd.Series | None = None) -> pd.Series:
    """Upper-case VIN, or <NA> when it fails validation (an invalid VIN is not evidence).

    `is_valid` is ingest's flag where it has one; elsewhere the VIN is validated here the
    same way (17 characters, no I/O/Q, check digit for North-American VINs).
    """
    codes, uniq = distinct(s.astype("string"))  # a VIN is typed on many records
    text = [_VIN_NOISE.sub("", v.upper()) or None for v in uniq]
    typed = [v for v in text if v is not None]
    checked = dict(zip(typed, vins_are_valid(typed), strict=True))
    own = np.array([v is not None and bool(checked[v]) for v in text] + [False])
    valid = own[codes]
    if is_valid is not None:
        flag = map_values(is_valid.astype("string"), str.lower)
        flagged = flag.isin(["true", "t", "1", "y", "yes"]).to_numpy(dtype=bool)
        valid = np.where(flag.notna().to_numpy(dtype=bool), flagged, valid)
    return spread(np.where(valid, codes, -1), text, s.index)


_VIN_NOISE = re.compile(r"[\s-]")


def standardize_date(s: pd.Series) -> pd.Series:
    """ISO date text `YYYY-MM-DD` (timestamps keep their date); unparsable → <NA>."""
    codes, uniq = distinct(s.astype("string"))  # a few thousand dates among millions
    text = pd.Series(uniq, dtype="string").str.strip().str[:10]
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    iso = parsed.dt.strftime("%Y-%m-%d").astype(object)
    return spread(codes, iso.where(parsed.notna(), None).tolist(), s.index)


# ---------------------------------------------------------------- values that are not a person's


def name_signature(first_name: pd.Series, last_name: pd.Series) -> pd.Series:
    """A coarse person key (first initial + first 4 letters of surname) robust to typos."""
    pair = distinct_rows(first_name, last_name)
    row = representatives(pair)
    firsts = first_name.to_numpy(dtype=object, na_value=None)[row]
    lasts = last_name.to_numpy(dtype=object, na_value=None)[row]
    keys = [
        ("?" if f is None else f[:1]) + "|" + ("?" if la is None else la[:4])
        for f, la in zip(firsts, lasts, strict=True)
    ]
    return spread(pair, keys, first_name.index)


def shared_values(values: pd.Series, people: pd.Series, max_people: int) -> set[str]:
    """Values (phones, e-mails) attached to more distinct people than one household has.

    A rooftop's switchboard or a clerk's stock e-mail shows up under hundreds of names;
    a family landline under a handful. `people` is a coarse person key per record.
    """
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    return set(uniq[shared_codes(codes, people, max_people)])


def shared_codes(codes: np.ndarray, people: pd.Series, max_people: int) -> np.ndarray:
    """Per value code (0, 1, …; -1 is missing): is it `shared_values`' kind?"""
    person, persons = pd.factorize(people, use_na_sentinel=True)
    known = (codes >= 0) & (person >= 0)
    pairs = np.unique(codes[known].astype(np.int64) * (len(persons) + 1) + person[known])
    count = np.bincount(pairs // (len(persons) + 1), minlength=codes.max(initial=-1) + 1)
    return count > max_people


def family_mailboxes(
    email: pd.Series,
    given: pd.Series,
    surname: pd.Series,
    min_share: float = 0.1,
    similar: float = 0.80,
) -> set[str]:
    """E-mails written beside the given names of two people: a household's mailbox.

    A couple who give one family address (`famille.roy@…`) are two people; the mailbox
    links their household, not one person. A given name (`given`, as written) counts on a mailbox when it is written there on at least two records
    and on `min_share` as many as the mailbox's commonest name (a one-off typo does not),
    is no word of a surname written there (`Jacques, Diane` typed the wrong way round) and
    is more than an initial. Two such names are two people's when they share no word, are
    no nicknames of one name (`Kathy`, `Kathleen`) and are less similar than the given-name comparison's `similar` level (Jaro-Winkler below
    `similar`): `Michel` and `Michael`, `Alexandre` and `Alexander` are one person's name
    written two ways, and `Denis` and `Denise` cannot be told from those.
    """
    frame = pd.DataFrame({"e": email, "g": given, "s": surname}).dropna(subset=["e"])
    surnames = frame.dropna(subset=["s"]).drop_duplicates(["e", "s"])
    words = surnames.assign(w=surnames["s"].str.split()).explode("w")[["e", "w"]]
    frame = frame.dropna(subset=["g"])
    frame = frame[frame["g"].str.len() > 1]
    counts = frame.groupby(["e", "g"]).size().rename("n").reset_index()
    counts = counts[counts["n"] >= 2]
    top = counts.groupby("e")["n"].transform("max")
    counts = counts[counts["n"] >= min_share * top]
    counts = counts.merge(words, left_on=["e", "g"], right_on=["e", "w"], how="left")
    counts = counts[counts["w"].isna()]
    counts = counts[counts.groupby("e")["g"].transform("size") > 1]
    if counts.empty:
        return set()
    pairs = counts[["e", "g"]].merge(counts[["e", "g"]], on="e")
    pairs = pairs[pairs["g_x"] < pairs["g_y"]]
    one_formal = first_name_key(pairs["g_x"]).to_numpy() == first_name_key(pairs["g_y"]).to_numpy()
    two = ~one_formal & [
        not set(a.split()) & set(b.split())
        and not nickname_related(a, b)
        and JaroWinkler.normalized_similarity(a, b) < similar
        for a, b in zip(pairs["g_x"].tolist(), pairs["g_y"].tolist(), strict=True)
    ]
    return set(pairs.loc[two, "e"])


def drop_values(values: pd.Series, banned: set[str]) -> pd.Series:
    """`values` with every member of `banned` replaced by <NA>."""
    if not banned:
        return values
    return values.mask(values.isin(list(banned))).astype("string")


def share_values(s: pd.Series) -> pd.Series:
    """The same text with one string object per distinct value (a column built record by
    record holds millions of copies of the same few values)."""
    return map_values(s, lambda v: v)


def sorted_words(s: pd.Series) -> pd.Series:
    """The words of a text in alphabetical order: `jean tremblay` = `tremblay jean`."""
    return map_values(s, lambda v: " ".join(sorted(v.split())) or None)
