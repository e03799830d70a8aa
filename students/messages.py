"""What the students' records tell people: each message a stable code and its text.

Stored with the notification as code and parameters (see `portal.messages`) and shown in the
reader's language. Parameters: `record` is a record's label (title and date), `name` a student's
name, `who` the person who raised a dispute, `reason` the answerer's words.
"""

from django.utils.translation import gettext_lazy as _

from portal.messages import message_kind

DISPUTE_TO_ANSWER = message_kind(
    "dispute.raised.answerer",
    _("A dispute was raised about %(record)s of %(name)s. Please answer it."),
)
DISPUTE_ABOUT_YOUR_RECORD = message_kind(
    "dispute.raised.student", _("%(who)s raised a dispute about your record %(record)s.")
)
DISPUTE_UPHELD = message_kind(
    "dispute.upheld",
    _("The dispute about %(record)s was answered: the record stands. %(reason)s"),
)
DISPUTE_CORRECTED = message_kind(
    "dispute.corrected",
    _("The dispute about %(record)s was answered: it was corrected. %(reason)s"),
)
DISPUTE_REVOKED = message_kind(
    "dispute.revoked",
    _("The dispute about %(record)s was answered: it was revoked. %(reason)s"),
)
