"""A school's roster from one sheet: classes, students and head teachers, previewed, then imported.

The sheet `roster` has one row per person; the column `kind` says `student` (学生) or `teacher`
(班主任). Columns (Chinese headers accepted, see `reading.HEADER_ALIASES`): `kind`,
`student_number` (学籍号, students), `username` (登录名, teachers), `name`, `entry_year`,
`class_number`, `gender` (男/女, optional), `guardian_contact` (optional), `email` (optional).
A teacher row makes that teacher the head teacher of the class on the row.

The file is read by the portal's guarded reader (`portal.uploads.read_rows`), like every
upload. The preview checks every row and names each bad field with its reason; nothing is
written until the school admin confirms, and then everything is written in one transaction or
nothing. The sheet is the school's full roster: a student of the school it no longer names is
marked as left (`Student.left_on`, their login closed; never deleted, their records stay), and
one it names again returns. Importing the same sheet again changes nothing.

New students (username = 学籍号) and teachers get a login without a usable password; they
activate it with a one-time code printed on the class's login slips (`students.login_slips`).

Modules: `reading` (columns over the guarded reader, cells to values), `planning` (rows to
what changes), `services` (preview and confirm), `template`.
"""

from .planning import RosterPlan, roster_plan
from .reading import MAX_UPLOAD_BYTES, RowError, read_roster
from .services import RosterError, roster_import_confirm, roster_import_preview
from .template import roster_template_xlsx

__all__ = [
    "MAX_UPLOAD_BYTES",
    "RosterError",
    "RosterPlan",
    "RowError",
    "read_roster",
    "roster_import_confirm",
    "roster_import_preview",
    "roster_plan",
    "roster_template_xlsx",
]
