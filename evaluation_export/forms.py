from django import forms
from django.utils.translation import gettext_lazy as _

from .models import BatchFormat, BatchKind


class ExportStartForm(forms.Form):
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


class ResendForm(forms.Form):
    format = forms.ChoiceField(
        label=_("File format"), choices=BatchFormat.choices, initial=BatchFormat.XLSX
    )
