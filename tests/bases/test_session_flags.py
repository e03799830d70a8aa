"""The timing flags a reviewer sees on a session: late at night, longer than a day."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from bases.attendance_rules import SessionFlag, session_flags

DAY = datetime(2026, 10, 10)
LATE, LONG = SessionFlag.LATE_NIGHT, SessionFlag.LONGER_THAN_A_DAY


def _at(hours: float):
    return timezone.make_aware(DAY + timedelta(hours=hours))


@pytest.mark.parametrize(
    ("start", "end", "flags"),
    [
        (6, 22, []),  # touching the night at both ends is still daytime
        (9, 12, []),
        (21, 22.5, [LATE]),
        (5.5, 8, [LATE]),
        (23, 25, [LATE]),  # past midnight
        (9, 9 + 24, [LATE]),  # a day exactly: through the night, not longer than a day
        (9, 9 + 24.5, [LATE, LONG]),
    ],
)
def test_session_flags(start, end, flags):
    assert session_flags(starts_at=_at(start), ends_at=_at(end)) == flags
