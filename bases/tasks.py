"""Thin Celery tasks: ids in, one service call, ids out.

Each task here is safe to run twice (a drawn session is not drawn again, a released seat is not
released again, an imported sheet is not imported again), so each is acknowledged after it ends
and given back to the queue when its worker dies.
"""

from celery import shared_task

from portal.models import User

from .errors import BaseError
from .models import AttendanceImport, ClassReservation, Session
from .services import lottery, reservations

AT_LEAST_ONCE = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(**AT_LEAST_ONCE)
def session_lottery_draw(*, session_id: int) -> int:
    try:
        lottery.session_lottery_draw(session=Session.objects.get(pk=session_id))
    except BaseError as error:
        # Beat may queue a session twice before the first draw commits; the second is a no-op.
        if error.code != "already_drawn":
            raise
    return session_id


@shared_task(**AT_LEAST_ONCE)
def sessions_lottery_draw_due() -> list[int]:
    """Beat: queue the draw of every lottery session whose window has closed."""
    due = lottery.sessions_due_for_lottery()
    for session_id in due:
        session_lottery_draw.delay(session_id=session_id)
    return due


@shared_task(**AT_LEAST_ONCE)
def class_reservations_release_due() -> list[int]:
    """Beat: return unnamed reserved seats to the pool once their cut-off has passed."""
    due = reservations.reservations_due_for_release()
    for reservation_id in due:
        reservations.class_reservation_release(
            reservation=ClassReservation.objects.get(pk=reservation_id)
        )
    return due


@shared_task(**AT_LEAST_ONCE)
def attendance_import_confirm(*, import_id: int, user_id: int) -> int:
    """Import a large previewed sheet; running it twice imports it once."""
    # The import services queue this task: importing them at the top would be a cycle.
    from .attendance_import import attendance_import_confirm as confirm

    confirm(
        attendance_import=AttendanceImport.objects.get(pk=import_id),
        confirmed_by=User.objects.get(pk=user_id),
    )
    return import_id


@shared_task(**AT_LEAST_ONCE)
def attendance_imports_requeue_stale() -> list[int]:
    """Beat: queue again the confirmations left importing by a worker that died."""
    # The import services queue tasks of this module: importing them at the top is a cycle.
    from .attendance_import.resume import attendance_imports_requeue_stale as requeue

    return requeue()
