from .views import manage, public, review, school, student

app_name = "bases"

urlpatterns = [*public.urlpatterns, *student.urlpatterns]
urlpatterns += [*manage.urlpatterns, *review.urlpatterns, *school.urlpatterns]
