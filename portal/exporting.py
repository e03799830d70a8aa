"""The admin's export formats: every file the admin exports is written by `portal.spreadsheets`.

django-import-export's own formats write text beginning with `=` as a live formula and leave
`@`, `+`, `-`, tab and carriage return alone; its optional escaping
(`IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT`) only strips a leading `=` and turns every cell into
text. These formats replace both: the dataset is rendered by the portal's own writer, so an
admin export follows the same rule as every other download (formula-like text gets a leading
`'`, identifiers stay text, numbers and dates keep their type in xlsx).
"""

import io

from import_export.formats.base_formats import CSV, XLSX
from tablib import Dataset

from .spreadsheets import write_csv_to, write_xlsx

#: The sheet title when the dataset has none (django-import-export never sets one).
DEFAULT_SHEET_TITLE = "export"


class EscapedXLSX(XLSX):
    """An xlsx export written by `portal.spreadsheets.write_xlsx`."""

    def export_data(self, dataset: Dataset, **kwargs) -> bytes:
        """The dataset as one escaped sheet; import-export's own escaping never runs on it."""
        return write_xlsx(dataset, dataset.headers or [], dataset.title or DEFAULT_SHEET_TITLE)


class EscapedCSV(CSV):
    """A UTF-8 CSV export (with a byte-order mark) written by `portal.spreadsheets`."""

    def export_data(self, dataset: Dataset, **kwargs) -> str:
        """The dataset as escaped CSV text; import-export's own escaping never runs on it."""
        buffer = io.StringIO()
        write_csv_to(buffer, dataset, dataset.headers or [])
        return buffer.getvalue()


#: Every admin export format, in the order the export form offers them.
EXPORT_FORMATS = [EscapedXLSX, EscapedCSV]
