"""S3 media storage whose signed URLs name an endpoint browsers can reach.

Inside compose the app talks to MinIO as ``http://minio:9000``, a name only the containers
resolve. ``PublicEndpointS3Storage`` reads and writes through that internal endpoint as usual but
signs download URLs for ``public_endpoint_url`` (``AWS_S3_PUBLIC_ENDPOINT_URL``), e.g.
``http://localhost:9000`` or ``https://media.example.com`` in front of the store. A SigV4
signature covers the host, so the URL is signed for the public host, not rewritten afterwards.
"""

from __future__ import annotations

import threading

from storages.backends.s3 import S3Storage
from storages.utils import clean_name


class PublicEndpointS3Storage(S3Storage):
    def __init__(self, *, public_endpoint_url: str, **settings):
        super().__init__(**settings)
        self.public_endpoint_url = public_endpoint_url
        self._public_clients = threading.local()

    @property
    def public_client(self):
        client = getattr(self._public_clients, "client", None)
        if client is None:
            client = self._create_session().client(
                "s3",
                region_name=self.region_name,
                use_ssl=self.use_ssl,
                endpoint_url=self.public_endpoint_url,
                config=self.client_config,
                verify=self.verify,
            )
            self._public_clients.client = client
        return client

    def url(self, name, parameters=None, expire=None, http_method=None):
        params = dict(parameters or {})
        params["Bucket"] = self.bucket_name
        params["Key"] = self._normalize_name(clean_name(name))
        return self.public_client.generate_presigned_url(
            "get_object",
            Params=params,
            ExpiresIn=self.querystring_expire if expire is None else expire,
            HttpMethod=http_method,
        )

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_public_clients", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._public_clients = threading.local()
