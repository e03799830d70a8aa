"""Fill the database with a deterministic demo: schools, students, bases, sessions and records.

Run it again and it adds nothing: every row has a natural key, sessions are only planned for
posts that have none, and ledger records go through `practice_record_upsert`.
"""

import io
import random
import time as clock
from collections import defaultdict
from datetime import date, datetime, timedelta

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from bases.models import Base, BaseLevel, BaseStatus, Coordinator, Post, PostStatus, SchoolContract
from demo import data
from demo.activity import DemoActivities
from demo.calendar import SHANGHAI
from demo.safety import DemoSafety
from districts.models import District, DistrictAdmin
from portal.models import Role, User
from portal.uploads import read_image
from students.models import (
    Category,
    Guardianship,
    PracticeRecord,
    RecordStatus,
    Reflection,
    School,
    SchoolClass,
    Student,
    TeacherAssignment,
    TeacherRole,
)
from students.reflections import (
    reflection_comment_add,
    reflection_photo_add,
    reflection_save,
    reflection_typical_mark,
)

SEED = 20260901
LEVEL_BLURB = {
    BaseLevel.CITY: "市级认证社会实践基地，面向全市高中学生开放。",
    BaseLevel.DISTRICT: "区级认证社会实践基地，面向全市高中学生开放。",
    BaseLevel.SCHOOL: "学校签约基地，仅向签约学校的学生开放。",
    BaseLevel.PROJECT: "限时开展的社会实践项目。",
}
REQUIREMENTS = "请提前10分钟到达，穿校服，携带学生证；因故不能参加请在截止时间前取消。"


def model_counts() -> dict[str, int]:
    """Rows per model in every installed app, to report (and test) what a run created."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


class DemoSeeder(DemoActivities, DemoSafety):
    """Builds the demo world in one transaction; each stage inserts only what is missing."""

    def __init__(self, *, password: str, now: datetime):
        self.password = password
        self.now = now
        self.today = now.astimezone(SHANGHAI).date()
        self.school_year = self.today.year if self.today.month >= 9 else self.today.year - 1
        self.entry_years = [self.school_year - offset for offset in (2, 1, 0)]
        self.districts = {district.code: district for district in District.objects.all()}
        self.categories = {category.code: category for category in Category.objects.all()}

    def rng(self, stage: str) -> random.Random:
        """One generator per stage, so a change in one stage leaves the others' data alone."""
        return random.Random(f"{SEED}:{stage}")

    @transaction.atomic
    def run(self) -> None:
        self.seed_users()
        self.seed_schools()
        self.seed_students()
        self.seed_guardians()
        self.seed_bases()
        self.seed_posts()
        self.seed_scopes()
        records = self.seed_sessions()
        records += self.seed_school_activities()
        self.settle_notice(records)
        self.seed_safety()
        self.seed_reflections()
        self.seed_reliability()

    # -- people and schools ---------------------------------------------------------------
    def seed_users(self) -> None:
        self.users = {}
        for username, role, full_name, _ in data.DEMO_LOGINS:
            is_city = role == Role.CITY_ADMIN
            defaults = {"role": role, "email": f"{username}@example.org", "is_active": True}
            defaults |= {"is_staff": is_city, "is_superuser": is_city}
            if full_name:
                defaults["full_name"] = full_name
            user, _ = User.objects.update_or_create(username=username, defaults=defaults)
            if not user.check_password(self.password):
                user.set_password(self.password)
                user.save(update_fields=["password"])
            self.users[role] = user

    def seed_schools(self) -> None:
        codes = [row[0] for row in data.SCHOOLS]
        existing = set(School.objects.filter(code__in=codes).values_list("code", flat=True))
        School.objects.bulk_create(
            School(code=code, name=name, name_en=name_en, district=self.districts[district])
            for code, name, name_en, district, _ in data.SCHOOLS
            if code not in existing
        )
        self.schools = {s.code: s for s in School.objects.filter(code__in=codes)}
        plan = []
        for code, *_ in data.SCHOOLS:
            rng = self.rng(f"classes:{code}")
            for entry_year in self.entry_years:
                count = 2 if code == data.DEMO_SCHOOL_CODE else rng.choice((1, 2, 2))
                plan += [(code, entry_year, number) for number in range(1, count + 1)]
        existing = set(
            SchoolClass.objects.filter(school__code__in=codes).values_list(
                "school__code", "entry_year", "number"
            )
        )
        SchoolClass.objects.bulk_create(
            SchoolClass(school=self.schools[code], entry_year=year, number=number)
            for code, year, number in plan
            if (code, year, number) not in existing
        )
        self.class_plan = plan
        self.classes = {
            (c.school.code, c.entry_year, c.number): c
            for c in SchoolClass.objects.filter(school__code__in=codes).select_related(
                "school__district"
            )
        }

    def seed_students(self) -> None:
        planned, numbers, codes = [], set(), set()
        for code, _, _, district_code, size in data.SCHOOLS:
            rng = self.rng(f"students:{code}")
            keys = [key for key in self.class_plan if key[0] == code]
            for index in range(size):
                key = keys[index % len(keys)]
                born = date(key[1] - 16, 9, 1) + timedelta(days=rng.randrange(365))
                home = district_code if rng.random() < 0.7 else rng.choice(list(self.districts))
                number = data.student_number(
                    district_code=home, born=born, sequence=rng.randrange(1, 1000)
                )
                personal = f"P{rng.getrandbits(64):016X}"
                name = rng.choice(data.SURNAMES) + rng.choice(data.GIVEN_NAMES)
                if number in numbers or personal in codes:
                    continue  # a clash in the draw: the next student takes the place
                numbers.add(number)
                codes.add(personal)
                planned.append(Student(student_number=number, name=name, personal_code=personal))
                planned[-1].school_class = self.classes[key]
        existing = set(
            Student.objects.filter(student_number__in=numbers).values_list(
                "student_number", flat=True
            )
        )
        Student.objects.bulk_create(s for s in planned if s.student_number not in existing)
        demo_class = self.classes[(data.DEMO_SCHOOL_CODE, self.school_year - 1, 1)]
        demo_number = next(s.student_number for s in planned if s.school_class == demo_class)
        self.students = list(
            Student.objects.filter(student_number__in=numbers)
            .select_related("school_class__school__district")
            .order_by("student_number")
        )
        self.demo_student = next(s for s in self.students if s.student_number == demo_number)

    def seed_guardians(self) -> None:
        """The demo guardian, linked to the demo student (as if they had used the slip's code)."""
        Guardianship.objects.get_or_create(
            guardian=self.users[Role.GUARDIAN], student=self.demo_student, ended_at=None
        )

    # -- bases and posts ------------------------------------------------------------------
    def seed_bases(self) -> None:
        rng = self.rng("bases")
        codes = [row[0] for row in data.BASES]
        existing = set(Base.objects.filter(code__in=codes).values_list("code", flat=True))
        new = []
        for code, level, _, name, address in data.BASES:
            status = data.BASE_STATUS.get(code, BaseStatus.CERTIFIED)
            district = self.districts[code.split("-")[1]]
            valid_days = (
                rng.randint(45, 150) if level == BaseLevel.PROJECT else rng.randint(180, 900)
            )
            certified_days_ago = rng.randint(60, 700)
            if code in existing:
                continue
            certified = status != BaseStatus.PENDING
            new.append(
                Base(
                    code=code,
                    name=name,
                    name_en=data.BASE_NAMES_EN[code],
                    level=level,
                    district=district,
                    address=address,
                    description=LEVEL_BLURB[level],
                    status=status,
                    certified_until=self.today + timedelta(days=valid_days) if certified else None,
                    certified_at=(
                        self.now - timedelta(days=certified_days_ago) if certified else None
                    ),
                    certified_by=self.certifier(level, district) if certified else None,
                )
            )
        Base.objects.bulk_create(new)
        self.bases = {b.code: b for b in Base.objects.filter(code__in=codes).select_related()}
        self.kinds = {row[0]: row[2] for row in data.BASES}
        pairs = set(
            SchoolContract.objects.filter(base__code__in=data.CONTRACTS).values_list(
                "base__code", "school__code"
            )
        )
        SchoolContract.objects.bulk_create(
            SchoolContract(
                base=self.bases[base_code],
                school=self.schools[school_code],
                valid_until=date(self.school_year + 1, 8, 31),
                contracted_by=(
                    self.users[Role.SCHOOL_ADMIN] if school_code == data.DEMO_SCHOOL_CODE else None
                ),
            )
            for base_code, school_codes in data.CONTRACTS.items()
            for school_code in school_codes
            if (base_code, school_code) not in pairs
        )
        self.contracted = defaultdict(set)
        for base_id, school_id in SchoolContract.objects.values_list("base_id", "school_id"):
            self.contracted[base_id].add(school_id)

    def certifier(self, level: str, district: District) -> User | None:
        """The demo admin who would have certified (or reviewed) at this level, if seeded."""
        if level in (BaseLevel.CITY, BaseLevel.PROJECT):
            return self.users[Role.CITY_ADMIN]
        if district.code == data.DEMO_SCHOOL_CODE[:6]:
            return self.users[Role.DISTRICT_ADMIN]
        return None

    def seed_posts(self) -> None:
        rng = self.rng("posts")
        existing = set(
            Post.objects.filter(base__in=self.bases.values()).values_list("base__code", "title")
        )
        new = []
        for code, *_ in data.BASES:
            base, templates = self.bases[code], data.POSTS[self.kinds[code]]
            if code != data.DEMO_BASE_CODE:
                templates = templates[:2] + [t for t in templates[2:] if rng.random() < 0.5]
            for index, (title, category, grades, description) in enumerate(templates):
                status = self.post_status(rng, base, index)
                reviewed = status in (PostStatus.PUBLISHED, PostStatus.CLOSED)
                reviewed_days_ago = rng.randint(70, 120)
                if (code, title) in existing:
                    continue
                new.append(
                    Post(
                        base=base,
                        title=title,
                        category=self.categories[category],
                        description=description,
                        requirements=REQUIREMENTS,
                        place=base.address or base.name,
                        eligible_grades=grades,
                        status=status,
                        review_note="内容完整，同意发布。" if reviewed else "",
                        reviewed_by=self.certifier(base.level, base.district) if reviewed else None,
                        reviewed_at=(
                            self.now - timedelta(days=reviewed_days_ago) if reviewed else None
                        ),
                        created_by=(
                            self.users[Role.COORDINATOR] if code == data.DEMO_BASE_CODE else None
                        ),
                    )
                )
        Post.objects.bulk_create(new)
        self.posts = list(
            Post.objects.filter(base__in=self.bases.values())
            .select_related("base__district", "category")
            .order_by("base__code", "id")
        )

    def post_status(self, rng: random.Random, base: Base, index: int) -> str:
        roll = rng.random()
        if base.status == BaseStatus.PENDING:
            return PostStatus.DRAFT  # only a certified base sends posts for review
        if base.status == BaseStatus.SUSPENDED:
            return PostStatus.CLOSED
        if base.code == data.DEMO_BASE_CODE:
            # The district admin and the coordinator both see a post waiting for review.
            return PostStatus.IN_REVIEW if index == 3 else PostStatus.PUBLISHED
        if index == 0 or roll < 0.8:
            return PostStatus.PUBLISHED
        return (PostStatus.IN_REVIEW, PostStatus.DRAFT, PostStatus.CLOSED)[int(roll * 15) % 3]

    def seed_scopes(self) -> None:
        users, student = self.users, self.demo_student
        Student.objects.filter(user=users[Role.STUDENT]).exclude(pk=student.pk).update(user=None)
        if student.user_id != users[Role.STUDENT].pk:
            student.user = users[Role.STUDENT]
            student.save(update_fields=["user"])
        if users[Role.STUDENT].full_name != student.name:
            users[Role.STUDENT].full_name = student.name
            users[Role.STUDENT].save(update_fields=["full_name"])
        school = student.school_class.school
        Coordinator.objects.get_or_create(
            user=users[Role.COORDINATOR], base=self.bases[data.DEMO_BASE_CODE]
        )
        TeacherAssignment.objects.get_or_create(
            school_class=student.school_class,
            role=TeacherRole.HEAD_TEACHER,
            defaults={"user": users[Role.HEAD_TEACHER], "school": school},
        )
        TeacherAssignment.objects.get_or_create(
            user=users[Role.SCHOOL_ADMIN], school=school, role=TeacherRole.SCHOOL_ADMIN
        )
        DistrictAdmin.objects.update_or_create(
            user=users[Role.DISTRICT_ADMIN], defaults={"district": school.district}
        )

    def seed_reflections(self) -> None:
        """The demo student's reflections: one on their first record, marked a typical case by
        their head teacher with a photo and a comment; one on their latest record, in notice."""
        student = self.demo_student
        if Reflection.objects.filter(record__student=student).exists():
            return
        records = list(
            PracticeRecord.objects.filter(student=student)
            .exclude(status=RecordStatus.REVOKED)
            .order_by("started_at", "pk")
        )
        if not records:
            return
        author, teacher = self.users[Role.STUDENT], self.users[Role.HEAD_TEACHER]
        first, last = records[0], records[-1]
        typical = reflection_save(record=first, author=author, text=data.REFLECTION_TYPICAL)
        reflection_photo_add(record=first, author=author, image=read_image(demo_photo()))
        reflection_typical_mark(reflection=typical, marked_by=teacher)
        reflection_comment_add(reflection=typical, author=teacher, text=data.REFLECTION_COMMENT)
        if last.pk != first.pk:
            reflection_save(record=last, author=author, text=data.REFLECTION_IN_NOTICE)


def demo_photo() -> bytes:
    """A drawn 'photo' (bookshelves), the same every run: the demo ships no real pictures."""
    picture = Image.new("RGB", (960, 640), (236, 226, 204))
    draw = ImageDraw.Draw(picture)
    colours = [(176, 58, 46), (40, 116, 166), (30, 132, 73), (183, 149, 11), (108, 52, 131)]
    for shelf in range(4):
        top = 60 + shelf * 140
        draw.rectangle((40, top + 110, 920, top + 122), fill=(120, 84, 50))
        for book in range(28):
            left = 50 + book * 31
            height = 70 + (book * 37 + shelf * 11) % 40
            draw.rectangle((left, top + 110 - height, left + 26, top + 110), fill=colours[book % 5])
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)
    return out.getvalue()


class Command(BaseCommand):
    help = "Seed a deterministic demo (schools, students, bases, sessions, records, logins)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=data.DEMO_PASSWORD,
            help=f"password of every demo login (default {data.DEMO_PASSWORD})",
        )

    def handle(self, *args, password: str, **options):
        started = clock.monotonic()
        before = model_counts()
        DemoSeeder(password=password, now=timezone.now()).run()
        after = model_counts()
        created = {label: after[label] - before[label] for label in after}
        for label, count in sorted(created.items()):
            if count:
                self.stdout.write(f"  {label:<36} +{count}")
        total = sum(created.values())
        elapsed = clock.monotonic() - started
        self.stdout.write(self.style.SUCCESS(f"Created {total} rows in {elapsed:.1f} s."))
        self.stdout.write(f"Demo logins (password: {password}):")
        for username, role, _, note in data.DEMO_LOGINS:
            self.stdout.write(f"  {username:<15} {role:<15} {note}")
