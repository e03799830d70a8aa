"""A signed record package: one student's whole record, carried to another installation.

The file is the canonical JSON (`signing.canonical_json`) of
`{"payload": ..., "signature": <base64 Ed25519 signature of canonical_json(payload)>,
"signer": <fingerprint of the sender's public key>}` (docs/record-package.md). The receiver
refuses it, with nothing written, unless the file is exactly that canonical form, the signer is
an active `TrustedInstallation` and the signature holds; only then is the payload read.
"""

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from districts.models import District
from portal.models import User
from portal.services import audit_log_record, notification_send
from portal.uploads import UploadRefused, read_json

from ..messages import RECORD_PACKAGE_IMPORTED
from ..models import (
    Category,
    PracticeRecord,
    PracticeRecordVersion,
    RecordedVia,
    RecordOrigin,
    RecordPackageImport,
    RecordStatus,
    SchoolClass,
    Student,
    TrustedInstallation,
)
from ..services import practice_record_overlap_check
from .signing import canonical_json, fingerprint, signature_valid, signing_key

PACKAGE_FORMAT = "portal-record-package"
PACKAGE_VERSION = 1
SOURCE_PREFIX = "package:"

#: Functions {record id: highest version exported} an app above registers (the export does),
#: so a package says which versions the evaluation system already holds.
_EXPORTED_VERSION_SOURCES: list[Callable[[list[int]], dict[int, int]]] = []


def exported_versions_source_register(source: Callable[[list[int]], dict[int, int]]) -> None:
    if source not in _EXPORTED_VERSION_SOURCES:
        _EXPORTED_VERSION_SOURCES.append(source)


def _exported_versions(record_ids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for source in _EXPORTED_VERSION_SOURCES:
        for record_id, version in source(record_ids).items():
            found[record_id] = max(version, found.get(record_id, 0))
    return found


class PackageRefused(UploadRefused):
    """A package refused as a whole before anything is written; `code` says why."""


def _moment(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


# ------------------------------------------------------------------------------
# Building (the sending installation)
# ------------------------------------------------------------------------------
def record_package_payload(*, student: Student) -> dict:
    records = list(
        PracticeRecord.objects.filter(student=student)
        .select_related("category", "district")
        .prefetch_related("versions__category")
        .order_by("started_at", "pk")
    )
    exported = _exported_versions([r.pk for r in records])
    return {
        "format": PACKAGE_FORMAT,
        "version": PACKAGE_VERSION,
        "sender": {"name": str(settings.PORTAL_NAME), "site_url": settings.PORTAL_SITE_URL},
        "signed_at": _moment(timezone.now()),
        "student": {
            "student_number": student.student_number,
            "name": student.name,
            "entry_year": student.school_class.entry_year,
            "school": student.school_class.school.name,
        },
        "records": [
            {
                "id": str(r.pk),
                "source_ref": r.source_ref,
                "category": r.category.code,
                "title": r.title,
                "organiser_name": r.organiser_name,
                "organiser_level": r.organiser_level,
                "organiser_ref": r.organiser_ref,
                "district": r.district.code if r.district else None,
                "started_at": _moment(r.started_at),
                "ended_at": _moment(r.ended_at),
                "credited_minutes": r.credited_minutes,
                "held_minutes": r.held_minutes,
                "recorded_via": r.recorded_via,
                "status": r.status,
                "notice_ends_on": r.notice_ends_on.isoformat() if r.notice_ends_on else None,
                "confirmed_at": _moment(r.confirmed_at),
                "version": r.version,
                "exported_version": exported.get(r.pk),
                "versions": [
                    {
                        "version": v.version,
                        "category": v.category.code,
                        "title": v.title,
                        "started_at": _moment(v.started_at),
                        "ended_at": _moment(v.ended_at),
                        "credited_minutes": v.credited_minutes,
                        "held_minutes": v.held_minutes,
                        "status": v.status,
                        "changed_at": _moment(v.changed_at),
                        "reason": v.reason,
                    }
                    for v in r.versions.all()
                ],
            }
            for r in records
        ],
        "certificates": [
            {"code": c.code, "issued_at": _moment(c.issued_at)}
            for c in student.certificates.order_by("issued_at", "pk")
        ],
    }


def record_package_build(*, student: Student, user: User | None) -> bytes:
    """The signed package of every record of the student, as the bytes of its file."""
    key = signing_key()
    payload = record_package_payload(student=student)
    signature = key.sign(canonical_json(payload))
    document = {
        "payload": payload,
        "signature": base64.b64encode(signature).decode("ascii"),
        "signer": fingerprint(key.public_key()),
    }
    content = canonical_json(document)
    audit_log_record(
        actor=user,
        action="record_package.export",
        target=student,
        data={"records": len(payload["records"]), "sha256": hashlib.sha256(content).hexdigest()},
    )
    return content


# ------------------------------------------------------------------------------
# Verifying (the receiving installation): nothing is read into the database before this
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class VerifiedPackage:
    payload: dict
    installation: TrustedInstallation
    sha256: str


def _refuse(message: str, code: str) -> PackageRefused:
    return PackageRefused(message, code=code)


def record_package_verify(content: bytes) -> VerifiedPackage:
    """The payload of a package signed by a trusted installation, or PackageRefused."""
    document = read_json(content, max_bytes=settings.RECORD_PACKAGE_MAX_BYTES)
    if not isinstance(document, dict) or set(document) != {"payload", "signature", "signer"}:
        raise _refuse(
            _("This is not a record package of the portal (payload, signature, signer)."),
            "wrong_format",
        )
    try:
        canonical = canonical_json(document)
    except ValueError:
        canonical = b""
    if canonical != content:
        raise _refuse(
            _(
                "The package is not in the form it was signed in: it was changed after signing "
                "(even a space counts). Ask the sending school for the original file."
            ),
            "not_canonical",
        )
    signer = document["signer"]
    installation = (
        TrustedInstallation.objects.filter(fingerprint=signer, active=True).first()
        if isinstance(signer, str)
        else None
    )
    if installation is None:
        raise _refuse(
            _(
                "The package is signed by an installation this portal does not trust (key "
                "%(key)s). The city admin adds its public key to the trusted installations."
            )
            % {"key": str(signer)[:16]},
            "unknown_signer",
        )
    try:
        signature = base64.b64decode(str(document["signature"]), validate=True)
        valid = signature_valid(
            installation_key(installation), signature, canonical_json(document["payload"])
        )
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        raise _refuse(
            _(
                "The signature does not match the package: it was changed after %(name)s "
                "signed it. Nothing was imported."
            )
            % {"name": installation.name},
            "bad_signature",
        )
    payload = document["payload"]
    if (
        not isinstance(payload, dict)
        or payload.get("format") != PACKAGE_FORMAT
        or payload.get("version") != PACKAGE_VERSION
    ):
        raise _refuse(
            _("This package's format is not one this portal reads (version %(version)s).")
            % {"version": PACKAGE_VERSION},
            "wrong_format",
        )
    return VerifiedPackage(
        payload=payload, installation=installation, sha256=hashlib.sha256(content).hexdigest()
    )


def installation_key(installation: TrustedInstallation):
    from .signing import public_key_from_pem

    return public_key_from_pem(installation.public_key)


# ------------------------------------------------------------------------------
# Importing
# ------------------------------------------------------------------------------
def _when(value) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _student_for(*, facts: dict, school_class: SchoolClass) -> Student:
    number = str(facts.get("student_number", "")).strip().upper()
    name = str(facts.get("name", "")).strip()
    if facts.get("entry_year") != school_class.entry_year:
        raise _refuse(
            _(
                "The student entered in %(year)s; choose a class of that entry year (the entry "
                "year decides the requirement)."
            )
            % {"year": facts.get("entry_year")},
            "entry_year",
        )
    student = Student.objects.select_related("school_class").filter(student_number=number).first()
    if student is None:
        student = Student(student_number=number, name=name, school_class=school_class)
        student.full_clean(exclude=["user"])
        student.save()
        return student
    if student.school_class.school_id != school_class.school_id:
        raise _refuse(
            _(
                "The student number %(number)s belongs to a student of another school of this "
                "portal: take them in with a transfer instead."
            )
            % {"number": number},
            "other_school",
        )
    if student.name != name:
        raise _refuse(
            _("Your school has %(number)s as %(ours)s, the package as %(theirs)s; check both.")
            % {"number": number, "ours": student.name, "theirs": name},
            "name_differs",
        )
    return student


def _record_create(
    *,
    facts: dict,
    student: Student,
    package: RecordPackageImport,
    user: User | None,
    categories: dict[str, Category],
    districts: dict[str, District],
) -> PracticeRecord:
    started_at, ended_at = _when(facts["started_at"]), _when(facts["ended_at"])
    practice_record_overlap_check(student=student, started_at=started_at, ended_at=ended_at)
    status = facts["status"]
    if status == RecordStatus.DISPUTED:
        # The dispute stays with the sender; here the record waits in notice.
        status = RecordStatus.IN_NOTICE
    district_code = facts.get("district")
    record = PracticeRecord.objects.create(
        student=student,
        source_ref=f"{SOURCE_PREFIX}{package.installation.fingerprint[:16]}:{facts['id']}",
        category=categories[facts["category"]],
        title=facts["title"],
        organiser_name=facts["organiser_name"],
        organiser_level=facts["organiser_level"],
        district=districts.get(district_code) if district_code else None,
        started_at=started_at,
        ended_at=ended_at,
        credited_minutes=facts["credited_minutes"],
        held_minutes=facts.get("held_minutes", 0),
        recorded_via=RecordedVia.TRANSFER,
        recorded_by=user,
        status=status,
        notice_ends_on=date.fromisoformat(facts["notice_ends_on"])
        if facts.get("notice_ends_on")
        else (timezone.localdate() if status == RecordStatus.IN_NOTICE else None),
        confirmed_at=_when(facts.get("confirmed_at")),
        version=facts["version"],
    )
    PracticeRecordVersion.objects.bulk_create(
        PracticeRecordVersion(
            record=record,
            version=v["version"],
            category=categories[v["category"]],
            title=v["title"],
            started_at=_when(v["started_at"]),
            ended_at=_when(v["ended_at"]),
            credited_minutes=v["credited_minutes"],
            held_minutes=v.get("held_minutes", 0),
            status=v["status"],
            changed_at=_when(v["changed_at"]),
            reason=v.get("reason", ""),
        )
        for v in facts["versions"]
    )
    RecordOrigin.objects.create(
        record=record,
        package=package,
        installation=package.installation,
        origin_record_id=facts["id"],
        source_ref=facts["source_ref"],
        recorded_via=facts["recorded_via"],
        organiser_ref=facts.get("organiser_ref", ""),
        exported_version=facts.get("exported_version"),
    )
    return record


def _check_records(records: object) -> list[dict]:
    known = set(Category.objects.values_list("code", flat=True))
    if not isinstance(records, list):
        raise _refuse(_("The package carries no list of records."), "wrong_format")
    for facts in records:
        try:
            ok = (
                facts["category"] in known
                and all(v["category"] in known for v in facts["versions"])
                and _when(facts["started_at"]) < _when(facts["ended_at"])
                and facts["status"] in RecordStatus.values
                and isinstance(facts["credited_minutes"], int)
                and isinstance(facts["version"], int)
            )
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise _refuse(
                _("Record %(id)s of the package is incomplete or names an unknown category.")
                % {"id": str(facts.get("id", "?") if isinstance(facts, dict) else "?")},
                "wrong_format",
            )
    return records


@transaction.atomic
def record_package_import(
    *, content: bytes, school_class: SchoolClass, imported_by: User | None
) -> tuple[RecordPackageImport, bool]:
    """Verify the package, then take the student into `school_class` with every record.

    Returns (import, created); the same file again returns the first import and changes nothing.
    """
    verified = record_package_verify(content)
    known = RecordPackageImport.objects.filter(sha256=verified.sha256).first()
    if known is not None:
        return known, False
    payload = verified.payload
    records = _check_records(payload.get("records"))
    student_facts = payload.get("student")
    if not isinstance(student_facts, dict):
        raise _refuse(_("The package names no student."), "wrong_format")
    student = _student_for(facts=student_facts, school_class=school_class)
    package = RecordPackageImport.objects.create(
        installation=verified.installation,
        student=student,
        sha256=verified.sha256,
        imported_by=imported_by,
        certificates=[c.get("code") for c in payload.get("certificates", [])],
        signed_at=_when(payload["signed_at"]),
    )
    existing = set(
        RecordOrigin.objects.filter(installation=verified.installation).values_list(
            "origin_record_id", flat=True
        )
    )
    categories = {c.code: c for c in Category.objects.all()}
    districts = {d.code: d for d in District.objects.all()}
    created = 0
    for facts in records:
        if str(facts["id"]) in existing:
            continue
        _record_create(
            facts=facts,
            student=student,
            package=package,
            user=imported_by,
            categories=categories,
            districts=districts,
        )
        created += 1
    package.records_created = created
    package.records_existing = len(records) - created
    package.save(update_fields=["records_created", "records_existing"])
    audit_log_record(
        actor=imported_by,
        action="record_package.import",
        target=package,
        data={
            "installation": verified.installation.name,
            "student_number": student.student_number,
            "created": created,
            "existing": package.records_existing,
            "sha256": verified.sha256,
        },
    )
    if student.user_id and created:
        notification_send(
            user=student.user,
            message=RECORD_PACKAGE_IMPORTED,
            params={"installation": verified.installation.name, "count": created},
        )
    return package, True
