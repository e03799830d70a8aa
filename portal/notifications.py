"""The notifications page: every message to the user, newest first, unread ones marked."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, QuerySet, Sum, When, Window
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from .models import Notification, User

PER_PAGE = 20


def notifications_of(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user)


def notifications_unread_count(user: User) -> int:
    return notifications_of(user).filter(read_at=None).count()


def notifications_latest(user: User, count: int) -> tuple[list[Notification], int]:
    """The `count` newest notifications and how many of all are unread, in one statement."""
    unread = Window(Sum(Case(When(read_at=None, then=1), default=0)))
    rows = list(notifications_of(user).annotate(unread_total=unread)[:count])
    return rows, (rows[0].unread_total or 0) if rows else 0


def notifications_mark_read(*, user: User, notification_ids: list[int] | None = None) -> int:
    """Mark the user's notifications (all, or the given ones) read; returns how many changed."""
    unread = notifications_of(user).filter(read_at=None)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())


@require_GET
@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(notifications_of(request.user), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/notifications.html",
        {"page": page, "unread": notifications_unread_count(request.user)},
    )


@require_GET
@login_required
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Open what a notification is about, marking it read on the way."""
    notification = get_object_or_404(notifications_of(request.user), pk=notification_id)
    notifications_mark_read(user=request.user, notification_ids=[notification.pk])
    if notification.url and url_has_allowed_host_and_scheme(
        notification.url, allowed_hosts=None, require_https=False
    ):
        return redirect(notification.url)
    return redirect("notifications")


@require_POST
@login_required
def notification_read_all(request: HttpRequest) -> HttpResponse:
    notifications_mark_read(user=request.user)
    return redirect("notifications")
