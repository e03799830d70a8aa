"""Forms validate and normalise input; the rules live in the services."""

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.uploads import CleanImage, read_image_upload
from students.models import Category

from .models import Allocation, BaseLevel, BaseStatus, Post
from .services.publishing import POST_FIELDS, SessionPlan

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
GRADES = ("1", "2", "3")


def _next_hour() -> datetime:
    return timezone.localtime().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def _aware(day, moment) -> datetime:
    return timezone.make_aware(datetime.combine(day, moment))


# ------------------------------------------------------------------------------
# Coordinators: posts and sessions
# ------------------------------------------------------------------------------
class PostForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=100)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.all(), empty_label=_("Choose a category")
    )
    description = forms.CharField(
        label=_("What students will do"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    requirements = forms.CharField(
        label=_("Requirements"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    eligible_grades = forms.MultipleChoiceField(
        label=_("Eligible grades"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one grade.")},
    )
    off_site = forms.BooleanField(
        label=_("Off-site: students go somewhere other than the base's address"), required=False
    )
    overnight = forms.BooleanField(
        label=_("Overnight stay (学农, camps)"),
        required=False,
        help_text=_("Needed for sessions that run past midnight."),
    )
    physical_risk = forms.BooleanField(
        label=_("Physical risk: heights, water, tools or heavy loads"), required=False
    )
    safety_briefing = forms.CharField(
        label=_("Safety briefing (optional)"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_(
            "If you write one, students must read it and tick that they understood it before "
            "they can apply."
        ),
    )
    image = forms.FileField(
        label=_("Picture (optional)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png"}),
        help_text=_(
            "A JPEG or PNG photo of the place or the work, without people's faces. It is "
            "re-encoded and its metadata (camera, place) removed. Without one, the category's "
            "picture is shown."
        ),
    )
    remove_image = forms.BooleanField(label=_("Remove the current picture"), required=False)

    def __init__(self, *args, post: Post | None = None, **kwargs):
        if post is not None:
            kwargs.setdefault(
                "initial",
                {
                    "title": post.title,
                    "category": post.category_id,
                    "description": post.description,
                    "requirements": post.requirements,
                    "place": post.place,
                    "eligible_grades": list(post.eligible_grades),
                    "off_site": post.off_site,
                    "overnight": post.overnight,
                    "physical_risk": post.physical_risk,
                    "safety_briefing": post.safety_briefing,
                },
            )
        else:
            kwargs.setdefault("initial", {"eligible_grades": list(GRADES)})
        super().__init__(*args, **kwargs)
        # Labels built per request, in the language of the request.
        self.fields["eligible_grades"].choices = [
            (grade, gettext("Grade %(g)s") % {"g": grade}) for grade in GRADES
        ]
        if post is None or not post.image:
            del self.fields["remove_image"]

    def clean_image(self) -> CleanImage | None:
        upload = self.cleaned_data.get("image")
        return read_image_upload(upload) if upload else None

    def clean_title(self) -> str:
        return " ".join(self.cleaned_data["title"].split())

    def clean_place(self) -> str:
        return self.cleaned_data["place"].strip()

    def clean_safety_briefing(self) -> str:
        return self.cleaned_data["safety_briefing"].strip()

    def clean_eligible_grades(self) -> str:
        """["1", "3"] -> "13", the form the post stores."""
        return "".join(sorted(set(self.cleaned_data["eligible_grades"])))

    def post_fields(self) -> dict:
        """The cleaned fields, named as the publishing services take them."""
        return {name: self.cleaned_data[name] for name in POST_FIELDS}

    def picture(self) -> dict:
        """The new picture, or whether to remove the old one, as the publishing services take it."""
        return {
            "image": self.cleaned_data.get("image"),
            "remove_image": bool(self.cleaned_data.get("remove_image")),
        }


class SessionPlanFields(forms.Form):
    """Seats, allocation and window: the same for one session and for each session of a series."""

    capacity = forms.IntegerField(label=_("Seats"), min_value=1, max_value=10000)
    allocation = forms.ChoiceField(
        label=_("Allocation"), choices=Allocation.choices, initial=Allocation.FIRST_COME
    )
    applications_open_at = forms.DateTimeField(label=_("Applications open at"), widget=DATETIME)
    close_hours_before = forms.IntegerField(
        label=_("Applications close (hours before the start)"),
        min_value=0,
        max_value=24 * 60,
        initial=24,
    )
    cancel_hours_before = forms.IntegerField(
        label=_("Cancellation cut-off (hours before the start)"),
        min_value=0,
        max_value=24 * 60,
        required=False,
        help_text=_("Leave empty to let students cancel until the session starts."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"applications_open_at": _next_hour()})
        super().__init__(*args, **kwargs)

    def plan(self) -> SessionPlan:
        data = self.cleaned_data
        return SessionPlan(
            capacity=data["capacity"],
            allocation=data["allocation"],
            applications_open_at=data["applications_open_at"],
            close_hours_before=data["close_hours_before"],
            cancel_hours_before=data["cancel_hours_before"],
        )


class SessionForm(SessionPlanFields):
    day = forms.DateField(label=_("Date"), widget=DATE)
    start_time = forms.TimeField(label=_("Starts"), widget=TIME)
    end_time = forms.TimeField(label=_("Ends"), widget=TIME)

    field_order = ["day", "start_time", "end_time", "capacity", "allocation"]

    def clean(self):
        data = super().clean()
        if data.get("day") and data.get("start_time") and data.get("end_time"):
            data["starts_at"] = _aware(data["day"], data["start_time"])
            data["ends_at"] = _aware(data["day"], data["end_time"])
        return data


class SessionEditForm(forms.Form):
    """A session's day, times and seats, as its coordinator changes them."""

    day = forms.DateField(label=_("Date"), widget=DATE)
    start_time = forms.TimeField(label=_("Starts"), widget=TIME)
    end_time = forms.TimeField(label=_("Ends"), widget=TIME)
    capacity = forms.IntegerField(label=_("Seats"), min_value=1, max_value=10000)

    @classmethod
    def for_session(cls, session, data=None):
        start = timezone.localtime(session.starts_at)
        initial = {
            "day": start.date(),
            "start_time": start.time().replace(second=0, microsecond=0),
            "end_time": timezone.localtime(session.ends_at).time().replace(second=0, microsecond=0),
            "capacity": session.capacity,
        }
        return cls(data, initial=initial)

    def clean(self):
        data = super().clean()
        if data.get("day") and data.get("start_time") and data.get("end_time"):
            data["starts_at"] = _aware(data["day"], data["start_time"])
            data["ends_at"] = _aware(data["day"], data["end_time"])
        return data


class StudentReasonForm(forms.Form):
    """The reason a base gives the students it cancels or removes; they are told it."""

    reason = forms.CharField(
        label=_("Reason (the students are told it)"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give a reason: the students are told it.")},
    )


class SessionSeriesForm(SessionPlanFields):
    first_day = forms.DateField(label=_("First day"), widget=DATE)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("On"),
        coerce=int,
        choices=list(WEEKDAYS.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one day of the week.")},
    )
    weeks = forms.IntegerField(label=_("Number of weeks"), min_value=1, max_value=52, initial=8)
    start_time = forms.TimeField(label=_("Starts"), widget=TIME)
    end_time = forms.TimeField(label=_("Ends"), widget=TIME)

    field_order = ["first_day", "weekdays", "weeks", "start_time", "end_time", "capacity"]


# ------------------------------------------------------------------------------
# District and city admins: review and certification
# ------------------------------------------------------------------------------
class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give a reason for this decision.")},
    )


class ApproveForm(forms.Form):
    note = forms.CharField(
        label=_("Note to the coordinator (optional)"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )


class ReturnForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the post goes back"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Say why the post is returned.")},
    )


class CertifyForm(ReasonForm):
    valid_until = forms.DateField(label=_("Certified until"), widget=DATE)

    field_order = ["valid_until", "reason"]


class BaseFilterForm(forms.Form):
    """The certification list's filters; every field optional."""

    q = forms.CharField(label=_("Name or code"), required=False, max_length=100)
    level = forms.ChoiceField(label=_("Level"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *BaseStatus.choices],
    )

    def __init__(self, *args, levels: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(BaseLevel.choices)
        self.fields["level"].choices = [("", _("All levels"))] + [
            (level, labels[level]) for level in levels
        ]


# ------------------------------------------------------------------------------
# School admins and head teachers
# ------------------------------------------------------------------------------
class ContractForm(ReasonForm):
    base = forms.ModelChoiceField(
        label=_("School-level base"), queryset=None, empty_label=_("Choose a base")
    )
    valid_until = forms.DateField(label=_("Contract valid until"), widget=DATE)

    field_order = ["base", "valid_until", "reason"]

    def __init__(self, *args, bases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["base"].queryset = bases
        self.fields["base"].label_from_instance = lambda base: f"{base.name} ({base.district})"


class ReservationForm(forms.Form):
    school_class = forms.ModelChoiceField(label=_("Class"), queryset=None, empty_label=None)
    seats = forms.IntegerField(label=_("Seats"), min_value=1, max_value=1000)
    release_at = forms.DateTimeField(
        label=_("Name students by"),
        widget=DATETIME,
        help_text=_("Seats you have not named by then return to the pool."),
    )

    def __init__(self, *args, classes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school_class"].queryset = classes
        self.fields["school_class"].label_from_instance = lambda c: f"{c.school} {c.name}"


class NameStudentForm(forms.Form):
    """Pick one student of the class; the choices come prefetched, so rendering costs no query."""

    student = forms.TypedChoiceField(label=_("Student"), coerce=int)

    def __init__(self, *args, students, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"].choices = [("", gettext("Choose a student"))] + [
            (s.pk, f"{s.name} ({s.masked_student_number})") for s in students
        ]
