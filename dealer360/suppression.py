"""The suppression check: what landing needs to keep a forgotten person forgotten.

`dealer360 forget` (dealer360/forget.py) erases a person and adds keyed hashes of their
identifiers to `privacy.suppression_list`. Landing (ingest.loader, ingest.merge) then
checks every row of a person source against the list: a row carrying a listed identifier
lands with its identifying values already NULL, is pinned to an anonymous key
(`ANONYMOUS_PREFIX` + 16 hex digits) and counted as suppressed. This module is that
check and the pieces forget shares with it: which columns identify a person, the
identifier keys, their keyed hash, and the SQL that withholds a quarantined row's
identifying cells.

Identifier keys are normalized by entity resolution's own standardizers, so another
spelling of the same e-mail or phone hashes the same. The hash is HMAC-SHA-256 under
`privacy.salt`, a secret the database generated at migration time and keeps in a schema
no granted role can use: without it a phone number (ten digits) would be found from its
hash in seconds.

Where it sits: below the stages. Landing imports it; it imports no stage's machinery,
only two stage modules that are pure descriptions and import no first-party module
themselves: the landing contract (`ingest.contract`: which columns identify a person and
which person field each feeds) and entity resolution's standardizers
(`entity_resolution.standardize`). Both stay where a reader looks for them (a contract
rule in ingest/, a matching rule in entity_resolution/), and neither is copied here: a
suppression key normalized differently from matching would let a forgotten person back
in. Importing them runs their packages' `__init__`; ingest's imports only its summary
types, never the loader, so no import path leads from here back to landing
(tests/test_architecture.py checks the graph).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from entity_resolution import standardize as std
from ingest.contract import SOURCES

KINDS = ("email", "email_name", "phone_name", "name_birth")
ANONYMOUS_PREFIX = "anon-"
# The person fields identifier keys are made of (entity resolution's names for them).
_FIELDS = ("first_name", "last_name", "full_name", "email", "phone", "birth_date")
# Every raw column that identifies a person, in any source: a quarantine reason quoting
# one of them has the value withheld.
RAW_IDENTIFYING_COLUMNS = frozenset(c for s in SOURCES.values() for c in s.identifying_columns)


def identifying_columns(source: str) -> list[str]:
    """The raw columns of a landing source that identify a person (none for dealers)."""
    return list(SOURCES[source].identifying_columns)


def kept_columns(source: str) -> list[str]:
    """The contract columns of a person source that a forgotten person's row keeps."""
    identifying = set(SOURCES[source].identifying_columns)
    return [c for c in SOURCES[source].column_names if c not in identifying]


def identity_fields(source: str, columns: Mapping[str, Iterable], rows: int) -> pd.DataFrame:
    """A source's values (raw column → values) as the fields identifier keys are made of:
    first_name, last_name, full_name, email, phone, birth_date (missing ones empty)."""
    feeds = {c.person: c.name for c in SOURCES[source].person_columns}
    empty = pd.Series(pd.NA, index=range(rows), dtype="string")
    out = {}
    for ours in _FIELDS:
        theirs = feeds.get(ours)
        values = columns.get(theirs) if theirs else None
        if values is None:
            out[ours] = empty
        elif isinstance(values, pa.Array | pa.ChunkedArray):
            out[ours] = pd.Series(values.to_pylist(), dtype="string")
        else:
            out[ours] = pd.Series(list(values), dtype="string")
    return pd.DataFrame(out)


def identifier_keys(fields: pd.DataFrame) -> pd.DataFrame:
    """Each row's identifiers as suppression keys, one column per kind (<NA> when a part is
    missing). Normalized by entity resolution's standardizers; the name is its words in
    alphabetical order, so `MARTIN, ALICE` = `Alice` / `Martin` and a swapped given name
    and surname still agree."""
    if fields.empty:
        return pd.DataFrame({kind: pd.Series(dtype="string") for kind in KINDS})
    fields = fields.reset_index(drop=True).astype("string")
    email = std.standardize_email(fields["email"])
    phone = std.standardize_phone(fields["phone"])
    names = std.standardize_names(fields["first_name"], fields["last_name"], fields["full_name"])
    both = names["first_name"].notna() & names["last_name"].notna()
    name = std.sorted_words((names["first_name"] + " " + names["last_name"]).where(both))
    birth = std.standardize_date(fields["birth_date"])
    return pd.DataFrame(
        {
            "email": email,
            "email_name": email + "|" + name,
            "phone_name": phone + "|" + name,
            "name_birth": name + "|" + birth,
        }
    ).astype("string")


def keyed_hash(salt: str, kind: str, value: str) -> str:
    """HMAC-SHA-256 of one identifier under the database's secret salt."""
    message = f"{kind}\x1f{value}".encode()
    return hmac.new(salt.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Suppression:
    """The suppression list as landing checks rows against it."""

    salt: str
    hashes: frozenset[tuple[str, str]]
    version: tuple[int, str]  # (entries, newest): landing re-checks when it changed

    def matches(self, fields: pd.DataFrame) -> np.ndarray:
        """Which rows carry an identifier of a forgotten person."""
        keys = identifier_keys(fields)
        hit = np.zeros(len(keys), dtype=bool)
        for kind in KINDS:
            values = keys[kind]
            present = values.dropna()
            if present.empty:
                continue
            distinct = present.unique()
            listed = {v for v in distinct if (kind, keyed_hash(self.salt, kind, v)) in self.hashes}
            if listed:
                hit |= values.isin(listed).fillna(False).to_numpy(dtype=bool)
        return hit

    def matches_raw_values(self, source: str, raw_values: list[dict]) -> np.ndarray:
        """As `matches`, for rows kept as header name → cell (quarantined or malformed)."""
        lowered = [{k.strip().lower(): v for k, v in row.items()} for row in raw_values]
        columns = {
            name: [row.get(name) for row in lowered] for name in SOURCES[source].column_names
        }
        return self.matches(identity_fields(source, columns, len(raw_values)))


def suppression_version(cur) -> tuple[int, str]:
    """What landing compares to know whether the list changed since it staged a file
    (`cur`: a DB-API cursor)."""
    cur.execute("select count(*), coalesce(max(added_at)::text, '') from privacy.suppression_list")
    count, newest = cur.fetchone()
    return int(count), newest


def load_suppression(cur) -> Suppression | None:
    """The list and its salt, or None while nobody was forgotten (landing then skips the
    check entirely). `cur`: a DB-API cursor."""
    version = suppression_version(cur)
    if version[0] == 0:
        return None
    cur.execute("select salt from privacy.salt")
    (salt,) = cur.fetchone()
    cur.execute("select kind, identifier_hash from privacy.suppression_list")
    return Suppression(salt, frozenset(cur.fetchall()), version)


def scrubbed_raw_values_sql(raw_values: str, kept_param: str) -> str:
    """SQL: a row's raw_values with only the cells of non-identifying contract columns."""
    return (
        f"(select coalesce(jsonb_object_agg(key, value), '{{}}'::jsonb)"
        f" from jsonb_each({raw_values}) where lower(trim(key)) = any({kept_param}))"
    )


def scrubbed_reason_sql(reason: str) -> str:
    """SQL: a quarantine reason without the identifying values it quotes."""
    names = "|".join(sorted(RAW_IDENTIFYING_COLUMNS))
    return (
        f"regexp_replace({reason}, '\\m({names}) ''.*?'' (is )', '\\1 (value withheld) \\2', 'g')"
    )
