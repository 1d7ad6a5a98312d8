from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    # allauth's app ("Email addresses") is also called "Accounts": this one says what it holds.
    verbose_name = "Users"

    def ready(self):
        from allauth.mfa.signals import authenticator_added

        from accounts.two_factor import record_enrolment

        authenticator_added.connect(record_enrolment, dispatch_uid="accounts.record_enrolment")
