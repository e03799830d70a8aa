from .views import manage, public, review, school, student

app_name = "bases"

urlpatterns = [*public.urlpatterns, *student.urlpatterns]
urlpatterns += [*manage.urlpatterns, *review.urlpatterns, *school.urlpatterns]

from .views import api, roster  # noqa: E402

urlpatterns += [*roster.urlpatterns, *api.urlpatterns]

from .views import attendance_import  # noqa: E402

urlpatterns += attendance_import.urlpatterns
