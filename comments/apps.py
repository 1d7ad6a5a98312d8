from django.apps import AppConfig


class CommentsConfig(AppConfig):
    name = "comments"
    verbose_name = "Questions and comments"

    def ready(self):
        from comments.selectors import thread_panel
        from program import panels

        # program's lesson and article pages show the thread without importing comments.
        panels.register("comments", thread_panel, template="comments/includes/thread.html")
