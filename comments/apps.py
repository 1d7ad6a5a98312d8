from django.apps import AppConfig


class CommentsConfig(AppConfig):
    name = "comments"
    verbose_name = "Questions and comments"

    def ready(self):
        from comments.models import Comment
        from comments.selectors import thread_panel
        from core import pagecache
        from program import panels

        # Lesson, article and Q&A pages show approved comments and their count.
        pagecache.watch([Comment])

        # program's lesson and article pages show the thread without importing comments.
        panels.register("comments", thread_panel, template="comments/includes/thread.html")
