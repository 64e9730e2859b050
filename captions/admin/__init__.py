"""The staff-only admin: photos and the moderation queue, jobs, reports, the
banned-hashtag list, users' standing, API tokens, and the audit trail."""

from captions.admin import photos, records, tokens, users  # noqa: F401 (registers the admins)
