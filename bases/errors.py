from django.core.exceptions import ValidationError


class BaseError(ValidationError):
    """A refused action of the bases app; `code` is machine-readable, the message is for people."""
