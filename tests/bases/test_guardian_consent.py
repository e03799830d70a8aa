"""A guardian gives and withdraws consent in the portal, through the same service the school's
paper page uses (`given_via=guardian`), audited with time and guardian; another family's
guardian gets 404 and the service refuses anyone not linked to the child."""

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from bases.errors import BaseError
from bases.models import ApplicationStatus, ConsentVia, GuardianConsent
from bases.services.applications import application_apply
from bases.services.consent import guardian_consent_record, guardian_consent_withdraw
from portal.models import AuditLog, Notification
from tests.factories import BaseFactory, PostFactory, district, guardian_for
from tests.personas import owner_of

from .conftest import XUHUI

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def overnight_session(make_session):
    post = PostFactory(base=BaseFactory(district=district(XUHUI)), title="学农", overnight=True)
    return make_session(post=post, capacity=1)


@pytest.fixture
def waiting(overnight_session, student):
    """The student's application for the overnight session, waiting for consent; the guardian."""
    guardian = guardian_for(student)
    application = application_apply(student=student, session=overnight_session)
    assert application.status == ApplicationStatus.AWAITING_CONSENT
    return application, guardian


@pytest.fixture
def other_guardian(make_student):
    return guardian_for(make_student(name="王芳"), username="wang-parent")


def test_the_guardian_hears_that_the_application_waits_for_their_consent(waiting):
    application, guardian = waiting
    notification = Notification.objects.get(user=guardian, code="application.awaiting_consent")
    with translation.override("en"):
        assert notification.text.startswith(f"About {application.student.name}: ")


def test_the_guardian_consents_on_the_page_and_the_application_is_confirmed(client, waiting):
    application, guardian = waiting
    client.force_login(guardian)
    page = client.get(reverse("bases:guardian-consents"))
    assert "学农" in page.text and 'data-testid="give-consent"' in page.text
    response = client.post(
        reverse("bases:guardian-consent-give", args=[application.pk]), follow=True
    )
    assert "Thank you. Consent given for" in response.text
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CONFIRMED
    application.session.refresh_from_db()
    assert application.session.taken == 1
    consent = GuardianConsent.objects.get(student=application.student)
    assert (consent.given_via, consent.recorded_by) == (ConsentVia.GUARDIAN, guardian)
    entry = AuditLog.objects.get(action="consent.record")
    assert entry.actor == guardian
    assert entry.data["given_via"] == "guardian" and entry.data["by"] == guardian.full_name
    assert entry.data["at"] == consent.given_at.isoformat()
    # Child and guardian both hear of the confirmation.
    assert Notification.objects.filter(
        user=application.student.user, code="application.confirmed"
    ).exists()
    assert Notification.objects.filter(user=guardian, code="application.confirmed").exists()


def test_the_guardian_withdraws_and_the_seat_is_given_back(client, waiting):
    application, guardian = waiting
    consent = guardian_consent_record(
        student=application.student,
        post=application.session.post,
        recorded_by=guardian,
        given_via=ConsentVia.GUARDIAN,
    )
    client.force_login(guardian)
    response = client.post(
        reverse("bases:guardian-consent-withdraw", args=[consent.pk]), follow=True
    )
    assert "Consent withdrawn for" in response.text
    application.refresh_from_db()
    assert application.status == ApplicationStatus.AWAITING_CONSENT
    application.session.refresh_from_db()
    assert application.session.taken == 0
    consent.refresh_from_db()
    assert consent.withdrawn_by == guardian and consent.withdrawn_at is not None
    entry = AuditLog.objects.get(action="consent.withdraw")
    assert entry.actor == guardian and entry.data["at"] == consent.withdrawn_at.isoformat()


def test_a_guardian_may_withdraw_a_consent_the_school_recorded_on_paper(waiting, school_admin):
    application, guardian = waiting
    consent = guardian_consent_record(
        student=application.student, post=application.session.post, recorded_by=school_admin
    )
    guardian_consent_withdraw(consent=consent, withdrawn_by=guardian)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.AWAITING_CONSENT


def test_another_familys_guardian_gets_404_on_every_consent_url(client, waiting, other_guardian):
    application, guardian = waiting
    consent = guardian_consent_record(
        student=application.student,
        post=application.session.post,
        recorded_by=guardian,
        given_via=ConsentVia.GUARDIAN,
    )
    client.force_login(other_guardian)
    page = client.get(reverse("bases:guardian-consents"))
    assert application.student.name not in page.text
    assert "Nothing is waiting for your consent." in page.text
    for url in (
        reverse("bases:guardian-consent-give", args=[application.pk]),
        reverse("bases:guardian-consent-withdraw", args=[consent.pk]),
    ):
        assert client.post(url).status_code == 404, url
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_the_service_refuses_a_guardian_not_linked_to_the_child(waiting, other_guardian):
    application, _guardian = waiting
    with pytest.raises(BaseError) as error:
        guardian_consent_record(
            student=application.student,
            post=application.session.post,
            recorded_by=other_guardian,
            given_via=ConsentVia.GUARDIAN,
        )
    assert error.value.code == "not_authorised"
    assert not GuardianConsent.objects.exists()


def test_the_school_admins_paper_page_does_not_open_for_a_guardian(client, waiting):
    _application, guardian = waiting
    client.force_login(guardian)
    assert client.get(reverse("bases:consents-awaiting")).status_code == 404


@pytest.fixture
def school_admin(school_class):
    return owner_of(school_class.school)
