"""The district listing from the cache: a page is the same for every viewer who sees the same
bases, so it is rendered once per (district, audience, filters, page and sort, language, text
size) and kept as a shell (portal.page_shell) that a warm request fills with the viewer's own
header, reading nothing from the database.

The audience is the viewer's school (its contracted school-level bases are listed for its
students and teachers only), or nobody's. A shell is served while both hold:

- the `listing` version (portal.cache) is the one it was made under. Every write to what a
  listing shows bumps it at once and again at commit: a base's certification or details, a
  post's publication, review, closing or text, a session's times, capacity, cancellation or
  seats taken (applying, cancelling, promotion from the waiting list, class reservations, the
  lottery), a school's contracts, the categories and the districts. Saves and deletes are heard
  through Django's signals, queryset writes through `portal.changes`;
- the clock has not reached the first moment the page would change by time alone: the first of
  its sessions to start or to close for applications, or midnight in Shanghai (certifications
  and contracts run out by date).

The audience of a viewer whose school holds no contract with a school-level base in the
district is everyone's: most pages are shared by all. The viewer's school and the districts of
its contracts are cached per user under the `viewer-schools` version (bumped by any change of a
student's class or user, a class's school or a teacher's assignment) and the `listing` one.
"""

import hashlib
import time
from datetime import datetime, timedelta

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from districts.models import District
from portal.cache import version_bump, versions_get_many
from portal.changes import rows_changed
from portal.page_shell import page_join, shell_split, shell_variant, user_part_key
from students.models import Category, SchoolClass, Student, TeacherAssignment

from .models import Base, Post, SchoolContract, Session
from .selectors import contracted_district_codes, viewer_school_id

LISTING = "listing"
VIEWER_SCHOOLS = "viewer-schools"
#: The longest a shell is kept (a new release's templates show within this time).
LISTING_CACHE_SECONDS = 600
VIEWER_SCHOOL_SECONDS = 3600
#: The query parameters a cached listing may have (the filters, django-tables2's page and sort);
#: a page with any other is rendered afresh.
LISTING_PARAMS = frozenset(
    {"q", "category", "grade", "level", "date_from", "date_to", "days", "free", "page", "sort"}
)
#: Session columns a listing shows or filters on; a write to others changes no listing.
SESSION_FIELDS = frozenset(
    {"post", "post_id", "starts_at", "applications_close_at", "cancelled_at", "capacity", "taken"}
)
STUDENT_FIELDS = frozenset({"school_class", "school_class_id", "user", "user_id"})


# ------------------------------------------------------------------------------
# Serving
# ------------------------------------------------------------------------------
def _params_key(request: HttpRequest) -> str | None:
    items = []
    for name, values in request.GET.lists():
        if name not in LISTING_PARAMS or len(values) != 1:
            return None
        items.append((name, values[0]))
    return hashlib.sha256(repr(sorted(items)).encode()).hexdigest()[:32]


def _audience(request: HttpRequest, code: str, versions: dict, entry) -> int | None:
    """The school whose viewers see this district's listing apart (it holds a contract with a
    school-level base there), or None: the viewer sees what everyone sees."""
    user = request.user
    if not user.is_authenticated:
        return None
    tag = getattr(user, "_cache_tag", None)
    stamp = (versions[VIEWER_SCHOOLS], versions[LISTING], tag)
    if entry is not None and tag is not None and entry[0] == stamp and time.time() < entry[1]:
        school_id, codes = entry[2], entry[3]
    else:
        now = timezone.now()
        school_id = viewer_school_id(user=user)
        codes = frozenset()
        if school_id is not None:
            codes = contracted_district_codes(school_id=school_id, today=timezone.localdate(now))
        if tag is not None:
            until = _next_midnight(now).timestamp()
            cache.set(
                f"viewer-school:{user.pk}", (stamp, until, school_id, codes), VIEWER_SCHOOL_SECONDS
            )
    return school_id if code in codes else None


def _next_midnight(now: datetime) -> datetime:
    today = timezone.localdate(now)
    return timezone.make_aware(datetime.combine(today + timedelta(days=1), datetime.min.time()))


def listing_page(request: HttpRequest, *, code: str, render) -> HttpResponse | None:
    """The district's listing for this request from the cache, or made by `render(school_id)`
    (a rendered response of the page as a shell, and when its sessions next change) and kept;
    None when the page is not one to cache (other query parameters, messages to show)."""
    params = _params_key(request)
    if params is None or len(get_messages(request)):
        return None
    user = request.user
    school_key = f"viewer-school:{user.pk}" if user.is_authenticated else ""
    part_key = user_part_key(request)
    versions, found = versions_get_many(
        [LISTING, VIEWER_SCHOOLS], also=[key for key in (school_key, part_key) if key]
    )
    if None in versions.values():  # the cache is down
        return None
    school_id = _audience(request, code, versions, found.get(school_key))
    shell_key = f"listing:{code}:{school_id or '-'}:{params}:{shell_variant(request)}"
    entry = cache.get(shell_key)
    if entry is not None and entry[0] == versions[LISTING] and time.time() < entry[1]:
        return HttpResponse(page_join(request, entry[2], entry[3], found=found))
    now = timezone.now()
    response, changes_at = render(school_id, now)
    if response.status_code != 200:
        return response
    shell = shell_split(response.content.decode())
    if shell is None:
        return response
    until = min(
        [moment for moment in (changes_at, _next_midnight(now)) if moment is not None]
        + [now + timedelta(seconds=LISTING_CACHE_SECONDS)]
    ).timestamp()
    seconds = max(1, int(until - now.timestamp()) + 1)
    cache.set(shell_key, (versions[LISTING], until, *shell), seconds)
    response.content = page_join(request, *shell, found=found)
    return response


# ------------------------------------------------------------------------------
# What makes a cached listing or viewer's school stale
# ------------------------------------------------------------------------------
def listing_changed() -> None:
    """Every cached listing is stale (for a write the signals below do not hear, raw SQL)."""
    version_bump(LISTING)


def _fields_matter(fields, relevant: frozenset) -> bool:
    return not fields or bool(set(fields) & relevant)


def _saved(sender, instance, update_fields=None, **kwargs):
    if sender is not Session or _fields_matter(update_fields, SESSION_FIELDS):
        listing_changed()


def _deleted(sender, instance, **kwargs):
    listing_changed()


def _rows_changed(sender, fields, **kwargs):
    if sender is not Session or _fields_matter(fields, SESSION_FIELDS):
        listing_changed()


def _viewers_changed(sender, instance=None, update_fields=None, fields=None, **kwargs):
    if sender is not Student or _fields_matter(update_fields or fields, STUDENT_FIELDS):
        version_bump(VIEWER_SCHOOLS)


for _model in (Base, Post, Session, SchoolContract, Category, District):
    post_save.connect(_saved, sender=_model, dispatch_uid=f"listing-saved-{_model.__name__}")
    post_delete.connect(_deleted, sender=_model, dispatch_uid=f"listing-deleted-{_model.__name__}")
    rows_changed.connect(
        _rows_changed, sender=_model, dispatch_uid=f"listing-rows-{_model.__name__}"
    )
for _model in (Student, SchoolClass, TeacherAssignment):
    for _name, _signal in (("saved", post_save), ("deleted", post_delete), ("rows", rows_changed)):
        _signal.connect(
            _viewers_changed, sender=_model, dispatch_uid=f"viewers-{_name}-{_model.__name__}"
        )
