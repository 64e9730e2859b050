from django.urls import path

from captions.views import history, media, photos, results, tokens

app_name = "captions"

urlpatterns = [
    path("", photos.photo_list, name="photo_list"),
    path("upload/", photos.photo_upload, name="photo_upload"),
    path("photos/tiles/", photos.photo_tiles, name="photo_tiles"),
    path("photos/<uuid:uuid>/", photos.photo_detail, name="photo_detail"),
    path("photos/<uuid:uuid>/status/", photos.photo_status, name="photo_status"),
    path("photos/<uuid:uuid>/regenerate/", photos.photo_regenerate, name="photo_regenerate"),
    path("photos/<uuid:uuid>/delete/", photos.photo_delete_view, name="photo_delete"),
    path("photos/<uuid:uuid>/report/", results.photo_report, name="photo_report"),
    path("photos/<uuid:uuid>/image/", media.photo_media, {"kind": "image"}, name="photo_image"),
    path("photos/<uuid:uuid>/thumbnail/", media.photo_media, {"kind": "thumbnail"}, name="photo_thumbnail"),
    path("suggestions/<int:pk>/favourite/", results.suggestion_favourite, name="suggestion_favourite"),
    path("suggestions/<int:pk>/edit/", results.suggestion_edit_view, name="suggestion_edit"),
    path("favourites/", history.favourite_list, name="favourite_list"),
    path("export.csv", history.history_export, {"fmt": "csv"}, name="history_export_csv"),
    path("export.json", history.history_export, {"fmt": "json"}, name="history_export_json"),
    # API tokens
    path("settings/tokens/", tokens.token_list, name="token_list"),
    path("settings/tokens/<int:pk>/revoke/", tokens.token_revoke_view, name="token_revoke"),
]
