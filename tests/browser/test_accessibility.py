"""WCAG 2.1 AA on the key pages of every role, checked in a real browser.

axe-core (bundled by axe-playwright-python) audits each page at phone and desktop widths and
the test fails on any serious or critical violation. A second test measures, at 360 px, that
no page scrolls sideways and that every control a thumb must hit is at least 44 x 44 px.
One browser serves both; each role signs in once per test.
"""

import io
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from bases.messages import APPLICATION_PROMOTED
from bases.models import Allocation, ApplicationStatus, BaseStatus, PostStatus
from portal.models import Role
from portal.services import notification_send
from portal.uploads import read_image
from students.models import RecordStatus
from students.reflections import reflection_comment_add, reflection_photo_add, reflection_save
from tests.browser.conftest import login
from tests.factories import (
    PASSWORD,
    ApplicationFactory,
    BaseFactory,
    CoordinatorFactory,
    DistrictAdminFactory,
    HeadTeacherFactory,
    PostFactory,
    SchoolAdminFactory,
    SchoolClassFactory,
    SessionFactory,
    StudentFactory,
    UserFactory,
    district,
)
from tests.students.progress_helpers import add_record, entry_year_with_every_state, give_state

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
BLOCKING = {"serious", "critical"}

# The controls a finger has to hit, and how big each one is: a check box counts with its
# label. A link inside running text is exempt (WCAG's "inline" exception), as in 2.5.5.
SMALL_TARGETS_JS = """
() => {
  const MIN = 44;
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden";
  };
  const squashed = (t) => (t || "").replace(/\\s+/g, "");
  const inText = (el) => {
    if (el.tagName !== "A") return false;
    let block = el.parentElement;
    while (block && getComputedStyle(block).display.startsWith("inline")) {
      block = block.parentElement;
    }
    return !!block && squashed(block.textContent).length > squashed(el.textContent).length + 1;
  };
  const size = (el) => {
    let { left, top, right, bottom } = el.getBoundingClientRect();
    for (const label of el.labels || []) {
      const r = label.getBoundingClientRect();
      left = Math.min(left, r.left); top = Math.min(top, r.top);
      right = Math.max(right, r.right); bottom = Math.max(bottom, r.bottom);
    }
    return [right - left, bottom - top];
  };
  const found = [];
  const controls = "a[href], button, select, input:not([type=hidden]), summary, textarea";
  for (const el of document.querySelectorAll(controls)) {
    if (!shown(el) || inText(el) || el.closest("svg, .visually-hidden")) continue;
    const [w, h] = size(el);
    if (w < MIN - 0.5 || h < MIN - 0.5) {
      const text = (el.textContent || el.value || el.name || "").trim().slice(0, 24);
      found.push(`${el.tagName.toLowerCase()} "${text}" ${Math.round(w)}x${Math.round(h)}`);
    }
  }
  return found;
}
"""
SIDEWAYS_JS = """
() => {
  const root = document.documentElement;
  const wide = [root.scrollWidth - root.clientWidth];
  for (const el of document.querySelectorAll(".table-wrap")) {
    wide.push(el.scrollWidth - el.clientWidth);
  }
  return Math.max(...wide);
}
"""


def _world() -> dict[str, list[str]]:
    """One of each role around one class, one base and one district; the pages each role sees."""
    today = timezone.localdate()
    xuhui = district("310104")
    klass = SchoolClassFactory(
        school__name="上海市徐汇中学",
        school__district=xuhui,
        entry_year=entry_year_with_every_state(today),
    )
    school = klass.school
    student = StudentFactory(user__username="student", name="李明", school_class=klass)
    classmates = [
        StudentFactory(name=name, school_class=klass) for name in ("张风险", "王完成", "赵落后")
    ]
    for classmate, state in zip(classmates, ("at_risk", "done", "behind"), strict=True):
        give_state(classmate, state, today=today)
    record = add_record(student, day=today - timedelta(days=2), status=RecordStatus.IN_NOTICE)
    add_record(student, day=today - timedelta(days=30))
    teacher = HeadTeacherFactory(user__username="teacher", school_class=klass).user
    # A reflection with a photo, a comment and the typical-case mark, on the record page and
    # on the class's notice page.
    reflection = reflection_save(record=record, author=student.user, text="整理图书很有收获。" * 20)
    picture = io.BytesIO()
    Image.new("RGB", (1600, 1200), (30, 130, 80)).save(picture, "JPEG")
    reflection_photo_add(record=record, author=student.user, image=read_image(picture.getvalue()))
    reflection_comment_add(reflection=reflection, author=teacher, text="写得好")
    SchoolAdminFactory(user__username="school_admin", school=school)
    DistrictAdminFactory(user__username="district_admin", district=xuhui)
    UserFactory(username="city_admin", role=Role.CITY_ADMIN)

    base = CoordinatorFactory(user__username="coordinator", base__name="徐汇区图书馆").base
    post = PostFactory(base=base, title="图书管理员")
    full = SessionFactory(post=post, capacity=2, taken=2)
    ApplicationFactory(student=student, session=full)
    ApplicationFactory(student=classmates[0], session=full)
    ApplicationFactory(student=classmates[1], session=full, status=ApplicationStatus.WAITLISTED)
    lottery = SessionFactory(
        post=post, allocation=Allocation.LOTTERY, starts_at=full.starts_at + timedelta(days=2)
    )
    ApplicationFactory(student=student, session=lottery, status=ApplicationStatus.PENDING)
    in_review = PostFactory(base=base, title="阅览室秩序维护", status=PostStatus.IN_REVIEW)
    SessionFactory(post=in_review)
    BaseFactory(name="待认证基地", status=BaseStatus.PENDING, certified_until=None)
    notification_send(
        user=student.user,
        message=APPLICATION_PROMOTED,
        params={"session": "图书管理员"},
        url="/applications/",
    )

    # A classmate sees the reflection on the notice page, masked, and may object to it.
    StudentFactory(user__username="classmate", name="周同学", school_class=klass)
    return {
        "": ["/accounts/login/", "/", f"/districts/{xuhui.code}/", f"/posts/{post.pk}/"],
        "student": [
            "/dashboard/student/",
            "/applications/",
            f"/posts/{post.pk}/",
            "/records/",
            f"/records/{record.pk}/",
            "/notifications/",
        ],
        "coordinator": [
            "/dashboard/coordinator/",
            "/manage/posts/",
            f"/manage/posts/{post.pk}/",
            f"/manage/sessions/{full.pk}/applicants/",
            f"/manage/sessions/{full.pk}/roster/",
            f"/manage/sessions/{full.pk}/edit/",
            f"/manage/sessions/{full.pk}/cancel/",
            f"/manage/posts/{post.pk}/close/",
            "/disputes/",
        ],
        "teacher": [
            "/dashboard/teacher/",
            f"/reports/classes/{klass.pk}/",
            "/notice/",
            f"/records/{record.pk}/",
            "/class/book/",
        ],
        "classmate": ["/notice/"],
        "school_admin": ["/dashboard/school/", f"/reports/schools/{school.pk}/"],
        "district_admin": [
            "/dashboard/district/",
            "/review/posts/",
            f"/review/posts/{in_review.pk}/",
            "/review/bases/",
            f"/reports/districts/{xuhui.pk}/",
        ],
        "city_admin": ["/dashboard/city/", "/reports/city/", "/export/"],
    }


def _each_page(page, live_server, pages):
    """Sign in once per role, then open each of its pages; yields (role, path)."""
    for role, paths in pages.items():
        page.context.clear_cookies()
        if role:
            login(page, live_server, role, PASSWORD)
            expect(page.get_by_test_id("dashboard-title")).to_be_visible()
        for path in paths:
            response = page.goto(live_server.url + path)
            assert response.status == 200, (role, path, response.status)
            yield role or "anonymous", path


def test_key_pages_have_no_serious_accessibility_violation(page, live_server):
    pages = _world()
    assert sum(len(paths) for paths in pages.values()) >= 15
    axe = Axe()
    found = []
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        for role, path in _each_page(page, live_server, pages):
            results = axe.run(page).response
            found += [
                f"{viewport['width']}px {role} {path}: {v['id']} ({v['impact']}) "
                f"{[node['target'] for node in v['nodes']][:3]}"
                for v in results["violations"]
                if v["impact"] in BLOCKING
            ]
    assert not found, "\n".join(found)


def test_on_a_phone_nothing_scrolls_sideways_and_every_target_is_44_px(page, live_server):
    pages = _world()
    page.set_viewport_size(PHONE)
    problems = []
    for role, path in _each_page(page, live_server, pages):
        if (wider := page.evaluate(SIDEWAYS_JS)) > 0:
            problems.append(f"{role} {path}: scrolls sideways by {wider}px")
        problems += [f"{role} {path}: {small}" for small in page.evaluate(SMALL_TARGETS_JS)]
    assert not problems, "\n".join(problems)


def test_large_text_mode_scales_every_page_and_stays_on(page, live_server):
    _world()
    page.set_viewport_size(PHONE)
    root_size = "() => getComputedStyle(document.documentElement).fontSize"
    login(page, live_server, "student", PASSWORD)
    toggle = page.get_by_test_id("large-text-toggle")
    expect(toggle).to_have_text("关怀版")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert page.evaluate(root_size) == "16px"

    toggle.click()
    expect(page.get_by_test_id("large-text-toggle")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate(root_size) == "20px"
    page.goto(f"{live_server.url}/applications/")
    assert page.evaluate(root_size) == "20px"
    assert page.evaluate(SIDEWAYS_JS) <= 0

    page.get_by_test_id("large-text-toggle").click()
    expect(page.get_by_test_id("large-text-toggle")).to_have_attribute("aria-pressed", "false")
    assert page.evaluate(root_size) == "16px"
    assert page.url.endswith("/applications/")


def test_the_first_tab_stop_skips_to_the_content_with_a_visible_ring(page, live_server):
    page.goto(f"{live_server.url}/")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    expect(skip).to_have_text("跳到正文")
    expect(skip).to_be_in_viewport()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineWidth") == "3px"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    options = page.locator("#language-select option")
    expect(options).to_have_text(["简体中文", "English"])
