"""Accounts on django-allauth: the site's forms, adapter, rate limits and two-factor rules."""
