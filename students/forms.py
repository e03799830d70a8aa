"""Forms validate and normalise input; the rules live in the services."""

from datetime import datetime

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.uploads import CleanImage, check_image_name, read_image_upload

from .disputes import REASON_MAX_LENGTH
from .models import (
    COMMENT_MAX_CHARS,
    REFLECTION_MAX_CHARS,
    Category,
    DisputeAbout,
    Platform,
    PracticeRecord,
    SchoolClass,
)
from .reflections import ReflectionError, clean_reflection_text
from .school_records import SchoolActivity

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


def _local_minute(moment: datetime) -> datetime:
    return timezone.localtime(moment).replace(second=0, microsecond=0, tzinfo=None)


class DisputeRaiseForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you object to this record?"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: I left at 11:00, not 12:00."),
    )

    def clean_reason(self) -> str:
        return self.cleaned_data["reason"].strip()


class HeldDecisionForm(forms.Form):
    """Credit or reject a record's minutes held for review, with the reason the student reads."""

    RELEASE = "release"
    REJECT = "reject"

    decision = forms.ChoiceField(
        label=_("Decision"),
        widget=forms.RadioSelect,
        choices=[
            (RELEASE, _("Credit them: the long day was real")),
            (REJECT, _("Reject them: not credited")),
        ],
    )
    reason = forms.CharField(
        label=_("Reason (the student reads it)"),
        max_length=300,
        widget=forms.TextInput(),
    )

    def clean_reason(self) -> str:
        return " ".join(self.cleaned_data["reason"].split())


class Answer:
    UPHOLD = "uphold"
    CORRECT = "correct"
    REVOKE = "revoke"


class DisputeAnswerForm(forms.Form):
    answer = forms.ChoiceField(
        label=_("Answer"),
        widget=forms.RadioSelect,
        choices=[
            (Answer.UPHOLD, _("Uphold: the record stands")),
            (Answer.CORRECT, _("Correct the times or the minutes")),
            (Answer.REVOKE, _("Revoke the record")),
        ],
    )
    reason = forms.CharField(
        label=_("Reason (shown to the student)"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    started_at = forms.DateTimeField(
        label=_("Started"), required=False, widget=DATETIME, input_formats=DATETIME_FORMATS
    )
    ended_at = forms.DateTimeField(
        label=_("Ended at"), required=False, widget=DATETIME, input_formats=DATETIME_FORMATS
    )
    credited_minutes = forms.IntegerField(label=_("Credited minutes"), required=False, min_value=0)

    def __init__(self, *args, record: PracticeRecord, about: str = DisputeAbout.RECORD, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "started_at": _local_minute(record.started_at),
                "ended_at": _local_minute(record.ended_at),
                "credited_minutes": record.credited_minutes,
            },
        )
        super().__init__(*args, **kwargs)
        if about == DisputeAbout.REFLECTION:
            # A reflection stands or is withdrawn; it has no times to correct.
            self.fields["answer"].choices = [
                (Answer.UPHOLD, _("Uphold: the reflection stands")),
                (Answer.REVOKE, _("Withdraw the reflection")),
            ]
            for name in ("started_at", "ended_at", "credited_minutes"):
                del self.fields[name]

    def clean_reason(self) -> str:
        return self.cleaned_data["reason"].strip()

    def clean(self):
        data = super().clean()
        if data.get("answer") == Answer.CORRECT:
            for name in ("started_at", "ended_at", "credited_minutes"):
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, _("A correction needs this value."))
        return data


class SchoolActivityForm(forms.Form):
    school_class = forms.ModelChoiceField(
        label=_("Class"), queryset=SchoolClass.objects.none(), empty_label=_("Choose a class")
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.all(), empty_label=_("Choose a category")
    )
    title = forms.CharField(
        label=_("Activity"), max_length=200, help_text=_("For example: 高二学农社会实践")
    )
    organiser_name = forms.CharField(
        label=_("Organiser"),
        max_length=200,
        required=False,
        help_text=_("Leave empty when the school itself organised it."),
    )
    first_day = forms.DateField(label=_("First day"), widget=DATE)
    last_day = forms.DateField(label=_("Last day"), widget=DATE)
    daily_start = forms.TimeField(label=_("Each day from"), widget=TIME)
    daily_end = forms.TimeField(label=_("Each day until"), widget=TIME)
    minutes_per_day = forms.IntegerField(
        label=_("Credited minutes per day"),
        min_value=1,
        max_value=24 * 60,
        help_text=_("Time actually spent on the activity each day, breaks excluded."),
    )

    def __init__(self, *args, classes: QuerySet[SchoolClass], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school_class"].queryset = classes
        self.fields["school_class"].label_from_instance = lambda c: c.name

    def clean_title(self) -> str:
        return " ".join(self.cleaned_data["title"].split())

    def clean_organiser_name(self) -> str:
        return " ".join(self.cleaned_data["organiser_name"].split())

    def activity(self) -> SchoolActivity:
        data = self.cleaned_data
        return SchoolActivity(
            category=data["category"],
            title=data["title"],
            organiser_name=data["organiser_name"],
            first_day=data["first_day"],
            last_day=data["last_day"],
            daily_start=data["daily_start"],
            daily_end=data["daily_end"],
            minutes_per_day=data["minutes_per_day"],
        )


class ReflectionForm(forms.Form):
    # No max_length here: the service counts characters and says by how many it is over.
    text = forms.CharField(
        label=_("Your reflection"),
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": REFLECTION_MAX_CHARS}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per request, in the language of the request.
        self.fields["text"].help_text = gettext(
            "What you did, what you saw and what you learnt, in at most %(max)s characters. "
            "Your class sees it during the public notice, with your name masked."
        ) % {"max": REFLECTION_MAX_CHARS}

    def clean_text(self) -> str:
        try:
            return clean_reflection_text(self.cleaned_data["text"])
        except ReflectionError as error:
            raise forms.ValidationError(error.messages[0], code=error.code) from None


class ReflectionPhotoForm(forms.Form):
    photo = forms.FileField(
        label=_("Choose a photo"),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png"}),
        help_text=_(
            "JPEG or PNG, up to three per reflection. Location and camera data are removed."
        ),
    )

    def clean_photo(self) -> CleanImage:
        upload = self.cleaned_data["photo"]
        image = read_image_upload(upload)
        check_image_name(upload.name, image)
        return image


class ReflectionCommentForm(forms.Form):
    text = forms.CharField(
        label=_("Comment (the student sees it)"),
        max_length=COMMENT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_text(self) -> str:
        return self.cleaned_data["text"].strip()


class PlatformUploadForm(forms.Form):
    """An export of another platform: which platform, and the file."""

    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices)
    file = forms.FileField(
        label=_("Exported records (xlsx or csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )


class PlatformRejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason (the student reads it)"), max_length=300)


class OverlapDecisionForm(forms.Form):
    """The school's decision on a platform record overlapping one the student has."""

    KEEP_EXISTING, TAKE_NEW, KEEP_BOTH = "keep_existing", "take_new", "keep_both"

    decision = forms.ChoiceField(
        label=_("Decision"),
        widget=forms.RadioSelect,
        choices=[
            (KEEP_EXISTING, _("Keep the existing record")),
            (TAKE_NEW, _("Take the platform's record (the existing one is revoked)")),
            (KEEP_BOTH, _("Keep both: they do not really overlap (give the real times)")),
        ],
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)
    started_at = forms.DateTimeField(label=_("Real start"), required=False, widget=DATETIME)
    ended_at = forms.DateTimeField(label=_("Real end"), required=False, widget=DATETIME)
