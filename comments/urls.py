from django.urls import path

from comments import views

app_name = "comments"

urlpatterns = [
    path("questions/", views.questions, name="questions"),
    path("post/<str:kind>/<int:pk>/", views.post, name="post"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/reply/", views.reply, name="reply"),
    path("stop-emails/<str:token>/", views.stop_emails, name="stop-emails"),
]
