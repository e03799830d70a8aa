"""What the export keeps to tell the city admin: why a run or a delivery failed, each a stable
code and its text, stored on the batch (`ExportBatch.error`, `delivery_error`) as code and
parameters (`portal.messages`) and shown in the reader's language. `error` is the technical
detail (an exception's text, an HTTP status) or another stored message; `url`, `name`, `file`,
`format`, `item`, `record` and `version` name what the receiver sent or what was asked for.
"""

from django.utils.translation import gettext_lazy as _

from portal.messages import message_kind

RUN_FAILED = message_kind("export.run_failed", _("The run stopped with an error: %(error)s"))
FOLDER_FAILED = message_kind(
    "export.folder_failed", _("The file could not be copied to the drop folder: %(error)s")
)
GAVE_UP = message_kind("export.gave_up", _("%(error)s (%(attempts)s attempts)"))
NOT_HTTPS = message_kind("export.not_https", _("The endpoint must use HTTPS: %(url)s"))
ACK_TOO_LARGE = message_kind("export.ack_too_large", _("The acknowledgement is too large."))
ACK_NOT_JSON = message_kind(
    "export.ack_not_json", _("The answer is not a JSON acknowledgement: %(error)s")
)
ACK_NOT_OBJECT = message_kind(
    "export.ack_not_object", _("The answer is not a JSON acknowledgement object.")
)
ACK_REFUSED = message_kind(
    "export.ack_refused", _("The receiver's acknowledgement was refused: %(error)s")
)
ACK_FILE_REFUSED = message_kind(
    "export.ack_file_refused", _("Acknowledgement file refused: %(error)s")
)
ACK_REJECTED_NOT_LIST = message_kind(
    "export.ack_rejected_not_list", _("`rejected` must be a list.")
)
ACK_REJECTION_INCOMPLETE = message_kind(
    "export.ack_rejection_incomplete", _("A rejection needs record_id and version: %(item)r")
)
ACK_UNKNOWN_FORMAT = message_kind(
    "export.ack_unknown_format", _("Unknown acknowledgement format: %(format)r")
)
ACK_OTHER_SHA = message_kind(
    "export.ack_other_sha", _("The acknowledgement is for another file (SHA-256 differs).")
)
ACK_OTHER_FILE = message_kind(
    "export.ack_other_file", _("The acknowledgement is for another file: %(file)r")
)
ACK_UNKNOWN_LINE = message_kind(
    "export.ack_unknown_line",
    _("No such line in this batch: record %(record)s version %(version)s"),
)
ACK_NO_BATCH = message_kind("export.ack_no_batch", _("No done batch has the file %(name)s."))
ACK_NOT_DICT = message_kind("export.ack_not_dict", _("The acknowledgement is not a JSON object."))
