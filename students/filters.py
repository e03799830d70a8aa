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
