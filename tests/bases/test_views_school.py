"""A school admin's contracted bases, and a head teacher booking seats for the class."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from bases.models import (
    Application,
    ApplicationStatus,
    BaseLevel,
    BaseStatus,
    ClassReservation,
    PostStatus,
    SchoolContract,
)
from bases.services.reservations import class_reservation_create
from portal.models import AuditLog, Role
from tests.factories import (
    BaseFactory,
    CoordinatorFactory,
    DistrictAdminFactory,
    HeadTeacherFactory,
    SchoolClassFactory,
    SchoolContractFactory,
    SchoolFactory,
    SessionFactory,
    StudentFactory,
    UserFactory,
    district,
)
from tests.personas import outsider_of, owner_of
from tests.queries import queries_for

pytestmark = pytest.mark.django_db

PUDONG = "310115"


@pytest.fixture
def client(client):
    """Pages in English, so messages read the same whatever the catalogue holds."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _in_days(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


# ------------------------------------------------------------------------------
# School admin: contracted bases
# ------------------------------------------------------------------------------
@pytest.fixture
def school():
    return SchoolFactory(name="上海中学")


@pytest.fixture
def owned(school):
    """Owner and colleague are this school's admins; the outsider, another school's."""
    return school


@pytest.fixture
def school_base():
    return BaseFactory(
        name="校外农场", level=BaseLevel.SCHOOL, status=BaseStatus.PENDING, certified_until=None
    )


class TestSchoolBases:
    def test_it_lists_the_schools_contracts_with_their_expiry(self, client, owner, school):
        contract = SchoolContractFactory(school=school, base__name="科技馆")
        SchoolContractFactory(base__name="别校的基地")
        client.force_login(owner)
        response = client.get(reverse("bases:school-bases", args=[school.pk]))
        page = response.content.decode()
        assert response.status_code == 200
        assert "科技馆" in page and contract.valid_until.isoformat() in page
        assert "别校的基地" not in page.split('data-testid="contract-form"')[0]

    def test_a_colleague_may_open_it_and_another_schools_admin_gets_404(
        self, client, colleague, outsider, school
    ):
        url = reverse("bases:school-bases", args=[school.pk])
        client.force_login(colleague)
        assert client.get(url).status_code == 200
        client.force_login(outsider)
        assert client.get(url).status_code == 404

    @pytest.mark.parametrize(
        "make_user",
        [
            pytest.param(lambda: StudentFactory().user, id="student"),
            pytest.param(lambda: CoordinatorFactory().user, id="coordinator"),
            pytest.param(lambda: HeadTeacherFactory().user, id="head_teacher"),
            pytest.param(lambda: DistrictAdminFactory().user, id="district_admin"),
            pytest.param(lambda: UserFactory(role=Role.CITY_ADMIN), id="city_admin"),
        ],
    )
    def test_other_roles_get_404(self, client, make_user, school):
        client.force_login(make_user())
        assert client.get(reverse("bases:school-bases", args=[school.pk])).status_code == 404

    def test_no_contract_yet_says_so(self, client, owner, school):
        client.force_login(owner)
        page = client.get(reverse("bases:school-bases", args=[school.pk])).content.decode()
        assert "The school has no contracted bases yet." in page

    def test_only_school_level_bases_not_revoked_are_offered(self, client, owner, school):
        offered = BaseFactory(name="可签约", level=BaseLevel.SCHOOL)
        BaseFactory(name="已撤销", level=BaseLevel.SCHOOL, status=BaseStatus.REVOKED)
        BaseFactory(name="区级", level=BaseLevel.DISTRICT)
        client.force_login(owner)
        form = client.get(reverse("bases:school-bases", args=[school.pk])).context["contract_form"]
        assert list(form.fields["base"].queryset) == [offered]

    def test_contracting_a_base_lists_it_with_its_expiry_and_keeps_the_reason(
        self, client, owner, school, school_base
    ):
        client.force_login(owner)
        response = client.post(
            reverse("bases:school-contract-create", args=[school.pk]),
            {"base": school_base.pk, "valid_until": _in_days(300), "reason": "学农合作"},
            follow=True,
        )
        contract = SchoolContract.objects.get()
        assert (contract.school, contract.base, contract.valid_until.isoformat()) == (
            school,
            school_base,
            _in_days(300),
        )
        assert AuditLog.objects.get(action="base.contract").data["reason"] == "学农合作"
        assert "校外农场" in response.content.decode()
        school_base.refresh_from_db()
        assert school_base.status == BaseStatus.CERTIFIED

    def test_an_expiry_in_the_past_is_refused_and_nothing_saved(
        self, client, owner, school, school_base
    ):
        client.force_login(owner)
        response = client.post(
            reverse("bases:school-contract-create", args=[school.pk]),
            {"base": school_base.pk, "valid_until": _in_days(-1), "reason": "学农合作"},
        )
        assert response.status_code == 200
        assert "The expiry date must be in the future." in response.content.decode()
        assert not SchoolContract.objects.exists()

    def test_a_base_of_another_level_cannot_be_chosen(self, client, owner, school):
        district_base = BaseFactory(level=BaseLevel.DISTRICT)
        client.force_login(owner)
        response = client.post(
            reverse("bases:school-contract-create", args=[school.pk]),
            {"base": district_base.pk, "valid_until": _in_days(300), "reason": "x"},
        )
        assert response.context["contract_form"].errors["base"]
        assert not SchoolContract.objects.exists()

    def test_a_contract_needs_a_reason(self, client, owner, school, school_base):
        client.force_login(owner)
        response = client.post(
            reverse("bases:school-contract-create", args=[school.pk]),
            {"base": school_base.pk, "valid_until": _in_days(300), "reason": ""},
        )
        assert "Give a reason for this decision." in response.content.decode()
        assert not SchoolContract.objects.exists()

    def test_another_schools_admin_cannot_contract_for_it(
        self, client, outsider, school, school_base
    ):
        client.force_login(outsider)
        response = client.post(
            reverse("bases:school-contract-create", args=[school.pk]),
            {"base": school_base.pk, "valid_until": _in_days(300), "reason": "x"},
        )
        assert response.status_code == 404
        assert not SchoolContract.objects.exists()

    def test_ending_a_contract_removes_it_and_keeps_the_reason(self, client, owner, school):
        contract = SchoolContractFactory(school=school)
        client.force_login(owner)
        response = client.post(
            reverse("bases:school-contract-end", args=[contract.pk]),
            {f"end{contract.pk}-reason": "合作到期"},
        )
        assert response.status_code == 302
        assert not SchoolContract.objects.exists()
        assert AuditLog.objects.get(action="base.contract_end").data["reason"] == "合作到期"

    def test_ending_without_a_reason_is_refused_next_to_the_contract(self, client, owner, school):
        contract = SchoolContractFactory(school=school)
        client.force_login(owner)
        response = client.post(
            reverse("bases:school-contract-end", args=[contract.pk]),
            {f"end{contract.pk}-reason": ""},
        )
        assert response.status_code == 200
        assert response.context["contracts"][0].end_form.errors["reason"]
        assert SchoolContract.objects.filter(pk=contract.pk).exists()

    def test_another_schools_admin_cannot_end_the_contract(self, client, outsider, school):
        contract = SchoolContractFactory(school=school)
        client.force_login(outsider)
        response = client.post(
            reverse("bases:school-contract-end", args=[contract.pk]),
            {f"end{contract.pk}-reason": "x"},
        )
        assert response.status_code == 404
        assert SchoolContract.objects.filter(pk=contract.pk).exists()

    def test_the_number_of_queries_does_not_grow_with_the_contracts(self, client, owner, school):
        url = reverse("bases:school-bases", args=[school.pk])
        SchoolContractFactory.create_batch(2, school=school)
        client.force_login(owner)
        small, _ = queries_for(lambda: client.get(url))
        SchoolContractFactory.create_batch(8, school=school)
        large, response = queries_for(lambda: client.get(url))
        assert len(response.context["contracts"]) == 10
        # session, user, school, contracts with their bases, the bases to choose from
        assert small == large <= 5

    def test_the_dashboard_links_to_the_schools_bases(self, client, owner, school):
        client.force_login(owner)
        page = client.get(reverse("dashboards:dashboard-school")).content.decode()
        assert reverse("bases:school-bases", args=[school.pk]) in page


# ------------------------------------------------------------------------------
# Head teacher: class booking
# ------------------------------------------------------------------------------
@pytest.fixture
def school_class():
    return SchoolClassFactory(school__name="上海中学")


@pytest.fixture
def teacher(school_class):
    return owner_of(school_class)


@pytest.fixture
def colleague_teacher(school_class):
    """Head teacher of another class of the same school."""
    return owner_of(SchoolClassFactory(school=school_class.school))


@pytest.fixture
def outsider_teacher(school_class):
    return outsider_of(school_class)


@pytest.fixture
def session():
    return SessionFactory(post__title="图书管理员", capacity=30)


def _book(user, session, school_class, seats=5):
    return class_reservation_create(
        session=session,
        school_class=school_class,
        seats=seats,
        release_at=session.applications_close_at,
        reserved_by=user,
    )


class TestClassBookList:
    def test_it_lists_open_sessions_with_free_seats_in_the_schools_district(
        self, client, teacher, session
    ):
        SessionFactory(post__title="满员", capacity=5, taken=5)
        SessionFactory(post__title="浦东岗位", post__base__district=district(PUDONG))
        SessionFactory(post__title="草稿", post__status=PostStatus.DRAFT)
        client.force_login(teacher)
        response = client.get(reverse("bases:class-book-list"))
        assert response.status_code == 200
        assert [s.post.title for s in response.context["page"].object_list] == ["图书管理员"]
        assert reverse("bases:class-book", args=[session.pk]) in response.content.decode()

    def test_another_district_can_be_chosen(self, client, teacher):
        SessionFactory(post__title="浦东岗位", post__base__district=district(PUDONG))
        client.force_login(teacher)
        response = client.get(reverse("bases:class-book-list"), {"district": PUDONG})
        assert [s.post.title for s in response.context["page"].object_list] == ["浦东岗位"]

    def test_a_head_teacher_without_a_class_is_told_so(self, client):
        client.force_login(UserFactory(role=Role.HEAD_TEACHER))
        page = client.get(reverse("bases:class-book-list")).content.decode()
        assert "You are not the head teacher of any class yet." in page

    def test_other_roles_get_404(self, client):
        client.force_login(StudentFactory().user)
        assert client.get(reverse("bases:class-book-list")).status_code == 404

    def test_the_number_of_queries_does_not_grow_with_the_sessions(self, client, teacher):
        url = reverse("bases:class-book-list")
        SessionFactory.create_batch(2)
        client.force_login(teacher)
        small, _ = queries_for(lambda: client.get(url))
        SessionFactory.create_batch(10)
        large, response = queries_for(lambda: client.get(url))
        assert len(response.context["page"].object_list) == 12
        # session, user, classes, districts, viewer's school, count, page
        assert small == large <= 7

    def test_the_dashboard_links_to_booking(self, client, teacher):
        client.force_login(teacher)
        page = client.get(reverse("dashboards:dashboard-teacher")).content.decode()
        assert reverse("bases:class-book-list") in page
        assert reverse("bases:class-bookings") in page


class TestClassBook:
    def _post(self, client, session, school_class, **fields):
        data = {
            "school_class": school_class.pk,
            "seats": 5,
            "release_at": _local(session.applications_close_at - timedelta(hours=1)),
        } | fields
        return client.post(reverse("bases:class-book", args=[session.pk]), data)

    def test_it_shows_the_session_and_the_form(self, client, teacher, session, school_class):
        client.force_login(teacher)
        response = client.get(reverse("bases:class-book", args=[session.pk]))
        assert response.status_code == 200
        assert list(response.context["form"].fields["school_class"].queryset) == [school_class]
        assert "图书管理员" in response.content.decode()

    def test_booking_holds_the_seats_for_the_class(self, client, teacher, session, school_class):
        client.force_login(teacher)
        response = self._post(client, session, school_class, seats=6)
        reservation = ClassReservation.objects.get()
        assert response.status_code == 302
        assert response.url.startswith(reverse("bases:class-bookings"))
        assert (reservation.school_class, reservation.seats) == (school_class, 6)
        session.refresh_from_db()
        assert session.seats_left == 24

    def test_more_seats_than_are_free_is_refused_and_nothing_held(
        self, client, teacher, school_class
    ):
        session = SessionFactory(capacity=10, taken=7)
        client.force_login(teacher)
        response = self._post(client, session, school_class, seats=5)
        assert response.status_code == 200
        assert "Only 3 seats are free on this session." in response.content.decode()
        assert not ClassReservation.objects.exists()
        session.refresh_from_db()
        assert session.taken == 7

    def test_a_naming_cut_off_after_applications_close_is_refused(
        self, client, teacher, session, school_class
    ):
        client.force_login(teacher)
        response = self._post(client, session, school_class, release_at=_local(session.starts_at))
        assert "The naming cut-off must be in the future" in response.content.decode()
        assert not ClassReservation.objects.exists()

    def test_another_teachers_class_cannot_be_chosen(
        self, client, colleague_teacher, session, school_class
    ):
        client.force_login(colleague_teacher)
        response = self._post(client, session, school_class)
        assert response.context["form"].errors["school_class"]
        assert not ClassReservation.objects.exists()

    def test_a_session_of_an_unpublished_post_is_404(self, client, teacher, school_class):
        session = SessionFactory(post__status=PostStatus.IN_REVIEW)
        client.force_login(teacher)
        assert client.get(reverse("bases:class-book", args=[session.pk])).status_code == 404
        assert self._post(client, session, school_class).status_code == 404

    def test_other_roles_get_404(self, client, session):
        client.force_login(CoordinatorFactory(base=session.post.base).user)
        assert client.get(reverse("bases:class-book", args=[session.pk])).status_code == 404


class TestClassBookings:
    def test_it_lists_the_bookings_with_the_named_students(
        self, client, teacher, session, school_class
    ):
        reservation = _book(teacher, session, school_class, seats=3)
        named = StudentFactory(school_class=school_class, name="李明")
        Application.objects.create(
            student=named,
            session=session,
            reservation=reservation,
            status=ApplicationStatus.CONFIRMED,
        )
        unnamed = StudentFactory(school_class=school_class, name="王芳")
        client.force_login(teacher)
        response = client.get(reverse("bases:class-bookings"))
        page = response.content.decode()
        assert response.status_code == 200
        assert "图书管理员" in page and "1 of 3 seats named" in page
        assert "李明" in page.split('data-testid="name-form"')[0]
        choices = response.context["page"][0].name_form.fields["student"].choices
        assert choices[1:] == [(unnamed.pk, f"王芳 ({unnamed.masked_student_number})")]

    def test_other_teachers_do_not_see_the_class_bookings(
        self, client, teacher, colleague_teacher, session, school_class
    ):
        _book(teacher, session, school_class)
        client.force_login(colleague_teacher)
        page = client.get(reverse("bases:class-bookings")).content.decode()
        assert "Your class has no bookings yet." in page

    def test_naming_a_student_confirms_them_on_a_held_seat(
        self, client, teacher, session, school_class
    ):
        reservation = _book(teacher, session, school_class, seats=2)
        student = StudentFactory(school_class=school_class, name="李明")
        client.force_login(teacher)
        response = client.post(
            reverse("bases:class-booking-name", args=[reservation.pk]),
            {f"r{reservation.pk}-student": student.pk},
            follow=True,
        )
        application = Application.objects.get()
        assert (application.student, application.status, application.reservation) == (
            student,
            ApplicationStatus.CONFIRMED,
            reservation,
        )
        assert "1 of 2 seats named" in response.content.decode()
        session.refresh_from_db()
        assert session.taken == 2

    def test_a_student_of_another_class_cannot_be_named(
        self, client, teacher, session, school_class
    ):
        reservation = _book(teacher, session, school_class)
        stranger = StudentFactory()
        client.force_login(teacher)
        response = client.post(
            reverse("bases:class-booking-name", args=[reservation.pk]),
            {f"r{reservation.pk}-student": stranger.pk},
        )
        assert response.status_code == 200
        assert response.context["page"][0].name_form.errors["student"]
        assert not Application.objects.exists()

    def test_naming_more_students_than_seats_is_refused_next_to_the_booking(
        self, client, teacher, session, school_class
    ):
        reservation = _book(teacher, session, school_class, seats=1)
        first, second = StudentFactory.create_batch(2, school_class=school_class)
        client.force_login(teacher)
        url = reverse("bases:class-booking-name", args=[reservation.pk])
        client.post(url, {f"r{reservation.pk}-student": first.pk})
        response = client.post(url, {f"r{reservation.pk}-student": second.pk})
        assert "Every booked seat is already named." in response.content.decode()
        assert Application.objects.count() == 1

    def test_another_teacher_cannot_name_on_the_booking(
        self, client, teacher, outsider_teacher, session, school_class
    ):
        reservation = _book(teacher, session, school_class)
        student = StudentFactory(school_class=school_class)
        client.force_login(outsider_teacher)
        response = client.post(
            reverse("bases:class-booking-name", args=[reservation.pk]),
            {f"r{reservation.pk}-student": student.pk},
        )
        assert response.status_code == 404
        assert not Application.objects.exists()

    def test_the_number_of_queries_does_not_grow_with_the_bookings(
        self, client, teacher, school_class
    ):
        url = reverse("bases:class-bookings")
        StudentFactory.create_batch(5, school_class=school_class)
        start = timezone.localtime() + timedelta(days=5)
        client.force_login(teacher)

        def book(days):
            for n in days:
                _book(teacher, SessionFactory(starts_at=start + timedelta(days=n)), school_class)

        book(range(2))
        small, _ = queries_for(lambda: client.get(url))
        book(range(2, 8))
        large, response = queries_for(lambda: client.get(url))
        assert len(response.context["page"].object_list) == 8
        # session, user, count, reservations, named applications, class students
        assert small == large <= 6
