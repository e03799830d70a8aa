"""Sessions, applications, attendance and ledger records of the bench data, one day at a time.

A mixin of `bench.generate.BenchData`. Days run from 1 September of the oldest cohort's entry
year to five weeks after `today`; each day gets a share of the sessions proportional to the
students enrolled that day and to whether school is off (weekends and holidays weigh 1, school
days 0.45, so about 70% of sessions fall on days off). Sessions take the 09:00-12:00 and
13:30-16:30 slots on days off, 16:00-18:00 and 18:30-20:30 on school days.

Each slot of a day is a "cell": a student holds at most one live application per cell, so the
records of one student never overlap (the ledger's rule) without any lookup. Past days share
the record budget; a session's seats go to students drawn by weight (each student has an
activity level, lognormal) from the cohorts its post accepts, nearby students first for
district bases and only contracted schools' students for school bases. Posts are drawn by a
Zipf weight of their base, so a few bases take most sessions and all the waiting lists.
"""

import random
from datetime import date, time, timedelta

from bases.organisers import SOURCE_PREFIX
from demo.calendar import is_day_off

OFF_SLOTS = ((time(9, 0), time(12, 0)), (time(13, 30), time(16, 30)))
SCHOOL_SLOTS = ((time(16, 0), time(18, 0)), (time(18, 30), time(20, 30)))
CAPACITIES = (8, 10, 12, 15, 15, 20, 20, 20, 25, 30, 30, 40)
BIG_CAPACITIES = (30, 40, 50, 60)
VIA = (("roster", 0.70), ("scan", 0.95), ("import", 0.99), ("api", 1.0))
FUTURE_DAYS = 35
RECENT_DAYS = 90  # closed posts and suspended bases have sessions only before this
REVOKE_SHARE = 0.003
NO_SHOW, CANCEL = 0.07, 0.04


class Cell:
    """One slot of one day: the times every session in it shares, as text, cached."""

    def __init__(self, gen, day: date, start: time, end: time):
        from .generate import local, utc_text

        self.utc_text, self.day = utc_text, day
        self.start, self.end = local(day, start), local(day, end)
        self.start_text, self.end_text = utc_text(self.start), utc_text(self.end)
        self.minutes = int((self.end - self.start).total_seconds() // 60)
        self.past = day < gen.today
        self.open = local(day - timedelta(days=21), time(8, 0))
        closes = {"first_come": local(day - timedelta(days=1), time(20, 0))}
        closes["lottery"] = local(day - timedelta(days=3), time(20, 0))
        self.close_text = {key: utc_text(value) for key, value in closes.items()}
        self.drawn = {key: value <= gen.now for key, value in closes.items()}
        self.open_text, self.cutoff_text = (
            utc_text(self.open),
            utc_text(self.start - timedelta(hours=24)),
        )
        self.applied = {}
        for key, close in closes.items():
            last = min(close, gen.now)
            span = max(60, int((last - self.open).total_seconds()))
            self.applied[key] = [utc_text(self.open + timedelta(seconds=span * k // 12)) for k in
                                 range(12)] if self.open < gen.now else []  # fmt: skip
        self.closed = [utc_text(min(self.end + timedelta(hours=h), gen.now)) for h in (2, 5, 9, 20)]
        self.times: dict[int, str] = {}
        # Ledger status per cohort: notice from the day after the end, final once it is over.
        self.status = []
        for cohort_year in gen.entry_years:
            notice_days = gen.refs.policy(cohort_year)[4]
            ends_on = day + timedelta(days=1 + notice_days)
            if ends_on < gen.today:
                confirmed = min(local(ends_on + timedelta(days=1), time(2, 0)), gen.now)
                self.status.append(("final", ends_on.isoformat(), utc_text(confirmed)))
            else:
                self.status.append(("in_notice", ends_on.isoformat(), None))

    def at(self, minutes: int) -> str:
        """The time `minutes` after the start (negative: before), as UTC text."""
        if minutes not in self.times:
            self.times[minutes] = self.utc_text(self.start + timedelta(minutes=minutes))
        return self.times[minutes]


class Activity:
    def activity(self):
        rng = self.rng("activity")
        self.build_pools(rng)
        first = date(self.entry_years[0], 9, 1)
        days = [first + timedelta(days=k) for k in
                range((self.today - first).days + FUTURE_DAYS)]  # fmt: skip
        weights = [(1.0 if is_day_off(d) else 0.45) * self.enrolled_weight(d) for d in days]
        sessions = spread_ints(self.scale.sessions, weights)
        budget = spread_ints(
            self.scale.records,
            [w if d < self.today else 0.0 for d, w in zip(days, weights, strict=True)],
        )
        self.carry, self.shortfall = 0, 0
        for day, count, records in zip(days, sessions, budget, strict=True):
            yield from self.one_day(rng, day, count, records + self.carry)
        self.shortfall = self.carry

    def enrolled_weight(self, day: date) -> float:
        year = day.year if day.month >= 9 else day.year - 1
        return sum(self.cohort_sizes[c] for c, y in enumerate(self.entry_years) if y <= year)

    def build_pools(self, rng: random.Random) -> None:
        from .generate import Sampler

        groups: dict[tuple, tuple[list, list]] = {}
        self.cohort_sizes = [0, 0, 0]
        for student_id, cohort, school_id, district_id, weight in self.pupils:
            self.cohort_sizes[cohort] += 1
            for scope in (("all", 0), ("d", district_id), ("s", school_id)):
                ids, weights = groups.setdefault((*scope, cohort), ([], []))
                ids.append(student_id)
                weights.append(weight)
        self.pools = {key: Sampler(*value) for key, value in groups.items()}
        self.cohort_of = {p[0]: p[1] for p in self.pupils}
        self.pupils = []  # the samplers hold what is needed from here on
        sessionable = [p for p in self.post_info if p["status"] in ("published", "closed")
                       and p["base"]["status"] != "pending"]  # fmt: skip
        recent = [p for p in sessionable if p["status"] == "published"
                  and p["base"]["status"] == "certified"]  # fmt: skip
        self.post_pools = {
            "early": Sampler(sessionable, [p["weight"] for p in sessionable]),
            "recent": Sampler(recent, [p["weight"] for p in recent]),
        }
        self.recent_from = self.today - timedelta(days=RECENT_DAYS)
        self.pool_cache: dict[tuple, tuple] = {}
        codes = ("safety_training", "military_training", "rural_practice")
        self.big_categories = {
            self.refs.categories[c][0] for c in codes if c in self.refs.categories
        }

    def pools_for(self, post: dict, year: int) -> tuple:
        """(samplers near, samplers anywhere) of students a post's session may take in a year."""
        key = (post["id"], year)
        if key not in self.pool_cache:
            base = post["base"]
            cohorts = [c for c, y in enumerate(self.entry_years)
                       if y <= year and str(year - y + 1) in post["grades"]]  # fmt: skip
            if base["level"] == "school":
                scopes = [("s", school) for school in base["schools"]]
                near = anywhere = self.composite(scopes, cohorts)
            else:
                anywhere = self.composite([("all", 0)], cohorts)
                near = anywhere
                if base["level"] == "district":
                    near = self.composite([("d", base["district"])], cohorts) or anywhere
            self.pool_cache[key] = (near, anywhere)
        return self.pool_cache[key]

    def composite(self, scopes: list[tuple], cohorts: list[int]) -> list:
        found = [self.pools[(*scope, c)] for scope in scopes for c in cohorts
                 if (*scope, c) in self.pools]  # fmt: skip
        return [pool for pool in found if pool.total > 0]

    def one_day(self, rng: random.Random, day: date, count: int, budget: int):
        year = day.year if day.month >= 9 else day.year - 1
        slots = OFF_SLOTS if is_day_off(day) else SCHOOL_SLOTS
        posts = self.post_pools["early" if day < self.recent_from else "recent"]
        specs = []
        for _ in range(count):
            for _attempt in range(6):
                post = posts.draw(rng.random)
                near, anywhere = self.pools_for(post, year)
                if anywhere:
                    break
            big = post["category"] in self.big_categories
            capacity = rng.choice(BIG_CAPACITIES if big else CAPACITIES)
            fill = 1.0 - 0.6 * post["rank"] ** 0.7
            lottery = post["rank"] < 0.2 and rng.random() < 0.15
            specs.append((rng.randrange(len(slots)), post, capacity, fill, lottery))
        wanted = sum(s[2] * s[3] for s in specs if self.pools_for(s[1], year)[1])
        scale = budget / wanted if wanted and day < self.today else 0.0
        self.carry = budget
        for index, (start, end) in enumerate(slots):
            cell = Cell(self, day, start, end)
            busy: set[int] = set()
            for spec in specs:
                if spec[0] == index:
                    yield from self.one_session(rng, cell, busy, year, spec, scale)

    def one_session(self, rng, cell: Cell, busy: set, year: int, spec: tuple, scale: float):
        _, post, capacity, fill, lottery = spec
        near, anywhere = self.pools_for(post, year)
        rnd = rng.random
        allocation = "lottery" if lottery else "first_come"
        applied = cell.applied[allocation]
        if not anywhere or not applied:
            seated = want = 0
        elif cell.past:
            want = min(self.carry, capacity, int(capacity * fill * scale + rnd()))
            seated = want + min(capacity - want, int(want * NO_SHOW + rnd()))
        else:
            want, seated = 0, min(capacity, int(capacity * fill * rng.uniform(0.2, 1.0) + rnd()))
        popular = post["rank"] < 0.03 and seated == capacity
        waitlist = int(capacity * rng.uniform(0.2, 1.0)) if popular else 0
        people = []
        for _ in range(seated + waitlist):
            pools = near if near is not anywhere and rnd() < 0.7 else anywhere
            for _try in range(12):
                pool = pools[0] if len(pools) == 1 else pick(pools, rnd)
                student = pool.draw(rnd)
                if student not in busy:
                    busy.add(student)
                    people.append(student)
                    break
        seated = min(seated, len(people))
        want = min(want, seated)
        self.carry -= want
        drawn = lottery and cell.drawn["lottery"]
        if cell.past:
            statuses = ["attended"] * want + ["no_show"] * (seated - want)
        else:
            statuses = ["confirmed" if drawn or not lottery else "pending"] * seated
        statuses += ["waitlisted" if drawn or not lottery else "pending"] * (len(people) - seated)
        taken = sum(status != "pending" for status in statuses[:seated])
        session_id = self.new_id("session")
        coordinator = post["base"]["coordinator"]
        closed = cell.closed[int(rnd() * 4)] if cell.past else None
        yield "session", (
            session_id, post["id"], cell.start_text, cell.end_text, capacity, taken,
            allocation, cell.open_text, cell.close_text[allocation], cell.cutoff_text,
            rng.getrandbits(62) if drawn else None, cell.close_text["lottery"] if drawn else None,
            closed, coordinator if closed else None,
        )  # fmt: skip
        for position, (student, status) in enumerate(zip(people, statuses, strict=True), 1):
            created = applied[int(rnd() * len(applied))]
            app_id = self.new_id("application")
            yield "application", (
                app_id, student, session_id, status, None, position if drawn else None,
                round(rng.uniform(0.5, 1.5), 3) if drawn else None, created, closed or created,
            )  # fmt: skip
            if status == "attended":
                yield from self.attended(rng, cell, post, session_id, app_id, student, closed)
        if people and rnd() < CANCEL * 5:
            student = anywhere[0].draw(rnd)
            if student not in people:
                created = applied[int(rnd() * len(applied))]
                yield "application", (self.new_id("application"), student, session_id,
                                      "cancelled", None, None, None, created, created)  # fmt: skip

    def attended(self, rng, cell: Cell, post: dict, session_id, app_id, student, closed):
        rnd = rng.random
        late = rnd() < 0.06
        arrived = rng.randint(20, 60) if late else rng.randint(-15, 5)
        left = -rng.randint(20, 50) if rnd() < 0.05 else rng.randint(-5, 15)
        credited = min(cell.minutes + left, cell.minutes) - max(arrived, 0)
        roll = rnd()
        via = next(name for name, upto in VIA if roll < upto)
        base = post["base"]
        coordinator = base["coordinator"]
        attendance_id = self.new_id("attendance")
        yield "attendance", (
            attendance_id, session_id, student, app_id, cell.at(arrived),
            cell.at(cell.minutes + left), credited, via, "", False, coordinator, closed, False,
        )  # fmt: skip
        record_id = self.new_id("practicerecord")
        status, notice_ends_on, confirmed = cell.status[self.cohort_of[student]]
        revoked = rnd() < REVOKE_SHARE
        if revoked:
            status, confirmed = "revoked", None
        yield "practicerecord", (
            record_id, student, f"{SOURCE_PREFIX}{attendance_id}", post["category"], post["title"],
            base["name"], base["level"], base["district"], cell.start_text, cell.end_text,
            credited, via, coordinator, status, notice_ends_on, confirmed, 2 if revoked else 1,
            closed, closed, f"base:{base['id']}",
        )  # fmt: skip
        yield "practicerecordversion", (
            self.new_id("practicerecordversion"), record_id, 1, post["category"], post["title"],
            cell.start_text, cell.end_text, credited, "in_notice", coordinator, closed, "",
        )  # fmt: skip
        if revoked:
            yield "practicerecordversion", (
                self.new_id("practicerecordversion"), record_id, 2, post["category"],
                post["title"], cell.start_text, cell.end_text, credited, "revoked",
                self.city_admin, closed, "重复登记，已撤销。",
            )  # fmt: skip


def pick(pools: list, rnd):
    """A pool drawn by its total weight (the lists are short: a few cohorts or schools)."""
    total = sum(pool.total for pool in pools)
    target = rnd() * total
    for pool in pools:
        target -= pool.total
        if target < 0:
            return pool
    return pools[-1]


def spread_ints(total: int, weights: list[float]) -> list[int]:
    from .generate import spread

    return spread(total, weights) if any(weights) else [0] * len(weights)
