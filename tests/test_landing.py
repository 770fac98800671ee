"""Landing CSV exports into raw.*: what a dealer's data person notices when files arrive.

Each test writes a tiny inbox by hand and loads it into a fresh, migrated database.
"""

from __future__ import annotations

import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console
from sqlalchemy.engine import Engine

from dealer360.errors import UserError
from ingest.contract import SOURCES
from ingest.loader import load_file, load_inbox

VIN = "1HGCM82633A004352"  # North-American, check digit right
OTHER_VIN = "1M8GDM9AXKP042788"  # check digit X
SALES_HEADER = "dealer_code,deal_id,deal_date,first_name,vin"


def write(inbox: Path, name: str, content: str | bytes, *, mtime: float | None = None) -> Path:
    path = inbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_bytes(content.encode())
    else:
        path.write_bytes(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def sales_file(*rows: str, header: str = SALES_HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def query(engine: Engine, sql: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql), params)]


def sales(engine: Engine) -> list[tuple]:
    return query(
        engine,
        "select source_record_id, deal_date, first_name, vin, file_name, row_number"
        " from raw.dealer_sales order by source_record_id",
    )


def quarantine(engine: Engine) -> list[tuple]:
    return query(
        engine,
        "select file_name, row_number, reason from raw.quarantine order by file_name, row_number",
    )


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Everything landed, to compare before and after."""
    tables = [f"raw.{name}" for name in SOURCES] + ["raw.files", "raw.quarantine"]
    return {t: query(engine, f"select * from {t} order by 1, 2") for t in tables}


# --- files that load -------------------------------------------------------------------


def test_a_file_with_a_byte_order_mark_and_odd_header_spelling_loads(engine, tmp_path):
    write(
        tmp_path,
        "dealer_sales/2024.csv",
        "\ufeff Dealer_Code ,DEAL_ID,Deal_Date,VIN,First_Name\r\nD01,1,2024-03-05,"
        + VIN
        + ",Émilie\r\n",
    )

    summary = load_inbox(engine, tmp_path)

    assert summary.result("dealer_sales/2024.csv").status == "loaded"
    assert sales(engine) == [("D01:1", "2024-03-05", "Émilie", VIN, "dealer_sales/2024.csv", 2)]


def test_crlf_quoted_commas_and_newlines_load_and_rows_are_numbered_as_a_spreadsheet_does(
    engine, tmp_path
):
    content = (
        "dealer_code,ro_number,open_date,customer_name,vin,description\r\n"
        f'D01,R1,2024-01-02,"Tremblay, Marie",{VIN},"brakes\r\nand ""rotors"""\r\n'
        f"D01,R2,2024-13-02,Roy,{VIN},oil\r\n"
    )
    write(tmp_path, "service_orders/ro.csv", content)

    load_inbox(engine, tmp_path)

    assert query(
        engine, "select source_record_id, customer_name, description from raw.service_orders"
    ) == [("D01:R1", "Tremblay, Marie", 'brakes\r\nand "rotors"')]
    # The header is row 1 and the quoted newline does not start a row.
    assert quarantine(engine) == [
        (
            "service_orders/ro.csv",
            3,
            "open_date '2024-13-02' is not a date (expected YYYY-MM-DD)",
        )
    ]


def test_a_header_only_file_loads_no_rows(engine, tmp_path):
    write(tmp_path, "dealer_sales/empty.csv", SALES_HEADER + "\n")

    result = load_inbox(engine, tmp_path).result("dealer_sales/empty.csv")

    assert (result.status, result.rows_read, result.rows_loaded) == ("loaded", 0, 0)
    assert query(engine, "select status, rows_read from raw.files") == [("loaded", 0)]


def test_every_source_lands_under_its_natural_key(engine, tmp_path):
    write(
        tmp_path, "dealers/d.csv", "dealer_code,dealer_name,brands\nD01,Alpha Honda,Honda|Acura\n"
    )
    write(tmp_path, "dealer_sales/s.csv", sales_file(f"D01,S9,2024-01-02,Luc,{VIN}"))
    write(
        tmp_path,
        "service_orders/r.csv",
        f"dealer_code,ro_number,open_date,vin\nD01,R7,2024-02-03,{VIN}\n",
    )
    write(
        tmp_path,
        "oem_registrations/o.csv",
        f"brand,registration_id,vin,registration_date\nHonda,REG-1,{VIN},2024-01-05\n",
    )
    write(
        tmp_path,
        "crm_leads/l.csv",
        "dealer_code,lead_id,created_at\nD01,L3,2024-01-05T10:30:00-05:00\n",
    )
    write(
        tmp_path,
        "oem_recalls/r.csv",
        f"brand,campaign_id,vin,issued_date\nHonda,24V-123,{VIN},2024-03-01\n",
    )

    summary = load_inbox(engine, tmp_path)

    keys = {
        name: query(engine, f"select source_record_id from raw.{name}")[0][0] for name in SOURCES
    }
    assert keys == {
        "dealers": "D01",
        "dealer_sales": "D01:S9",
        "service_orders": "D01:R7",
        "oem_registrations": "REG-1",
        "crm_leads": "D01:L3",
        "oem_recalls": f"Honda:24V-123:{VIN}",
    }
    assert summary.total.rows_inserted == 6
    assert query(engine, "select brands from raw.dealers") == [("Honda|Acura",)]


def test_values_are_trimmed_and_empty_cells_are_null(engine, tmp_path):
    write(tmp_path, "dealer_sales/a.csv", sales_file(f"  D01 , 1 ,2024-01-02,\u00a0 ,{VIN}  "))

    load_inbox(engine, tmp_path)

    assert sales(engine) == [("D01:1", "2024-01-02", None, VIN, "dealer_sales/a.csv", 2)]


def test_a_very_long_value_loads_whole(engine, tmp_path):
    note = "x" * 100_000
    write(
        tmp_path,
        "service_orders/long.csv",
        f'dealer_code,ro_number,open_date,vin,description\nD01,R1,2024-01-02,{VIN},"{note}"\n',
    )

    load_inbox(engine, tmp_path)

    assert query(engine, "select length(description) from raw.service_orders") == [(100_000,)]


def test_text_that_looks_like_sql_is_stored_literally(engine, tmp_path):
    attack = "'); drop table raw.files; --"
    write(
        tmp_path,
        "dealer_sales/a.csv",
        sales_file(
            f'D01,1,2024-01-02,"{attack}",{VIN},x',
            header=SALES_HEADER + ',"note\'); drop table raw.quarantine; --"',
        ),
    )

    load_inbox(engine, tmp_path)

    assert query(engine, "select first_name, extra from raw.dealer_sales") == [
        (attack, {"note'); drop table raw.quarantine; --": "x"})
    ]
    assert query(engine, "select count(*) from raw.files") == [(1,)]


def test_extra_columns_are_kept_in_extra_as_sent(engine, tmp_path):
    write(
        tmp_path,
        "dealer_sales/a.csv",
        sales_file(
            f"D01,1,2024-01-02,Ann,{VIN}, Gold , ",
            f"D01,2,2024-01-02,Bob,{VIN},,42",
            header=SALES_HEADER + ",Loyalty Tier,Salesperson ID",
        ),
    )

    load_inbox(engine, tmp_path)

    assert query(engine, "select source_record_id, extra from raw.dealer_sales order by 1") == [
        ("D01:1", {"Loyalty Tier": " Gold "}),
        ("D01:2", {"Salesperson ID": "42"}),
    ]


# --- files that are rejected whole -------------------------------------------------------


def test_a_latin1_file_is_rejected_by_name_and_the_other_files_still_load(engine, tmp_path):
    write(
        tmp_path,
        "dealer_sales/latin1.csv",
        sales_file(f"D01,1,2024-01-02,Émilie,{VIN}").encode("latin-1"),
    )
    write(tmp_path, "dealer_sales/good.csv", sales_file(f"D01,2,2024-01-02,Luc,{VIN}"))

    summary = load_inbox(engine, tmp_path)

    rejected = summary.result("dealer_sales/latin1.csv")
    assert rejected.status == "rejected"
    assert rejected.message.startswith("dealer_sales/latin1.csv is not UTF-8 text")
    assert "line 2" in rejected.message
    assert [r[0] for r in sales(engine)] == ["D01:2"]
    assert query(engine, "select file_name, status from raw.files order by 1") == [
        ("dealer_sales/good.csv", "loaded"),
        ("dealer_sales/latin1.csv", "rejected"),
    ]


def test_a_spreadsheet_saved_as_csv_is_rejected(engine, tmp_path):
    path = tmp_path / "dealer_sales" / "export.csv"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as workbook:
        workbook.writestr("xl/workbook.xml", "<workbook/>")

    result = load_inbox(engine, tmp_path).result("dealer_sales/export.csv")

    assert result.status == "rejected"
    assert result.message == (
        "dealer_sales/export.csv is a spreadsheet or zip archive (an .xlsx saved as .csv?),"
        " not CSV; export it again as CSV UTF-8"
    )
    assert sales(engine) == []


def test_a_binary_file_with_nul_bytes_is_rejected(engine, tmp_path):
    write(tmp_path, "crm_leads/blob.csv", b"dealer_code,lead_id,created_at\n\x00\x01\x02\n")

    result = load_inbox(engine, tmp_path).result("crm_leads/blob.csv")

    assert result.status == "rejected"
    assert "contains NUL bytes (line 2)" in result.message


def test_an_empty_file_is_rejected(engine, tmp_path):
    write(tmp_path, "dealers/empty.csv", b"")

    result = load_inbox(engine, tmp_path).result("dealers/empty.csv")

    assert result.status == "rejected"
    assert (
        result.message
        == "dealers/empty.csv is empty (0 bytes): a CSV file needs at least a header row"
    )


def test_a_missing_required_column_rejects_the_file_naming_the_column(engine, tmp_path):
    write(tmp_path, "dealer_sales/novin.csv", "dealer_code,deal_id,first_name\nD01,1,Ann\n")

    result = load_inbox(engine, tmp_path).result("dealer_sales/novin.csv")

    assert result.status == "rejected"
    assert result.message == (
        "dealer_sales/novin.csv is missing the required columns deal_date, vin in its header"
    )
    assert sales(engine) == []
    assert quarantine(engine) == []


def test_a_semicolon_separated_file_is_rejected_with_a_hint(engine, tmp_path):
    write(tmp_path, "dealers/d.csv", "dealer_code;dealer_name;brands\nD01;Alpha;Honda\n")

    result = load_inbox(engine, tmp_path).result("dealers/d.csv")

    assert result.status == "rejected"
    assert "separated by semicolons" in result.message


def test_a_rejected_new_version_keeps_the_rows_its_earlier_version_landed(engine, tmp_path):
    path = write(tmp_path, "dealer_sales/a.csv", sales_file(f"D01,1,2024-01-02,Ann,{VIN}"))
    load_inbox(engine, tmp_path)
    write(
        tmp_path,
        "dealer_sales/a.csv",
        sales_file(f"D01,1,2024-01-02,Anne-Marie,{VIN}", header="deal_id,vin"),
    )

    result = load_file(engine, path, "dealer_sales", tmp_path)

    assert result.status == "rejected"
    assert result.message.endswith("; the rows its earlier version landed stay loaded")
    assert [r[2] for r in sales(engine)] == ["Ann"]


# --- rows that break the contract ----------------------------------------------------------


def test_a_bad_date_row_is_quarantined_with_its_reason_and_the_rest_loads(engine, tmp_path):
    write(
        tmp_path,
        "dealer_sales/a.csv",
        sales_file(
            f"D01,1,2024-01-02,Ann,{VIN}",
            f"D01,2,2023-13-45,Bob,{VIN}",
            f"D01,3,03/04/2021,Cam,{VIN}",
            f"D01,4,2023-02-29,Dan,{VIN}",
            f"D01,5,2024-02-29,Eve,{VIN}",
        ),
    )

    result = load_inbox(engine, tmp_path).result("dealer_sales/a.csv")

    assert [r[0] for r in sales(engine)] == ["D01:1", "D01:5"]
    assert quarantine(engine) == [
        ("dealer_sales/a.csv", 3, "deal_date '2023-13-45' is not a date (expected YYYY-MM-DD)"),
        ("dealer_sales/a.csv", 4, "deal_date '03/04/2021' is not a date (expected YYYY-MM-DD)"),
        ("dealer_sales/a.csv", 5, "deal_date '2023-02-29' is not a date (expected YYYY-MM-DD)"),
    ]
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 2, 3)
    assert query(engine, "select raw_values from raw.quarantine where row_number = 3") == [
        (
            {
                "dealer_code": "D01",
                "deal_id": "2",
                "deal_date": "2023-13-45",
                "first_name": "Bob",
                "vin": VIN,
            },
        )
    ]


def test_a_missing_required_value_is_quarantined(engine, tmp_path):
    write(tmp_path, "dealer_sales/a.csv", sales_file(f"D01,,2024-01-02,Ann,{VIN}", "D01,2,,Bob,"))

    load_inbox(engine, tmp_path)

    assert quarantine(engine) == [
        ("dealer_sales/a.csv", 2, "deal_id is missing (required)"),
        (
            "dealer_sales/a.csv",
            3,
            "deal_date is missing (required); vin is missing (required)",
        ),
    ]


def test_numbers_timestamps_and_enumerations_are_checked(engine, tmp_path):
    write(
        tmp_path,
        "dealer_sales/a.csv",
        sales_file(
            f"D01,1,2024-01-02,Ann,{VIN},NEW,24999.95,Lease,60",
            f'D01,2,2024-01-02,Bob,{VIN},used,"24,999",cash,60',
            f"D01,3,2024-01-02,Cam,{VIN},leased,100,credit,5.5",
            header=SALES_HEADER + ",condition,sale_price,payment_type,term_months",
        ),
    )
    write(
        tmp_path,
        "crm_leads/l.csv",
        "dealer_code,lead_id,created_at,source,status\n"
        "D01,1,2024-03-05 14:30,Walk-in,WON\n"
        "D01,2,2024-03-05T25:00:00,web,open\n"
        "D01,3,2024-03-05,Third Party,lost\n",
    )

    load_inbox(engine, tmp_path)

    assert query(
        engine, "select condition, sale_price, payment_type, term_months from raw.dealer_sales"
    ) == [("new", "24999.95", "lease", "60")]
    assert query(engine, "select lead_id, source, status from raw.crm_leads order by 1") == [
        ("1", "walk_in", "won"),
        ("3", "third_party", "lost"),
    ]
    assert [r[2] for r in quarantine(engine)] == [
        "created_at '2024-03-05T25:00:00' is not a timestamp (expected ISO 8601, e.g. 2024-03-05T14:30:00)",
        "sale_price '24,999' is not a number (expected digits with a dot, e.g. 24999.95)",
        "condition 'leased' is not one of new, used, cpo; payment_type 'credit' is not one of"
        " cash, finance, lease; term_months '5.5' is not a whole number of at most 9 digits",
    ]


def test_rows_with_too_many_or_too_few_fields_are_quarantined(engine, tmp_path):
    write(
        tmp_path,
        "dealer_sales/a.csv",
        sales_file(
            f"D01,1,2024-01-02,Ann,{VIN},surprise",
            "D01,2,2024-01-02",
            "",
            ",,",
            f"D01,3,2024-01-02,Cam,{VIN}",
        ),
    )

    result = load_inbox(engine, tmp_path).result("dealer_sales/a.csv")

    assert [r[0] for r in sales(engine)] == ["D01:3"]
    assert sales(engine)[0][5] == 6  # empty rows are skipped but keep their numbers
    assert quarantine(engine) == [
        ("dealer_sales/a.csv", 2, "row has 6 fields, the header has 5"),
        ("dealer_sales/a.csv", 3, "row has 3 fields, the header has 5"),
    ]
    assert query(engine, "select raw_values from raw.quarantine order by row_number") == [
        (
            {
                "dealer_code": "D01",
                "deal_id": "1",
                "deal_date": "2024-01-02",
                "first_name": "Ann",
                "vin": VIN,
                "column_6": "surprise",
            },
        ),
        ({"dealer_code": "D01", "deal_id": "2", "deal_date": "2024-01-02"},),
    ]
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 1, 2)


def test_an_invalid_vin_loads_flagged(engine, tmp_path):
    write(
        tmp_path,
        "dealer_sales/a.csv",
        sales_file(
            f"D01,1,2024-01-02,Ann,{VIN},",
            "D01,2,2024-01-02,Bob,1HGCM82634A004352,WVWZZZ1JZXW000001",
            f"D01,3,2024-01-02,Cam,NOT-A-VIN,{OTHER_VIN.lower()}",
            header=SALES_HEADER + ",trade_in_vin",
        ),
    )

    load_inbox(engine, tmp_path)

    assert query(
        engine,
        "select deal_id, vin, is_vin_valid, trade_in_vin, is_trade_in_vin_valid"
        " from raw.dealer_sales order by 1",
    ) == [
        ("1", VIN, True, None, None),
        ("2", "1HGCM82634A004352", False, "WVWZZZ1JZXW000001", True),
        ("3", "NOT-A-VIN", False, OTHER_VIN.lower(), True),
    ]
    assert quarantine(engine) == []


# --- loading again -------------------------------------------------------------------------


def test_a_file_sent_again_is_unchanged_and_changes_nothing(engine, tmp_path):
    write(
        tmp_path, "dealer_sales/a.csv", sales_file(f"D01,1,2024-01-02,Ann,{VIN}", "D01,2,bad,Bob,x")
    )
    load_inbox(engine, tmp_path)
    before = snapshot(engine)

    summary = load_inbox(engine, tmp_path)

    assert summary.result("dealer_sales/a.csv").status == "unchanged"
    assert summary.total.files_unchanged == 1
    assert snapshot(engine) == before


def test_the_same_rows_under_another_name_add_nothing(engine, tmp_path):
    write(
        tmp_path,
        "dealer_sales/a.csv",
        sales_file(f"D01,1,2024-01-02,Ann,{VIN}", f"D01,2,2024-01-02,Bob,{VIN}"),
        mtime=1_000,
    )
    load_inbox(engine, tmp_path)
    before = sales(engine)
    # A re-export: same rows in another order, different blanks, under a new name.
    write(
        tmp_path,
        "dealer_sales/b.csv",
        sales_file(f"D01, 2,2024-01-02,Bob ,{VIN}", f"D01,1,2024-01-02,Ann,{VIN}"),
        mtime=2_000,
    )

    result = load_inbox(engine, tmp_path).result("dealer_sales/b.csv")

    assert (result.status, result.rows_read, result.rows_unchanged, result.rows_loaded) == (
        "loaded",
        2,
        2,
        0,
    )
    assert sales(engine) == before  # first file_name and row numbers kept


def test_an_identical_copy_under_another_name_is_unchanged(engine, tmp_path):
    content = sales_file(f"D01,1,2024-01-02,Ann,{VIN}")
    write(tmp_path, "dealer_sales/a.csv", content, mtime=1_000)
    write(tmp_path, "dealer_sales/a (copy).csv", content, mtime=2_000)

    summary = load_inbox(engine, tmp_path)

    copy = summary.result("dealer_sales/a (copy).csv")
    assert copy.status == "unchanged"
    assert (
        copy.message
        == "dealer_sales/a (copy).csv has the same bytes as dealer_sales/a.csv, already loaded"
    )
    assert query(engine, "select file_name, status from raw.files order by 1") == [
        ("dealer_sales/a (copy).csv", "unchanged"),
        ("dealer_sales/a.csv", "loaded"),
    ]


def test_changed_values_update_to_the_newer_file(engine, tmp_path):
    write(tmp_path, "dealer_sales/new.csv", sales_file(f"D01,1,2024-01-02,Anne,{VIN}"), mtime=2_000)
    write(
        tmp_path,
        "dealer_sales/old.csv",
        sales_file(f"D01,1,2024-01-02,Ann,{VIN}", f"D01,2,2024-01-03,Bob,{VIN}"),
        mtime=1_000,
    )

    summary = load_inbox(engine, tmp_path)

    assert [f.file_name for f in summary.files] == ["dealer_sales/old.csv", "dealer_sales/new.csv"]
    assert sales(engine) == [
        ("D01:1", "2024-01-02", "Anne", VIN, "dealer_sales/new.csv", 2),
        ("D01:2", "2024-01-03", "Bob", VIN, "dealer_sales/old.csv", 3),
    ]
    assert summary.result("dealer_sales/new.csv").rows_updated == 1


def test_a_duplicate_key_in_a_file_keeps_the_last_row_and_quarantines_the_others(engine, tmp_path):
    write(
        tmp_path,
        "dealer_sales/a.csv",
        sales_file(
            f"D01,1,2024-01-02,Ann,{VIN}",
            f"D01,1,2024-01-03,Anne,{VIN}",
            f"D01,2,2024-01-02,Bob,{VIN}",
            f"D01,1,2024-01-04,Annie,{VIN}",
        ),
    )

    result = load_inbox(engine, tmp_path).result("dealer_sales/a.csv")

    assert sales(engine)[0] == ("D01:1", "2024-01-04", "Annie", VIN, "dealer_sales/a.csv", 5)
    assert quarantine(engine) == [
        ("dealer_sales/a.csv", 2, "duplicate source_record_id D01:1 (superseded by row 5)"),
        ("dealer_sales/a.csv", 3, "duplicate source_record_id D01:1 (superseded by row 5)"),
    ]
    assert (result.rows_read, result.rows_inserted, result.rows_quarantined) == (4, 2, 2)


def test_a_changed_file_reloads_and_replaces_its_quarantined_rows(engine, tmp_path):
    path = write(
        tmp_path,
        "dealer_sales/a.csv",
        sales_file(f"D01,1,2024-01-02,Ann,{VIN}", "D01,2,oops,Bob,x"),
    )
    load_inbox(engine, tmp_path)
    write(
        tmp_path,
        "dealer_sales/a.csv",
        sales_file(f"D01,1,2024-01-02,Ann,{VIN}", f"D01,2,2024-01-05,Bob,{VIN}", "D01,3,,Cam,x"),
    )

    result = load_file(engine, path, "dealer_sales", tmp_path)

    assert (result.status, result.rows_inserted, result.rows_unchanged) == ("loaded", 1, 1)
    assert quarantine(engine) == [("dealer_sales/a.csv", 4, "deal_date is missing (required)")]
    assert query(engine, "select rows_read, rows_loaded, rows_quarantined from raw.files") == [
        (3, 1, 1)
    ]


# --- the inbox itself ------------------------------------------------------------------------


def test_unknown_folders_and_files_are_ignored_with_a_note(engine, tmp_path):
    write(tmp_path, "truth.csv", "person_id\n1\n")
    write(tmp_path, "invoices/i.csv", "x\n1\n")
    write(tmp_path, "dealers/readme.txt", "hello")
    write(tmp_path, "dealers/.DS_Store", b"\x00")
    write(tmp_path, "dealers/old/d.csv", "dealer_code,dealer_name,brands\n")
    write(tmp_path, "dealers/D.CSV", "dealer_code,dealer_name,brands\nD01,Alpha,Honda\n")

    summary = load_inbox(engine, tmp_path)

    assert [f.file_name for f in summary.files] == ["dealers/D.CSV"]
    assert summary.ignored == [
        "dealers/old/: sub-folders of a source folder are not read",
        "dealers/readme.txt: not a .csv file",
        "invoices/: not a source folder of the landing contract",
    ]


def test_a_missing_inbox_is_a_user_error(engine, tmp_path):
    with pytest.raises(UserError, match=r"^The inbox folder .*nowhere does not exist\.$"):
        load_inbox(engine, tmp_path / "nowhere")
    write(tmp_path, "file.csv", "x")
    with pytest.raises(UserError, match="is a file, not a folder"):
        load_inbox(engine, tmp_path / "file.csv")


RECALLS_HEADER = "brand,campaign_id,vin,issued_date,description,remedy_available"


def test_recall_campaigns_land_per_vin_and_bad_rows_are_quarantined_with_reasons(engine, tmp_path):
    write(
        tmp_path,
        "oem_recalls/honda.csv",
        sales_file(
            f"Honda,24V-123,{VIN},2024-03-01,Airbag inflator may rupture,yes",
            f"Honda,24V-123,{OTHER_VIN},2024-03-01,Airbag inflator may rupture,",
            f"Honda,24V-124,{VIN},01/03/2024,Fuel pump,N",
            f"Honda,24V-125,{VIN},2024-03-01,Fuel pump,maybe",
            f"Honda,,{VIN},2024-03-01,Fuel pump,Y",
            "Honda,24V-126,NOT-A-VIN,2024-04-01,Hood latch,n",
            header=RECALLS_HEADER,
        ),
    )

    summary = load_inbox(engine, tmp_path)
    again = load_inbox(engine, tmp_path)

    assert sorted(
        query(
            engine,
            "select source_record_id, issued_date, remedy_available, is_vin_valid"
            " from raw.oem_recalls",
        )
    ) == [
        (f"Honda:24V-123:{VIN}", "2024-03-01", "Y", True),
        (f"Honda:24V-123:{OTHER_VIN}", "2024-03-01", None, True),
        ("Honda:24V-126:NOT-A-VIN", "2024-04-01", "N", False),
    ]
    assert [r[1:] for r in quarantine(engine)] == [
        (4, "issued_date '01/03/2024' is not a date (expected YYYY-MM-DD)"),
        (5, "remedy_available 'maybe' is not one of Y, N"),
        (6, "campaign_id is missing (required)"),
    ]
    assert query(engine, "select source, status, rows_loaded from raw.files") == [
        ("oem_recalls", "loaded", 3)
    ]
    assert summary.by_source["oem_recalls"].rows_quarantined == 3
    assert again.files[0].status == "unchanged"


def test_the_second_rounds_columns_land_checked_and_a_rerun_changes_nothing(engine, tmp_path):
    write(
        tmp_path,
        "dealers/d.csv",
        "dealer_code,dealer_name,brands,legal_entity\n"
        "D01,Alpha Honda,Honda,Groupe Roy inc.\nD02,Alpha Acura,Acura,Groupe Roy inc.\n"
        "D03,Beta Ford,Ford,\n",
    )
    write(
        tmp_path,
        "dealer_sales/s.csv",
        sales_file(
            f"D01,1,2024-01-02,Ann,{VIN},finance,30000.00,27000.00,5.99,521.86",
            f"D01,2,2024-01-02,Bob,{VIN},cash,30000.00,,,",
            f"D01,3,2024-01-02,Cam,{VIN},lease,30000.00,27 000 $,4.99,",
            header=SALES_HEADER + ",payment_type,sale_price,amount_financed,apr,monthly_payment",
        ),
    )
    write(
        tmp_path,
        "service_orders/r.csv",
        f"dealer_code,ro_number,open_date,vin,recall_campaign\nD01,R1,2024-04-01,{VIN},24V-123\n",
    )
    write(
        tmp_path,
        "crm_leads/l.csv",
        "dealer_code,lead_id,created_at,source,provider,cost_amount\n"
        "D01,1,2024-03-05T10:00:00,third_party,CarGurus,42.50\n"
        "D01,2,2024-03-05T10:00:00,third_party,AutoTrader,forty\n"
        "D01,3,2024-03-05T10:00:00,walk_in,,\n",
    )

    load_inbox(engine, tmp_path)
    before = snapshot(engine)
    for path in tmp_path.rglob("*.csv"):  # the same rows under new names: nothing changes
        path.rename(path.with_name("again_" + path.name))
    rerun = load_inbox(engine, tmp_path)

    assert query(engine, "select dealer_code, legal_entity from raw.dealers order by 1") == [
        ("D01", "Groupe Roy inc."),
        ("D02", "Groupe Roy inc."),
        ("D03", None),
    ]
    assert query(
        engine,
        "select deal_id, amount_financed, apr, monthly_payment from raw.dealer_sales order by 1",
    ) == [("1", "27000.00", "5.99", "521.86"), ("2", None, None, None)]
    assert query(engine, "select recall_campaign from raw.service_orders") == [("24V-123",)]
    assert query(engine, "select lead_id, provider, cost_amount from raw.crm_leads order by 1") == [
        ("1", "CarGurus", "42.50"),
        ("3", None, None),
    ]
    assert sorted({r[2] for r in quarantine(engine)}) == [  # once per name the file had
        "amount_financed '27 000 $' is not a number (expected digits with a dot, e.g. 24999.95)",
        "cost_amount 'forty' is not a number (expected digits with a dot, e.g. 24999.95)",
    ]
    assert rerun.total.rows_inserted == rerun.total.rows_updated == 0
    after = snapshot(engine)
    for table in ("raw.dealers", "raw.dealer_sales", "raw.service_orders", "raw.crm_leads"):
        assert after[table] == before[table], table


def test_files_without_the_optional_columns_load_as_before(engine, tmp_path):
    write(tmp_path, "dealers/d.csv", "dealer_code,dealer_name,brands\nD01,Alpha Honda,Honda\n")
    write(tmp_path, "dealer_sales/s.csv", sales_file(f"D01,1,2024-01-02,Ann,{VIN}"))
    write(
        tmp_path,
        "crm_leads/l.csv",
        "dealer_code,lead_id,created_at,source\nD01,1,2024-03-05T10:00:00,web\n",
    )

    summary = load_inbox(engine, tmp_path)

    assert summary.total.rows_inserted == 3 and summary.total.rows_quarantined == 0
    assert query(engine, "select legal_entity from raw.dealers") == [(None,)]
    assert query(engine, "select amount_financed, apr, monthly_payment from raw.dealer_sales") == [
        (None, None, None)
    ]
    assert query(engine, "select provider, cost_amount from raw.crm_leads") == [(None, None)]


def test_the_summary_counts_per_source_and_renders_for_the_cli(engine, tmp_path):
    write(
        tmp_path, "dealer_sales/a.csv", sales_file(f"D01,1,2024-01-02,Ann,{VIN}", "D01,2,bad,Bob,x")
    )
    write(tmp_path, "dealers/bad.csv", b"")
    write(tmp_path, "elsewhere/x.csv", "x\n")

    summary = load_inbox(engine, tmp_path)

    totals = summary.by_source["dealer_sales"]
    assert (
        totals.files_loaded,
        totals.rows_read,
        totals.rows_inserted,
        totals.rows_quarantined,
    ) == (1, 2, 1, 1)
    assert summary.by_source["dealers"].files_rejected == 1
    console = Console(record=True, width=120)
    console.print(summary.render())
    text = console.export_text()
    assert "dealer_sales" in text
    assert "rejected: dealers/bad.csv is empty" in text
    assert "ignored elsewhere/: not a source folder" in text


def test_the_raw_tables_have_every_contract_column_as_text(engine):
    for name, source in SOURCES.items():
        columns = dict(
            query(
                engine,
                "select column_name, data_type from information_schema.columns"
                " where table_schema = 'raw' and table_name = :t",
                t=name,
            )
        )
        for column in source.columns:
            assert columns.get(column.name) == "text", (name, column.name)
        for column in source.vin_columns:
            assert columns.get(column.vin_flag) == "boolean", (name, column.vin_flag)
        for bookkeeping, kind in [
            ("source_record_id", "text"),
            ("extra", "jsonb"),
            ("file_name", "text"),
            ("row_number", "integer"),
            ("row_hash", "text"),
            ("loaded_at", "timestamp with time zone"),
        ]:
            assert columns.get(bookkeeping) == kind, (name, bookkeeping)


def test_two_loads_of_one_inbox_at_once_land_each_row_once(engine, tmp_path):
    for i in range(6):
        rows = [f"D01,{i}-{n},2024-01-02,Ann,{VIN}" for n in range(200)]
        write(
            tmp_path, f"dealer_sales/{i}.csv", sales_file(*rows, f"D01,{i}-0,2024-01-03,Ann,{VIN}")
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(lambda _: load_inbox(engine, tmp_path), range(2))

    # Each file is loaded by one of the two and found unchanged by the other.
    for a, b in zip(first.files, second.files, strict=True):
        assert {a.status, b.status} == {"loaded", "unchanged"}, a.file_name
    assert query(engine, "select count(*) from raw.dealer_sales") == [(1200,)]
    assert query(engine, "select count(*) from raw.quarantine") == [(6,)]


def test_a_file_outside_the_inbox_or_of_an_unknown_source_is_a_user_error(engine, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    outside = write(tmp_path, "elsewhere.csv", SALES_HEADER + "\n")
    with pytest.raises(UserError, match="is not inside the inbox"):
        load_file(engine, outside, "dealer_sales", inbox)
    inside = write(inbox, "dealer_sales/a.csv", SALES_HEADER + "\n")
    with pytest.raises(UserError, match="'invoices' is not a source of the landing contract"):
        load_file(engine, inside, "invoices", inbox)
