"""A base's own attendance sheet (xlsx or csv): template, safe reading, dry run, import.

The sheet has one row per student and session: `student_number`, `session_id`, `check_in`,
`check_out` (local Asia/Shanghai date-times, e.g. 2026-03-01 09:00) and an optional `note` that
only the base reads. Sessions are named by id, not by date and time, because one base may run
several posts at the same time; the template's second sheet lists the base's recent sessions
with their ids.

Reading is defensive, through the portal's guarded reader (`portal.uploads`, which every admin
import uses too), in this order, and a refusal saves nothing:
1. size: at most `MAX_UPLOAD_BYTES` (the view checks Content-Length before reading the body);
2. type by content, never by name: an xlsx is a zip whose `[Content_Types].xml` names a plain
   workbook (macro-enabled, binary and template workbooks are refused, as is any
   `vbaProject.bin`); an old .xls (OLE), a PDF, an image, an archive or any binary is refused;
   anything else must be UTF-8 (or GB18030, as Chinese Excel saves CSV) text;
3. zip bombs: the zip directory's member count, total uncompressed size and per-member
   compression ratio are checked before openpyxl opens the file;
4. XML bombs: the workbook's parts are parsed with defusedxml (`openpyxl.DEFUSEDXML` must be
   True) and the sheet by the guarded reader's own streaming parser; both refuse entity
   declarations;
5. rows are counted while streaming the one sheet read (`attendance`, or the first); reading
   stops at `MAX_DATA_ROWS` + 1 and the file is refused without reading the rest.
   (`load_workbook(read_only=True)` is not used: when a sheet has no `<dimension>` element it
   parses every sheet in full before the first row comes out.)

The dry run checks every row and reports each problem by row and column, and keeps the checked
rows beside the file (`staging`: keyed by the file's SHA-256, signed). Confirming imports all
rows or none without reading the file again: it checks the kept rows again under the sessions'
locks, with a few queries for the whole sheet, against whatever may have changed since the
preview (sessions closed, cancelled or moved, rosters, attendance and scans recorded meanwhile,
the ledger and other sessions for overlaps), by the same rules as the roster and the API
(`bases.attendance_rules`). Rows with nothing recorded yet at their session are written in bulk
(`writing`: two scans and an attendance each, as the scan service would record them); rows with
something recorded already go through `attendance_scans_record`. Each row's two scans get
nonces derived from the base and the row's content, so importing the same file again records
nothing new.

Modules: `limits` (the numbers above), `reading` (the sheet's columns over the guarded reader),
`parsing` (cells to values), `planning` (rows to scans), `checking` (the dry run and the check
at confirmation), `staging` (the checked rows kept), `writing` (fresh rows in bulk), `template`,
`services` (preview and confirm).
"""

from portal.sheet_problems import RowError

from .checking import attendance_rows_check
from .limits import MAX_DATA_ROWS, MAX_UPLOAD_BYTES
from .parsing import parse_time
from .planning import CheckResult, PlannedRow, row_nonce
from .reading import ImportRefused, Sheet, SheetRow, read_sheet, sniff_format, upload_too_large
from .services import (
    BACKGROUND_ROWS,
    attendance_import_confirm,
    attendance_import_preview,
    attendance_import_queue,
    attendance_import_refusal_log,
)
from .template import template_xlsx

__all__ = [
    "MAX_DATA_ROWS",
    "MAX_UPLOAD_BYTES",
    "CheckResult",
    "ImportRefused",
    "PlannedRow",
    "RowError",
    "Sheet",
    "SheetRow",
    "BACKGROUND_ROWS",
    "attendance_import_confirm",
    "attendance_import_queue",
    "attendance_import_preview",
    "attendance_import_refusal_log",
    "attendance_rows_check",
    "parse_time",
    "read_sheet",
    "row_nonce",
    "sniff_format",
    "template_xlsx",
    "upload_too_large",
]
