"""The printed QR works: the 纪实报告 and the certificate PDFs are rendered to images the way a
phone camera sees them, the QR is decoded, and its URL opens the verification page."""

import subprocess
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image

from students.certificates import certificate_issue, render_certificate_pdf
from students.models import mask_name
from students.practice_report import practice_report_issue, render_practice_report_pdf
from tests.factories import SchoolClassFactory, StudentFactory
from tests.students.progress_helpers import add_record

pytestmark = pytest.mark.django_db
SITE = "https://portal.example.org"


@pytest.fixture
def student():
    school_class = SchoolClassFactory(school__name="徐汇中学", entry_year=2025, number=3)
    student = StudentFactory(name="李小明", school_class=school_class, student_number="G31000001")
    add_record(student, day=date(2025, 10, 10), title="图书馆图书整理")
    add_record(student, day=date(2025, 10, 17), title="医院分诊引导")
    return student


def pdftotext(pdf: Path) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


def decoded_qr_codes(pdf: Path) -> list[str]:
    """Render every page at 200 dpi and decode the QR codes found on them."""
    subprocess.run(
        ["pdftoppm", "-r", "200", "-png", str(pdf), str(pdf.with_suffix(""))], check=True
    )
    pages = sorted(pdf.parent.glob(f"{pdf.stem}*.png"))
    assert pages
    texts = []
    for page in pages:
        with Image.open(page) as image:
            texts += [
                barcode.text
                for barcode in zxingcpp.read_barcodes(image)
                if barcode.format == zxingcpp.BarcodeFormat.QRCode
            ]
    return texts


def assert_qr_opens_the_verification_page(client, pdf: Path, code: str) -> str:
    url = f"{SITE}/verify/{code}/"
    assert decoded_qr_codes(pdf) == [url]
    page = client.get(urlsplit(url).path)
    assert page.status_code == 200
    html = page.content.decode()
    assert mask_name("李小明") in html and "李小明" not in html
    return html


def test_the_practice_reports_qr_decodes_to_its_verification_page(client, student, tmp_path):
    report = practice_report_issue(student=student, issued_by=student.user)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_practice_report_pdf(report, site_url=SITE))
    text = pdftotext(pdf)
    assert "纪实报告" in text and "李小明" in text and "图书馆图书整理" in text
    html = assert_qr_opens_the_verification_page(client, pdf, report.code)
    assert "纪实报告" in html


def test_the_certificates_qr_decodes_to_its_verification_page(client, student, tmp_path):
    certificate = certificate_issue(student=student, issued_by=None)
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(render_certificate_pdf(certificate, site_url=SITE))
    assert "李小明" in pdftotext(pdf)
    assert_qr_opens_the_verification_page(client, pdf, certificate.code)
