#!/usr/bin/env bash
# Build the application image once per commit and push it as <registry>/<repository>:<commit SHA>.
# Tags are immutable in the shared repository, so a re-run finds the tag already there and only
# reads its digest: the same commit never gets a second image. Prints image=<repo>@<digest> and
# digest=<digest> for $GITHUB_OUTPUT.
set -euo pipefail

registry="${REGISTRY:?REGISTRY (<account>.dkr.ecr.<region>.amazonaws.com) is required}"
repository="${REPOSITORY:?REPOSITORY is required}"
sha="${SHA:?SHA is required}"
context="${CONTEXT:?CONTEXT (vars.APP_BUILD_CONTEXT, the build context of the app) is required}"
region="${AWS_REGION:?AWS_REGION is required}"
account="${registry%%.*}"

digest_of() {
  aws ecr describe-images --region "$region" --registry-id "$account" --repository-name "$repository" \
    --image-ids "imageTag=$sha" --query 'imageDetails[0].imageDigest' --output text 2>/dev/null
}

if digest="$(digest_of)" && [ -n "$digest" ] && [ "$digest" != None ]; then
  echo "$registry/$repository:$sha exists already ($digest): not rebuilt" >&2
else
  aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry" >&2
  docker build --pull --platform linux/amd64 --label "org.opencontainers.image.revision=$sha" \
    --tag "$registry/$repository:$sha" "$context" >&2
  docker push "$registry/$repository:$sha" >&2
  digest="$(digest_of)"
fi
case "$digest" in sha256:*) ;; *) echo "::error::no digest for $registry/$repository:$sha"; exit 1 ;; esac
echo "image=$registry/$repository@$digest"
echo "digest=$digest"
