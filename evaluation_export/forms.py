from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import BatchFormat, BatchKind


class FormatVersionField(forms.TypedChoiceField):
    """The file's format version; starts at EVALUATION_EXPORT_FORMAT_VERSION."""

    def __init__(self, **kwargs):
        super().__init__(
            label=_("Format version"),
            choices=[(1, _("v1")), (2, _("v2: with the typical case (典型事例) column"))],
            coerce=int,
            required=False,  # left out: EVALUATION_EXPORT_FORMAT_VERSION
            empty_value=None,
            help_text=_("docs/export-format.md says what each version holds."),
            **kwargs,
        )


class VersionedForm(forms.Form):
    format_version = FormatVersionField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["format_version"].initial = settings.EVALUATION_EXPORT_FORMAT_VERSION


class ExportStartForm(VersionedForm):
    kind = forms.ChoiceField(
        label=_("What to send"),
        choices=[
            (BatchKind.DELTA, _("Changes since the last batch")),
            (BatchKind.FULL, _("Full state of every final record")),
        ],
        initial=BatchKind.DELTA,
    )
    format = forms.ChoiceField(
        label=_("File format"), choices=BatchFormat.choices, initial=BatchFormat.XLSX
    )
    field_order = ["kind", "format", "format_version"]


class ResendForm(VersionedForm):
    format = forms.ChoiceField(
        label=_("File format"), choices=BatchFormat.choices, initial=BatchFormat.XLSX
    )
    field_order = ["kind", "format", "format_version"]
