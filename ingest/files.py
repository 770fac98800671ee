"""Finding the files of an inbox and telling, from their bytes alone, whether they can be CSV.

Both run before any database work: a file that is not UTF-8 text is refused whole with a
message a person can act on, and the SHA-256 computed on the way tells a file sent again
from a new one.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path

from dealer360.errors import UserError
from ingest.contract import Source, source_for_folder

_BLOCK = 1 << 22

# Leading bytes of formats people save under a .csv name by mistake.
_SIGNATURES = (
    (b"PK\x03\x04", "a spreadsheet or zip archive (an .xlsx saved as .csv?)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls)"),
    (b"%PDF", "a PDF document"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)
_REEXPORT = "export it again as CSV UTF-8"


@dataclass(frozen=True)
class InboxFile:
    path: Path
    source: Source
    file_name: str  # relative to the inbox, with '/' separators: dealer_sales/2024.csv
    mtime: float
    size: int


@dataclass(frozen=True)
class Inspection:
    sha256: str
    size: int
    problem: str | None  # why the file cannot be CSV; None when it may be


def discover(inbox: Path) -> tuple[list[InboxFile], list[str]]:
    """The CSV files of an inbox, oldest first, and a note for each path ignored.

    Files are returned in order of (modification time, path): that is the order they are
    loaded in, so when two files carry the same record, the one modified later wins.
    Files at the top of the inbox (such as the generator's truth.csv) and hidden files
    are ignored without a note.
    """
    if not inbox.exists():
        raise UserError(f"The inbox folder {inbox} does not exist.")
    if not inbox.is_dir():
        raise UserError(f"The inbox {inbox} is a file, not a folder.")
    found: list[InboxFile] = []
    ignored: list[str] = []
    for folder in sorted(inbox.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        source = source_for_folder(folder.name)
        if source is None:
            ignored.append(f"{folder.name}/: not a source folder of the landing contract")
            continue
        for path in sorted(folder.iterdir()):
            relative = f"{folder.name}/{path.name}"
            if path.name.startswith("."):
                continue
            if path.is_dir():
                ignored.append(f"{relative}/: sub-folders of a source folder are not read")
            elif path.suffix.lower() != ".csv":
                ignored.append(f"{relative}: not a .csv file")
            else:
                stat = path.stat()
                found.append(InboxFile(path, source, relative, stat.st_mtime, stat.st_size))
    found.sort(key=lambda f: (f.mtime, f.file_name))
    return found, ignored


def inspect_bytes(path: Path) -> Inspection:
    """Hash the file and look for what makes it not UTF-8 CSV, reading it once in blocks."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    size = 0
    lines = 1
    problem = None
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
            if size == 0:
                problem = _signature_problem(block)
            if problem is None and b"\x00" in block:
                line = lines + block.count(b"\n", 0, block.index(b"\x00"))
                problem = (
                    f"contains NUL bytes (line {line}): it is binary data, not CSV; {_REEXPORT}"
                )
            if problem is None:
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    at = max(exc.start - pending, 0)
                    line = lines + block.count(b"\n", 0, at)
                    problem = (
                        f"is not UTF-8 text (byte 0x{block[at]:02X} on line {line} is not valid"
                        f" UTF-8; Latin-1 or Windows-1252 perhaps); {_REEXPORT}"
                    )
            lines += block.count(b"\n")
            size += len(block)
    if size == 0:
        problem = "is empty (0 bytes): a CSV file needs at least a header row"
    elif problem is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            problem = f"is not UTF-8 text (it ends in the middle of a character); {_REEXPORT}"
    return Inspection(sha256=digest.hexdigest(), size=size, problem=problem)


def _signature_problem(head: bytes) -> str | None:
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            return f"is {what}, not CSV; {_REEXPORT}"
    return None
