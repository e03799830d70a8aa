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
APPLICATION_WAITLISTED_HELD = message_kind(
    "application.waitlisted_held",
    _(
        "You applied for %(session)s and are number %(position)s on the waiting list: until "
        "%(until)s your new applications go to the waiting list (%(count)s no-shows)."
    ),
)
RELIABILITY_HOLD_LIFTED = message_kind(
    "reliability.hold_lifted",
    _("Your head teacher lifted the waiting-list rule on your applications. Reason: %(reason)s"),
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
