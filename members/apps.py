from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = "Members (staff tools)"

    def ready(self):
        from members import signals  # noqa: F401  (connects the receivers)
