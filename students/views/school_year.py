"""The city admin closes the school year: first what it will do, then doing it once."""

from datetime import date

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.models import Role
from portal.roles import role_required

from ..models import SchoolYearClose
from ..school_year import SchoolYearError, school_year_close, school_year_close_plan


class SchoolYearCloseForm(forms.Form):
    closed_on = forms.DateField(
        label=gettext_lazy("Closing date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("Usually the last day of the school year, in July."),
    )
    grace_days = forms.IntegerField(
        label=gettext_lazy("Days before graduates' logins are disabled"),
        min_value=0,
        max_value=3650,
    )

    def clean_closed_on(self) -> date:
        closed_on = self.cleaned_data["closed_on"]
        if closed_on > timezone.localdate():
            raise forms.ValidationError(
                _("A school year can be closed on today's date or an earlier one, not in advance.")
            )
        return closed_on


@role_required(Role.CITY_ADMIN)
def school_year_close_view(request: HttpRequest) -> HttpResponse:
    """GET shows the plan for the date given (a dry run); POST with `confirm` closes the year."""
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = SchoolYearCloseForm(
        data,
        initial={
            "closed_on": timezone.localdate(),
            "grace_days": settings.SCHOOL_YEAR_LOGIN_GRACE_DAYS,
        },
    )
    plan = None
    if form.is_bound and form.is_valid():
        plan = school_year_close_plan(
            closed_on=form.cleaned_data["closed_on"], grace_days=form.cleaned_data["grace_days"]
        )
        if request.method == "POST" and request.POST.get("confirm") and plan.done is None:
            try:
                close, _created = school_year_close(
                    closed_on=form.cleaned_data["closed_on"],
                    closed_by=request.user,
                    grace_days=form.cleaned_data["grace_days"],
                )
            except SchoolYearError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _(
                        "School year %(year)s closed: %(records)s records made final; "
                        "graduates' logins are disabled on %(day)s."
                    )
                    % {
                        "year": str(close),
                        "records": close.records_finalised,
                        "day": close.logins_disable_on.isoformat(),
                    },
                )
                return redirect("students:school-year-close")
    return render(
        request,
        "students/school_year_close.html",
        {"form": form, "plan": plan, "closes": SchoolYearClose.objects.all()[:10]},
    )
