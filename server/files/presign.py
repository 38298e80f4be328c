"""Links a worker's browser may load for `s3://` references, for
`grant_read_access` in Ground Truth templates.

A reference is presigned only when the job's owner could name it itself
(`policy.resolve`: under the S3 prefixes the operator allows, and the owner's
own sub-prefix unless they are shared), so a template cannot turn the
server's credentials into a read of another client's objects. A link lives
as long as the lease it was made for.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from labelwire.server.domain.errors import InvalidArgument, PermissionDenied
from labelwire.server.domain.gt_template import Grant, GrantRefused
from labelwire.server.files import policy

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any

# SigV4 links live at most a week.
MAX_LINK_SECONDS = 7 * 24 * 3600
FIELD = "grant_read_access"


def _client() -> S3Client:
    """One client per S3 endpoint the environment names (boto3 reads it when
    a client is made, and making one costs more than a presign)."""
    return _client_for(os.environ.get("AWS_ENDPOINT_URL_S3"), os.environ.get("AWS_ENDPOINT_URL"))


@functools.lru_cache(maxsize=4)
def _client_for(s3_endpoint: str | None, endpoint: str | None) -> S3Client:
    # SigV4 links carry their lifetime (X-Amz-Expires) and work in every region.
    client: S3Client = boto3.client("s3", config=Config(signature_version="s3v4"))
    return client


#: How long the owner's link to an item's image lives: long enough to look at
#: the item's page, short enough that a copied link soon stops working.
ITEM_LINK_SECONDS = 15 * 60


def owner_link(settings: policy.FilesSettings, owner_id: int, ref: str) -> str:
    """A short-lived https link to an item's `s3://` payload for the job's
    owner, or "" for a reference the owner could not name itself (outside the
    allowed prefixes or their own sub-prefix) or that cannot be presigned."""
    if not ref.startswith("s3://"):
        return ""
    try:
        return s3_grant(settings, owner_id, ITEM_LINK_SECONDS)(ref)
    except GrantRefused:
        return ""


def s3_grant(settings: policy.FilesSettings, owner_id: int, seconds: float) -> Grant:
    """A `grant_read_access` for one task of a job owned by `owner_id`, whose
    links expire after `seconds` (the lease's time left)."""
    expires = int(min(max(seconds, 1), MAX_LINK_SECONDS))

    def grant(ref: str) -> str:
        try:
            target = policy.resolve(settings, owner_id, ref, FIELD, write=False)
        except (InvalidArgument, PermissionDenied) as err:
            raise GrantRefused(str(err)) from None
        if not isinstance(target, policy.S3Object):
            raise GrantRefused(f"{FIELD} takes s3:// references, got {policy.shown(ref)}")
        try:
            url: str = _client().generate_presigned_url(
                "get_object", Params={"Bucket": target.bucket, "Key": target.key}, ExpiresIn=expires
            )
        except (BotoCoreError, ClientError) as err:
            raise GrantRefused(f"{FIELD} could not presign {policy.shown(ref)}: {err}") from None
        return url

    return grant
