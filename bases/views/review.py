"""District and city admins: review posts, and certify, renew, suspend or revoke bases.

A district admin sees the posts and bases of their district, the city admin all of them; anything
else answers 404. The certification services keep the final word on who may decide what.
"""

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import CharField, Count, F, Min, Q, QuerySet
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from portal.models import AuditLog, Role, User
from portal.roles import role_required

from .. import attendance_rules as rules
from ..errors import BaseError
from ..forms import ApproveForm, BaseFilterForm, CertifyForm, ReasonForm, ReturnForm
from ..models import Base, BaseLevel, Post, PostStatus
from ..selectors import base_list_for_user, post_get_for_user, post_list_for_user
from ..services.certification import base_certify, base_revoke, base_suspend
from ..services.publishing import (
    post_approve,
    post_hours_exception_grant,
    post_return,
    session_hours_problem,
)

ADMINS = (Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
PER_PAGE = 25
RECENT_DECISIONS = 15

DECISION_LABELS = {
    "base.certify": gettext_lazy("Certified or renewed"),
    "base.suspend": gettext_lazy("Suspended"),
    "base.revoke": gettext_lazy("Revoked"),
    "base.contract": gettext_lazy("Contracted by a school"),
    "base.contract_end": gettext_lazy("School contract ended"),
    "post.submit": gettext_lazy("Sent for review"),
    "post.update": gettext_lazy("Edited"),
    "post.approve": gettext_lazy("Approved"),
    "post.return": gettext_lazy("Returned"),
    "post.close": gettext_lazy("Closed"),
}


# ------------------------------------------------------------------------------
# Scope helpers (candidates for bases.selectors)
# ------------------------------------------------------------------------------
def _certifiable_levels(user: User) -> list[str]:
    """Levels whose bases this admin decides on: the city admin any but school-level ones."""
    if user.role == Role.CITY_ADMIN:
        return [BaseLevel.CITY, BaseLevel.DISTRICT, BaseLevel.PROJECT]
    return [BaseLevel.DISTRICT, BaseLevel.PROJECT]


def _certifiable_bases(user: User) -> QuerySet[Base]:
    return base_list_for_user(user=user).filter(level__in=_certifiable_levels(user))


def _decisions(*, model, object_ids: QuerySet | list[str], limit: int) -> list[AuditLog]:
    """The latest audited decisions on these objects, labelled for people."""
    entries = list(
        AuditLog.objects.filter(
            object_type=model._meta.label_lower,
            object_id__in=object_ids,
            action__in=DECISION_LABELS,
        )
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )
    for entry in entries:
        entry.label = DECISION_LABELS[entry.action]
        entry.reason = entry.data.get("reason", "")
        entry.valid_until = entry.data.get("valid_until", "")
    return entries


def _query_without_page(request: HttpRequest) -> str:
    """The list's filters as a query string, for the pagination links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# ------------------------------------------------------------------------------
# Review of posts
# ------------------------------------------------------------------------------
@role_required(*ADMINS)
def review_queue(request: HttpRequest) -> HttpResponse:
    """Posts waiting for review, oldest first."""
    posts = (
        post_list_for_user(user=request.user)
        .filter(status=PostStatus.IN_REVIEW)
        .annotate(session_count=Count("sessions"), first_starts_at=Min("sessions__starts_at"))
        .order_by("updated_at", "pk")
    )
    page = Paginator(posts, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "bases/review_queue.html", {"page": page})


def _render_review(
    request: HttpRequest,
    post: Post,
    *,
    approve_form: ApproveForm | None = None,
    return_form: ReturnForm | None = None,
    exception_form: ReasonForm | None = None,
) -> HttpResponse:
    sessions = list(post.sessions.order_by("starts_at", "id"))
    params = rules.session_flag_params()
    for session in sessions:
        session.flags = [
            (flag.value, _(rules.SESSION_FLAG_MESSAGES[flag]) % params)
            for flag in rules.session_flags(starts_at=session.starts_at, ends_at=session.ends_at)
        ]
        session.outside_hours = session.cancelled_at is None and bool(
            session_hours_problem(post=post, starts_at=session.starts_at, ends_at=session.ends_at)
        )
    return render(
        request,
        "bases/review_post.html",
        {
            "post": post,
            "sessions": sessions,
            "history": _decisions(model=Post, object_ids=[str(post.pk)], limit=RECENT_DECISIONS),
            "approve_form": approve_form or ApproveForm(prefix="approve"),
            "return_form": return_form or ReturnForm(prefix="return"),
            "exception_form": exception_form or ReasonForm(prefix="exception"),
            "outside_hours": any(session.outside_hours for session in sessions),
        },
    )


@role_required(*ADMINS)
def review_post(request: HttpRequest, post_id: int) -> HttpResponse:
    return _render_review(request, post_get_for_user(user=request.user, post_id=post_id))


@require_POST
@role_required(*ADMINS)
def post_approve_view(request: HttpRequest, post_id: int) -> HttpResponse:
    post = post_get_for_user(user=request.user, post_id=post_id)
    form = ApproveForm(request.POST, prefix="approve")
    if form.is_valid():
        try:
            post_approve(post=post, reviewer=request.user, note=form.cleaned_data["note"])
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("Approved and published: %(title)s.") % {"title": post.title}
            )
            return redirect("bases:review-queue")
    return _render_review(request, post, approve_form=form)


@require_POST
@role_required(*ADMINS)
def post_hours_exception_view(request: HttpRequest, post_id: int) -> HttpResponse:
    post = post_get_for_user(user=request.user, post_id=post_id)
    form = ReasonForm(request.POST, prefix="exception")
    if form.is_valid():
        try:
            post_hours_exception_grant(
                post=post, granted_by=request.user, reason=form.cleaned_data["reason"]
            )
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Exception to the session hours granted: %(title)s can now be approved.")
                % {"title": post.title},
            )
            return redirect("bases:review-post", post.pk)
    return _render_review(request, post, exception_form=form)


@require_POST
@role_required(*ADMINS)
def post_return_view(request: HttpRequest, post_id: int) -> HttpResponse:
    post = post_get_for_user(user=request.user, post_id=post_id)
    form = ReturnForm(request.POST, prefix="return")
    if form.is_valid():
        try:
            post_return(post=post, reviewer=request.user, reason=form.cleaned_data["reason"])
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Returned to the coordinator with your reason: %(title)s.")
                % {"title": post.title},
            )
            return redirect("bases:review-queue")
    return _render_review(request, post, return_form=form)


# ------------------------------------------------------------------------------
# Certification of bases
# ------------------------------------------------------------------------------
@role_required(*ADMINS)
def base_certification(request: HttpRequest) -> HttpResponse:
    """The bases this admin certifies, those needing a decision first, and recent decisions."""
    levels = _certifiable_levels(request.user)
    form = BaseFilterForm(request.GET or None, levels=levels)
    bases = _certifiable_bases(request.user)
    in_scope = bases
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            bases = bases.filter(
                Q(name__icontains=data["q"])
                | Q(name_en__icontains=data["q"])
                | Q(code__icontains=data["q"])
            )
        if data["level"]:
            bases = bases.filter(level=data["level"])
        if data["status"]:
            bases = bases.filter(status=data["status"])
    bases = bases.order_by(F("certified_until").asc(nulls_first=True), "code")
    page = Paginator(bases, PER_PAGE).get_page(request.GET.get("page"))
    base_ids = in_scope.order_by().annotate(id_text=Cast("pk", CharField())).values("id_text")
    return render(
        request,
        "bases/review_bases.html",
        {
            "form": form,
            "page": page,
            "query": _query_without_page(request),
            "today": timezone.localdate(),
            "decisions": _decisions(model=Base, object_ids=base_ids, limit=RECENT_DECISIONS),
        },
    )


def _base_get(request: HttpRequest, base_id: int) -> Base:
    return get_object_or_404(_certifiable_bases(request.user), pk=base_id)


def _render_base(request: HttpRequest, base: Base, **forms) -> HttpResponse:
    renew_from = max(base.certified_until or timezone.localdate(), timezone.localdate())
    context = {
        "base": base,
        "today": timezone.localdate(),
        "certify_form": CertifyForm(
            prefix="certify", initial={"valid_until": renew_from + timedelta(days=365)}
        ),
        "suspend_form": ReasonForm(prefix="suspend"),
        "revoke_form": ReasonForm(prefix="revoke"),
        "decisions": _decisions(model=Base, object_ids=[str(base.pk)], limit=RECENT_DECISIONS),
    }
    context.update(forms)
    return render(request, "bases/review_base.html", context)


@role_required(*ADMINS)
def base_decide(request: HttpRequest, base_id: int) -> HttpResponse:
    """One base: its certification, the decisions on it, and the forms to decide again."""
    return _render_base(request, _base_get(request, base_id))


def _back_to(base: Base) -> str:
    return reverse("bases:base-decide", args=[base.pk])


@require_POST
@role_required(*ADMINS)
def base_certify_view(request: HttpRequest, base_id: int) -> HttpResponse:
    base = _base_get(request, base_id)
    form = CertifyForm(request.POST, prefix="certify")
    if form.is_valid():
        try:
            base = base_certify(
                base=base,
                certified_by=request.user,
                valid_until=form.cleaned_data["valid_until"],
                reason=form.cleaned_data["reason"],
            )
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("%(base)s is certified until %(date)s.")
                % {"base": base, "date": base.certified_until.isoformat()},
            )
            return redirect(_back_to(base))
    return _render_base(request, base, certify_form=form)


def _set_status(request: HttpRequest, base_id: int, *, prefix: str, service, done: str):
    base = _base_get(request, base_id)
    form = ReasonForm(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            base = service(base, request.user, form.cleaned_data["reason"])
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(request, done % {"base": base})
            return redirect(_back_to(base))
    return _render_base(request, base, **{f"{prefix}_form": form})


@require_POST
@role_required(*ADMINS)
def base_suspend_view(request: HttpRequest, base_id: int) -> HttpResponse:
    return _set_status(
        request,
        base_id,
        prefix="suspend",
        service=lambda base, user, reason: base_suspend(
            base=base, suspended_by=user, reason=reason
        ),
        done=_("%(base)s is suspended: its posts have left the listing."),
    )


@require_POST
@role_required(*ADMINS)
def base_revoke_view(request: HttpRequest, base_id: int) -> HttpResponse:
    return _set_status(
        request,
        base_id,
        prefix="revoke",
        service=lambda base, user, reason: base_revoke(base=base, revoked_by=user, reason=reason),
        done=_("%(base)s's certification is revoked."),
    )
