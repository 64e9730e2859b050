from django import forms
from django.conf import settings

from captions.models import Platform, Report, Tone
from captions.platforms import LANGUAGES
from captions.services import sources


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several files in one field; each is checked later by the upload service."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        files = [f for f in files if f]
        if not files:
            raise forms.ValidationError("Choose at least one photo.", code="required")
        limit = settings.UPLOAD_MAX_FILES
        if len(files) > limit:
            raise forms.ValidationError(
                f"Too many files: {len(files)} chosen, limit {limit} at once.", code="too_many"
            )
        return files


class GenerationOptionsForm(forms.Form):
    platform = forms.ChoiceField(choices=Platform.choices, initial=Platform.INSTAGRAM)
    tone = forms.ChoiceField(choices=Tone.choices, initial=Tone.CASUAL)
    variants = forms.IntegerField(min_value=1, max_value=5, initial=3, label="Caption variants")
    language = forms.ChoiceField(choices=LANGUAGES, initial="en")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].help_text = (
            "The language model writes the captions in this language."
            if sources.refiner_kind() == "openai"
            else "No language model is set up on this site, so captions come out in English "
            "whichever language you choose."
        )


class UploadForm(GenerationOptionsForm):
    photos = MultipleImageField(
        label="Photos",
        help_text="JPEG, PNG, WebP or GIF; up to 10 at once, 20 MB each.",
        widget=MultipleFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,image/gif", "aria-describedby": "photos-help"}
        ),
    )

    field_order = ["photos", "platform", "tone", "variants", "language"]


class ReportForm(forms.ModelForm):
    class Meta:
        model = Report
        fields = ("reason", "note")
        widgets = {"note": forms.TextInput(attrs={"placeholder": "What is wrong? (optional)"})}


class TokenCreateForm(forms.Form):
    """A new personal access token (see captions.services.tokens)."""

    name = forms.CharField(max_length=80, help_text="What it is for, e.g. “my scheduler”.")
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        choices=[
            ("7", "in 7 days"),
            ("30", "in 30 days"),
            ("90", "in 90 days"),
            ("365", "in a year"),
            ("", "never"),
        ],
        coerce=int,
        empty_value=None,
        required=False,
        initial="90",
    )
