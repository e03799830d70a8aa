import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from students.models import Category

from .models import BaseLevel, Post

WEEKEND_DAYS = (6, 7)  # ISO weekday: Saturday, Sunday
WEEKDAYS = (1, 2, 3, 4, 5)


class PostListingFilter(django_filters.FilterSet):
    """Filters of the public listing. Date and weekday filters choose which sessions count."""

    q = django_filters.CharFilter(label=_("Keyword"), method="filter_keyword")
    category = django_filters.ModelChoiceFilter(
        label=_("Category"), queryset=Category.objects.all(), empty_label=_("All categories")
    )
    grade = django_filters.ChoiceFilter(
        label=_("Grade"),
        method="filter_grade",
        choices=[("1", _("Grade 1")), ("2", _("Grade 2")), ("3", _("Grade 3"))],
        empty_label=_("All grades"),
    )
    level = django_filters.ChoiceFilter(
        label=_("Base level"),
        field_name="base__level",
        choices=BaseLevel.choices,
        empty_label=_("All levels"),
    )
    date_from = django_filters.DateFilter(
        label=_("From"), method="filter_noop", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        label=_("To"), method="filter_noop", widget=forms.DateInput(attrs={"type": "date"})
    )
    days = django_filters.ChoiceFilter(
        label=_("Weekday or weekend"),
        method="filter_noop",
        choices=[("weekday", _("Weekdays")), ("weekend", _("Weekends"))],
        empty_label=_("Any day"),
    )
    free = django_filters.BooleanFilter(
        label=_("Has free seats"),
        method="filter_free",
        widget=forms.CheckboxInput,
    )

    class Meta:
        model = Post
        fields = ["q", "category", "grade", "level", "date_from", "date_to", "days", "free"]

    def filter_keyword(self, queryset, name, value):
        words = value.split()
        for word in words[:5]:
            queryset = queryset.filter(
                Q(title__icontains=word)
                | Q(description__icontains=word)
                | Q(base__name__icontains=word)
                | Q(base__address__icontains=word)
                | Q(place__icontains=word)
                | Q(category__name_zh__icontains=word)
                | Q(category__name_en__icontains=word)
            )
        return queryset

    def filter_grade(self, queryset, name, value):
        """Posts open to students of that grade (`eligible_grades` holds the digits, e.g. 12)."""
        return queryset.filter(eligible_grades__contains=value)

    def filter_free(self, queryset, name, value):
        return queryset.filter(seats_left__gt=0) if value else queryset

    def filter_noop(self, queryset, name, value):
        return queryset

    def session_q(self) -> Q:
        """The session conditions chosen in the form, for the listing selector."""
        if not self.form.is_valid():
            return Q()
        data = self.form.cleaned_data
        q = Q()
        if data.get("date_from"):
            q &= Q(starts_at__date__gte=data["date_from"])
        if data.get("date_to"):
            q &= Q(starts_at__date__lte=data["date_to"])
        if data.get("days") == "weekend":
            q &= Q(starts_at__iso_week_day__in=WEEKEND_DAYS)
        elif data.get("days") == "weekday":
            q &= Q(starts_at__iso_week_day__in=WEEKDAYS)  # positive: see post_listing
        return q
