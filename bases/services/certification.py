"""Certification of bases (district and city admins) and school contracts (school admins)."""

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import Role, User
from portal.services import audit_log_record
from students.models import School, TeacherAssignment, TeacherRole

from ..errors import BaseError
from ..models import Base, BaseLevel, BaseStatus, SchoolContract


def _check_authority(*, base: Base, user: User, oversight: bool = False) -> None:
    """City-level bases answer to the city admin; district bases and projects to their district.

    School-level bases are certified by their contracts, not by an admin; for `oversight`
    (suspending, revoking) they answer to their district like district-level bases.
    """
    district_levels = (BaseLevel.DISTRICT, BaseLevel.PROJECT)
    if oversight:
        district_levels += (BaseLevel.SCHOOL,)
    if base.level == BaseLevel.CITY:
        allowed, who = user.role == Role.CITY_ADMIN, _("the city admin")
    elif base.level in district_levels:
        allowed = user.role == Role.CITY_ADMIN or (
            user.role == Role.DISTRICT_ADMIN and base.district.admins.filter(user=user).exists()
        )
        who = _("the district admin")
    else:
        allowed, who = False, _("contracting schools")
    if not allowed:
        raise BaseError(
            _("You may not decide on this base: it is a %(level)s, decided by %(who)s."),
            code="not_authorised",
            params={"level": base.get_level_display(), "who": who},
        )


def _require_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise BaseError(_("Give a reason for this decision."), code="reason_required")
    return reason


@transaction.atomic
def base_certify(*, base: Base, certified_by: User, valid_until: date, reason: str) -> Base:
    """Certify (or renew) a base until a date; the decision and its reason are audited."""
    reason = _require_reason(reason)
    base = Base.objects.select_for_update().get(pk=base.pk)
    _check_authority(base=base, user=certified_by)
    if valid_until <= timezone.localdate():
        raise BaseError(_("The expiry date must be in the future."), code="expiry_in_past")
    before = base.status
    base.status = BaseStatus.CERTIFIED
    base.certified_until = valid_until
    base.certified_at = timezone.now()
    base.certified_by = certified_by
    base.save()
    audit_log_record(
        actor=certified_by,
        action="base.certify",
        target=base,
        data={"reason": reason, "before": before, "valid_until": valid_until.isoformat()},
    )
    return base


def _base_set_status(*, base: Base, user: User, status: str, reason: str, action: str) -> Base:
    reason = _require_reason(reason)
    base = Base.objects.select_for_update().get(pk=base.pk)
    _check_authority(base=base, user=user, oversight=True)
    before = base.status
    base.status = status
    base.save(update_fields=["status"])
    audit_log_record(
        actor=user, action=action, target=base, data={"reason": reason, "before": before}
    )
    return base


@transaction.atomic
def base_suspend(*, base: Base, suspended_by: User, reason: str) -> Base:
    """Suspend a base: its posts leave the listing and take no new applications."""
    return _base_set_status(
        base=base,
        user=suspended_by,
        status=BaseStatus.SUSPENDED,
        reason=reason,
        action="base.suspend",
    )


@transaction.atomic
def base_revoke(*, base: Base, revoked_by: User, reason: str) -> Base:
    """Revoke a base's certification for good; it can be certified again only by a new decision."""
    return _base_set_status(
        base=base, user=revoked_by, status=BaseStatus.REVOKED, reason=reason, action="base.revoke"
    )


@transaction.atomic
def school_contract_sign(
    *, base: Base, school: School, valid_until: date, signed_by: User, reason: str
) -> SchoolContract:
    """A school admin contracts a school-level base for the school (学校签约基地)."""
    reason = _require_reason(reason)
    if not TeacherAssignment.objects.filter(
        user=signed_by, school=school, role=TeacherRole.SCHOOL_ADMIN
    ).exists():
        raise BaseError(
            _("Only the school's admin may contract bases for it."), code="not_authorised"
        )
    if base.level != BaseLevel.SCHOOL:
        raise BaseError(
            _("Only school-level bases are contracted by schools."), code="not_school_level"
        )
    if valid_until <= timezone.localdate():
        raise BaseError(_("The expiry date must be in the future."), code="expiry_in_past")
    base = Base.objects.select_for_update().get(pk=base.pk)
    if base.status == BaseStatus.REVOKED:
        raise BaseError(_("This base's certification was revoked."), code="base_revoked")
    contract, _created = SchoolContract.objects.update_or_create(
        base=base, school=school, defaults={"valid_until": valid_until, "contracted_by": signed_by}
    )
    # A school-level base is certified by its contracts: it stays listed while one is valid. A
    # contract never lifts a suspension decided by the district.
    if base.status == BaseStatus.PENDING or (
        base.status == BaseStatus.CERTIFIED
        and (base.certified_until is None or base.certified_until < valid_until)
    ):
        base.status = BaseStatus.CERTIFIED
        base.certified_until = max(valid_until, base.certified_until or valid_until)
        base.certified_at = timezone.now()
        base.certified_by = signed_by
        base.save()
    audit_log_record(
        actor=signed_by,
        action="base.contract",
        target=base,
        data={"reason": reason, "school": school.code, "valid_until": valid_until.isoformat()},
    )
    return contract


@transaction.atomic
def school_contract_end(*, contract: SchoolContract, ended_by: User, reason: str) -> None:
    reason = _require_reason(reason)
    if not TeacherAssignment.objects.filter(
        user=ended_by, school=contract.school, role=TeacherRole.SCHOOL_ADMIN
    ).exists():
        raise BaseError(_("Only the school's admin may end its contracts."), code="not_authorised")
    audit_log_record(
        actor=ended_by,
        action="base.contract_end",
        target=contract.base,
        data={"reason": reason, "school": contract.school.code},
    )
    contract.delete()
