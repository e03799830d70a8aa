"""Certifying bases: who may decide, the expiry, the audit trail, and what students then see."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bases.errors import BaseError
from bases.models import Application, BaseLevel, BaseStatus, SchoolContract
from bases.selectors import open_post_counts_by_district, post_listing
from bases.services.applications import application_apply
from bases.services.certification import (
    base_certify,
    base_revoke,
    base_suspend,
    school_contract_end,
    school_contract_sign,
)
from portal.models import AuditLog
from tests.factories import BaseFactory, SchoolAdminFactory, SchoolFactory, district

from .conftest import HUANGPU, XUHUI

pytestmark = pytest.mark.django_db

NEXT_YEAR = timezone.localdate() + timedelta(days=365)


def _pending(level=BaseLevel.DISTRICT, code=XUHUI):
    return BaseFactory(
        level=level,
        district=district(code),
        status=BaseStatus.PENDING,
        certified_until=None,
        certified_at=None,
    )


def _audit(base, action):
    return AuditLog.objects.filter(
        action=action, object_type="bases.base", object_id=str(base.pk)
    ).get()


class TestCertifying:
    @pytest.mark.parametrize("level", [BaseLevel.DISTRICT, BaseLevel.PROJECT])
    def test_the_district_admin_certifies_bases_and_projects_of_the_district(
        self, district_admin, level
    ):
        base = _pending(level)
        base_certify(
            base=base, certified_by=district_admin, valid_until=NEXT_YEAR, reason="实地考察合格"
        )
        base.refresh_from_db()
        assert base.status == BaseStatus.CERTIFIED
        assert base.certified_until == NEXT_YEAR
        assert base.certified_by == district_admin
        entry = _audit(base, "base.certify")
        assert entry.actor == district_admin
        assert entry.data["reason"] == "实地考察合格"
        assert entry.data["before"] == BaseStatus.PENDING
        assert entry.data["valid_until"] == NEXT_YEAR.isoformat()

    def test_a_district_admin_may_not_certify_a_base_of_another_district(
        self, other_district_admin
    ):
        base = _pending()
        with pytest.raises(BaseError) as error:
            base_certify(
                base=base, certified_by=other_district_admin, valid_until=NEXT_YEAR, reason="ok"
            )
        assert error.value.code == "not_authorised"
        base.refresh_from_db()
        assert base.status == BaseStatus.PENDING
        assert not AuditLog.objects.exists()

    def test_a_district_admin_may_not_certify_a_city_level_base(self, district_admin):
        base = _pending(BaseLevel.CITY)
        with pytest.raises(BaseError) as error:
            base_certify(base=base, certified_by=district_admin, valid_until=NEXT_YEAR, reason="x")
        assert error.value.code == "not_authorised"
        base.refresh_from_db()
        assert base.status == BaseStatus.PENDING

    def test_the_city_admin_certifies_city_level_bases(self, city_admin):
        base = _pending(BaseLevel.CITY, code=HUANGPU)
        base_certify(base=base, certified_by=city_admin, valid_until=NEXT_YEAR, reason="市级认证")
        base.refresh_from_db()
        assert base.status == BaseStatus.CERTIFIED
        assert _audit(base, "base.certify").data["reason"] == "市级认证"

    def test_nobody_certifies_a_school_level_base_it_is_contracted_instead(
        self, district_admin, city_admin
    ):
        base = _pending(BaseLevel.SCHOOL)
        for user in (district_admin, city_admin):
            with pytest.raises(BaseError) as error:
                base_certify(base=base, certified_by=user, valid_until=NEXT_YEAR, reason="x")
            assert error.value.code == "not_authorised"

    @pytest.mark.parametrize("days", [0, -1, -365])
    def test_the_expiry_must_be_in_the_future(self, district_admin, days):
        base = _pending()
        with pytest.raises(BaseError) as error:
            base_certify(
                base=base,
                certified_by=district_admin,
                valid_until=timezone.localdate() + timedelta(days=days),
                reason="x",
            )
        assert error.value.code == "expiry_in_past"
        base.refresh_from_db()
        assert base.status == BaseStatus.PENDING
        assert base.certified_until is None
        assert not AuditLog.objects.exists()

    def test_a_decision_needs_a_reason(self, district_admin):
        base = _pending()
        with pytest.raises(BaseError) as error:
            base_certify(base=base, certified_by=district_admin, valid_until=NEXT_YEAR, reason=" ")
        assert error.value.code == "reason_required"
        base.refresh_from_db()
        assert base.status == BaseStatus.PENDING

    def test_certifying_again_renews_the_expiry(self, district_admin):
        base = BaseFactory(district=district(XUHUI))
        later = NEXT_YEAR + timedelta(days=365)
        base_certify(base=base, certified_by=district_admin, valid_until=later, reason="续期")
        base.refresh_from_db()
        assert base.certified_until == later
        assert _audit(base, "base.certify").data["before"] == BaseStatus.CERTIFIED


class TestSuspendingAndRevoking:
    def test_the_district_admin_suspends_a_base_with_a_reason(self, district_admin):
        base = BaseFactory(district=district(XUHUI))
        base_suspend(base=base, suspended_by=district_admin, reason="安全隐患整改")
        base.refresh_from_db()
        assert base.status == BaseStatus.SUSPENDED
        entry = _audit(base, "base.suspend")
        assert entry.data == {"reason": "安全隐患整改", "before": BaseStatus.CERTIFIED}

    def test_the_city_admin_revokes_a_city_level_base(self, city_admin):
        base = BaseFactory(level=BaseLevel.CITY)
        base_revoke(base=base, revoked_by=city_admin, reason="不再符合条件")
        base.refresh_from_db()
        assert base.status == BaseStatus.REVOKED
        assert _audit(base, "base.revoke").data["reason"] == "不再符合条件"

    def test_a_district_admin_may_not_suspend_a_base_of_another_district(
        self, other_district_admin
    ):
        base = BaseFactory(district=district(XUHUI))
        with pytest.raises(BaseError) as error:
            base_suspend(base=base, suspended_by=other_district_admin, reason="x")
        assert error.value.code == "not_authorised"
        base.refresh_from_db()
        assert base.status == BaseStatus.CERTIFIED

    def test_suspending_needs_a_reason(self, district_admin):
        base = BaseFactory(district=district(XUHUI))
        with pytest.raises(BaseError) as error:
            base_suspend(base=base, suspended_by=district_admin, reason="")
        assert error.value.code == "reason_required"
        base.refresh_from_db()
        assert base.status == BaseStatus.CERTIFIED

    def test_the_district_admin_suspends_a_school_level_base_of_the_district(self, district_admin):
        base = BaseFactory(level=BaseLevel.SCHOOL, district=district(XUHUI))
        base_suspend(base=base, suspended_by=district_admin, reason="投诉核查中")
        base.refresh_from_db()
        assert base.status == BaseStatus.SUSPENDED

    def test_a_revoked_base_can_be_certified_again_by_a_new_decision(self, district_admin):
        base = BaseFactory(district=district(XUHUI))
        base_revoke(base=base, revoked_by=district_admin, reason="违规")
        base_certify(base=base, certified_by=district_admin, valid_until=NEXT_YEAR, reason="复查")
        base.refresh_from_db()
        assert base.status == BaseStatus.CERTIFIED
        assert list(
            AuditLog.objects.filter(object_id=str(base.pk))
            .order_by("id")
            .values_list("action", flat=True)
        ) == ["base.revoke", "base.certify"]


class TestSchoolContracts:
    def test_a_school_admin_contracts_a_school_level_base_for_the_school(self):
        admin = SchoolAdminFactory()
        base = _pending(BaseLevel.SCHOOL)
        contract = school_contract_sign(
            base=base,
            school=admin.school,
            valid_until=NEXT_YEAR,
            signed_by=admin.user,
            reason="签约",
        )
        assert contract.valid_until == NEXT_YEAR
        assert contract.contracted_by == admin.user
        base.refresh_from_db()
        assert base.status == BaseStatus.CERTIFIED
        assert base.certified_until == NEXT_YEAR
        entry = _audit(base, "base.contract")
        assert entry.data["reason"] == "签约"
        assert entry.data["school"] == admin.school.code

    def test_signing_again_extends_the_contract_without_a_second_row(self):
        admin = SchoolAdminFactory()
        base = _pending(BaseLevel.SCHOOL)
        for valid_until in (NEXT_YEAR, NEXT_YEAR + timedelta(days=30)):
            school_contract_sign(
                base=base,
                school=admin.school,
                valid_until=valid_until,
                signed_by=admin.user,
                reason="续签",
            )
        assert SchoolContract.objects.get().valid_until == NEXT_YEAR + timedelta(days=30)
        base.refresh_from_db()
        assert base.certified_until == NEXT_YEAR + timedelta(days=30)

    def test_only_the_admin_of_that_school_may_sign(self):
        admin = SchoolAdminFactory()
        base = _pending(BaseLevel.SCHOOL)
        with pytest.raises(BaseError) as error:
            school_contract_sign(
                base=base,
                school=SchoolFactory(),
                valid_until=NEXT_YEAR,
                signed_by=admin.user,
                reason="x",
            )
        assert error.value.code == "not_authorised"
        assert not SchoolContract.objects.exists()
        base.refresh_from_db()
        assert base.status == BaseStatus.PENDING

    def test_only_school_level_bases_are_contracted(self):
        admin = SchoolAdminFactory()
        base = _pending(BaseLevel.DISTRICT)
        with pytest.raises(BaseError) as error:
            school_contract_sign(
                base=base,
                school=admin.school,
                valid_until=NEXT_YEAR,
                signed_by=admin.user,
                reason="x",
            )
        assert error.value.code == "not_school_level"
        assert not SchoolContract.objects.exists()

    def test_a_contract_expiry_must_be_in_the_future(self):
        admin = SchoolAdminFactory()
        with pytest.raises(BaseError) as error:
            school_contract_sign(
                base=_pending(BaseLevel.SCHOOL),
                school=admin.school,
                valid_until=timezone.localdate(),
                signed_by=admin.user,
                reason="x",
            )
        assert error.value.code == "expiry_in_past"
        assert not SchoolContract.objects.exists()

    def test_a_revoked_base_cannot_be_contracted(self):
        admin = SchoolAdminFactory()
        base = BaseFactory(level=BaseLevel.SCHOOL, status=BaseStatus.REVOKED)
        with pytest.raises(BaseError) as error:
            school_contract_sign(
                base=base,
                school=admin.school,
                valid_until=NEXT_YEAR,
                signed_by=admin.user,
                reason="x",
            )
        assert error.value.code == "base_revoked"
        assert not SchoolContract.objects.exists()

    def test_a_contract_does_not_lift_a_suspension(self, district_admin):
        admin = SchoolAdminFactory()
        base = BaseFactory(level=BaseLevel.SCHOOL, district=district(XUHUI))
        base_suspend(base=base, suspended_by=district_admin, reason="整改")
        school_contract_sign(
            base=base,
            school=admin.school,
            valid_until=NEXT_YEAR + timedelta(days=400),
            signed_by=admin.user,
            reason="签约",
        )
        base.refresh_from_db()
        assert base.status == BaseStatus.SUSPENDED

    def test_the_school_admin_ends_a_contract_with_a_reason(self):
        admin = SchoolAdminFactory()
        base = _pending(BaseLevel.SCHOOL)
        contract = school_contract_sign(
            base=base,
            school=admin.school,
            valid_until=NEXT_YEAR,
            signed_by=admin.user,
            reason="签约",
        )
        school_contract_end(contract=contract, ended_by=admin.user, reason="合作结束")
        assert not SchoolContract.objects.exists()
        assert _audit(base, "base.contract_end").data["reason"] == "合作结束"


class TestWhatStudentsSeeAfterADecision:
    """A suspended, revoked or expired base leaves the listing and takes no new applications."""

    @pytest.fixture(params=["suspended", "revoked", "expired"])
    def closed_base_session(self, request, session, district_admin):
        base = session.post.base
        if request.param == "suspended":
            base_suspend(base=base, suspended_by=district_admin, reason="整改")
        elif request.param == "revoked":
            base_revoke(base=base, revoked_by=district_admin, reason="违规")
        else:
            base.certified_until = timezone.localdate() - timedelta(days=1)
            base.save()
        return session

    def test_its_posts_leave_the_listing_and_the_counts(self, session, closed_base_session):
        now = timezone.now()
        xuhui = district(XUHUI)
        assert not post_listing(district=xuhui, school_id=None, now=now).exists()
        assert open_post_counts_by_district(school_id=None, now=now).get(xuhui.pk, 0) == 0

    def test_it_takes_no_new_applications(self, closed_base_session, student):
        with pytest.raises(BaseError) as error:
            application_apply(student=student, session=closed_base_session)
        assert error.value.code == "not_open"
        assert not Application.objects.exists()
        closed_base_session.refresh_from_db()
        assert closed_base_session.taken == 0

    def test_before_the_decision_it_was_listed(self, session):
        xuhui = district(XUHUI)
        now = timezone.now()
        assert list(post_listing(district=xuhui, school_id=None, now=now)) == [session.post]
        assert open_post_counts_by_district(school_id=None, now=now)[xuhui.pk] == 1
