from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    # allauth's app ("Email addresses") is also called "Accounts": this one says what it holds.
    verbose_name = "Users"
