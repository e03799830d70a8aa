"""How long a school's roster of N students (default 1,500) takes to preview and confirm.

    DATABASE_URL=sqlite:////tmp/bench.sqlite3 python manage.py migrate
    DATABASE_URL=sqlite:////tmp/bench.sqlite3 python -m bench.roster [--students 1500]

A throwaway school gets a sheet of N students in classes of 50 with one head teacher each,
written by the portal's writer like the template. The script times, on the same bytes: the
preview (guarded reading, every row checked, the plan), the confirm (read and checked again,
then everything written in one transaction), and the preview of the same sheet once imported
(which must change nothing); the baseline is openpyxl's read-only iteration of the file. Every
row it wrote is removed again at the end. Not a scenario of `bench.run`: it needs no seeded data.
"""

import argparse
import io
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1500)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.base")
    import django

    django.setup()
    from openpyxl import load_workbook

    from bench.fixtures import scratch_school_remove
    from districts.models import District
    from portal.models import Role, User
    from portal.spreadsheets import Sheet, write_workbook
    from students.login_slips import class_login_slips_issue, render_login_slips_pdf
    from students.models import RosterImport, School, Student, TeacherAssignment, TeacherRole
    from students.roster import roster_import_confirm, roster_import_preview
    from students.roster.reading import COLUMNS

    per_class = 50
    classes = max(1, -(-args.students // per_class))
    rows = []
    for cls in range(1, classes + 1):
        rows.append(
            ["teacher", "", f"benchroster_t{cls:02d}", f"班主任{cls}", 2025, cls, "", "", ""]
        )
        for n in range(min(per_class, args.students - (cls - 1) * per_class)):
            rows.append(
                ["student", f"BR2025{cls:02d}{n:04d}", "", f"学生{cls}-{n}", 2025, cls,
                 "女" if n % 2 else "男", f"1390000{n:04d}", ""]
            )  # fmt: skip
    content = write_workbook([Sheet("roster", COLUMNS, rows)])

    school = School.objects.create(
        code="BENCHROSTER", name="基准测试名册学校", district=District.objects.first()
    )
    admin = User.objects.create(username="benchroster_admin", role=Role.SCHOOL_ADMIN)
    TeacherAssignment.objects.create(user=admin, school=school, role=TeacherRole.SCHOOL_ADMIN)
    try:
        started = time.perf_counter()
        sheet = load_workbook(io.BytesIO(content), read_only=True)["roster"]
        read = sum(1 for _ in sheet.iter_rows(min_row=2, values_only=True))
        baseline = time.perf_counter() - started

        def timed(function):
            started = time.perf_counter()
            value = function()
            return time.perf_counter() - started, value

        def preview():
            return roster_import_preview(
                school=school, content=content, original_name="bench.xlsx", uploaded_by=admin
            )

        preview_s, item = timed(preview)
        confirm_s, done = timed(
            lambda: roster_import_confirm(roster_import=item, confirmed_by=admin)
        )
        again_s, again = timed(preview)
        first_class = school.classes.order_by("number").first()
        slips_s, _pdf = timed(
            lambda: render_login_slips_pdf(
                class_login_slips_issue(school_class=first_class, issued_by=admin),
                title=str(first_class),
                site_url="https://portal.example/",
            )
        )
        students = Student.objects.filter(school_class__school=school).count()
        ok = (
            done.status == "imported"
            and students == args.students
            and again.summary.get("unchanged") == len(rows)
            and read == len(rows)
        )
        print(
            f"{args.students} students, {classes} classes, {len(content) // 1024} KB xlsx: "
            f"preview {preview_s:.2f} s, confirm {confirm_s:.2f} s, preview of the imported "
            f"sheet {again_s:.2f} s; login slips of a class of {per_class} (codes and PDF) "
            f"{slips_s:.2f} s; openpyxl read alone {baseline:.2f} s; correct: {ok}"
        )
        return 0 if ok else 1
    finally:
        for roster_import in RosterImport.objects.filter(school=school):
            roster_import.file.delete(save=False)
        users = User.objects.filter(username__startswith="benchroster_") | User.objects.filter(
            student__school_class__school=school
        )
        user_ids = list(users.values_list("pk", flat=True))
        RosterImport.objects.filter(school=school).delete()
        scratch_school_remove(school, user_ids)


if __name__ == "__main__":
    sys.exit(main())
