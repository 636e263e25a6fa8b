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


if __name__ == "__main__":
    main()
