"""How fast an export of another platform (志愿云-style, N rows, default 20,000) is previewed and
confirmed.

    DATABASE_URL=sqlite:////tmp/bench.sqlite3 python manage.py migrate
    DATABASE_URL=sqlite:////tmp/bench.sqlite3 python -m bench.platforms [--rows 20000]

A throwaway school gets `--students` students (default 1,000) in classes of 50, and a
上海志愿者网/志愿云 export of N rows for them (two hours a day each, written by the portal's
writer); 2% of the rows overlap a roster record the student already has. The script times, on
the same bytes and in this process: the preview (guarded reading, every row checked, the plan),
the confirm (what the worker runs: read and checked again, then written in one transaction), and
the preview of the same file once imported (which must change nothing), and prints rows/s of
each. Every row it wrote is removed again at the end. Not a scenario of `bench.run`.
"""

import argparse
import os
import sys
import time
from datetime import datetime, timedelta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--students", type=int, default=1_000)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.base")
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from bench.fixtures import scratch_school_remove
    from districts.models import District
    from portal.models import AuditLog, Notification, Role, User
    from portal.spreadsheets import Sheet, write_workbook
    from students.models import (
        Category,
        OrganiserLevel,
        PlatformImport,
        PlatformRecord,
        PracticeRecord,
        PracticeRecordVersion,
        RecordedVia,
        RecordStatus,
        School,
        SchoolClass,
        Student,
        TeacherAssignment,
        TeacherRole,
    )
    from students.platforms import services
    from students.platforms.services import platform_import_confirm, platform_import_preview

    # Timed in this process: the check a worker would run for a large file is run here.
    services.BACKGROUND_BYTES = 1 << 40

    header = ("记录编号", "志愿者编号", "学籍号", "姓名", "项目名称", "发布组织", "服务日期",
              "开始时间", "结束时间", "服务时长（小时）")  # fmt: skip
    tag = "benchplat"
    school = School.objects.create(
        code="BENCHPLAT", name="基准测试平台导入学校", district=District.objects.first()
    )
    admin = User.objects.create(username=f"{tag}_admin", role=Role.SCHOOL_ADMIN)
    TeacherAssignment.objects.create(user=admin, school=school, role=TeacherRole.SCHOOL_ADMIN)
    try:
        per_class = 50
        classes = SchoolClass.objects.bulk_create(
            SchoolClass(school=school, entry_year=2024, number=n + 1)
            for n in range(-(-args.students // per_class))
        )
        users = User.objects.bulk_create(
            User(username=f"{tag}_s{n:05d}", role=Role.STUDENT) for n in range(args.students)
        )
        students = Student.objects.bulk_create(
            Student(
                user=user,
                school_class=classes[n // per_class],
                student_number=f"BP2024{n:06d}",
                name=f"学生{n}",
            )
            for n, user in enumerate(users)
        )
        students = list(Student.objects.filter(school_class__school=school).select_related(
            "school_class").order_by("pk"))  # fmt: skip
        days = -(-args.rows // len(students))
        first = timezone.localdate() - timedelta(days=days + 10)
        rows, overlapped = [], []
        for n in range(args.rows):
            student = students[n % len(students)]
            day = first + timedelta(days=n // len(students))
            rows.append([f"BENCH-{n:06d}", "", student.student_number, student.name,
                         f"社区服务{n % 97}", "徐汇区志愿者协会", day.isoformat(), "09:00",
                         "11:00", ""])  # fmt: skip
            if n % 50 == 7:
                overlapped.append((student, day))
        volunteer = Category.objects.get(code="volunteer_service")
        roster_records = []
        for student, day in overlapped:
            start = timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(
                hours=10
            )
            roster_records.append(
                PracticeRecord(
                    student=student,
                    source_ref=f"{tag}:{student.pk}:{day}",
                    category=volunteer,
                    title="图书馆整理",
                    organiser_name="图书馆",
                    organiser_level=OrganiserLevel.DISTRICT,
                    started_at=start,
                    ended_at=start + timedelta(hours=2),
                    credited_minutes=120,
                    recorded_via=RecordedVia.ROSTER,
                    status=RecordStatus.IN_NOTICE,
                    notice_ends_on=timezone.localdate(),
                )  # fmt: skip
            )
        PracticeRecord.objects.bulk_create(roster_records, batch_size=1000)
        content = write_workbook([Sheet("records", header, rows)])

        # Warm up first (imports, translations) on a file of its own, as a running worker is.
        warm_rows = [[f"BENCHWARM-{n}", "", s.student_number, s.name, "热身", "协会",
                      (first - timedelta(days=3)).isoformat(), "09:00", "10:00", ""]
                     for n, s in enumerate(students[:5])]  # fmt: skip
        warm = platform_import_preview(
            school=school, platform="shvol", original_name="warm.xlsx", uploaded_by=admin,
            content=write_workbook([Sheet("r", header, warm_rows)]),
        )  # fmt: skip
        platform_import_confirm(upload=warm, confirmed_by=admin)

        def timed(function):
            started = time.perf_counter()
            value = function()
            return time.perf_counter() - started, value

        def preview():
            return platform_import_preview(
                school=school, platform="shvol", content=content, original_name="bench.xlsx",
                uploaded_by=admin,
            )  # fmt: skip

        preview_s, item = timed(preview)
        confirm_s, done = timed(lambda: platform_import_confirm(upload=item, confirmed_by=admin))
        again_s, again = timed(preview)
        credited = PracticeRecord.objects.filter(
            student__school_class__school=school, recorded_via=RecordedVia.PLATFORM
        ).count() - len(warm_rows)
        ok = (
            done.status == "imported"
            and done.summary.get("credited") == args.rows - len(overlapped)
            and done.summary.get("overlap") == len(overlapped)
            and credited == args.rows - len(overlapped)
            and again.summary == {"new": 0, "already": args.rows, "overlap": 0}
        )
        rate = args.rows / (preview_s + confirm_s)
        load = os.getloadavg()
        print(
            f"{connection.vendor}: {args.rows:,} rows for {len(students):,} students "
            f"({len(overlapped)} overlapping a roster record), {len(content) // 1024} KB xlsx: "
            f"preview {preview_s:.2f} s ({args.rows / preview_s:,.0f} rows/s), confirm "
            f"{confirm_s:.2f} s ({args.rows / confirm_s:,.0f} rows/s), preview+confirm "
            f"{rate:,.0f} rows/s; preview of the imported file {again_s:.2f} s "
            f"({args.rows / again_s:,.0f} rows/s); load average {load[0]:.2f} {load[1]:.2f} "
            f"{load[2]:.2f}; correct: {ok}"
        )
        if not ok:
            print(f"summary {done.status} {done.summary} {done.errors[:3]}; again {again.summary}")
        return 0 if ok else 1
    finally:
        records = PracticeRecord.objects.filter(student__school_class__school=school)
        record_ids = [str(pk) for pk in records.values_list("pk", flat=True)]
        user_ids = list(
            User.objects.filter(username__startswith=f"{tag}_").values_list("pk", flat=True)
        )
        imports = PlatformImport.objects.filter(school=school)
        for upload in imports:
            upload.file.delete(save=False)
        PlatformRecord.objects.filter(upload__school=school).delete()
        for start in range(0, len(record_ids), 5000):
            AuditLog.objects.filter(
                object_type="students.practicerecord",
                object_id__in=record_ids[start : start + 5000],
            ).delete()
        AuditLog.objects.filter(
            object_type="students.platformimport",
            object_id__in=[str(pk) for pk in imports.values_list("pk", flat=True)],
        ).delete()
        PracticeRecordVersion.objects.filter(record__student__school_class__school=school).delete()
        records.delete()
        imports.delete()
        Notification.objects.filter(user_id__in=user_ids).delete()
        scratch_school_remove(school, user_ids)


if __name__ == "__main__":
    sys.exit(main())
