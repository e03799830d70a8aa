"""Changes to the demo after its first delta, so the next delta shows every operation.

Run with `manage.py shell -c "$(cat docs/examples/make-changes.py)"` (see docs/export-format.md).
"""

from datetime import datetime, timedelta

from django.db.models import Min
from django.utils import timezone

from portal.models import User
from students.models import PracticeRecord, RecordStatus
from students.services import (
    practice_record_correct,
    practice_record_revoke,
    practice_records_finalise,
)

coordinator = User.objects.get(username="coordinator")
first, second = PracticeRecord.objects.filter(status=RecordStatus.FINAL).order_by("pk")[:2]
practice_record_correct(
    record=first,
    started_at=first.started_at,
    ended_at=first.ended_at,
    credited_minutes=first.credited_minutes - 30,
    changed_by=coordinator,
    reason="签退时间录入有误",
)
practice_record_revoke(record=second, revoked_by=coordinator, reason="学生未实际参加")
# The records whose notice ends first become final the next night, as the finaliser would do.
last_notice_day = PracticeRecord.objects.filter(status=RecordStatus.IN_NOTICE).aggregate(
    day=Min("notice_ends_on")
)["day"]
next_day = last_notice_day + timedelta(days=1)
finalised = practice_records_finalise(today=next_day)
PracticeRecord.objects.filter(status=RecordStatus.FINAL, notice_ends_on=last_notice_day).update(
    confirmed_at=timezone.make_aware(datetime.combine(next_day, datetime.min.time()))
    + timedelta(minutes=5)
)
print(f"corrected 1, revoked 1, finalised {finalised}")
