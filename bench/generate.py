"""Deterministic synthetic data at a named scale: people, schools, bases and posts.

`BenchData(scale, refs, seed).rows()` yields `(table, row)` pairs in dependency order, rows as
tuples in the column order of `TABLES`; nothing here touches the database, so the same scale,
seed and `refs` (reference rows, id offsets, `today`) always give the same rows. The sessions,
applications, attendance and ledger records come from `bench.activity`, day by day.

Datetimes are naive UTC text (`YYYY-MM-DD HH:MM:SS`), as Django stores them on SQLite; the
PostgreSQL loader reads them in a UTC session.
"""

import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from demo import data

from .activity import Activity

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")

TABLES = {
    "user": ("portal.User", "id password last_login is_superuser username first_name last_name "
             "email is_staff is_active date_joined full_name role language"),
    "school": ("students.School", "id code name name_en district_id"),
    "schoolclass": ("students.SchoolClass", "id school_id entry_year number"),
    "student": ("students.Student",
                "id user_id student_number name school_class_id national_id personal_code"),
    "teacherassignment": ("students.TeacherAssignment",
                          "id user_id school_id school_class_id role"),
    "districtadmin": ("districts.DistrictAdmin", "id user_id district_id"),
    "base": ("bases.Base", "id code name name_en level district_id address description status "
             "certified_until certified_at certified_by_id"),
    "schoolcontract": ("bases.SchoolContract",
                       "id base_id school_id valid_until contracted_by_id created_at"),
    "coordinator": ("bases.Coordinator", "id user_id base_id"),
    "post": ("bases.Post", "id base_id title category_id description requirements place "
             "eligible_grades status review_note reviewed_by_id reviewed_at created_by_id "
             "created_at updated_at self_check_in allows_walk_ins"),
    "session": ("bases.Session", "id post_id starts_at ends_at capacity taken allocation "
                "applications_open_at applications_close_at cancel_cutoff_at lottery_seed "
                "lottery_drawn_at attendance_closed_at attendance_closed_by_id"),
    "application": ("bases.Application", "id student_id session_id status reservation_id "
                    "draw_position draw_weight created_at updated_at"),
    "attendance": ("bases.Attendance", "id session_id student_id application_id checked_in_at "
                   "checked_out_at credited_minutes recorded_via walk_in_reason corrected "
                   "recorded_by_id updated_at awaiting_confirmation"),
    "practicerecord": ("students.PracticeRecord", "id student_id source_ref category_id title "
                       "organiser_name organiser_level district_id started_at ended_at "
                       "credited_minutes recorded_via recorded_by_id status notice_ends_on "
                       "confirmed_at version created_at updated_at organiser_ref"),
    "practicerecordversion": ("students.PracticeRecordVersion", "id record_id version category_id "
                              "title started_at ended_at credited_minutes status changed_by_id "
                              "changed_at reason"),
}  # fmt: skip
COLUMNS = {key: tuple(spec[1].split()) for key, spec in TABLES.items()}
BIG_TABLES = ("application", "attendance", "practicerecord", "practicerecordversion")


@dataclass(frozen=True)
class Scale:
    name: str
    schools: int
    classes: int
    students: int
    bases: int
    posts: int
    sessions: int
    records: int
    districts: tuple[str, ...] = ()  # codes; empty means all


SCALES = {
    "XS": Scale("XS", 2, 12, 300, 10, 30, 400, 3_000, ("310104", "310115")),
    "S": Scale("S", 4, 40, 1_500, 30, 100, 2_000, 20_000, ("310104", "310115")),
    "M": Scale("M", 300, 5_500, 220_000, 2_500, 10_000, 700_000, 10_000_000),
}


@dataclass
class Refs:
    """What the generator needs from the database; build it with `bench.load.load_refs`."""

    today: date
    districts: list[tuple[int, str, str]]  # (id, code, name_zh) in sort order
    categories: dict[str, tuple[int, bool]]  # code -> (id, counts as volunteer service)
    policies: list[tuple[int, int, int, int, int]]  # (from entry year, hours, days, min/h, notice)
    offsets: dict[str, int] = field(default_factory=dict)  # table -> largest id already used
    password_hash: str = "!"

    def policy(self, entry_year: int) -> tuple[int, int, int, int, int]:
        ordered = sorted(self.policies)
        earlier = [p for p in ordered if p[0] <= entry_year]
        return earlier[-1] if earlier else ordered[0]


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def local(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=SHANGHAI)


def spread(total: int, weights: list[float]) -> list[int]:
    """Split `total` into integers proportional to `weights` (largest remainder), exactly."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    order = sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


class Sampler:
    """Weighted draws (with replacement) from a fixed list of ids: one bisect per draw."""

    __slots__ = ("ids", "cum", "total")

    def __init__(self, ids: list[int], weights: list[float]):
        self.ids, self.cum = ids, list(accumulate(weights))
        self.total = self.cum[-1] if self.cum else 0.0

    def draw(self, rnd) -> int:
        index = bisect_right(self.cum, rnd() * self.total)
        return self.ids[min(index, len(self.ids) - 1)]


# Base names: a kind of venue (the demo's kinds, by level) and a place in the district.
KIND_NAMES = {
    "library": "图书馆", "hospital": "医院", "art": "艺术馆", "museum": "博物馆",
    "memorial": "纪念馆", "science": "科技馆", "community": "社区服务中心",
    "safety": "安全教育实训基地", "camp": "青少年活动营地", "park": "公园", "metro": "地铁站",
    "redcross": "红十字会", "painting": "画院", "farm": "学农实践基地",
    "renewal": "城市微更新考察项目", "river": "滨江生态调查项目", "innovation": "科创实践项目",
    "guides": "小小讲解员志愿项目", "creek": "历史建筑考察项目", "waste": "垃圾分类宣传项目",
}  # fmt: skip
PLACES = ["淮海", "南京", "徐家汇", "陆家嘴", "人民", "静安", "虹桥", "五角场",
          "七宝", "莘庄", "张江", "世纪", "滨江", "古北", "曹杨", "长风"]  # fmt: skip
LEVEL_SHARE = {"city": 0.08, "district": 0.40, "school": 0.37, "project": 0.15}
SCHOOL_SUFFIXES = ["第一中学", "第二中学", "第三中学", "实验中学", "高级中学",
                   "外国语学校", "中学", "附属中学"]  # fmt: skip
INJECTION = '=HYPERLINK("http://example.invalid","查看")'


class BenchData(Activity):
    """One scale's worth of rows; `counts` tallies what `rows()` yielded per table."""

    def __init__(self, scale: Scale, refs: Refs, seed: int = 1):
        self.scale, self.refs, self.seed = scale, refs, seed
        self.today = refs.today
        self.now = local(refs.today, time(0, 0))
        self.now_text = utc_text(self.now)
        self.school_year = self.today.year if self.today.month >= 9 else self.today.year - 1
        self.entry_years = [self.school_year - 2, self.school_year - 1, self.school_year]
        wanted = set(scale.districts)
        self.districts = [d for d in refs.districts if not wanted or d[1] in wanted]
        self.next_id = dict(refs.offsets)
        self.counts: dict[str, int] = {}

    def rng(self, stage: str) -> random.Random:
        return random.Random(f"bench:{self.scale.name}:{self.seed}:{stage}")

    def new_id(self, table: str) -> int:
        self.next_id[table] = self.next_id.get(table, 0) + 1
        self.counts[table] = self.counts.get(table, 0) + 1
        return self.next_id[table]

    def rows(self):
        yield from self.admins()
        yield from self.schools()
        yield from self.students()
        yield from self.bases()
        yield from self.posts()
        yield from self.activity()

    def user(self, username: str, role: str, full_name: str = "", staff: bool = False):
        user_id = self.new_id("user")
        joined = self.now_text
        return user_id, (user_id, self.refs.password_hash, None, staff, username, "", "", "",
                         staff, True, joined, full_name, role, "")  # fmt: skip

    def admins(self):
        self.city_admin, row = self.user("bench-city", "city_admin", "市教委管理员", staff=True)
        yield "user", row
        self.district_admin = {}
        for district_id, code, name in self.refs.districts:
            user_id, row = self.user(f"bench-district-{code}", "district_admin", f"{name}管理员")
            self.district_admin[district_id] = user_id
            yield "user", row
            yield "districtadmin", (self.new_id("districtadmin"), user_id, district_id)

    # -- schools, classes, students -------------------------------------------------------
    def schools(self):
        rng, scale = self.rng("schools"), self.scale
        weights = [3.0 if code == "310115" else 1.0 for _, code, _ in self.districts]
        per_district = spread(scale.schools, weights)
        self.school_rows = []  # (id, district_id, district_code)
        for (district_id, code, name), count in zip(self.districts, per_district, strict=True):
            for number in range(1, count + 1):
                school_id = self.new_id("school")
                suffix = SCHOOL_SUFFIXES[number % len(SCHOOL_SUFFIXES)]
                title = f"上海市{name[:-1]}{rng.choice(PLACES)}{suffix}"
                en = f"Bench School {code}-{number:03d}"
                yield "school", (school_id, f"B{code}{number:03d}", title, en, district_id)
                self.school_rows.append((school_id, district_id, code))

    def students(self):
        rng, scale = self.rng("students"), self.scale
        per_school = spread(scale.classes, [rng.uniform(0.6, 1.4) for _ in self.school_rows])
        plan = []  # (school row, entry year, class number)
        for school, classes in zip(self.school_rows, per_school, strict=True):
            per_year = spread(classes, [1.0, 1.0, 1.0])
            for entry_year, count in zip(self.entry_years, per_year, strict=True):
                plan += [(school, entry_year, number) for number in range(1, count + 1)]
        sizes = spread(scale.students, [rng.uniform(0.8, 1.2) for _ in plan])
        numbers, codes = set(), set()
        # Per student, for the activity sampler: (id, cohort index, school, district, weight).
        self.pupils: list[tuple[int, int, int, int, float]] = []
        self.student_users: dict[int, int] = {}
        last_school = None
        for school, number_per_class in zip(plan, sizes, strict=True):
            (school_id, district_id, district_code), entry_year, number = school
            if school_id != last_school:
                yield from self.school_admin(school_id)
                last_school = school_id
            class_id = yield from self.school_class(school_id, entry_year, number)
            for _ in range(number_per_class):
                student_id = self.new_id("student")
                while True:
                    home = district_code if rng.random() < 0.7 else rng.choice(self.districts)[1]
                    born = date(entry_year - 16, 9, 1) + timedelta(days=rng.randrange(365))
                    sequence = rng.randrange(1, 1000)
                    code = data.student_number(district_code=home, born=born, sequence=sequence)
                    personal = f"P{rng.getrandbits(64):016X}"
                    if code not in numbers and personal not in codes:
                        break
                numbers.add(code)
                codes.add(personal)
                name = rng.choice(data.SURNAMES) + rng.choice(data.GIVEN_NAMES)
                user_id, row = self.user(f"bench-student-{student_id:06d}", "student", name)
                yield "user", row
                national_id = code[1:] if rng.random() < 0.85 else ""
                yield "student", (student_id, user_id, code, name, class_id, national_id, personal)
                cohort = self.entry_years.index(entry_year)
                weight = rng.lognormvariate(0.0, 0.6)
                self.pupils.append((student_id, cohort, school_id, district_id, weight))

    def school_admin(self, school_id: int):
        user_id, row = self.user(f"bench-schooladmin-{school_id:04d}", "school_admin")
        yield "user", row
        assignment = (self.new_id("teacherassignment"), user_id, school_id, None, "school_admin")
        yield "teacherassignment", assignment

    def school_class(self, school_id: int, entry_year: int, number: int):
        """A class's row and its head teacher; returns the class id."""
        class_id = self.new_id("schoolclass")
        yield "schoolclass", (class_id, school_id, entry_year, number)
        user_id, row = self.user(f"bench-teacher-{class_id:05d}", "head_teacher")
        yield "user", row
        yield (
            "teacherassignment",
            (self.new_id("teacherassignment"), user_id, school_id, class_id, "head_teacher"),
        )
        return class_id

    # -- bases, contracts, coordinators, posts -----------------------------------------------
    def bases(self):
        rng, scale = self.rng("bases"), self.scale
        kinds = {level: sorted({row[2] for row in data.BASES if row[1] == level})
                 for level in LEVEL_SHARE}  # fmt: skip
        levels = [lv for lv, n in zip(LEVEL_SHARE, spread(scale.bases, list(LEVEL_SHARE.values())),
                                      strict=True) for _ in range(n)]  # fmt: skip
        rng.shuffle(levels)
        schools_by_district: dict[int, list[int]] = {}
        for school_id, district_id, _ in self.school_rows:
            schools_by_district.setdefault(district_id, []).append(school_id)
        with_schools = [d for d in self.districts if d[0] in schools_by_district]
        self.base_info = []  # dicts: id, level, kind, district, name, status, coordinator, schools
        for index, level in enumerate(levels, start=1):
            district_id, code, district_name = rng.choice(
                with_schools if level == "school" or rng.random() < 0.8 else self.districts
            )
            kind = rng.choice(kinds[level])
            base_id = self.new_id("base")
            name = f"{district_name}{rng.choice(PLACES)}{KIND_NAMES[kind]}（{index}）"
            roll = rng.random()
            status = ("pending" if roll < 0.03 else "suspended" if roll < 0.06
                      else "revoked" if roll < 0.08 else "certified")  # fmt: skip
            certifier = (
                self.district_admin[district_id]
                if level in ("district", "school")
                else (self.city_admin)
            )
            certified = status != "pending"
            until = self.today + timedelta(days=rng.randint(60, 900))
            if status in ("suspended", "revoked"):
                until = self.today - timedelta(days=rng.randint(1, 200))
            at = utc_text(self.now - timedelta(days=rng.randint(700, 1200)))
            yield "base", (
                base_id, f"{level[0].upper()}-{code}-B{index:04d}", name, f"Bench base {index}",
                level, district_id, f"{district_name}{rng.choice(PLACES)}路{rng.randint(1, 999)}号",
                f"{district_name}{KIND_NAMES[kind]}，面向高中学生开放社会实践岗位。", status,
                until.isoformat() if certified else None, at if certified else None,
                certifier if certified else None,
            )  # fmt: skip
            coordinators = []
            for k in (1, 2):
                user_id, row = self.user(f"bench-coordinator-{base_id:05d}-{k}", "coordinator")
                yield "user", row
                yield "coordinator", (self.new_id("coordinator"), user_id, base_id)
                coordinators.append(user_id)
            contracted = []
            if level == "school":
                local_schools = schools_by_district[district_id]
                contracted = rng.sample(local_schools, min(len(local_schools), rng.randint(1, 3)))
                for school_id in contracted:
                    yield "schoolcontract", (
                        self.new_id("schoolcontract"), base_id, school_id,
                        date(self.school_year + 1, 8, 31).isoformat(), None, at,
                    )  # fmt: skip
            self.base_info.append(
                {"id": base_id, "level": level, "kind": kind, "district": district_id,
                 "name": name, "status": status, "coordinator": coordinators[0],
                 "schools": contracted, "certifier": certifier}
            )  # fmt: skip

    def posts(self):
        rng, scale = self.rng("posts"), self.scale
        order = list(range(len(self.base_info)))
        rng.shuffle(order)
        rank = {index: position for position, index in enumerate(order)}
        per_base = spread(scale.posts, [rng.uniform(0.5, 1.5) for _ in self.base_info])
        self.post_info = []  # dicts: id, base, category, volunteer, title, grades, status, weight
        for index, (base, count) in enumerate(zip(self.base_info, per_base, strict=True)):
            popularity = 1.0 / (rank[index] + 10)  # Zipf-Mandelbrot over bases (s=1, q=10)
            templates = data.POSTS[base["kind"]]
            shares = [rng.uniform(0.3, 1.0) for _ in range(count)]
            for k in range(count):
                title, category, grades, description = templates[k % len(templates)]
                if k >= len(templates):
                    title = f"{title}（{k // len(templates) + 1}）"
                if rng.random() < 0.01:  # formula-injection payloads for the export benchmark
                    title = f"{INJECTION}{title}"
                category_id, volunteer = self.refs.categories[category]
                status = self.post_status(rng, base["status"])
                reviewed = status in ("published", "closed")
                at = utc_text(self.now - timedelta(days=rng.randint(400, 1100)))
                post_id = self.new_id("post")
                yield "post", (
                    post_id, base["id"], title, category_id, description,
                    "请提前10分钟到达，穿校服，携带学生证。", base["name"], grades, status,
                    "内容完整，同意发布。" if reviewed else "",
                    base["certifier"] if reviewed else None, at if reviewed else None,
                    base["coordinator"], at, at, True, False,
                )  # fmt: skip
                weight = popularity * shares[k] / sum(shares) * (0.35 if volunteer else 1.0)
                self.post_info.append(
                    {"id": post_id, "base": base, "category": category_id, "title": title,
                     "volunteer": volunteer, "grades": grades, "status": status,
                     "weight": weight, "rank": rank[index] / max(1, len(order) - 1)}
                )  # fmt: skip

    @staticmethod
    def post_status(rng: random.Random, base_status: str) -> str:
        roll = rng.random()
        if base_status == "pending":
            return "in_review" if roll < 0.5 else "draft"
        if base_status != "certified":
            return "closed"
        return ("published" if roll < 0.85 else "in_review" if roll < 0.9
                else "draft" if roll < 0.95 else "closed")  # fmt: skip
