"""The notifications page: read and unread, mark all read, each message in the reader's language.

A notification is stored as a message code and its parameters, so a Chinese-speaking sender's
action reaches an English reader in English (and the other way round), on the page and by e-mail.
"""

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from bases.messages import APPLICATION_PROMOTED, POST_RETURNED
from bases.services.applications import application_apply, application_apply_or_waitlist
from portal.models import Notification
from portal.services import notification_email, notification_send
from tests.factories import PASSWORD, SessionFactory, StudentFactory, UserFactory
from tests.queries import queries_for

pytestmark = pytest.mark.django_db

SESSION = "图书管理员 2026-12-10 09:00–12:00"


def send(user, n=1, url="/applications/"):
    return [
        notification_send(
            user=user, message=APPLICATION_PROMOTED, params={"session": SESSION}, url=url
        )
        for _ in range(n)
    ]


def test_a_message_is_shown_in_the_readers_language(client):
    user = UserFactory()
    send(user)
    client.force_login(user)
    chinese = client.get("/notifications/").content.decode()
    assert f"有名额空出，您已递补录取：{SESSION}。" in chinese
    client.post("/i18n/setlang/", {"language": "en", "next": "/notifications/"})
    english = client.get("/notifications/").content.decode()
    assert f"A seat came free: you are confirmed for {SESSION}." in english
    assert "有名额空出" not in english


def test_the_page_marks_unread_ones_and_marks_all_read(client):
    user = UserFactory()
    first, second = send(user, 2)
    client.force_login(user)
    html = client.get("/notifications/").content.decode()
    assert html.count('class="card notification unread"') == 2
    assert "2 条未读" in html
    response = client.post("/notifications/read-all/")
    assert response.status_code == 302
    assert Notification.objects.filter(user=user, read_at=None).count() == 0
    html = client.get("/notifications/").content.decode()
    assert "unread" not in html.split("notification-list")[1]
    assert "0 条未读" in html


def test_opening_one_marks_it_read_and_goes_to_its_page(client):
    user = UserFactory()
    first, second = send(user, 2)
    client.force_login(user)
    response = client.get(reverse("notification-open", args=[first.pk]))
    assert response.status_code == 302 and response["Location"] == "/applications/"
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None


def test_another_users_notification_is_404_and_a_foreign_link_is_not_followed(client):
    user, other = UserFactory(), UserFactory()
    (theirs,) = send(other)
    (mine,) = send(user, url="https://evil.example/")
    client.force_login(user)
    assert client.get(reverse("notification-open", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    response = client.get(reverse("notification-open", args=[mine.pk]))
    assert response["Location"] == "/notifications/"


def test_the_page_is_paginated_in_a_fixed_number_of_queries(client):
    user = UserFactory()
    send(user, 3)
    client.force_login(user)
    few, _ = queries_for(lambda: client.get("/notifications/"))
    send(user, 40)
    many, response = queries_for(lambda: client.get("/notifications/"))
    assert response.content.decode().count('data-testid="notification"') == 20
    # the page's count, its rows, the unread count (the session and the user: from the cache)
    assert few == many <= 3
    assert 'href="?page=2"' in response.content.decode()


def test_the_dashboard_shows_the_unread_count_and_links_to_the_page(client):
    student = StudentFactory()
    send(student.user, 3)
    client.force_login(student.user)
    html = client.get("/dashboard/student/").content.decode()
    assert 'data-testid="dashboard-unread">3 条未读' in html
    assert 'href="/notifications/"' in html


@override_settings(PORTAL_SITE_URL="https://portal.example.org")
def test_the_e_mail_is_written_in_the_recipients_language_with_links(client):
    reader = UserFactory(email="reader@example.org")
    reader.set_password(PASSWORD)
    reader.save()
    # Signing in from a browser set to English keeps English as the reader's language.
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.post("/accounts/login/", {"username": reader.username, "password": PASSWORD})
    assert response.status_code == 302
    reader.refresh_from_db()
    assert reader.language == "en"
    # The reviewer works in Chinese; the coordinator reads in English.
    with translation.override("zh-hans"):
        notification = notification_send(
            user=reader,
            message=POST_RETURNED,
            params={"title": "图书管理员", "note": "请补充安全说明"},
            url="/manage/posts/7/",
        )
    assert notification.message == "岗位被退回：图书管理员。理由：请补充安全说明"
    notification_email(notification_id=notification.pk)
    (sent,) = mail.outbox
    assert sent.to == ["reader@example.org"]
    assert "a new notification" in sent.subject
    assert sent.body.startswith("Post returned: 图书管理员. Reason: 请补充安全说明")
    assert "https://portal.example.org/manage/posts/7/" in sent.body
    assert "https://portal.example.org/notifications/" in sent.body


def test_switching_language_while_signed_in_changes_the_e_mails_language(client):
    user = UserFactory()
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    user.refresh_from_db()
    assert user.language == "en"
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    user.refresh_from_db()
    assert user.language == "zh-hans"


def test_applying_tells_the_student_where_they_stand(client):
    session = SessionFactory(capacity=1)
    first, second = StudentFactory(), StudentFactory()
    application_apply(student=first, session=session)
    application_apply_or_waitlist(student=second, session=session)
    assert Notification.objects.get(user=first.user).code == "application.confirmed"
    waiting = Notification.objects.get(user=second.user)
    assert waiting.code == "application.waitlisted" and waiting.params["position"] == 1
    client.force_login(second.user)
    assert "候补名单第 1 位" in client.get("/notifications/").content.decode()


def test_a_student_without_an_e_mail_address_queues_no_e_mail(django_capture_on_commit_callbacks):
    user = UserFactory(email="")
    with django_capture_on_commit_callbacks() as callbacks:
        send(user)
    assert callbacks == []
