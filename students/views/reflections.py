"""A student's reflection on a record: write it, add and remove photos; comments; 典型事例;
a photo shown to those who may see it; a dispute about a reflection from the notice page."""

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portal.models import Role
from portal.roles import role_required

from ..disputes import DisputeError, reflection_dispute_raise, reflection_get_for_dispute
from ..disputes.selectors import RAISER_ROLES, record_get_for_viewer
from ..forms import DisputeRaiseForm, ReflectionCommentForm, ReflectionForm, ReflectionPhotoForm
from ..models import ReflectionPhoto
from ..reflections import (
    ReflectionError,
    reflection_comment_add,
    reflection_of,
    reflection_photo_add,
    reflection_photo_get_for_user,
    reflection_photo_remove,
    reflection_save,
    reflection_typical_mark,
    reflection_typical_unmark,
)
from ..selectors import record_get_for_user
from .notice import VIEWER_ROLES, _render_record

COMMENT_ROLES = (Role.HEAD_TEACHER, Role.COORDINATOR, Role.SCHOOL_ADMIN)


def _back(record) -> HttpResponse:
    return redirect(reverse("students:record-detail", args=[record.pk]) + "#reflection")


@require_POST
@role_required(Role.STUDENT)
def reflection_save_view(request: HttpRequest, record_id: int) -> HttpResponse:
    record = record_get_for_user(user=request.user, record_id=record_id)
    form = ReflectionForm(request.POST)
    if form.is_valid():
        try:
            reflection_save(record=record, author=request.user, text=form.cleaned_data["text"])
        except ReflectionError as error:
            form.add_error("text", error)
        else:
            messages.success(
                request, _("Your reflection is saved and shown to your class during the notice.")
            )
            return _back(record)
    return _render_record(request, record, reflection_forms={"reflection": form}, status=400)


@require_POST
@role_required(Role.STUDENT)
def reflection_photo_add_view(request: HttpRequest, record_id: int) -> HttpResponse:
    record = record_get_for_user(user=request.user, record_id=record_id)
    form = ReflectionPhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            reflection_photo_add(
                record=record, author=request.user, image=form.cleaned_data["photo"]
            )
        except ReflectionError as error:
            form.add_error("photo", error)
        else:
            messages.success(request, _("The photo is added."))
            return _back(record)
    return _render_record(request, record, reflection_forms={"photo": form}, status=400)


@require_POST
@role_required(Role.STUDENT)
def reflection_photo_remove_view(request: HttpRequest, photo_id: int) -> HttpResponse:
    photo = get_object_or_404(
        ReflectionPhoto.objects.select_related("reflection__record__student"),
        pk=photo_id,
        reflection__record__student__user=request.user,
    )
    record = photo.reflection.record
    try:
        reflection_photo_remove(photo=photo, author=request.user)
    except ReflectionError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("The photo is removed."))
    return _back(record)


@require_GET
@role_required(*VIEWER_ROLES)
def reflection_photo_view(request: HttpRequest, photo_id: int) -> HttpResponse:
    """The photo itself, to those who may see the reflection; 404 to anyone else."""
    photo = reflection_photo_get_for_user(user=request.user, photo_id=photo_id)
    content_type = "image/png" if photo.image.name.endswith(".png") else "image/jpeg"
    try:
        content = photo.image.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(content, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_POST
@role_required(*COMMENT_ROLES)
def reflection_comment_view(request: HttpRequest, record_id: int) -> HttpResponse:
    record = record_get_for_viewer(user=request.user, record_id=record_id)
    reflection = reflection_of(record=record)
    if reflection is None:
        messages.error(request, _("There is no reflection on this record yet."))
        return _back(record)
    form = ReflectionCommentForm(request.POST)
    if form.is_valid():
        try:
            reflection_comment_add(
                reflection=reflection, author=request.user, text=form.cleaned_data["text"]
            )
        except ReflectionError as error:
            form.add_error("text", error)
        else:
            messages.success(request, _("Your comment is sent; the student is told."))
            return _back(record)
    return _render_record(request, record, reflection_forms={"comment": form}, status=400)


@require_POST
@role_required(Role.HEAD_TEACHER)
def reflection_typical_view(request: HttpRequest, record_id: int) -> HttpResponse:
    """Mark (`typical=1`) or unmark (`typical=0`) the record's reflection as a 典型事例."""
    record = record_get_for_viewer(user=request.user, record_id=record_id)
    reflection = reflection_of(record=record)
    if reflection is None:
        messages.error(request, _("There is no reflection on this record yet."))
        return _back(record)
    try:
        if request.POST.get("typical") == "1":
            reflection_typical_mark(reflection=reflection, marked_by=request.user)
            messages.success(request, _("Marked as a typical case; the student is told."))
        else:
            reflection_typical_unmark(reflection=reflection, unmarked_by=request.user)
            messages.success(request, _("No longer a typical case; the student is told."))
    except ReflectionError as error:
        messages.error(request, error.messages[0])
    return _back(record)


@require_POST
@role_required(*RAISER_ROLES)
def reflection_dispute_view(request: HttpRequest, reflection_id: int) -> HttpResponse:
    """From the notice page: object to a reflection shown there; back to that page."""
    reflection = reflection_get_for_dispute(user=request.user, reflection_id=reflection_id)
    school_id = reflection.record.student.school_class.school_id
    back = redirect("students:school-notice", school_id=school_id)
    form = DisputeRaiseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you object to this reflection."))
        return back
    try:
        reflection_dispute_raise(
            reflection=reflection, raised_by=request.user, reason=form.cleaned_data["reason"]
        )
    except DisputeError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request, _("Your dispute was sent. The reflection is held until the organiser answers.")
        )
    return back
