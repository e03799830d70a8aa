"""The admin's sheet imports read through the portal's guarded reader (`portal.uploads`).

The body of an upload announcing more than the size limit is never read; a file part that grows
past it is dropped while streaming; the file's type is decided by its bytes, whatever format
the form names; and a file refused as a whole shows one message on the import form, never an
exception's name, a traceback or a server path.
"""

import contextlib
import functools
import logging

import tablib
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import MemoryFileUploadHandler, SkipFile
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from import_export.formats.base_formats import CSV, XLSX

from .uploads import UploadLimits, UploadRefused, read_rows, upload_too_large

logger = logging.getLogger(__name__)

#: Admin sheets are wider than the attendance sheet; the other limits are the portal's.
ADMIN_LIMITS = UploadLimits(max_columns=60)
#: Room for the multipart envelope and the form's other fields around the file.
MULTIPART_ALLOWANCE = 64 * 1024


def dataset_from_upload(content: bytes, *, limits: UploadLimits = ADMIN_LIMITS) -> tablib.Dataset:
    """The first sheet of an xlsx or csv file as a tablib Dataset; UploadRefused otherwise.

    Rows keep the sheet's numbering (empty workbook rows included), as import_export's own
    formats do, so the import page names the same line numbers.
    """
    found = read_rows(content, limits=limits, keep_empty=True)
    header = list(found.header)
    while header and (header[-1] is None or str(header[-1]).strip() == ""):
        header.pop()
    dataset = tablib.Dataset(headers=[None if h is None else str(h) for h in header])
    width = len(header)
    previous = 1
    for number, values in found.rows:
        if not values:
            continue  # a blank CSV line, which tablib skips too
        if number > limits.max_scanned_rows + 1:
            raise UploadRefused(
                _("The sheet has more than %(max)s rows, counting empty ones; refused."),
                code="too_many_rows",
                params={"max": f"{limits.max_scanned_rows:,}"},
            )
        for _gap in range(previous + 1, number):
            dataset.append([None] * width)
        row = list(values[:width])
        dataset.append(row + [""] * (width - len(row)))
        previous = number
    return dataset


class GuardedXLSX(XLSX):
    """An Excel workbook, read by the guarded reader."""

    def create_dataset(self, in_stream):
        return dataset_from_upload(in_stream)


class GuardedCSV(CSV):
    """A CSV file (UTF-8 or GB18030), read by the guarded reader from its bytes."""

    def create_dataset(self, in_stream, **kwargs):
        return dataset_from_upload(in_stream)

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"


class BoundedUpload(MemoryFileUploadHandler):
    """Keep an uploaded sheet in memory and drop it once it grows past the size limit."""

    too_large = False

    def __init__(self, request=None, *, max_bytes: int):
        super().__init__(request)
        self.max_bytes = max_bytes

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.activated = True

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.max_bytes:
            self.too_large = True
            raise SkipFile
        return super().receive_data_chunk(raw_data, start)


def whole_file_message(error) -> str:
    """What to tell people about an import_export base error: its own text or a plain one."""
    exception = error.error
    if isinstance(exception, ValidationError):
        return " ".join(exception.messages)
    if isinstance(exception, ValueError):
        return str(exception)
    logger.error("A sheet import failed as a whole:\n%s", error.traceback)
    return _("The sheet could not be imported; nothing was saved. Check it and upload it again.")


class GuardedImportMixin:
    """Admin import through the guarded reader, for an import_export ModelAdmin."""

    import_formats = [GuardedXLSX, GuardedCSV]
    upload_limits = ADMIN_LIMITS

    def get_urls(self):
        urls = super().get_urls()
        info = self.opts.app_label, self.opts.model_name
        for pattern in urls:
            if getattr(pattern, "name", None) == "{}_{}_import".format(*info):
                pattern.callback = self._size_gate(pattern.callback)
        return urls

    def _size_gate(self, view):
        """Check the announced size before the body is read, and bound the upload while read.

        The view stays CSRF-protected: the admin view inside checks the token; the middleware
        is told to skip it only so that it does not read the body first.
        """

        @csrf_exempt
        @functools.wraps(view)
        def gated(request, *args, **kwargs):
            if request.method == "POST":
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
                if declared > self.upload_limits.max_bytes + MULTIPART_ALLOWANCE:
                    if request.user.is_active and request.user.is_staff:
                        refusal = upload_too_large(declared, limits=self.upload_limits)
                        messages.error(request, refusal.messages[0])
                    # The import page again, as after a GET; the body stays unread.
                    request.method = "GET"
                    request._post, request._files = QueryDict(), MultiValueDict()
                    response = view(request, *args, **kwargs)
                    if response.status_code == 200:
                        response.status_code = 413
                    return response
                request.upload_handlers = [
                    BoundedUpload(request, max_bytes=self.upload_limits.max_bytes)
                ]
            return view(request, *args, **kwargs)

        return gated

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, UploadRefused):
            form.add_error("import_file", e.messages[0])
            return
        logger.exception("An admin sheet could not be read", exc_info=e)
        form.add_error(
            "import_file",
            _("The file cannot be read; save it as an Excel workbook (.xlsx) or CSV and retry."),
        )

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None)
        form = (context or {}).get("form")
        if form is None or not form.is_bound:
            return response
        if any(getattr(h, "too_large", False) for h in request.upload_handlers):
            refusal = upload_too_large(self.upload_limits.max_bytes + 1, limits=self.upload_limits)
            form.errors["import_file"] = form.error_class(refusal.messages)
            response.status_code = 413
        result = context.get("result")
        if result is not None and result.base_errors:
            for error in result.base_errors:
                form.add_error("import_file", whole_file_message(error))
            del context["result"]
            context.pop("confirm_form", None)
        if "confirm_form" not in context:
            self._remove_refused_upload(request)
        return response

    def _remove_refused_upload(self, request) -> None:
        """Drop the temporary copy of a file that will never be confirmed."""
        name = getattr(request.FILES.get("import_file"), "tmp_storage_name", None)
        if name:
            with contextlib.suppress(FileNotFoundError):
                self.get_tmp_storage_class()(
                    name=name, **self.get_tmp_storage_class_kwargs()
                ).remove()

    def process_dataset(self, dataset, form, request, **kwargs):
        result = super().process_dataset(dataset, form, request, **kwargs)
        for error in result.base_errors:
            error.error = ValueError(whole_file_message(error))
            error.traceback = ""
        return result
