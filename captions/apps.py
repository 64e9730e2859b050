from django.apps import AppConfig


class CaptionsConfig(AppConfig):
    name = "captions"
    verbose_name = "Captions and hashtags"

    def ready(self) -> None:
        from . import signals  # noqa: F401
