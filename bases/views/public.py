"""The public listing by district and the post page: readable without signing in."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from districts.models import District
from districts.selectors import district_list
from portal.page_shell import page_shell_context
from students.selectors import student_of_user

from ..filters import PostListingFilter
from ..listing_cache import listing_page
from ..reliability import student_reliability
from ..selectors import (
    application_list_for_student,
    post_get_open,
    post_listing,
    post_listing_changes_at,
    session_list_for_post,
    viewer_school_id,
)
from ..services.applications import application_refusal
from ..services.consent import consent_needed
from ..tables import PostListingTable, PostSearchTable


class DistrictPostListView(SingleTableMixin, FilterView):
    """One district's open posts, filterable and sortable, 20 a page; served from the cache
    while nothing it shows changed (bases.listing_cache)."""

    table_class = PostListingTable
    filterset_class = PostListingFilter
    template_name = "bases/district_posts.html"
    table_pagination = {"per_page": 20}
    #: Rendered as a shell for the cache, for this school's viewers, at this moment.
    shell_for: tuple[int | None, object] | None = None

    def get(self, request, *args, **kwargs):
        response = listing_page(request, code=self.kwargs["code"], render=self._shell)
        return response if response is not None else super().get(request, *args, **kwargs)

    def _shell(self, school_id, now):
        self.shell_for = (school_id, now)
        response = super().get(self.request, *self.args, **self.kwargs)
        response.render()
        changes_at = post_listing_changes_at(
            district=self.district, school_id=school_id, now=now, session_q=self.session_q
        )
        return response, changes_at

    def get_queryset(self):
        self.district = get_object_or_404(District, code=self.kwargs["code"])
        self.session_q = PostListingFilter(self.request.GET or None).session_q()
        school_id, now = self.shell_for or (viewer_school_id(user=self.request.user), None)
        return post_listing(
            district=self.district,
            school_id=school_id,
            now=now or timezone.now(),
            session_q=self.session_q,
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["district"] = self.district
        context["districts"] = district_list()
        if self.shell_for is not None:
            context.update(page_shell_context())
        return context


district_posts = DistrictPostListView.as_view()


class PostSearchView(DistrictPostListView):
    """Open posts of every district, by keyword (title, base, category, address) and filters."""

    table_class = PostSearchTable
    template_name = "bases/post_search.html"

    def get(self, request, *args, **kwargs):
        return FilterView.get(self, request, *args, **kwargs)

    def get_queryset(self):
        self.district = None
        session_q = PostListingFilter(self.request.GET or None).session_q()
        return post_listing(
            district=None,
            school_id=viewer_school_id(user=self.request.user),
            now=timezone.now(),
            session_q=session_q,
        )


post_search = PostSearchView.as_view()


@require_GET
def post_detail(request: HttpRequest, post_id: int) -> HttpResponse:
    now = timezone.now()
    post = post_get_open(post_id=post_id, school_id=viewer_school_id(user=request.user), now=now)
    sessions = list(session_list_for_post(post=post, now=now))
    student = student_of_user(user=request.user) if request.user.is_authenticated else None
    applied = {}
    if student is not None:
        applied = {
            a.session_id: a
            for a in application_list_for_student(student=student).filter(
                session__in=sessions,
                status__in=["awaiting_consent", "pending", "confirmed", "waitlisted"],
            )
        }
    for session in sessions:
        session.my_application = applied.get(session.pk)
        session.window_open = session.applications_open_at <= now < session.applications_close_at
        session.window_not_yet = now < session.applications_open_at
        # Before the student taps: the reason applying would give, from the same rules.
        refusal = None
        if student is not None and session.my_application is None:
            refusal = application_refusal(session=session, student=student, now=now)
        session.why_not = refusal.messages[0] if refusal else ""
        session.why_not_code = refusal.code if refusal else ""
    hold = student_reliability(student_id=student.pk, now=now).hold if student else None
    needs_consent = any(consent_needed(session=session) for session in sessions[:1])
    return render(
        request,
        "bases/post_detail.html",
        {
            "post": post,
            "sessions": sessions,
            "student": student,
            "now": now,
            "hold": hold,
            "needs_consent": needs_consent,
        },
    )
