from django.urls import path

from . import views

app_name = "evaluation_export"

urlpatterns = [
    path("", views.batch_list, name="batch-list"),
    path("start/", views.batch_start, name="batch-start"),
    path("acks/collect/", views.acks_collect, name="acks-collect"),
    path("rejected/", views.rejected_lines, name="rejected-lines"),
    path("rejected/resend/", views.rejected_resend, name="rejected-resend"),
    path("<int:batch_id>/", views.batch_detail, name="batch-detail"),
    path("<int:batch_id>/status/", views.batch_status, name="batch-status"),
    path("<int:batch_id>/download/", views.batch_download, name="batch-download"),
    path("<int:batch_id>/deliver/", views.batch_deliver, name="batch-deliver"),
]
