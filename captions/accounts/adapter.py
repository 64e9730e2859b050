from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    def pre_authenticate(self, request, **credentials) -> None:
        """Failed password logins are counted by django-axes alone (per username and address, in the
        database, with its lockout page). allauth's own count of the same failures would lock the
        same people a second time with another message, so it is skipped here; allauth still
        counts failed two-factor codes, which axes never sees."""
