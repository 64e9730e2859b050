from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    """Django's admin app, with the site that asks staff for a second factor."""

    default_site = "hashtagapp.admin.StaffAdminSite"
