from pathlib import Path

import pytest

from portal.models import Role, User
from tests.constraint_helpers import constraint_names, refused

TESTS_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
class TestUser:
    def test_it_refuses_a_role_that_does_not_exist(self):
        with refused(User, "user_role_valid"):
            User.objects.create(username="janitor", role="janitor")

    @pytest.mark.parametrize("role", [*Role.values, ""])
    def test_it_accepts_every_known_role_and_no_role(self, role):
        assert User.objects.create(username=f"u-{role or 'none'}", role=role).pk


def test_every_database_constraint_has_a_test():
    test_sources = "\n".join(path.read_text() for path in TESTS_DIR.rglob("test_*.py"))
    untested = sorted(name for name in constraint_names() if name not in test_sources)
    assert not untested, f"constraints without a test in tests/: {untested}"
