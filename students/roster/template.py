"""The downloadable roster template: the sheet to fill in, the school's classes, instructions."""

from django.utils.translation import gettext as _

from portal.spreadsheets import Sheet, write_workbook
from portal.uploads import DEFAULT_LIMITS

from ..models import School, SchoolClass
from .reading import COLUMNS, MAX_UPLOAD_BYTES, SHEET_NAME


def roster_template_xlsx(*, school: School) -> bytes:
    classes = [
        [c.entry_year, c.number, c.students.filter(left_on__isnull=True).count()]
        for c in SchoolClass.objects.filter(school=school).order_by("-entry_year", "number")
    ]
    return write_workbook(
        [
            Sheet(SHEET_NAME, COLUMNS, [], widths=(10, 22, 18, 14, 12, 12, 8, 20, 26)),
            Sheet(
                "classes",
                ("entry_year", "class_number", _("Students")),
                classes,
                widths=(12, 12, 12),
            ),
            Sheet(
                "instructions",
                (),
                ([line] for line in roster_instructions()),
                widths=(110,),
                freeze_header=False,
            ),
        ]
    )


def roster_instructions() -> list[str]:
    """How to fill in the roster; shown in the template and on the upload page."""
    return [
        _("Roster: one row per student or head teacher of the school, on the sheet 'roster'."),
        _("kind: student (学生) or teacher (班主任)."),
        _("student_number (学籍号): students only, typed as text (keep the column's text "
          "format); it is also the student's username."),
        _("username (登录名): teachers only, 3-150 letters, digits or . _ - @ +."),
        _("name (姓名); entry_year (入学年份, e.g. 2025) and class_number (班号, 1-99) name the "
          "class, which is created if the school does not have it yet. A teacher row makes the "
          "teacher the head teacher of that class."),
        _("gender (性别: 男/女), guardian_contact (监护人联系方式) and email (邮箱) are optional; "
          "an e-mail address lets the person reset a forgotten password."),
        _("The first row names the columns, in English as above or in Chinese (学籍号, 姓名 …)."),
        _("The sheet is the school's full roster: a student of the school it no longer names "
          "is marked as left (never deleted, their records stay); named again, they return."),
        _("Upload the file (xlsx or CSV UTF-8, at most %(size)s MB and %(rows)s rows). You see "
          "every problem by row and column first; nothing is saved until you confirm, and "
          "then everything is saved or nothing.")
        % {
            "size": MAX_UPLOAD_BYTES // (1024 * 1024),
            "rows": f"{DEFAULT_LIMITS.max_data_rows:,}",
        },
        _("Uploading the same sheet again changes nothing."),
        _("New students and teachers get a login: print the class's login slips, each with a "
          "one-time activation code, from the roster page."),
    ]  # fmt: skip
