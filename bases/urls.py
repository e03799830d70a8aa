"""Every path of the bases app, grouped by the view module that serves it."""

from django.urls import path

from .views import (
    api,
    attendance_import,
    consent,
    manage,
    public,
    reliability,
    review,
    roster,
    school,
    self_check_in,
    student,
)

app_name = "bases"

urlpatterns = [
    # public
    path("districts/<str:code>/", public.district_posts, name="district-posts"),
    path("search/", public.post_search, name="post-search"),
    path("posts/<int:post_id>/", public.post_detail, name="post-detail"),
    # student
    path("sessions/<int:session_id>/apply/", student.session_apply, name="session-apply"),
    path("sessions/<int:session_id>/waitlist/", student.session_waitlist, name="session-waitlist"),
    path("sessions/<int:session_id>/lottery/", student.session_lottery, name="session-lottery"),
    path("applications/", student.my_applications, name="my-applications"),
    path(
        "applications/<int:application_id>/cancel/",
        student.application_cancel_view,
        name="application-cancel",
    ),
    # manage
    path("manage/posts/", manage.my_posts, name="my-posts"),
    path("manage/bases/<int:base_id>/posts/new/", manage.post_create_view, name="post-create"),
    path("manage/posts/<int:post_id>/", manage.post_manage, name="post-manage"),
    path("manage/posts/<int:post_id>/edit/", manage.post_edit_view, name="post-edit"),
    path("manage/posts/<int:post_id>/submit/", manage.post_submit_view, name="post-submit"),
    path("manage/posts/<int:post_id>/close/", manage.post_close_view, name="post-close"),
    path(
        "manage/posts/<int:post_id>/sessions/new/",
        manage.session_create_view,
        name="session-create",
    ),
    path(
        "manage/posts/<int:post_id>/sessions/series/",
        manage.session_series_create_view,
        name="session-series-create",
    ),
    path("manage/sessions/<int:session_id>/edit/", manage.session_edit_view, name="session-edit"),
    path(
        "manage/sessions/<int:session_id>/cancel/",
        manage.session_cancel_view,
        name="session-cancel",
    ),
    path(
        "manage/applications/<int:application_id>/remove/",
        manage.application_remove_view,
        name="application-remove",
    ),
    path(
        "manage/sessions/<int:session_id>/delete/",
        manage.session_delete_view,
        name="session-delete",
    ),
    path(
        "manage/sessions/<int:session_id>/applicants/",
        manage.session_applicants,
        name="session-applicants",
    ),
    path(
        "manage/sessions/<int:session_id>/applicants.xlsx",
        manage.session_applicants_xlsx,
        name="session-applicants-xlsx",
    ),
    # review
    path("review/posts/", review.review_queue, name="review-queue"),
    path("review/posts/<int:post_id>/", review.review_post, name="review-post"),
    path("review/posts/<int:post_id>/approve/", review.post_approve_view, name="post-approve"),
    path("review/posts/<int:post_id>/return/", review.post_return_view, name="post-return"),
    path(
        "review/posts/<int:post_id>/hours-exception/",
        review.post_hours_exception_view,
        name="post-hours-exception",
    ),
    path("review/bases/", review.base_certification, name="base-certification"),
    path("review/bases/<int:base_id>/", review.base_decide, name="base-decide"),
    path("review/bases/<int:base_id>/certify/", review.base_certify_view, name="base-certify"),
    path("review/bases/<int:base_id>/suspend/", review.base_suspend_view, name="base-suspend"),
    path("review/bases/<int:base_id>/revoke/", review.base_revoke_view, name="base-revoke"),
    # school
    path("school/consents/", consent.consents_awaiting, name="consents-awaiting"),
    path("guardian/consents/", consent.guardian_consents, name="guardian-consents"),
    path(
        "guardian/consents/applications/<int:application_id>/give/",
        consent.guardian_consent_give_view,
        name="guardian-consent-give",
    ),
    path(
        "guardian/consents/<int:consent_id>/withdraw/",
        consent.guardian_consent_withdraw_view,
        name="guardian-consent-withdraw",
    ),
    path(
        "school/consents/applications/<int:application_id>/record/",
        consent.consent_record_view,
        name="consent-record",
    ),
    path(
        "school/consents/<int:consent_id>/withdraw/",
        consent.consent_withdraw_view,
        name="consent-withdraw",
    ),
    path("school/<int:school_id>/bases/", school.school_bases, name="school-bases"),
    path(
        "school/<int:school_id>/bases/contract/",
        school.school_contract_create,
        name="school-contract-create",
    ),
    path(
        "school/contracts/<int:contract_id>/end/",
        school.school_contract_end_view,
        name="school-contract-end",
    ),
    path("class/book/", school.class_book_list, name="class-book-list"),
    path("class/book/<int:session_id>/", school.class_book, name="class-book"),
    path("class/bookings/", school.class_bookings, name="class-bookings"),
    path(
        "class/bookings/<int:reservation_id>/name/",
        school.class_booking_name,
        name="class-booking-name",
    ),
    path("class/reliability/", reliability.class_reliability, name="class-reliability"),
    path(
        "class/students/<int:student_id>/hold/lift/",
        reliability.student_hold_lift,
        name="student-hold-lift",
    ),
    path("manage/bases/<int:base_id>/figures/", reliability.base_figures, name="base-figures"),
    path(
        "manage/bases/<int:base_id>/review.xlsx",
        reliability.base_review_download,
        name="base-review-download",
    ),
    # roster
    path("manage/sessions/<int:session_id>/roster/", roster.session_roster, name="session-roster"),
    path("manage/sessions/<int:session_id>/roster/sync/", roster.roster_sync, name="roster-sync"),
    path(
        "manage/sessions/<int:session_id>/roster/state/", roster.roster_state, name="roster-state"
    ),
    path(
        "manage/sessions/<int:session_id>/roster/students/<int:student_id>/confirm/",
        roster.roster_walk_in_confirm,
        name="roster-walk-in-confirm",
    ),
    path(
        "manage/sessions/<int:session_id>/roster/students/<int:student_id>/refuse/",
        roster.roster_walk_in_refuse,
        name="roster-walk-in-refuse",
    ),
    # self check-in
    path("manage/sessions/<int:session_id>/kiosk/", self_check_in.kiosk, name="kiosk"),
    path(
        "manage/sessions/<int:session_id>/kiosk/code/",
        self_check_in.kiosk_code,
        name="kiosk-code",
    ),
    path(
        "manage/posts/<int:post_id>/self-check-in/",
        self_check_in.post_self_check_in,
        name="post-self-check-in",
    ),
    path("check-in/", self_check_in.self_check_in, name="self-check-in"),
    path(
        "check-in/<int:session_id>/done/",
        self_check_in.self_check_in_done,
        name="self-check-in-done",
    ),
    path(
        "check-in/<int:session_id>/<str:code>/",
        self_check_in.self_check_in_scan,
        name="self-check-in-scan",
    ),
    path(
        "manage/sessions/<int:session_id>/roster/record/",
        roster.roster_record,
        name="roster-record",
    ),
    path(
        "manage/sessions/<int:session_id>/roster/all-present/",
        roster.roster_all_present,
        name="roster-all-present",
    ),
    path(
        "manage/sessions/<int:session_id>/roster/walk-ins/",
        roster.roster_walk_in,
        name="roster-walk-in",
    ),
    path(
        "manage/sessions/<int:session_id>/roster/close/", roster.roster_close, name="roster-close"
    ),
    path(
        "manage/sessions/<int:session_id>/roster/students/<int:student_id>/correct/",
        roster.roster_correct,
        name="roster-correct",
    ),
    # api
    path("manage/bases/<int:base_id>/api-tokens/", api.api_tokens, name="api-tokens"),
    path(
        "manage/api-tokens/<int:token_id>/revoke/",
        api.api_token_revoke_view,
        name="api-token-revoke",
    ),
    path("api/v1/scans", api.api_scans, name="api-scans"),
    # attendance_import
    path("manage/imports/", attendance_import.attendance_import_index, name="attendance-imports"),
    path(
        "manage/bases/<int:base_id>/imports/",
        attendance_import.attendance_import_upload,
        name="attendance-import",
    ),
    path(
        "manage/bases/<int:base_id>/imports/template.xlsx",
        attendance_import.attendance_import_template,
        name="attendance-import-template",
    ),
    path(
        "manage/imports/<int:import_id>/",
        attendance_import.attendance_import_detail,
        name="attendance-import-detail",
    ),
    path(
        "manage/imports/<int:import_id>/confirm/",
        attendance_import.attendance_import_confirm_view,
        name="attendance-import-confirm",
    ),
]
