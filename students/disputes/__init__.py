"""Public notice (公示) and disputes (异议) on ledger records: reads in `selectors`, writes in
`services`; who answers for a record comes from `students.organisers`."""

from ..organisers import organiser_scope_q, record_answerers
from .selectors import (
    NOTICE_STATUSES,
    RAISER_ROLES,
    SCHOOL_ROLES,
    dispute_get_for_answerer,
    dispute_list_open_for_answerer,
    in_notice,
    may_raise_dispute,
    notice_records_for_school,
    notice_school_get_for_user,
    notice_schools_for_user,
    raisable_record_ids,
    record_get_for_viewer,
    user_answers_record,
)
from .services import (
    REASON_MAX_LENGTH,
    DisputeError,
    dispute_correct,
    dispute_raise,
    dispute_revoke,
    dispute_uphold,
)

__all__ = [
    "NOTICE_STATUSES",
    "RAISER_ROLES",
    "REASON_MAX_LENGTH",
    "SCHOOL_ROLES",
    "DisputeError",
    "dispute_correct",
    "dispute_get_for_answerer",
    "dispute_list_open_for_answerer",
    "dispute_raise",
    "dispute_revoke",
    "dispute_uphold",
    "in_notice",
    "may_raise_dispute",
    "notice_records_for_school",
    "notice_school_get_for_user",
    "notice_schools_for_user",
    "organiser_scope_q",
    "raisable_record_ids",
    "record_answerers",
    "record_get_for_viewer",
    "user_answers_record",
]
