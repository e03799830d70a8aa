"""What an admins' sheet tells people: each problem a stable code and its text, kept with the
upload (`districts.AccountImport.errors`) as code and parameters and shown in the reader's
language. Parameters: `value` a cell's value, `row` another row, `max` a length.
"""

from django.utils.translation import gettext_lazy as _

from portal.messages import message_kind

ACCOUNTS_NO_ROWS = message_kind("accounts.no_rows", _("The sheet has no rows."))
ACCOUNTS_CHANGED = message_kind(
    "accounts.changed", _("The stored file does not match the one checked.")
)
ACCOUNTS_UNKNOWN_SCHOOL = message_kind(
    "accounts.unknown_school", _("No school of your district has the code %(value)s.")
)
ACCOUNTS_UNKNOWN_DISTRICT = message_kind(
    "accounts.unknown_district", _("No district has the code %(value)s.")
)
ACCOUNTS_BAD_USERNAME = message_kind(
    "accounts.bad_username", _("A username: 3-150 letters, digits or . _ - @ +.")
)
ACCOUNTS_NAME_EMPTY = message_kind("accounts.name_empty", _("The name is empty."))
ACCOUNTS_NAME_TOO_LONG = message_kind(
    "accounts.name_too_long", _("The name has more than %(max)s characters.")
)
ACCOUNTS_BAD_EMAIL = message_kind("accounts.bad_email", _("This is not an e-mail address."))
ACCOUNTS_DUPLICATE = message_kind("accounts.duplicate", _("The same username is on row %(row)s."))
ACCOUNTS_USERNAME_TAKEN = message_kind(
    "accounts.username_taken",
    _("This username belongs to someone else's login; choose another."),
)
ACCOUNTS_ELSEWHERE = message_kind(
    "accounts.elsewhere",
    _("This admin already administers %(value)s; a login administers one place."),
)
