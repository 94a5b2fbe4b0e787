"""Images the stack builds: pushed under a pinned tag to the stack's own ECR repository."""

from __future__ import annotations

import re

from ._core import get, is_unknown, resource_rule, unknown_msg

IMAGE = "docker:index/image:Image"
ECR_HOST = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")


def tag_of(image: str) -> str | None:
    """The tag of an image reference (None when untagged); digests count as pinned."""
    if "@sha256:" in image:
        return "@digest"
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


@resource_rule(
    "docker-image-pinned-to-ecr", types=(IMAGE,), severity="medium",
    description="Built images are pushed to the stack's ECR under a pinned, non-'latest' tag.",
    rows=("DOCK-02",), anchors=("checkov:CKV_DOCKER_7",),
    fix="name the image <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<git sha> "
        "(pulumi config set platform:imageTag <sha>)")
def pinned_to_ecr(props, ctx):
    name = props.get("imageName")
    if is_unknown(name):
        yield unknown_msg("imageName")
        return
    if not isinstance(name, str) or not name:
        yield "imageName is not set"
        return
    tag = tag_of(name)
    if tag in (None, "latest"):
        yield f"image '{name}' is {'untagged' if tag is None else 'tagged latest'}"
    if not ECR_HOST.match(name) and not get(props, "skipPush", False):
        yield f"image '{name}' is not pushed to an ECR registry"
