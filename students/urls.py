app_name = "students"

# Each views module of students/views/ defines its own `urlpatterns`; add it here.
urlpatterns: list = []
