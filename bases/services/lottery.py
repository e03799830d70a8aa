"""The lottery for `lottery` sessions: a seeded, reproducible, weighted draw.

Each pending applicant gets a weight from how far behind the requirement they are, on both of
its measures: the share of volunteer-service minutes and the share of practice days still
missing, averaged (1.0 when both are done, up to 1.0 + LOTTERY_BEHIND_BONUS when nothing is done
yet). A student held back by the reliability rule at the draw (`bases.reliability`) has that
weight multiplied by the policy's `held_lottery_factor`. The draw is
Efraimidis-Spirakis weighted sampling without replacement: key = u ** (1 / weight) with u drawn
from random.Random(seed) in application-id order, highest key first. The seed, the weights and
the resulting order are stored, so anyone can recompute the draw and get the same order.
"""

import random
import secrets

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.services import audit_log_record
from students.guardians import student_notification_send
from students.progress import progress_for_students

from ..errors import BaseError
from ..messages import LOTTERY_CONFIRMED, LOTTERY_WAITLISTED
from ..models import Allocation, Application, ApplicationStatus, Session
from ..reliability import reliability_for_students
from .applications import session_label

LOTTERY_BEHIND_BONUS = 2.0


def _behind(done: int, required: int) -> float:
    """The share of a requirement still missing: 0 when met, 1 when nothing is done."""
    return max(0, required - done) / required if required > 0 else 0.0


def lottery_weight(
    *,
    minutes_done: int,
    minutes_required: int,
    days_done: int,
    days_required: int,
    held_factor: float = 1.0,
) -> float:
    """1.0 for a student who has met both measures, up to 3.0 for one who has done nothing;
    times `held_factor` for a student held back by the reliability rule."""
    behind = (_behind(minutes_done, minutes_required) + _behind(days_done, days_required)) / 2
    return round((1.0 + LOTTERY_BEHIND_BONUS * behind) * held_factor, 6)


def lottery_order(*, seed: int, weights: dict[int, float]) -> list[int]:
    """Application ids in draw order for a seed and {application id: weight}."""
    rng = random.Random(seed)
    keys = {}
    for application_id in sorted(weights):
        u = rng.random()
        keys[application_id] = u ** (1.0 / weights[application_id])
    return sorted(keys, key=lambda application_id: (-keys[application_id], application_id))


@transaction.atomic
def session_lottery_draw(*, session: Session, seed: int | None = None) -> list[Application]:
    """Draw a closed lottery session: confirm up to the free seats, waitlist the rest in order."""
    session = (
        Session.objects.select_for_update(of=("self",)).select_related("post").get(pk=session.pk)
    )
    if session.allocation != Allocation.LOTTERY:
        raise BaseError(_("This session is not allocated by lottery."), code="not_lottery")
    if session.lottery_drawn_at is not None:
        raise BaseError(_("This session has already been drawn."), code="already_drawn")
    if timezone.now() < session.applications_close_at:
        raise BaseError(_("The lottery is drawn after applications close."), code="window_open")
    applications = list(
        Application.objects.select_for_update(of=("self",))
        .filter(session=session, status=ApplicationStatus.PENDING)
        .select_related("student__school_class", "student__user")
    )
    student_ids = [a.student_id for a in applications]
    progress = progress_for_students(student_ids)
    reliability = reliability_for_students(student_ids)
    weights = {}
    for application in applications:
        measures = progress[application.student_id]
        held = reliability[application.student_id]
        application.draw_weight = lottery_weight(
            minutes_done=measures.volunteer_minutes,
            minutes_required=measures.minutes_required,
            days_done=measures.practice_days,
            days_required=measures.days_required,
            held_factor=held.policy.held_lottery_factor if held.held else 1.0,
        )
        weights[application.pk] = application.draw_weight
    session.lottery_seed = seed if seed is not None else secrets.randbits(62)
    order = lottery_order(seed=session.lottery_seed, weights=weights)
    by_id = {a.pk: a for a in applications}
    free = session.capacity - session.taken
    confirmed = 0
    for position, application_id in enumerate(order, start=1):
        application = by_id[application_id]
        application.draw_position = position
        if confirmed < free:
            application.status = ApplicationStatus.CONFIRMED
            confirmed += 1
        else:
            application.status = ApplicationStatus.WAITLISTED
    Application.objects.bulk_update(applications, ["draw_weight", "draw_position", "status"])
    Session.objects.filter(pk=session.pk).update(
        taken=F("taken") + confirmed,
        lottery_seed=session.lottery_seed,
        lottery_drawn_at=timezone.now(),
    )
    audit_log_record(
        actor=None,
        action="session.lottery",
        target=session,
        data={"seed": session.lottery_seed, "order": order, "confirmed": confirmed},
    )
    label = session_label(session)
    for application in applications:
        if application.status == ApplicationStatus.CONFIRMED:
            message = LOTTERY_CONFIRMED
        else:
            message = LOTTERY_WAITLISTED
        student_notification_send(
            student=application.student,
            message=message,
            params={"session": label, "position": application.draw_position - confirmed},
            url=reverse("bases:my-applications"),
        )
    return sorted(applications, key=lambda a: a.draw_position)


def session_lottery_replay(*, session: Session) -> list[int]:
    """Recompute a drawn session's order from its stored seed and weights."""
    # The stored seed, not the caller's copy: a copy loaded before the draw has none, and
    # random.Random(None) would give a different order on every call.
    seed = Session.objects.filter(pk=session.pk).values_list("lottery_seed", flat=True).get()
    if seed is None:
        raise BaseError(_("This session has not been drawn yet."), code="not_drawn")
    weights = dict(
        Application.objects.filter(session=session, draw_position__isnull=False).values_list(
            "pk", "draw_weight"
        )
    )
    return lottery_order(seed=seed, weights=weights)


def sessions_due_for_lottery() -> list[int]:
    return list(
        Session.objects.filter(
            allocation=Allocation.LOTTERY,
            lottery_drawn_at__isnull=True,
            applications_close_at__lte=timezone.now(),
        ).values_list("pk", flat=True)
    )
