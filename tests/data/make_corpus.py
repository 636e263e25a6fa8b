"""Writes the bad-file and good-file corpus under tests/data/ (run once; the files are committed).

Each bad file is listed in bad/expected.toml with the kind it is imported as and a fragment of
the message it must produce.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent
BAD, GOOD = HERE / "bad", HERE / "good"
ACT = "date,district,service,activity_type,need_area,phase,setting_urn,count\n"
OK_ROW = "2024-10-14,Swale,,referral,SEMH,primary,,1\n"

BAD_FILES = {  # name: (kind, content, fragment)
    "unknown_district.csv": ("activity", ACT + "2024-10-14,Medway,,referral,,,,1\n", "Medway is a unitary authority"),
    "near_miss_district.csv": ("activity", ACT + "2024-10-14,Tunbridge Well,,referral,,,,1\n", "did you mean 'Tunbridge Wells'?"),
    "impossible_date.csv": ("activity", ACT + "2024-02-30,Swale,,referral,,,,1\n", "(a real date)"),
    "impossible_uk_date.csv": ("activity", ACT + "31/04/2024,Swale,,referral,,,,1\n", "(a real date)"),
    "future_date.csv": ("activity", ACT + "2031-01-06,Swale,,referral,,,,1\n", "not in the future"),
    "text_date.csv": ("activity", ACT + "last tuesday,Swale,,referral,,,,1\n", "a date such as 2023-09-14"),
    "negative_count.csv": ("activity", ACT + "2024-10-14,Swale,,referral,,,,-2\n", "a whole number of 1 or more"),
    "fractional_count.csv": ("activity", ACT + "2024-10-14,Swale,,referral,,,,1.5\n", "a whole number of 1 or more"),
    "zero_count.csv": ("activity", ACT + "2024-10-14,Swale,,referral,,,,0\n", "a whole number of 1 or more"),
    "bad_urn.csv": ("activity", ACT + "2024-10-14,Swale,,referral,,,12345,1\n", "a URN: 6 digits"),
    "unknown_urn.csv": ("activity", ACT + "2024-10-14,Swale,,referral,,,999999,1\n", "a URN in the settings list"),
    "unknown_type.csv": ("activity", ACT + "2024-10-14,Swale,,home visit,,,,1\n", "column 'activity_type'"),
    "near_miss_type.csv": ("activity", ACT + "2024-10-14,Swale,,referal,,,,1\n", "did you mean 'referral'?"),
    "unknown_need.csv": ("activity", ACT + "2024-10-14,Swale,,referral,Dyslexia,,,1\n", "column 'need_area'"),
    "unknown_phase.csv": ("activity", ACT + "2024-10-14,Swale,,referral,,nursery,,1\n", "column 'phase'"),
    "dropin_before_2022.csv": ("activity", ACT + "2021-10-14,Swale,,drop_in,,,,1\n", "began in September 2022"),
    "unknown_service.csv": ("activity", ACT + "2024-10-14,Swale,Hearing team,referral,,,,1\n", "column 'service'"),
    "missing_column.csv": ("activity", "date,district,count\n2024-10-14,Swale,1\n", "missing required column(s) activity_type"),
    "empty.csv": ("activity", "", "the file is empty"),
    "header_only.csv": ("activity", ACT, "no data rows"),
    "other_kind.csv": ("activity", "urn,name,district,phase,open\n118403,Oak School,Swale,primary,yes\n", "looks like a settings file"),
    "duplicated_header.csv": ("activity", "date,district,district,activity_type\n2024-10-14,Swale,Swale,referral\n", "appears twice"),
    "totals_row.csv": ("activity", ACT + OK_ROW + "Total,,,,,,,1\n", "looks like a totals row"),
    "no_header.csv": ("activity", "2024-10-14,Swale,,referral,SEMH,primary,,1\n", "no header row found"),
    "formula_in_name.csv": ("settings", "urn,name,district,phase,open\n118403,\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",Swale,primary,yes\n",
                            "would run as a spreadsheet formula"),
    "bad_open_flag.csv": ("settings", "urn,name,district,phase,open\n118403,Oak School,Swale,primary,maybe\n", "column 'open'"),
    "duplicate_urn.csv": ("settings", "urn,name,district,phase,open\n118403,Oak,Swale,primary,yes\n118403,Ash,Swale,primary,yes\n",
                          "not already given on row 2"),
    "bad_academic_year.csv": ("attainment", "academic_year,geography,measure,sen_group,cohort,value\n2023/25,Swale,ks2_rwm_expected,sen_support,200,21\n",
                              "an academic year such as 2023/24"),
    "value_over_100.csv": ("attainment", "academic_year,geography,measure,sen_group,cohort,value\n2023/24,Swale,ks2_rwm_expected,sen_support,200,121\n",
                           "a percentage from 0 to 100"),
    "unknown_measure.csv": ("attainment", "academic_year,geography,measure,sen_group,cohort,value\n2023/24,Swale,ks2_reading,sen_support,200,21\n",
                            "column 'measure'"),
    "negative_pupils.csv": ("sen_pupils", "academic_year,geography,sen_group,primary_need,phase,pupils\n2023/24,Swale,sen_support,ASD,primary,-4\n",
                            "a whole number (0 or more)"),
    "missing_primary_need.csv": ("sen_pupils", "academic_year,geography,sen_group,primary_need,phase,pupils\n2023/24,Swale,sen_support,,primary,40\n",
                                 "a primary need for pupils"),
    "kent_in_census.csv": ("sen_pupils", "academic_year,geography,sen_group,primary_need,phase,pupils\n2023/24,Kent,sen_support,ASD,primary,40\n",
                           "column 'geography'"),
    "bad_money.csv": ("budget", "financial_year,service,allocation_gbp\n2024-25,Swale,lots\n", "an amount in pounds"),
    "budget_duplicate.csv": ("budget", "financial_year,service,allocation_gbp\n2024-25,Swale,1000\n2024-25,Swale,2000\n", "not already given"),
}


BUD = "financial_year,service,allocation_gbp\n"
ATT = "academic_year,geography,measure,sen_group,cohort,value\n"
SEN = "academic_year,geography,sen_group,primary_need,phase,pupils\n"
SET = "urn,name,district,phase,open\n"

# Issue 13: files that loaded silently wrong, or were refused unclearly, as classes.
TRAP_FILES = {  # name: (kind, content, fragment)
    # numbers written another way are read as meant or refused, never guessed
    "decimal_comma_in_comma_file.csv": ("budget", BUD + '2024-25,Swale,"8,5"\n', "an amount in pounds"),
    "mixed_number_styles.csv": ("budget", BUD.replace(",", ";") + "2024-25;Swale;8,5\n2024-25;Dover;1.5\n",
                                "numbers are written two ways"),
    "budget_nan.csv": ("budget", BUD + "2024-25,Swale,NaN\n", "an amount in pounds"),
    "budget_infinity.csv": ("budget", BUD + "2024-25,Swale,Infinity\n", "an amount in pounds"),
    "budget_1e300.csv": ("budget", BUD + "2024-25,Swale,1e300\n", "an amount in pounds"),
    "budget_two_billion.csv": ("budget", BUD + "2024-25,Swale,2000000000\n", "an amount up to £1,000,000,000"),
    "attainment_value_comma.csv": ("attainment", ATT + '2023/24,Swale,ks2_rwm_expected,sen_support,200,"21,4"\n',
                                   "a number such as 21.4"),
    # implausible periods
    "attainment_1900.csv": ("attainment", ATT + "1900/01,Swale,ks2_rwm_expected,sen_support,200,21\n", "a year from 2010/11"),
    "attainment_2099.csv": ("attainment", ATT + "2099/00,Swale,ks2_rwm_expected,sen_support,200,21\n", "a year from 2010/11"),
    "census_1900.csv": ("sen_pupils", SEN + "1900/01,Swale,sen_support,ASD,primary,40\n", "a year from 2010/11"),
    "budget_2099.csv": ("budget", BUD + "2099-00,Swale,1000\n", "a year from 2010-11"),
    "activity_2005_typo.csv": ("activity", ACT + "2005-12-01,Swale,,referral,,,,1\n", "a date from September 2016 onwards"),
    "activity_2005_uk_date.csv": ("activity", ACT + "01/12/2005,Swale,,referral,,,,1\n", "a date from September 2016 onwards"),
    # numbers the database cannot hold, as messages
    "count_over_int32.csv": ("activity", ACT + "2024-10-14,Swale,,school_visit,,,,3000000000\n", "a count up to 100,000"),
    "cohort_over_int32.csv": ("attainment", ATT + "2023/24,Swale,ks2_rwm_expected,sen_support,3000000000,21\n",
                              "a whole number up to 10,000,000"),
    "pupils_over_int32.csv": ("sen_pupils", SEN + "2023/24,Swale,sen_support,ASD,primary,99999999999\n",
                              "a whole number up to 10,000,000"),
    # text that would run, or hide
    "tab_then_formula.csv": ("settings", SET + '118403,"\t=HYPERLINK(""http://x"",""y"")",Swale,primary,yes\n',
                             "would run as a spreadsheet formula"),
    "space_then_formula.csv": ("settings", SET + "118403, =1+1,Swale,primary,yes\n", "would run as a spreadsheet formula"),
    "control_character.csv": ("settings", SET + "118403,Oak\x07School,Swale,primary,yes\n", "without control characters"),
    # row numbers as the spreadsheet counts them: blank lines count
    "blank_lines_row_numbers.csv": ("settings", SET + "\n118403,Oak,Swale,primary,yes\n\n\n118404,Ash,Swale,primary,maybe\n",
                                    "row 6, column 'open'"),
}


def write_traps() -> list[str]:
    """The issue-13 files that are not plain text, and the expected.toml lines for all of them."""
    lines = []
    for name, (kind, content, fragment) in TRAP_FILES.items():
        (BAD / name).write_bytes(content.encode("utf-8"))
        lines.append(f'"{name}" = ["{kind}", "{fragment.replace(chr(34), chr(92) + chr(34))}"]')
    def add(name: str, kind: str, data: bytes, fragment: str) -> None:
        (BAD / name).write_bytes(data)
        lines.append(f'"{name}" = ["{kind}", "{fragment}"]')
    add("utf16_medway.csv", "activity", (ACT + "2024-10-14,Medway,,referral,,,,1\n").encode("utf-16"),
        "Medway is a unitary authority")                       # read as text, then checked
    add("password_protected.xlsx", "activity", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000),
        "password-protected workbook")
    add("nul_after_64k.csv", "settings", (SET + "118403,Oak,Swale,primary,yes\n" * 3000).encode() + b"118404,A\x00sh,Swale,primary,yes\n",
        "a NUL byte at byte")
    add("line_of_two_megabytes.csv", "settings", (SET + "118403," + "x" * 2_000_000 + ",Swale,primary,yes\n").encode(),
        "longer than")
    header = ACT.strip().split(",")
    add("xlsx_formula_no_result.xlsx", "activity", xlsx_bytes({"Activity": [header, ["2024-10-14", "Swale", None, "school_visit",
                                                                                      None, None, None, "=2+2"]]}),
        "has no saved result")
    add("xlsx_every_sheet_hidden.xlsx", "activity", all_hidden(xlsx_bytes({"Activity": [header]})),
        "every sheet in the workbook is hidden")
    add("xlsx_hidden_first_sheet.xlsx", "attainment",
        xlsx_bytes({"Old": [ATT.strip().split(","), ["2023/24", "Swale", "ks2_rwm_expected", "sen_support", 200, 21]],
                    "Current": [ATT.strip().split(","), ["2023/24", "Medway", "ks2_rwm_expected", "sen_support", 200, 21]]},
                   hidden=("Old",), active=1),
        "Read sheet 'Current' (the active sheet); 1 other sheet(s) ignored: 'Old' (hidden)")
    add("xlsx_percent_over_100.xlsx", "attainment",
        xlsx_bytes({"Results": [ATT.strip().split(","), ["2023/24", "Swale", "ks2_rwm_expected", "sen_support", 200, 1.214]]},
                   percent="F"),
        "'121.4' — expected a percentage from 0 to 100")       # 121.4% as shown, not 1.214
    add("xlsx_zip_bomb.xlsx", "activity", zip_bomb(), "would inflate")
    add("xlsx_encrypted_entry.xlsx", "activity", encrypted_entry(), "the workbook is encrypted")
    add("zip_not_a_workbook.xlsx", "activity", plain_zip(), "not an Excel workbook")
    return lines


def xlsx_bytes(sheets: dict[str, list[list]], hidden=(), active: int = 0, percent: str | None = None) -> bytes:
    import io
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        if title in hidden:
            sheet.sheet_state = "hidden"
        if percent:
            for cell in sheet[percent][1:]:
                cell.number_format = "0.0%"
    book.active = active
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rezip(data: bytes, change) -> bytes:
    import io
    import zipfile
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            change(dst, info.filename, src.read(info.filename))
    return out.getvalue()


def zip_bomb() -> bytes:
    """A valid workbook whose sheet inflates from about 0.3 MB to 300 MB (spaces inside sheetData)."""
    book = xlsx_bytes({"Activity": [ACT.strip().split(",")]})
    def change(dst, name, body):
        dst.writestr(name, body.replace(b"<sheetData>", b"<sheetData>" + b" " * (300 * 2**20)) if "worksheets/" in name else body)
    return _rezip(book, change)


def encrypted_entry() -> bytes:
    """A workbook whose sheet entry carries the zip 'encrypted' flag (bit 0 of the general purpose
    flags, set in the local and central headers: Python's zipfile will not write it)."""
    data = bytearray(xlsx_bytes({"Activity": [ACT.strip().split(",")]}))
    for sig, flags, name_len, name_at in ((b"PK\x03\x04", 6, 26, 30), (b"PK\x01\x02", 8, 28, 46)):
        at = data.find(sig)
        while at >= 0:
            n = int.from_bytes(data[at + name_len:at + name_len + 2], "little")
            if b"worksheets/" in data[at + name_at:at + name_at + n]:
                data[at + flags] |= 0x1
            at = data.find(sig, at + 4)
    return bytes(data)


def all_hidden(book: bytes) -> bytes:
    """Excel lets a workbook's every sheet be hidden by editing it; openpyxl will not write one."""
    def change(dst, name, body):
        dst.writestr(name, body.replace(b'state="visible"', b'state="hidden"') if name == "xl/workbook.xml" else body)
    return _rezip(book, change)


def plain_zip() -> bytes:
    import io
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    return out.getvalue()


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> None:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)


def main() -> None:
    BAD.mkdir(exist_ok=True)
    GOOD.mkdir(exist_ok=True)
    lines = ["# file = [kind, message fragment]  (written by make_corpus.py)"]
    for name, (kind, content, fragment) in BAD_FILES.items():
        (BAD / name).write_text(content, encoding="utf-8")
        lines.append(f'"{name}" = ["{kind}", "{fragment.replace(chr(34), chr(92) + chr(34))}"]')
    (BAD / "binary_garbage.csv").write_bytes(bytes(range(256)) * 40)
    lines.append('"binary_garbage.csv" = ["activity", "not a CSV or XLSX file"]')
    (BAD / "not_really.xlsx").write_bytes(b"PK\x03\x04" + b"\x00garbage" * 50)
    lines.append('"not_really.xlsx" = ["activity", "not a readable XLSX workbook"]')
    write_xlsx(BAD / "xlsx_bad_date.xlsx", {"Activity": [ACT.strip().split(","),
                                                         ["2024-02-30", "Swale", None, "referral", None, None, None, 1]]})
    lines.append('"xlsx_bad_date.xlsx" = ["activity", "(a real date)"]')
    lines += write_traps()
    (BAD / "expected.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_good()


def write_good() -> None:
    # UTF-8 with BOM, aliases, names, UK dates, month-only dates, blank service and count.
    (GOOD / "activity_bom_aliases.csv").write_bytes(("\ufeffDate,District,Service,Activity Type,Need Area,Phase,Setting URN,Count\n"
        "2025-11-03,Shepway,Sensory,School visit,Sensory and/or physical,Primary,,2\n"
        "04/11/2025,T&M,,Referral,CI,Early years,,\n"
        "2025-11,tunbridge  wells,Physical Disability,advice,,,,3\n"
        "2025-11-05,F&H,,LIFT meetings,,,,1\n").encode("utf-8"))
    # Windows-1252 with a semicolon delimiter and a title row above the header.
    (GOOD / "activity_cp1252_semicolon.csv").write_bytes(("STLS tracker export – Dartford\n"
        "date;district;activity_type;need_area;phase;count\n"
        "2025-11-10;Dartford;referral;Social, emotional and mental health;secondary;4\n"
        "2025-11-11;E07000107;training;;;2\n").encode("cp1252"))
    write_xlsx(GOOD / "activity_two_sheets.xlsx", {
        "Activity": [["Activity tracker, November 2025"], [], ACT.strip().split(","),
                     [dt.datetime(2025, 11, 12), "Thanet", None, "drop-in clinic", "CL", "primary", None, 5],
                     [dt.datetime(2025, 11, 13), "Thanet", "Thanet", "Intensive Specialist Support", "SEMH", "secondary", None, 1.0]],
        "Notes": [["Prepared by the STLS data team"]]})
    (GOOD / "attainment_2026.csv").write_text(
        "Academic Year,Geography,Measure,SEN Group,Cohort,Value\n"
        "2026/27,Kent,ks2_rwm_expected,sen_support,2400,27.5\n"
        "2026/27,Swale,\"KS2 reading, writing and maths: % at expected standard\",SEN support,230,x\n"
        "2026/27,England,ks2_rwm_expected,EHC plan,30000,9.5\n", encoding="utf-8")
    write_xlsx(GOOD / "settings_new.xlsx", {"Settings": [["URN", "Name", "District", "Phase", "Open"],
                                                          [990001, "New Valley Primary School", "Ashford", "Primary", "Yes"],
                                                          ["EY990002", "Little Acorns Pre-School", "Canterbury", "Early years", "no"]]})
    (GOOD / "sen_pupils_2026.csv").write_text(
        "academic_year,geography,sen_group,primary_need,phase,pupils\n"
        "2026/27,Swale,sen_support,SEMH,Primary,412\n2026/27,Swale,EHC plan,Autistic spectrum disorder,secondary,233\n"
        "2026/27,Swale,no_sen,,Primary,14000\n", encoding="utf-8")
    (GOOD / "budget_2027.csv").write_text("financial_year,service,allocation_gbp\n2027-28,Swale,\"£512,000.00\"\n"
                                          "2027-28,Sensory,780000\n2027-28,Physical Disability,468000\n")
    # issue 13: files in real-world shapes that must load exactly as their authors meant
    (GOOD / "budget_decimal_comma.csv").write_text("financial_year;service;allocation_gbp\n2027-28;Swale;£1.234.567,50\n"
                                                   "2027-28;Dover;512000\n2027-28;Thanet;8,5\n", encoding="utf-8")
    (GOOD / "attainment_percent_format.xlsx").write_bytes(xlsx_bytes(
        {"Results": [ATT.strip().split(","), ["2025/26", "Swale", "ks2_rwm_expected", "sen_support", 230, 0.214]]}, percent="F"))
    (GOOD / "activity_hidden_first_sheet.xlsx").write_bytes(xlsx_bytes(
        {"Old": [ACT.strip().split(","), ["2025-11-03", "Swale", None, "school_visit", None, None, None, 99]],
         "Current": [ACT.strip().split(","), ["2025-11-03", "Swale", None, "school_visit", None, None, None, 3]]},
        hidden=("Old",), active=1))
    (GOOD / "settings_quoted_line_break.csv").write_text(SET + '990101,"Oak Tree\nPrimary School",Swale,primary,yes\n',
                                                         encoding="utf-8")
    (GOOD / "activity_utf16_tabs.txt").write_bytes(
        ("date\tdistrict\tactivity_type\tcount\n2025-11-04\tSwale\tadvice\t7\n").encode("utf-16"))
    (GOOD / "activity_blank_lines.csv").write_text(ACT + "\n2025-11-05,Thanet,,advice,,,,2\n\n\n2025-11-06,Thanet,,advice,,,,3\n",
                                                   encoding="utf-8")


if __name__ == "__main__":
    main()
