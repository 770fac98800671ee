"""What a person typed in the one search box: a name, a phone, an e-mail, a VIN or a customer ID.

People paste whatever they have at hand (`(514) 555-0199`, `+1 514 555 0199`, a VIN read off
a windshield in lower case), so the box decides what it is rather than asking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["name", "phone", "phone_ending", "email", "vin", "customer_id", "empty"]

_VIN = re.compile(r"^[A-Z0-9]{17}$")  # invalid VINs (with I, O or Q) land too
_CUSTOMER_ID = re.compile(r"^C\d{6,}$")
_PHONE_CHARACTERS = re.compile(r"^[\d\s().+\-/]+$")


@dataclass(frozen=True)
class Lookup:
    kind: Kind
    value: str

    @property
    def described(self) -> str:
        return {
            "name": f"name “{self.value}”",
            "phone": f"phone ({self.value[:3]}) {self.value[3:6]}-{self.value[6:]}",
            "phone_ending": f"phone ending in {self.value}",
            "email": f"e-mail {self.value}",
            "vin": f"VIN {self.value}",
            "customer_id": f"customer {self.value}",
            "empty": "nothing",
        }[self.kind]


def parse(text: str) -> Lookup:
    """Classify the search text and normalize it for the query that will look it up.

    A phone keeps its last 10 digits (the North-American number without the country code,
    however it was typed); 7 to 9 digits are matched against the end of a number.
    """
    text = (text or "").strip()
    if not text:
        return Lookup("empty", "")
    if "@" in text:
        return Lookup("email", text.lower())
    compact = re.sub(r"[\s\-]", "", text).upper()
    if _CUSTOMER_ID.match(compact):
        return Lookup("customer_id", compact)
    if _VIN.match(compact) and any(ch.isdigit() for ch in compact):
        return Lookup("vin", compact)
    digits = re.sub(r"\D", "", text)
    if _PHONE_CHARACTERS.match(text) and len(digits) >= 10:
        return Lookup("phone", digits[-10:])
    if _PHONE_CHARACTERS.match(text) and len(digits) >= 7:
        return Lookup("phone_ending", digits)
    return Lookup("name", text)
