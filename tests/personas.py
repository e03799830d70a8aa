"""Who is who around a test's object: its owner, a colleague with the same rights over it, and
an outsider who holds the same role over another object of the same kind.

A base or a session is owned by its coordinators, a school by its school admins, a class by
its head teacher and a district by its district admins.
"""

from functools import singledispatch

from bases.models import Base, Session
from districts.models import District
from portal.models import User
from students.models import School, SchoolClass
from tests.factories import (
    BaseFactory,
    CoordinatorFactory,
    DistrictAdminFactory,
    HeadTeacherFactory,
    SchoolAdminFactory,
    SchoolClassFactory,
    SchoolFactory,
    district,
)

PUDONG, HUANGPU = "310115", "310101"


@singledispatch
def owner_of(thing) -> User:
    """A new user who holds the owning role over `thing` (a base, session, school, class or
    district)."""
    raise TypeError(f"no owner persona for {type(thing).__name__}")


@owner_of.register
def _(thing: Base) -> User:
    return CoordinatorFactory(base=thing).user


@owner_of.register
def _(thing: Session) -> User:
    return owner_of(thing.post.base)


@owner_of.register
def _(thing: School) -> User:
    return SchoolAdminFactory(school=thing).user


@owner_of.register
def _(thing: SchoolClass) -> User:
    return HeadTeacherFactory(school_class=thing).user


@owner_of.register
def _(thing: District) -> User:
    return DistrictAdminFactory(district=thing).user


def colleague_of(thing) -> User:
    """A second owner of `thing`: the same role with the same rights over the same object."""
    return owner_of(thing)


@singledispatch
def outsider_of(thing) -> User:
    """A user in the owning role of `thing`, but over another object of the same kind."""
    raise TypeError(f"no outsider persona for {type(thing).__name__}")


@outsider_of.register
def _(thing: Base) -> User:
    return owner_of(BaseFactory(name="别的基地"))


@outsider_of.register
def _(thing: Session) -> User:
    return outsider_of(thing.post.base)


@outsider_of.register
def _(thing: School) -> User:
    return owner_of(SchoolFactory())


@outsider_of.register
def _(thing: SchoolClass) -> User:
    return owner_of(SchoolClassFactory())


@outsider_of.register
def _(thing: District) -> User:
    return owner_of(district(HUANGPU if thing.code == PUDONG else PUDONG))
