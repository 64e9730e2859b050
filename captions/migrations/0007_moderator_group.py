"""The "moderator" group: what staff need to work the moderation queue, and nothing more.

Staff see other people's photos, in the admin or through the media view, only through these
permissions; a staff account without them sees nothing. Superusers grant the group in the admin.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "moderator"
# Every permission of this app (photos, the queue, jobs, reports, banned hashtags, the audit
# trail, account standing), and seeing and banning users.
AUTH_PERMISSIONS = ["view_user", "change_user"]


def add_group(apps, schema_editor):
    # Permissions are normally made after all migrations; this group needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="captions"),
        *Permission.objects.filter(content_type__app_label="auth", codename__in=AUTH_PERMISSIONS),
    )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("captions", "0006_people_source"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(add_group, remove_group)]
