"""Write the signed record package of one student (by 学籍号) to a file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from students.models import Student
from students.transfers.packages import record_package_build
from students.transfers.signing import SigningKeyMissing


class Command(BaseCommand):
    help = "Write a student's signed record package (JSON) for another installation."

    def add_arguments(self, parser):
        parser.add_argument("student_number")
        parser.add_argument("-o", "--output", required=True, help="The file to write.")

    def handle(self, *args, student_number, output, **options):
        student = Student.objects.filter(student_number=student_number.strip().upper()).first()
        if student is None:
            raise CommandError(f"No student with the student number {student_number}.")
        try:
            content = record_package_build(student=student, user=None)
        except SigningKeyMissing as error:
            raise CommandError(error.messages[0]) from None
        Path(output).write_bytes(content)
        self.stdout.write(f"{output}: {student.records.count()} records, {len(content)} bytes")
