"""Every page of the students app."""

from django.urls import path

from .views import (
    certificates,
    code,
    guardians,
    held,
    notice,
    platforms,
    progress,
    reflections,
    reports,
    roster,
    school_records,
    school_year,
    staff_accounts,
    transfers,
)

app_name = "students"

urlpatterns = [
    path("me/code/", code.my_code, name="my-code"),
    path("guardians/sign-up/", guardians.guardian_sign_up_view, name="guardian-sign-up"),
    path("guardians/link/", guardians.guardian_link_view, name="guardian-link"),
    path(
        "guardians/children/<int:student_id>/records/",
        guardians.guardian_child_records,
        name="guardian-child-records",
    ),
    path("notice/", notice.notice_index, name="notice"),
    path("schools/<int:school_id>/notice/", notice.school_notice, name="school-notice"),
    path("records/", notice.my_records, name="my-records"),
    path("records/<int:record_id>/", notice.record_detail, name="record-detail"),
    path("records/<int:record_id>/dispute/", notice.dispute_raise_view, name="dispute-raise"),
    path(
        "records/<int:record_id>/reflection/",
        reflections.reflection_save_view,
        name="reflection-save",
    ),
    path(
        "records/<int:record_id>/reflection/photos/",
        reflections.reflection_photo_add_view,
        name="reflection-photo-add",
    ),
    path(
        "records/<int:record_id>/reflection/comments/",
        reflections.reflection_comment_view,
        name="reflection-comment",
    ),
    path(
        "records/<int:record_id>/reflection/typical/",
        reflections.reflection_typical_view,
        name="reflection-typical",
    ),
    path(
        "reflection-photos/<int:photo_id>/",
        reflections.reflection_photo_view,
        name="reflection-photo",
    ),
    path(
        "reflection-photos/<int:photo_id>/remove/",
        reflections.reflection_photo_remove_view,
        name="reflection-photo-remove",
    ),
    path(
        "reflections/<int:reflection_id>/dispute/",
        reflections.reflection_dispute_view,
        name="reflection-dispute",
    ),
    path("disputes/", notice.disputes_open, name="disputes"),
    path("disputes/<int:dispute_id>/answer/", notice.dispute_answer_view, name="dispute-answer"),
    path("school-records/", school_records.school_records, name="school-records"),
    path("transfers/", transfers.transfers, name="transfers"),
    path("transfers/package/", transfers.record_package_download, name="record-package"),
    path(
        "transfers/package/upload/",
        transfers.record_package_upload,
        name="record-package-upload",
    ),
    path("transfers/public-key.pem", transfers.signing_public_key, name="signing-public-key"),
    path("transfers/<int:transfer_id>/", transfers.transfer_detail, name="transfer-detail"),
    path(
        "transfers/<int:transfer_id>/confirm/",
        transfers.transfer_confirm_view,
        name="transfer-confirm",
    ),
    path(
        "transfers/<int:transfer_id>/refuse/",
        transfers.transfer_refuse_view,
        name="transfer-refuse",
    ),
    path(
        "transfers/<int:transfer_id>/withdraw/",
        transfers.transfer_withdraw_view,
        name="transfer-withdraw",
    ),
    path("held/", held.held_review, name="held-review"),
    path("me/platforms/", platforms.platform_upload, name="my-platform-imports"),
    path(
        "schools/<int:school_id>/platforms/",
        platforms.platform_upload,
        name="platform-imports",
    ),
    path("platforms/template/", platforms.platform_template, name="platform-template"),
    path(
        "platforms/imports/<int:import_id>/",
        platforms.platform_import_detail,
        name="platform-import",
    ),
    path(
        "platforms/imports/<int:import_id>/confirm/",
        platforms.platform_import_confirm_view,
        name="platform-import-confirm",
    ),
    path(
        "platforms/imports/<int:import_id>/reject/",
        platforms.platform_import_reject_view,
        name="platform-import-reject",
    ),
    path(
        "schools/<int:school_id>/platform-overlaps/",
        platforms.platform_overlaps,
        name="platform-overlaps",
    ),
    path(
        "platforms/overlaps/<int:item_id>/decide/",
        platforms.platform_overlap_decide_view,
        name="platform-overlap-decide",
    ),
    path("held/<int:record_id>/", held.held_decide, name="held-decide"),
    path("reports/students/<int:student_id>/", progress.student_progress, name="student-progress"),
    path("reports/classes/<int:class_id>/", reports.class_report_view, name="class-report"),
    path(
        "reports/classes/<int:class_id>/xlsx/",
        reports.class_report_xlsx_view,
        name="class-report-xlsx",
    ),
    path(
        "reports/classes/<int:class_id>/pdf/",
        reports.class_report_pdf_view,
        name="class-report-pdf",
    ),
    path("reports/schools/<int:school_id>/", reports.school_report_view, name="school-report"),
    path(
        "reports/districts/<int:district_id>/", reports.district_report_view, name="district-report"
    ),
    path("reports/city/", reports.city_report_view, name="city-report"),
    path("school-year/close/", school_year.school_year_close_view, name="school-year-close"),
    path("certificates/me/", certificates.my_certificate, name="my-certificate"),
    path("practice-report/me/", certificates.my_practice_report, name="my-practice-report"),
    path(
        "practice-report/students/<int:student_id>/",
        certificates.student_practice_report,
        name="student-practice-report",
    ),
    path(
        "certificates/students/<int:student_id>/",
        certificates.student_certificate,
        name="student-certificate",
    ),
    path(
        "certificates/classes/<int:class_id>/",
        certificates.class_certificates,
        name="class-certificates",
    ),
    path("schools/<int:school_id>/roster/", roster.roster_upload, name="roster"),
    path(
        "schools/<int:school_id>/roster/template.xlsx",
        roster.roster_template,
        name="roster-template",
    ),
    path(
        "schools/<int:school_id>/roster/imports/<int:import_id>/",
        roster.roster_import_detail,
        name="roster-import",
    ),
    path(
        "schools/<int:school_id>/roster/imports/<int:import_id>/confirm/",
        roster.roster_import_confirm_view,
        name="roster-import-confirm",
    ),
    path("classes/<int:class_id>/logins/", roster.class_logins, name="class-logins"),
    path(
        "classes/<int:class_id>/logins/slips.pdf",
        roster.class_login_slips,
        name="class-login-slips",
    ),
    path(
        "classes/<int:class_id>/logins/guardian-slips.pdf",
        roster.class_guardian_slips,
        name="class-guardian-slips",
    ),
    path(
        "students/<int:student_id>/login-reset/",
        roster.student_login_reset_view,
        name="student-login-reset",
    ),
    path(
        "districts/<int:district_id>/school-admin-logins/",
        roster.staff_logins_page,
        name="school-admin-logins",
    ),
    path("district-admin-logins/", roster.staff_logins_page, name="district-admin-logins"),
    path(
        "districts/<int:district_id>/school-admin-logins/sheet/",
        staff_accounts.account_sheet_upload,
        name="school-admin-sheet",
    ),
    path(
        "districts/<int:district_id>/school-admin-logins/template.xlsx",
        staff_accounts.account_sheet_template,
        name="school-admin-sheet-template",
    ),
    path(
        "district-admin-logins/sheet/",
        staff_accounts.account_sheet_upload,
        name="district-admin-sheet",
    ),
    path(
        "district-admin-logins/template.xlsx",
        staff_accounts.account_sheet_template,
        name="district-admin-sheet-template",
    ),
    path(
        "admin-sheets/<int:import_id>/",
        staff_accounts.account_import_detail,
        name="account-import",
    ),
    path(
        "admin-sheets/<int:import_id>/confirm/",
        staff_accounts.account_import_confirm_view,
        name="account-import-confirm",
    ),
    path("verify/<str:code>/", certificates.certificate_verify, name="certificate-verify"),
]
