"""A school admin records an activity the school organised (学农, 军训) for a whole class."""

from django.contrib import messages
from django.db.models import Count, Max, Min
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from portal.models import Role
from portal.roles import role_required

from ..forms import SchoolActivityForm
from ..models import PracticeRecord, TeacherAssignment, TeacherRole
from ..school_records import SCHOOL_SOURCE_PREFIX, school_activity_record
from ..selectors import school_class_list_for_user
from ..services import LedgerError

RECENT_ENTRIES = 20


def _recent_entries(request: HttpRequest):
    """School-entered activities of the admin's schools, newest first, one line per activity."""
    schools = TeacherAssignment.objects.filter(
        user=request.user, role=TeacherRole.SCHOOL_ADMIN
    ).values("school")
    return (
        PracticeRecord.objects.filter(
            source_ref__startswith=SCHOOL_SOURCE_PREFIX,
            student__school_class__school__in=schools,
        )
        .values("title", "organiser_name", "category__name_zh", "category__name_en")
        .annotate(
            first=Min("started_at"),
            last=Max("ended_at"),
            students=Count("student", distinct=True),
            records=Count("pk"),
        )
        .order_by("-last")[:RECENT_ENTRIES]
    )


@role_required(Role.SCHOOL_ADMIN)
def school_records(request: HttpRequest) -> HttpResponse:
    classes = school_class_list_for_user(user=request.user)
    form = SchoolActivityForm(request.POST or None, classes=classes)
    if request.method == "POST" and form.is_valid():
        try:
            result = school_activity_record(
                school_class=form.cleaned_data["school_class"],
                activity=form.activity(),
                recorded_by=request.user,
            )
        except LedgerError as error:
            form.add_error(None, error)
        else:
            if result.created:
                messages.success(
                    request,
                    _(
                        "Recorded for %(students)s students over %(days)s days: %(created)s "
                        "records added, now in public notice."
                    )
                    % {"students": result.students, "days": result.days, "created": result.created},
                )
            else:
                messages.info(request, _("This activity was already recorded; nothing was added."))
            return redirect("students:school-records")
    return render(
        request,
        "students/school_records.html",
        {"form": form, "entries": _recent_entries(request)},
        status=400 if form.errors else 200,
    )
