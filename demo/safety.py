"""Guards for minors in the demo: posts that need consent or a safety briefing, guardians'
consents recorded on paper, an application awaiting consent, and minutes held for review.

A mixin of the demo seeder, run after the ledger is settled; each step writes only what is
missing, so a second run changes nothing.
"""

from datetime import time, timedelta

from bases.models import (
    Application,
    ApplicationStatus,
    ConsentVia,
    GuardianConsent,
    Post,
    PostStatus,
    Session,
)
from portal.models import Role
from students.models import (
    OrganiserLevel,
    PracticeRecord,
    RecordedVia,
    RecordStatus,
    SafetyPolicy,
)
from students.services import RecordFacts, practice_record_upsert

from . import data
from .calendar import SHANGHAI

SEATED = (
    ApplicationStatus.PENDING,
    ApplicationStatus.CONFIRMED,
    ApplicationStatus.WAITLISTED,
    ApplicationStatus.ATTENDED,
    ApplicationStatus.NO_SHOW,
)


class DemoSafety:
    def seed_safety(self) -> None:
        self.pools = getattr(self, "pools", {})  # `eligible`'s cache, empty on a second run
        posts = Post.objects.filter(base__in=self.bases.values())
        for title, fields in data.SAFETY.items():
            posts.filter(title=title).update(**fields)
        policy = SafetyPolicy.objects.order_by("-effective_from").first()
        kinds = policy.consent_kinds if policy else frozenset()
        needing = [p for p in posts.filter(title__in=list(data.SAFETY)) if p.kinds & kinds]
        needing.sort(key=lambda p: (p.base.code != data.DEMO_BASE_CODE, p.base.code, p.pk))
        demo_post = next((p for p in needing if self.awaiting_session(p) is not None), None)
        self.seed_consents(needing, demo_post)
        if demo_post is not None:
            self.seed_awaiting_consent(demo_post)
        self.seed_long_day()

    def awaiting_session(self, post: Post) -> Session | None:
        """A session of the post the demo student could wait for consent on: published, open
        now, in their grade, and no seat of theirs on the post yet."""
        student = self.demo_student
        if post.status != PostStatus.PUBLISHED:
            return None
        if Application.objects.filter(
            student=student, session__post=post, status__in=SEATED
        ).exists():
            return None
        sessions = Session.objects.filter(
            post=post,
            starts_at__gt=self.now,
            cancelled_at__isnull=True,
            applications_open_at__lte=self.now,
            applications_close_at__gt=self.now,
        ).order_by("starts_at", "pk")
        for session in sessions:
            day = session.starts_at.astimezone(SHANGHAI).date()
            if student in self.eligible(post, day):
                return session
        return None

    def seed_consents(self, posts: list[Post], demo_post: Post | None) -> None:
        """Paper consents for everyone already on a consent post's sessions (but the demo
        student on the demo post, who waits for theirs)."""
        have = set(
            GuardianConsent.objects.filter(post__in=posts, withdrawn_at__isnull=True).values_list(
                "student_id", "post_id"
            )
        )
        pairs = (
            Application.objects.filter(session__post__in=posts, status__in=SEATED)
            .values_list("student_id", "session__post_id", "student__school_class__school__code")
            .distinct()
        )
        admin = self.users[Role.SCHOOL_ADMIN]
        new = []
        for student_id, post_id, school_code in pairs:
            if (student_id, post_id) in have:
                continue
            if demo_post is not None and (student_id, post_id) == (
                self.demo_student.pk,
                demo_post.pk,
            ):
                continue
            have.add((student_id, post_id))
            new.append(
                GuardianConsent(
                    student_id=student_id,
                    post_id=post_id,
                    given_via=ConsentVia.PAPER,
                    recorded_by=admin if school_code == data.DEMO_SCHOOL_CODE else None,
                    given_at=self.now - timedelta(days=30),
                )
            )
        GuardianConsent.objects.bulk_create(new)

    def seed_awaiting_consent(self, post: Post) -> None:
        """The demo student applied for the post; it waits for their guardian's consent."""
        student = self.demo_student
        if Application.objects.filter(
            student=student, session__post=post, status=ApplicationStatus.AWAITING_CONSENT
        ).exists():
            return
        session = self.awaiting_session(post)
        if (
            session is not None
            and not Application.objects.filter(student=student, session=session).exists()
        ):
            Application.objects.create(
                student=student, session=session, status=ApplicationStatus.AWAITING_CONSENT
            )

    def seed_long_day(self) -> None:
        """A record from another platform after a base's morning session on the same day: more
        than the daily cap together, so its excess waits for the school's review."""
        student = self.demo_student
        ref = f"demo:platform:{student.student_number}"
        if PracticeRecord.objects.filter(source_ref=ref).exists():
            return
        for record in (
            PracticeRecord.objects.filter(student=student, source_ref__startswith="attendance:")
            .exclude(status=RecordStatus.REVOKED)
            .order_by("-started_at")
        ):
            end = record.ended_at.astimezone(SHANGHAI)
            if (
                end.time() > time(13, 0)
                or record.started_at.astimezone(SHANGHAI).date() != end.date()
            ):
                continue
            started_at = record.ended_at + timedelta(minutes=30)
            ended_at = started_at + timedelta(hours=7)
            if PracticeRecord.objects.filter(
                student=student, started_at__lt=ended_at, ended_at__gt=started_at
            ).exists():
                continue
            practice_record_upsert(
                source_ref=ref,
                facts=RecordFacts(
                    student=student,
                    category=self.categories["volunteer_service"],
                    title="社区防疫志愿服务",
                    organiser_name=data.LONG_DAY_PLATFORM,
                    organiser_level=OrganiserLevel.OTHER,
                    district=student.school_class.school.district,
                    started_at=started_at,
                    ended_at=ended_at,
                    credited_minutes=7 * 60,
                    recorded_via=RecordedVia.TRANSFER,
                ),
                recorded_by=None,
            )
            return
