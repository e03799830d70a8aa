"""Roster sheets for tests and the benchmark, written like the template (portal's writer)."""

from portal.spreadsheets import Sheet, write_workbook
from students.roster.reading import COLUMNS


def roster_xlsx(rows: list[dict]) -> bytes:
    return write_workbook(
        [Sheet("roster", COLUMNS, [[row.get(c, "") for c in COLUMNS] for row in rows])]
    )


def student_row(number: str, name: str, year: int = 2025, cls: int = 1, **extra) -> dict:
    return {"kind": "student", "student_number": number, "name": name, "entry_year": year,
            "class_number": cls, **extra}  # fmt: skip


def teacher_row(username: str, name: str, year: int = 2025, cls: int = 1, **extra) -> dict:
    return {"kind": "teacher", "username": username, "name": name, "entry_year": year,
            "class_number": cls, **extra}  # fmt: skip


def school_rows(classes: int = 3, per_class: int = 3, year: int = 2025) -> list[dict]:
    names = "张王李赵刘陈杨黄周吴"
    rows = []
    for cls in range(1, classes + 1):
        rows.append(teacher_row(f"teacher{cls:02d}", f"{names[cls % 10]}老师", year, cls))
        for n in range(1, per_class + 1):
            rows.append(
                student_row(
                    f"G2025{cls:02d}{n:04d}",
                    f"{names[n % 10]}{names[(n + cls) % 10]}明{n}",
                    year,
                    cls,
                    gender="女" if n % 2 else "男",
                    guardian_contact=f"1380000{cls:02d}{n:02d}",
                )
            )
    return rows
