"""Post a failure notice to Slack (incoming webhook in SLACK_WEBHOOK_URL; skipped when unset).

Everything comes from the environment (never from ``${{ }}`` interpolation into the script):
SLACK_WEBHOOK_URL, WHAT (e.g. "deploy of production"), and GitHub's own GITHUB_* variables.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request


def main() -> int:
    url = os.environ.get("SLACK_WEBHOOK_URL", "")
    if not url:
        print("::warning::SLACK_WEBHOOK_URL is not set: no failure notification sent")
        return 0
    if not url.startswith("https://hooks.slack.com/"):
        print("::error::SLACK_WEBHOOK_URL is not a Slack incoming-webhook URL")
        return 1
    env = os.environ
    run = f"{env.get('GITHUB_SERVER_URL')}/{env.get('GITHUB_REPOSITORY')}/actions/runs/{env.get('GITHUB_RUN_ID')}"
    text = (f":x: *{env.get('WHAT', env.get('GITHUB_WORKFLOW', 'workflow'))}* failed "
            f"({env.get('GITHUB_REF_NAME', '?')} @ {env.get('GITHUB_SHA', '?')[:12]}): <{run}|run log>")
    request = urllib.request.Request(url, data=json.dumps({"text": text}).encode(),  # noqa: S310
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 (https checked above)
        print(f"Slack answered {response.status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
