from django.urls import path

from . import pages, views

app_name = "dashboards"

urlpatterns = [
    path("", views.home, name="home"),
    path("help/", pages.help_page, name="help"),
    path("privacy/", pages.privacy_page, name="privacy"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/none/", views.dashboard_none, name="dashboard-none"),
    path("dashboard/student/", views.dashboard_student, name="dashboard-student"),
    path("dashboard/coordinator/", views.dashboard_coordinator, name="dashboard-coordinator"),
    path("dashboard/teacher/", views.dashboard_teacher, name="dashboard-teacher"),
    path("dashboard/school/", views.dashboard_school, name="dashboard-school"),
    path("dashboard/district/", views.dashboard_district, name="dashboard-district"),
    path("dashboard/city/", views.dashboard_city, name="dashboard-city"),
    path("dashboard/guardian/", views.dashboard_guardian, name="dashboard-guardian"),
]
