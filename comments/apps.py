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
        # ... and each comment's author as Comment.author_display shows them.
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save

        from comments.signals import author_display_changed

        post_save.connect(
            author_display_changed,
            sender=get_user_model(),
            dispatch_uid="comments-author-display",
        )

        # program's lesson and article pages show the thread without importing comments.
        panels.register("comments", thread_panel, template="comments/includes/thread.html")
