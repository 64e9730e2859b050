"""allauth's forms with every text field's length capped before validation goes further.

Some allauth fields come without a limit (the login field, passwords), and a form's email field
allows 320 characters where the column holds 254: a value over a column's size would reach the
database (or django-axes' log) and fail there with a 500. Here the field itself refuses it first.
"""

from __future__ import annotations

from allauth.account import forms as allauth_forms
from django import forms
from django.core.validators import MaxLengthValidator

# The users table's limits; the login field takes a username or an email address.
USERNAME_MAX = 150
EMAIL_MAX = 254
# Long enough for any passphrase, short enough that hashing it stays cheap.
PASSWORD_MAX = 1024


def cap_lengths(form: forms.Form, limits: dict[str, int], default: int = PASSWORD_MAX) -> None:
    """Give every text field of ``form`` a maximum length: the one in ``limits``, else ``default``."""
    for name, field in form.fields.items():
        if not isinstance(field, forms.CharField):
            continue
        limit = limits.get(name, default)
        if field.max_length is not None and field.max_length <= limit:
            continue
        field.max_length = limit
        field.validators.append(MaxLengthValidator(limit))
        field.widget.attrs["maxlength"] = str(limit)


class LengthCapped:
    """Caps every text field of an allauth form; ``limits`` names the fields with their own size."""

    limits: dict[str, int] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cap_lengths(self, self.limits)


class LoginForm(LengthCapped, allauth_forms.LoginForm):
    limits = {"login": EMAIL_MAX}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = "Username or email"


class SignupForm(LengthCapped, allauth_forms.SignupForm):
    limits = {"username": USERNAME_MAX, "email": EMAIL_MAX, "email2": EMAIL_MAX}


class ResetPasswordForm(LengthCapped, allauth_forms.ResetPasswordForm):
    limits = {"email": EMAIL_MAX}


class AddEmailForm(LengthCapped, allauth_forms.AddEmailForm):
    limits = {"email": EMAIL_MAX}


class ChangePasswordForm(LengthCapped, allauth_forms.ChangePasswordForm):
    pass


class SetPasswordForm(LengthCapped, allauth_forms.SetPasswordForm):
    pass


class ResetPasswordKeyForm(LengthCapped, allauth_forms.ResetPasswordKeyForm):
    pass
