"""What bases and their posts tell people: each message a stable code and its text.

Stored with the notification as code and parameters (see `portal.messages`) and shown in the
reader's language. Parameters: `session` is a session's label (post title, date and times),
`title` a post's title, `note` a reviewer's words, `position` a place on a waiting list.
"""

from django.utils.translation import gettext_lazy as _

from portal.messages import message_kind

APPLICATION_CONFIRMED = message_kind(
    "application.confirmed", _("You are confirmed for %(session)s.")
)
APPLICATION_PENDING = message_kind(
    "application.pending",
    _("You applied for %(session)s. Seats are drawn by lottery; you will be told the result."),
)
APPLICATION_WAITLISTED = message_kind(
    "application.waitlisted",
    _("%(session)s is full: you are number %(position)s on the waiting list."),
)
APPLICATION_PROMOTED = message_kind(
    "application.promoted", _("A seat came free: you are confirmed for %(session)s.")
)
LOTTERY_CONFIRMED = message_kind(
    "lottery.confirmed", _("Lottery drawn: you are confirmed for %(session)s.")
)
LOTTERY_WAITLISTED = message_kind(
    "lottery.waitlisted",
    _("Lottery drawn: you are number %(position)s on the waiting list for %(session)s."),
)
POST_APPROVED = message_kind("post.approved", _("Post approved: %(title)s"))
POST_RETURNED = message_kind("post.returned", _("Post returned: %(title)s. Reason: %(note)s"))
RESERVATION_NAMED = message_kind(
    "reservation.named",
    _("Your head teacher named you on a seat your class booked: %(session)s."),
)
SESSION_CHANGED = message_kind(
    "session.changed",
    _("The base changed a session you applied for: %(before)s is now %(after)s."),
)
SESSION_CANCELLED = message_kind(
    "session.cancelled",
    _("The base cancelled %(session)s. Reason: %(reason)s. Nothing is credited for it."),
)
APPLICATION_REMOVED = message_kind(
    "application.removed",
    _("The base removed you from %(session)s. Reason: %(reason)s"),
)
APPLICATION_AWAITING_CONSENT = message_kind(
    "application.awaiting_consent",
    _(
        "You applied for %(session)s. This post needs your guardian's consent: bring the signed "
        "consent form to your school. Your application goes ahead once the school records it."
    ),
)
CONSENT_AWAITED = message_kind(
    "consent.awaited",
    _(
        "%(name)s applied for %(session)s, which needs a guardian's consent. Record the paper "
        "form once it arrives."
    ),
)
CONSENT_WITHDRAWN = message_kind(
    "consent.withdrawn",
    _(
        "Your guardian's consent for %(title)s was withdrawn; your applications for it wait "
        "for consent again and hold no seat."
    ),
)
