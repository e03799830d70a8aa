"""The district listing served from the cache (bases.listing_cache): a warm page reads nothing
from the database, and whatever changes what it shows is seen on the very next request."""

import re
import time
from datetime import timedelta

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from bases.models import BaseLevel, PostStatus, Session
from bases.services.applications import application_apply
from portal.models import User
from tests.factories import (
    BaseFactory,
    PostFactory,
    SchoolContractFactory,
    StudentFactory,
    district,
)

from .conftest import XUHUI

pytestmark = pytest.mark.django_db

ROW = re.compile(
    r'<a href="/posts/(\d+)/">.*?<td class="num"[^>]*>(?:<span[^>]*>)?\s*([\d,]+)', re.S
)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def _page(client, **params) -> str:
    response = client.get(reverse("bases:district-posts", args=[XUHUI]), params)
    assert response.status_code == 200
    return response.content.decode()


def _seats(html: str) -> dict[int, int]:
    """{post id: seats left} as the page shows them."""
    return {int(post): int(seats.replace(",", "")) for post, seats in ROW.findall(html)}


def test_a_warm_page_reads_nothing_from_the_database_and_is_the_page_itself(
    client, student, make_session, django_assert_num_queries
):
    session = make_session(capacity=12)
    client.force_login(student.user)
    cold = _page(client)
    with django_assert_num_queries(0):
        warm = _page(client)
    assert _seats(warm) == {session.post_id: 12}
    assert CSRF.sub("", warm) == CSRF.sub("", cold)
    assert student.user.get_full_name() in warm
    _page(client, free="on", sort="-seats_left")
    with django_assert_num_queries(0):
        _page(client, free="on", sort="-seats_left")


def test_a_schools_contracted_base_is_never_shown_to_another_schools_student(client, make_session):
    contract = SchoolContractFactory(
        base=BaseFactory(level=BaseLevel.SCHOOL, district=district(XUHUI))
    )
    own = make_session(post=PostFactory(base=contract.base))
    public = make_session()
    ours = StudentFactory(school_class__school=contract.school)
    theirs = StudentFactory()
    client.force_login(ours.user)
    assert set(_seats(_page(client))) == {own.post_id, public.post_id}
    assert set(_seats(_page(client))) == {own.post_id, public.post_id}  # warm
    client.force_login(theirs.user)
    assert set(_seats(_page(client))) == {public.post_id}
    client.logout()
    assert set(_seats(_page(client))) == {public.post_id}


def test_a_seat_taken_or_freed_shows_on_the_next_view(client, student, make_session, make_student):
    session = make_session(capacity=5)
    client.force_login(student.user)
    assert _seats(_page(client)) == {session.post_id: 5}
    application_apply(student=make_student(), session=session)
    assert _seats(_page(client)) == {session.post_id: 4}
    Session.objects.filter(pk=session.pk).update(taken=F("taken") + 4)  # full now
    assert _seats(_page(client, free="on")) == {}
    page = _page(client)
    assert f'href="/posts/{session.post_id}/"' in page and _seats(page) == {}  # "Full"


def test_publishing_closing_and_cancelling_show_at_once(client, make_session):
    base = BaseFactory(district=district(XUHUI))
    session = make_session(post=PostFactory(base=base, status=PostStatus.IN_REVIEW))
    assert _seats(_page(client)) == {}
    post = session.post
    post.status = PostStatus.PUBLISHED
    post.save()
    assert set(_seats(_page(client))) == {post.pk}
    post.status = PostStatus.CLOSED
    post.save(update_fields=["status"])
    assert _seats(_page(client)) == {}
    post.status = PostStatus.PUBLISHED
    post.save()
    assert set(_seats(_page(client))) == {post.pk}
    Session.objects.filter(pk=session.pk).update(cancelled_at=timezone.now())
    assert _seats(_page(client)) == {}


def test_a_session_closing_for_applications_leaves_the_page_when_it_closes(client, make_session):
    closing = make_session(applications_close_at=timezone.now() + timedelta(seconds=2))
    later = make_session()
    assert set(_seats(_page(client))) == {closing.post_id, later.post_id}
    time.sleep(2.1)
    assert set(_seats(_page(client))) == {later.post_id}


def test_a_deactivated_user_is_refused_on_their_next_request(client, student, make_session):
    make_session()
    client.force_login(student.user)
    assert student.user.get_full_name() in _page(client)
    assert client.get(reverse("dashboards:dashboard"), follow=True).status_code == 200
    # as the school year's close and the roster do it: a queryset update, no save()
    User.objects.filter(pk=student.user_id).update(is_active=False)
    page = _page(client)
    assert student.user.get_full_name() not in page
    assert 'data-testid="signed-in-as"' not in page
    assert (
        "/accounts/login/"
        in client.get(reverse("dashboards:dashboard"), follow=True).redirect_chain[-1][0]
    )


def test_a_renamed_user_sees_the_new_name_and_a_password_change_signs_them_out(
    client, student, make_session
):
    make_session()
    user = student.user
    client.force_login(user)
    _page(client)
    user.full_name = "新名字"
    user.save()
    assert "新名字" in _page(client)
    user.set_password("another-password-123")
    user.save()
    assert 'data-testid="signed-in-as"' not in _page(client)


def test_the_other_language_gets_its_own_page(client, student, make_session):
    make_session()
    client.force_login(student.user)
    chinese = _page(client)
    assert 'lang="zh-CN"' in chinese
    client.cookies["django_language"] = "en"
    english = _page(client)
    assert '<html lang="en"' in english and "open post" in english
    client.cookies["django_language"] = "zh-hans"
    assert CSRF.sub("", _page(client)) == CSRF.sub("", chinese)
