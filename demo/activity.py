"""Sessions, applications, attendance and ledger records for `manage.py seed_demo`.

A mixin of the demo seeder: it reads what the seeder built (`users`, `students`, `posts`,
`contracted`, `demo_student`, `categories`, `now`, `today`, `entry_years`) and writes through
bulk inserts, except the ledger, which is written only by `practice_record_upsert`.
"""

import random
from collections import defaultdict
from datetime import date, time, timedelta

from bases.models import (
    ON_ROSTER_STATUSES,
    Allocation,
    Application,
    ApplicationStatus,
    Attendance,
    BaseLevel,
    Post,
    PostStatus,
    Session,
)
from bases.organisers import attendance_source_ref, base_organiser_ref
from bases.services.lottery import lottery_order, lottery_weight
from portal.models import Role
from students.models import OrganiserLevel, PracticeRecord, RecordedVia, RecordStatus, Student
from students.organisers import SCHOOL, organiser_ref
from students.selectors import policy_for_entry_year
from students.services import RecordFacts, practice_record_upsert

from . import data
from .calendar import SHANGHAI, SLOTS, Planned, at, pick_slots

LATE_CANCEL_REASON = "场馆临时检修"
EARLY_CANCEL_REASON = "台风预警，提前取消"


class DemoActivities:
    """The seeder's sessions, applications, attendance and ledger records."""

    def seed_sessions(self) -> list[PracticeRecord]:
        rng = self.rng("sessions")
        with_sessions = set(
            Session.objects.filter(post__in=self.posts).values_list("post_id", flat=True)
        )
        planned, to_review = [], []
        review_rng = self.rng("sessions in review")  # apart, so the other posts' draws stay
        for post in self.posts:
            if post.pk in with_sessions:
                continue
            if post.status in (PostStatus.PUBLISHED, PostStatus.CLOSED):
                planned += self.plan_sessions(rng, post)
            elif post.status == PostStatus.IN_REVIEW:
                # Sent for review as `post_submit` requires: with sessions, still to come and
                # not open to anyone until the post is published.
                to_review += self.plan_sessions(review_rng, post)
        Session.objects.bulk_create(p.session for p in to_review)
        if not planned:
            return []
        self.plan_applications(planned)
        Session.objects.bulk_create(p.session for p in planned)
        Application.objects.bulk_create(a for p in planned for a in p.applications)
        attendances = self.plan_attendance(planned)
        Attendance.objects.bulk_create(attendances)
        return self.record_attendance(attendances)

    def seed_reliability(self) -> None:
        """Figures worth reading on the demo base (two rosters closed late, a session called off
        late and one early) and a late cancellation beside the demo student's no-show."""
        if Session.objects.filter(cancel_reason=LATE_CANCEL_REASON).exists():
            return
        coordinator = self.users[Role.COORDINATOR]
        year_start = date(self.school_year, 9, 1)  # the figures shown are this school year's
        closed = list(
            Session.objects.filter(
                post__base__code=data.DEMO_BASE_CODE,
                starts_at__gte=at(year_start, time(0)),
                attendance_closed_at__isnull=False,
                cancelled_at__isnull=True,
            ).order_by("starts_at")[:2]
        )
        for session in closed:
            session.attendance_closed_at = min(session.ends_at + timedelta(hours=30), self.now)
        Session.objects.bulk_update(closed, ["attendance_closed_at"])
        if closed:
            day = self.today - timedelta(days=12)
            for reason, notice in ((LATE_CANCEL_REASON, 6), (EARLY_CANCEL_REASON, 24 * 5)):
                day = max(day, year_start)
                starts_at = at(day, SLOTS[1][0])
                Session.objects.create(
                    post=closed[0].post,
                    starts_at=starts_at,
                    ends_at=at(day, SLOTS[1][1]),
                    capacity=10,
                    applications_open_at=starts_at - timedelta(days=21),
                    applications_close_at=starts_at - timedelta(days=1),
                    cancel_cutoff_at=starts_at - timedelta(hours=24),
                    cancelled_at=starts_at - timedelta(hours=notice),
                    cancelled_by=coordinator,
                    cancel_reason=reason,
                )
                day -= timedelta(days=7)
        demo = self.demo_student
        mine = list(
            Application.objects.filter(student=demo).values_list(
                "session__starts_at", "session__ends_at"
            )
        )
        candidates = (
            Session.objects.filter(
                attendance_closed_at__isnull=False,
                cancelled_at__isnull=True,
                starts_at__gte=self.now - timedelta(days=30),
            )
            .exclude(applications__student=demo)
            .order_by("starts_at", "pk")
        )
        for session in candidates:
            if all(session.ends_at <= s or session.starts_at >= e for s, e in mine):
                Application.objects.create(
                    student=demo,
                    session=session,
                    status=ApplicationStatus.CANCELLED,
                    cancelled_from=ApplicationStatus.CONFIRMED,
                    cancelled_at=session.starts_at - timedelta(hours=3),
                )
                break

    def plan_sessions(self, rng: random.Random, post: Post) -> list[Planned]:
        demo = post.base.code == data.DEMO_BASE_CODE
        if post.status == PostStatus.CLOSED:
            counts = (rng.randint(2, 4), 0)
        elif post.status == PostStatus.IN_REVIEW:
            counts = (0, rng.randint(2, 4))
        else:
            counts = (6, 4) if demo else (rng.randint(2, 5), rng.randint(2, 4))
        past = [self.today - timedelta(days=k) for k in range(1, 64)]
        # A post in review waits a week at least: its sessions' windows are all still to come.
        soonest = 7 if post.status == PostStatus.IN_REVIEW else 1
        future = [self.today + timedelta(days=k) for k in range(soonest, 36)]
        slots = pick_slots(rng, past, counts[0]) | pick_slots(rng, future, counts[1])
        if demo and post.title == "图书管理员" and post.status != PostStatus.IN_REVIEW:
            slots.add((self.today, SLOTS[1]))  # a session today for live attendance
        big = post.category.code in ("safety_training", "military_training")
        capacity = rng.choice((30, 40, 50) if big else (8, 10, 12, 15, 20, 20, 25, 30))
        lottery = not demo and rng.random() < 0.25
        coordinator = self.users[Role.COORDINATOR] if demo else None
        planned = []
        for day, (start, end) in sorted(slots):
            starts_at, ends_at = at(day, start), at(day, end)
            close_at = at(day - timedelta(days=3 if lottery else 1), time(20, 0))
            session = Session(
                post=post,
                starts_at=starts_at,
                ends_at=ends_at,
                capacity=capacity,
                allocation=Allocation.LOTTERY if lottery else Allocation.FIRST_COME,
                applications_open_at=at(day - timedelta(days=21), time(8, 0)),
                applications_close_at=close_at,
                cancel_cutoff_at=starts_at - timedelta(hours=24),
            )
            if lottery and close_at <= self.now:
                session.lottery_seed, session.lottery_drawn_at = rng.getrandbits(62), close_at
            if ends_at <= self.now - timedelta(hours=24):
                phase = "closed"
                closed_at = ends_at + timedelta(hours=rng.randint(1, 20))
                session.attendance_closed_at = min(closed_at, self.now)
                session.attendance_closed_by = coordinator
            elif starts_at <= self.now:
                phase = "held"
            elif session.applications_open_at <= self.now:
                phase = "future"
            else:
                phase = "unopened"
            planned.append(Planned(session=session, day=day, phase=phase))
        return planned

    def eligible(self, post: Post, day: date) -> list[Student]:
        """Students who may apply: in an eligible grade that day, and contracted if need be."""
        key = (post.pk, day.year if day.month >= 9 else day.year - 1)
        if key not in self.pools:
            schools = self.contracted[post.base_id] if post.base.level == BaseLevel.SCHOOL else None
            self.pools[key] = [
                s
                for s in self.students
                if str(s.school_class.grade_on(day)) in post.eligible_grades
                and (schools is None or s.school_class.school_id in schools)
            ]
        return self.pools[key]

    def demo_picks(self, rng: random.Random, planned: list[Planned]) -> dict[int, str]:
        """Sessions the demo student applies for: a visible history and a few upcoming seats."""
        student, picks, slots, per_base = self.demo_student, {}, set(), defaultdict(int)
        # "recent" is a closed session still in its notice period, so it can be disputed.
        wanted = {"closed": ["recent"] + ["front"] * 10 + ["no_show"], "held": ["front"]}
        wanted["future"] = ["front", "front", "waitlist", "lottery"]

        demo_base = data.DEMO_BASE_CODE

        # Today's session at the demo base first, so the coordinator finds the student there;
        # then mostly volunteer service, the requirement students chase hardest.
        def rank(index: int) -> tuple[bool, float]:
            session = planned[index].session
            today_here = planned[index].phase == "held" and session.post.base.code == demo_base
            volunteer = session.post.category.counts_as_volunteer_service
            return (
                not today_here,
                rng.random() + (0.5 if not volunteer and rng.random() < 0.5 else 0),
            )

        order = sorted(range(len(planned)), key=rank)
        for index in order:
            p = planned[index]
            session, slot, base = p.session, (p.day, p.session.starts_at), p.session.post.base
            lottery = session.allocation == Allocation.LOTTERY
            want = wanted.get(p.phase, [])
            usable = [w for w in want if (w == "lottery") == lottery]
            if p.day < self.today - timedelta(days=8):
                usable = [w for w in usable if w != "recent"]
            if not usable or slot in slots or session.lottery_seed is not None:
                continue
            if per_base[base.pk] >= 3 or student not in self.eligible(session.post, p.day):
                continue
            want.remove(usable[0])
            picks[index] = usable[0]
            slots.add(slot)
            per_base[base.pk] += 1
        return picks

    def plan_applications(self, planned: list[Planned]) -> None:
        rng = self.rng("applications")
        self.pools: dict[tuple, list[Student]] = {}
        policy = policy_for_entry_year(entry_year=self.school_year)
        self.volunteer_minutes_required = (
            policy.volunteer_hours_required * policy.minutes_per_credit_hour
        )
        self.practice_days_required = policy.practice_days_required
        demo = self.demo_student
        picks = self.demo_picks(rng, planned)
        busy = defaultdict(set)
        for index in picks:
            busy[demo.pk].add((planned[index].day, planned[index].session.starts_at))
        for index, p in enumerate(planned):
            session, pick = p.session, picks.get(index)
            if p.phase == "unopened":
                continue
            lottery = session.allocation == Allocation.LOTTERY
            low, high = (0.8, 2.0) if lottery else (0.2, 1.2) if p.phase == "future" else (0.6, 1.1)
            want = max(1, round(session.capacity * rng.uniform(low, high)))
            if pick == "waitlist":
                want = session.capacity + rng.randint(2, 5)
            near = session.post.base.district_id
            pool = sorted(
                self.eligible(session.post, p.day),
                key=lambda s: (
                    rng.random() + (0 if s.school_class.school.district_id == near else 0.5)
                ),
            )
            chosen = [demo] if pick and pick != "waitlist" else []
            slot = (p.day, session.starts_at)
            for student in pool:
                if len(chosen) >= want - (pick == "waitlist"):
                    break
                if student.pk != demo.pk and slot not in busy[student.pk]:
                    chosen.append(student)
                    busy[student.pk].add(slot)
            if pick == "waitlist":
                chosen.append(demo)
            p.applications = self.allocate(rng, p, chosen, pick)
            session.taken = sum(a.status in ON_ROSTER_STATUSES for a in p.applications)

    def allocate(
        self, rng: random.Random, p: Planned, chosen: list[Student], pick: str | None
    ) -> list[Application]:
        """Statuses as the allocation rules would have left them; cancelled seats were re-let."""
        applications = [Application(student=s, session=p.session) for s in chosen]
        if p.session.allocation == Allocation.LOTTERY:
            for application in applications:
                application.status = ApplicationStatus.PENDING
            if p.session.lottery_seed is None:
                return applications  # the window is still open
            # Drawn as `bases.services.lottery` draws, so a replay gives the stored order. Its
            # draw walks applications by id; bulk inserts number them in list order.
            weights = {}
            for index, application in enumerate(applications):
                done = rng.randrange(self.volunteer_minutes_required + 1)
                # Days in step with the minutes: one draw, so the demo's other choices stay.
                days = done * self.practice_days_required // self.volunteer_minutes_required
                application.draw_weight = weights[index] = lottery_weight(
                    minutes_done=done,
                    minutes_required=self.volunteer_minutes_required,
                    days_done=days,
                    days_required=self.practice_days_required,
                )
            order = lottery_order(seed=p.session.lottery_seed, weights=weights)
            for position, index in enumerate(order, start=1):
                applications[index].draw_position = position
            self.seat(rng, p, [applications[index] for index in order], None)
            return applications
        live = []
        for application in applications:
            cancel = not pick and application.student.pk != self.demo_student.pk
            if cancel and rng.random() < 0.04:
                application.status = ApplicationStatus.CANCELLED
            else:
                live.append(application)
        self.seat(rng, p, live, pick)
        return applications

    def seat(self, rng: random.Random, p: Planned, live: list[Application], pick: str | None):
        """Confirm the first `capacity` in order, waitlist the rest; past sessions: who came."""
        for position, application in enumerate(live):
            confirmed = position < p.session.capacity
            application.status = (
                ApplicationStatus.CONFIRMED if confirmed else ApplicationStatus.WAITLISTED
            )
            if confirmed and p.phase == "closed":
                is_demo = application.student.pk == self.demo_student.pk
                no_show = pick == "no_show" if is_demo else rng.random() < 0.08
                application.status = (
                    ApplicationStatus.NO_SHOW if no_show else ApplicationStatus.ATTENDED
                )

    def plan_attendance(self, planned: list[Planned]) -> list[Attendance]:
        """Check-in and check-out around the session times; a few late or early."""
        rng = self.rng("attendance")
        attendances = []
        for p in planned:
            session = p.session
            for application in p.applications:
                if application.status != ApplicationStatus.ATTENDED:
                    continue
                checked_in = session.starts_at + timedelta(minutes=rng.randint(-15, 5))
                if rng.random() < 0.06:
                    checked_in = session.starts_at + timedelta(minutes=rng.randint(20, 60))
                checked_out = session.ends_at + timedelta(minutes=rng.randint(-5, 15))
                if rng.random() < 0.05:
                    checked_out = session.ends_at - timedelta(minutes=rng.randint(20, 50))
                overlap = min(checked_out, session.ends_at) - max(checked_in, session.starts_at)
                attendances.append(
                    Attendance(
                        session=session,
                        student=application.student,
                        application=application,
                        checked_in_at=checked_in,
                        checked_out_at=checked_out,
                        credited_minutes=int(overlap.total_seconds() // 60),
                        recorded_via=RecordedVia.ROSTER,
                        recorded_by=session.attendance_closed_by,
                    )
                )
        return attendances

    def record_attendance(self, attendances: list[Attendance]) -> list[PracticeRecord]:
        created = []
        for attendance in attendances:
            session = attendance.session
            base = session.post.base
            facts = RecordFacts(
                student=attendance.student,
                category=session.post.category,
                title=session.post.title,
                organiser_name=base.name,
                organiser_level=base.level,
                district=base.district,
                started_at=session.starts_at,
                ended_at=session.ends_at,
                credited_minutes=attendance.credited_minutes,
                recorded_via=attendance.recorded_via,
                organiser_ref=base_organiser_ref(base_id=base.pk),
            )
            record, was_created = practice_record_upsert(
                source_ref=attendance_source_ref(attendance=attendance),
                facts=facts,
                recorded_by=attendance.recorded_by,
            )
            if was_created:
                created.append(record)
        return created

    # -- school-entered activities and the notice period ------------------------------------
    def seed_school_activities(self) -> list[PracticeRecord]:
        """军训 before grade 1 and 学农 in grade 2, entered by the school for the whole cohort."""
        existing = set(
            PracticeRecord.objects.filter(source_ref__startswith="school:").values_list(
                "source_ref", flat=True
            )
        )
        order = {row[0]: index for index, row in enumerate(data.SCHOOLS)}
        created = []
        for student in self.students:
            school, year = student.school_class.school, student.school_class.entry_year
            shift = order[school.code]
            activities = (
                ("military", "military_training", "高一新生军训（国防教育）",
                 date(year, 8, 17) + timedelta(days=shift % 6), 420),
                ("rural", "rural_practice", "高二学农社会实践",
                 date(year + 1, 10, 12) + timedelta(weeks=shift % 4), 360),
            )  # fmt: skip
            for kind, category, title, first_day, minutes_per_day in activities:
                started_at = at(first_day, time(8, 0))
                ended_at = at(first_day + timedelta(days=4), time(16, 30))
                ref = f"school:{school.code}:{kind}:{year}:{student.student_number}"
                if ended_at > self.now or ref in existing:
                    continue
                facts = RecordFacts(
                    student=student,
                    category=self.categories[category],
                    title=title,
                    organiser_name=school.name,
                    organiser_level=OrganiserLevel.SCHOOL_OWN,
                    district=school.district,
                    started_at=started_at,
                    ended_at=ended_at,
                    credited_minutes=5 * minutes_per_day,
                    recorded_via=RecordedVia.SCHOOL,
                    organiser_ref=organiser_ref(SCHOOL, school.pk),
                )
                is_demo_school = school.code == data.DEMO_SCHOOL_CODE
                record, was_created = practice_record_upsert(
                    source_ref=ref,
                    facts=facts,
                    recorded_by=self.users[Role.SCHOOL_ADMIN] if is_demo_school else None,
                )
                if was_created:
                    created.append(record)
        return created

    def settle_notice(self, records: list[PracticeRecord]) -> None:
        """Give new records the notice they would have had; those whose notice ended are final."""
        notice_days = {
            year: policy_for_entry_year(entry_year=year).notice_days for year in self.entry_years
        }
        groups = defaultdict(list)
        for record in records:
            ended_on = record.ended_at.astimezone(SHANGHAI).date()
            lag = 3 if record.recorded_via == RecordedVia.SCHOOL else 1
            year = record.student.school_class.entry_year
            groups[ended_on + timedelta(days=lag + notice_days[year])].append(record.pk)
        # One UPDATE per notice end date: far cheaper than a bulk_update of thousands of rows.
        for notice_ends_on, pks in groups.items():
            changes = {"notice_ends_on": notice_ends_on}
            if notice_ends_on < self.today:
                became_final = min(at(notice_ends_on + timedelta(days=1), time(2, 0)), self.now)
                changes |= {"status": RecordStatus.FINAL, "confirmed_at": became_final}
            for offset in range(0, len(pks), 500):
                PracticeRecord.objects.filter(pk__in=pks[offset : offset + 500]).update(**changes)
