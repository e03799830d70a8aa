app_name = "students"

# Each views module of students/views/ defines its own `urlpatterns`; add it here.
urlpatterns: list = []

from .views import code  # noqa: E402

urlpatterns += code.urlpatterns

from .views import notice, school_records  # noqa: E402

urlpatterns += [*notice.urlpatterns, *school_records.urlpatterns]

from .views import certificates, progress, reports  # noqa: E402

urlpatterns += [*progress.urlpatterns, *reports.urlpatterns, *certificates.urlpatterns]
