"""The refusals of the export's services."""

from django.core.exceptions import ValidationError


class ExportError(ValidationError):
    """A refused export action; `code` says which rule refused it."""


class ExportBusy(ExportError):
    """Another live run holds the export lock; try again later."""


class ExportTakenOver(ExportError):
    """This run lost its batch to another run (its lease had expired)."""
