import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import Student
from .reports import STATE_CHOICES


class ClassReportFilter(django_filters.FilterSet):
    """Filters of the class report; the state is a forecast, applied to the computed rows."""

    q = django_filters.CharFilter(label=_("Name or student number"), method="filter_keyword")
    state = django_filters.ChoiceFilter(
        label=_("State"), choices=STATE_CHOICES, method="filter_noop", empty_label=_("Everyone")
    )

    class Meta:
        model = Student
        fields: list[str] = []

    def __init__(self, data=None, *args, **kwargs):
        # A state the report does not know (an old link, a typo) is ignored rather than
        # invalidating the whole form, which would empty the report.
        if data is not None and data.get("state") not in (None, "", *dict(STATE_CHOICES)):
            data = data.copy()
            data.pop("state")
        super().__init__(data, *args, **kwargs)

    @property
    def narrows(self) -> bool:
        """Whether the keyword leaves out some students of the class."""
        return self.form.is_valid() and bool((self.form.cleaned_data.get("q") or "").strip())

    def filter_keyword(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(student_number__icontains=value))

    def filter_noop(self, queryset, name, value):
        return queryset

    @property
    def chosen_state(self) -> str:
        """The chosen state, once the form is valid; "" for everyone."""
        if not self.form.is_valid():
            return ""
        return self.form.cleaned_data.get("state") or ""
