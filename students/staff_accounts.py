"""The district admin's sheet of the district's school admins: the places are the district's
schools by code, and an admin is attached as the school's admin (`TeacherAssignment`). The
sheet, its checks and the import are `districts.accounts`."""

from districts.accounts import AccountScope
from districts.messages import ACCOUNTS_UNKNOWN_SCHOOL
from districts.models import AccountImportKind, District
from portal.models import Role, User

from .models import School, TeacherAssignment, TeacherRole


def school_admins_scope(*, district: District) -> AccountScope:
    """Schools of the district by code, and who administers which of them."""
    schools = {s.code: s for s in School.objects.filter(district=district).order_by("code")}
    holders = dict(
        TeacherAssignment.objects.filter(role=TeacherRole.SCHOOL_ADMIN)
        .order_by("-id")
        .values_list("user__username", "school__code")
    )

    def attach(pairs: list[tuple[User, School]]) -> None:
        TeacherAssignment.objects.bulk_create(
            TeacherAssignment(user=user, school=school, role=TeacherRole.SCHOOL_ADMIN)
            for user, school in pairs
        )

    return AccountScope(
        kind=AccountImportKind.SCHOOL_ADMINS,
        role=Role.SCHOOL_ADMIN,
        district=district,
        places=schools,
        place_label=lambda school: school.name,
        holders=holders,
        unknown_place=ACCOUNTS_UNKNOWN_SCHOOL,
        attach=attach,
    )
