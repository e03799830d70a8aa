"""The generic template for records from a platform the portal does not know by name."""

from django.utils.translation import gettext as _

from portal.spreadsheets import Sheet, write_workbook
from portal.uploads import DEFAULT_LIMITS

from .reading import ASSUMED_START, FIELDS, MAX_UPLOAD_BYTES


def platform_template_xlsx() -> bytes:
    example = [
        ["ZY-0001", "G310104200901010001", "", "张小明", "社区图书馆整理", "某某街道志愿者服务站",
         "2026-10-10", "09:00", "11:00", ""],
        ["ZY-0002", "G310104200901010001", "", "张小明", "敬老院陪伴", "某某敬老院",
         "2026-10-17", "", "", "2.5"],
    ]  # fmt: skip
    return write_workbook(
        [
            Sheet("records", FIELDS, example, widths=(14, 24, 16, 10, 24, 24, 12, 10, 10, 8)),
            Sheet(
                "instructions",
                (),
                ([line] for line in platform_instructions()),
                widths=(110,),
                freeze_header=False,
            ),
        ]
    )


def platform_instructions() -> list[str]:
    """How to fill in the generic sheet; shown in the template and on the upload page."""
    return [
        _("One row per record. record_id: the platform's own id of the record (required); the "
          "same id imported again changes nothing."),
        _("student_number (学籍号), or volunteer_number once a row with both has been imported."),
        _("activity (required), organiser; date (2026-10-10); start and end (09:00, 11:00), or "
          "hours (2.5). With hours only the activity is taken to start at %(start)s.")
        % {"start": ASSUMED_START.strftime("%H:%M")},
        _("Exports of 上海志愿者网/志愿云 and 志愿汇 can be uploaded as they are: choose the "
          "platform and their Chinese column names are understood."),
        _("Upload the file (xlsx or CSV UTF-8, at most %(size)s MB and %(rows)s rows). You see "
          "every problem by row and column first; nothing is saved until you confirm, and "
          "then everything is saved or nothing.")
        % {
            "size": MAX_UPLOAD_BYTES // (1024 * 1024),
            "rows": f"{DEFAULT_LIMITS.max_data_rows:,}",
        },
        _("A record overlapping one the student already has is not credited twice: the school "
          "decides which to keep."),
    ]  # fmt: skip
