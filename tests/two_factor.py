"""Staff sessions that passed two-factor authentication, made the way a person makes them:
the login form with the password, then a TOTP code computed with pyotp."""

from __future__ import annotations

import time

import pyotp
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD


def totp_enable(user) -> str:
    """Turn TOTP on for ``user`` as the activation page would; returns the secret their app holds."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def log_in_with_totp(client: Client, user, secret: str) -> None:
    step = client.post(reverse("account_login"), {"login": user.username, "password": PASSWORD})
    assert step.status_code == 302 and step["Location"] == reverse("mfa_authenticate"), step
    done = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert done.status_code == 302, done.content.decode()[:2000]


def current_code(secret: str) -> str:
    """The code the person's app shows now, taken early enough in its 30-second window that the
    site checks it within the same window (the site, like most, accepts no other window)."""
    totp = pyotp.TOTP(secret)
    left = totp.interval - time.time() % totp.interval
    if left < 3:
        time.sleep(left + 0.05)
    return totp.now()


def two_factor_client(user) -> Client:
    """A client logged in as ``user`` with password and TOTP (turned on here if it was not)."""
    client = Client()
    log_in_with_totp(client, user, totp_enable(user))
    return client
