"""``python -m tools ephemeral config|up|destroy|list|reap``: one environment per pull request.

``config --pr N`` is offline: it writes ``Pulumi.pr-N.yaml`` from the ephemeral profile plus the
outside inputs of a base stack (``--base staging``: PR environments run on the staging cluster, in
their own namespace ``pr-N``, host ``pr-N.preview.<domain>``, physical names ``platform-pr-N-*``).
The file is validated with ``config.parse`` before it is written; invalid input exits 2.

Expiry (``platform:expiresAt``, tag ``expires-at``) is now + TTL on first generation. Re-running
``config`` for an existing file keeps its expiry, so the same arguments produce the same bytes;
``--renew`` (now + the profile TTL) or ``--ttl HOURS`` (now + HOURS) moves it explicitly. CI passes
``--renew`` on every push, so a PR expires 72 h after its last push.

``up``, ``destroy``, ``list`` and ``reap`` drive the Pulumi CLI through the Automation API with the
repository root as work dir. The backend is the CLI's: ``PULUMI_BACKEND_URL`` (e.g.
``s3://bucket?region=eu-west-1``) or Pulumi Cloud (``PULUMI_ACCESS_TOKEN``); new stacks use
``PULUMI_SECRETS_PROVIDER`` (e.g. ``awskms://alias/pulumi-state``) when it is set. ``up`` tags the
stack (``pr``, ``expires-at``, ``created-at``) so ``list`` and the reaper need no stack file.

Exit codes: 0 success, 1 a failed operation, 2 bad input, usage or a missing Pulumi CLI.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
PR_STACK = re.compile(r"(?:.*/)?pr-([1-9][0-9]{0,7})")
"""``pr-42``, or ``org/project/pr-42`` as some backends list it."""
MAX_TTL_HOURS = 24 * 30

INHERITED = ("aws:region", "platform:vpcId", "platform:privateSubnetIds", "platform:kubeContext",
             "platform:domain", "platform:owner", "platform:costCenter")
"""Outside inputs copied from the base stack (plus every ``platform:cluster.*`` key). Profile
overrides (sizes) are deliberately not inherited: a PR environment gets the ephemeral profile.
``platform:kubeconfig`` is not either: it is ciphertext only the base stack can decrypt."""
INHERITED_PREFIXES = ("platform:cluster.",)
KEPT_TOP_LEVEL = ("secretsprovider", "encryptedkey", "encryptionsalt")
"""Written into the stack file by the CLI when the stack is created on a DIY backend."""

PULUMI_INSTALL = ("the Pulumi CLI is not installed (no `pulumi` on PATH); `ephemeral {command}` drives it "
                  "through the Automation API.\n"
                  "Install it with:  curl -fsSL https://get.pulumi.com | sh   "
                  "(see https://www.pulumi.com/docs/install/), then open a new shell or add "
                  "~/.pulumi/bin to PATH.\n"
                  "`python -m tools ephemeral config` and `python -m tools plan` work without it.")


class UsageError(Exception):
    """Bad arguments or input; the message says what to do. Exit 2, no traceback."""


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def format_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(value: Any) -> datetime | None:
    """``2026-11-25T12:00:00Z`` -> aware datetime; anything else -> None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def stack_name(pr: int) -> str:
    return f"pr-{pr}"


def profile_ttl_hours() -> int:
    import config

    ttl = config.PROFILES["ephemeral"].ttl_hours
    assert ttl is not None, "the ephemeral profile must define ttl_hours"
    return ttl


# ------------------------------------------------------------------------------------------
# config: the generated stack file
# ------------------------------------------------------------------------------------------


def _read_yaml(path: Path) -> dict[str, Any]:
    from tools.stackfile import StackFileError, read_yaml

    try:
        return read_yaml(path)
    except StackFileError as exc:
        raise UsageError(str(exc)) from None


def _flatten(config: Mapping[str, Any]) -> dict[str, Any]:
    """``platform:cluster: {name: x}`` -> ``platform:cluster.name: x`` (both spellings are valid)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict) and set(value) != {"secure"}:
            for sub_key, sub_value in _flatten({f"{key}.{k}": v for k, v in value.items()}).items():
                flat[sub_key] = sub_value
        else:
            flat[key] = value
    return flat


def inherited_inputs(base_config: Mapping[str, Any]) -> dict[str, Any]:
    """The outside inputs of a base stack, in a stable order."""
    flat = _flatten(base_config)
    picked = {k: flat[k] for k in INHERITED if k in flat}
    picked.update({k: flat[k] for k in sorted(flat) if k.startswith(INHERITED_PREFIXES)})
    return picked


def render_stack_file(*, pr: int, base: str, base_config: Mapping[str, Any], expires_at: datetime,
                      image_tag: str | None = None, build_context: str | None = None,
                      existing: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """The text of ``Pulumi.pr-<pr>.yaml`` and its ``config`` mapping (pure)."""
    cfg: dict[str, Any] = {
        "platform:environment": "ephemeral",
        "platform:pr": pr,
        "platform:expiresAt": format_time(expires_at),
        "platform:imageTag": image_tag or f"pr-{pr}",
    }
    if build_context:
        cfg["platform:app.buildContext"] = build_context
    cfg.update(inherited_inputs(base_config))
    document: dict[str, Any] = {k: existing[k] for k in KEPT_TOP_LEVEL if existing and k in existing}
    document["config"] = cfg
    header = (
        f"# GENERATED by `python -m tools ephemeral config --pr {pr} --base {base}`: do not edit, re-run it.\n"
        f"# Ephemeral environment of pull request #{pr}: the ephemeral profile in config.py plus the\n"
        f"# outside inputs of Pulumi.{base}.yaml. The reaper destroys it after platform:expiresAt.\n"
        "# Pulumi.pr-*.yaml files are git-ignored: CI regenerates them on every run.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=1000), cfg


def validate(cfg: Mapping[str, Any], stack: str) -> Any:
    """``config.parse`` of the generated config: Settings, or UsageError listing every problem."""
    import config

    try:
        return config.parse(cfg, stack=stack)
    except config.ConfigError as exc:
        raise UsageError(str(exc)) from None


def choose_expiry(*, existing_config: Mapping[str, Any] | None, now: datetime, ttl: int | None,
                  renew: bool, default_ttl: int) -> datetime:
    """Keep the existing expiry unless ``--ttl`` or ``--renew`` asks for a new one (pure)."""
    if ttl is not None:
        return now + timedelta(hours=ttl)
    if not renew and existing_config:
        kept = parse_time(existing_config.get("platform:expiresAt"))
        if kept is not None:
            return kept
    return now + timedelta(hours=default_ttl)


def cmd_config(args: argparse.Namespace) -> int:
    root: Path = args.root
    if args.ttl is not None and not 1 <= args.ttl <= MAX_TTL_HOURS:
        raise UsageError(f"--ttl {args.ttl}: expected hours from 1 to {MAX_TTL_HOURS}")
    if args.base.startswith("pr-"):
        raise UsageError(f"--base {args.base}: the base must be a long-lived stack such as staging")
    base_doc = _read_yaml(root / f"Pulumi.{args.base}.yaml")
    base_config = base_doc.get("config") or {}
    if not isinstance(base_config, dict):
        raise UsageError(f"Pulumi.{args.base}.yaml: 'config' must be a mapping")
    name = stack_name(args.pr)
    path = root / f"Pulumi.{name}.yaml"
    existing = _read_yaml(path) if path.exists() else None
    existing_config = (existing or {}).get("config") if existing else None
    expires_at = choose_expiry(existing_config=existing_config if isinstance(existing_config, dict) else None,
                               now=_now(), ttl=args.ttl, renew=args.renew, default_ttl=profile_ttl_hours())
    text, cfg = render_stack_file(pr=args.pr, base=args.base, base_config=base_config, expires_at=expires_at,
                                  image_tag=args.image_tag, build_context=args.build_context, existing=existing)
    settings = validate(cfg, name)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    print(f"wrote {path.name}: https://{settings.app_host} (namespace {settings.app_namespace}, "
          f"image tag {settings.image_tag}, expires {settings.expires_at})")
    return EXIT_OK


# ------------------------------------------------------------------------------------------
# The reaper's selection: a pure function over a listing of stacks
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackInfo:
    """One stack as the backend lists it."""

    name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    last_update: datetime | None = None
    update_in_progress: bool = False


@dataclass(frozen=True)
class Decision:
    stack: str
    pr: int
    reap: bool
    reason: str


def pr_number(name: str) -> int | None:
    match = PR_STACK.fullmatch(name)
    return int(match.group(1)) if match else None


def select_for_reaping(stacks: Iterable[StackInfo], *, now: datetime, pr_closed: Mapping[int, bool],
                       ttl_hours: int) -> list[Decision]:
    """Which PR stacks to destroy, and why. Stacks not named ``pr-<n>`` are never considered.

    Reaped: the PR is closed, or ``expires-at`` has passed. A missing or malformed ``expires-at``
    falls back to the last update + TTL, so a stack whose tag was lost still dies eventually, while
    a fresh one is kept (with the reason, so the log shows the broken tag). A stack with an update
    in progress is left alone: the next hourly run gets it.
    """
    decisions = []
    for info in stacks:
        pr = pr_number(info.name)
        if pr is None:
            continue
        short = stack_name(pr)
        if info.update_in_progress:
            decisions.append(Decision(short, pr, False, "update in progress; next run"))
            continue
        if pr_closed.get(pr) is True:
            decisions.append(Decision(short, pr, True, f"PR #{pr} is closed"))
            continue
        raw = info.tags.get("expires-at")
        expires = parse_time(raw)
        if expires is not None:
            if expires <= now:
                decisions.append(Decision(short, pr, True, f"expired at {format_time(expires)}"))
            else:
                left = (expires - now).total_seconds() / 3600
                decisions.append(Decision(short, pr, False, f"expires at {format_time(expires)} (in {left:.0f} h)"))
            continue
        problem = "no expires-at tag" if raw is None else f"malformed expires-at tag {raw!r}"
        if info.last_update is not None and now - info.last_update > timedelta(hours=ttl_hours):
            age = (now - info.last_update).total_seconds() / 3600
            decisions.append(Decision(short, pr, True, f"{problem}; last update {age:.0f} h ago exceeds the "
                                                       f"{ttl_hours} h TTL"))
        else:
            decisions.append(Decision(short, pr, False, f"{problem}; kept (updated within the {ttl_hours} h TTL). "
                                                        f"Fix: pulumi stack tag set expires-at <{TIME_FORMAT}> "
                                                        f"--stack {short}"))
    return sorted(decisions, key=lambda d: d.pr)


def github_pr_closed(prs: Iterable[int], *, repository: str | None, token: str | None,
                     api_url: str = "https://api.github.com",
                     fetch: Callable[[str, Mapping[str, str]], Mapping[str, Any]] | None = None) -> dict[int, bool]:
    """``{pr: closed?}`` from the GitHub API; PRs whose state cannot be read are left out."""
    if not repository:
        print("warning: GITHUB_REPOSITORY is not set: closed-PR detection is off, only expiry applies",
              file=sys.stderr)
        return {}
    fetch = fetch or _http_json
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    states: dict[int, bool] = {}
    for pr in prs:
        url = f"{api_url.rstrip('/')}/repos/{repository}/pulls/{pr}"
        try:
            states[pr] = fetch(url, headers).get("state") == "closed"
        except (OSError, ValueError) as exc:
            print(f"warning: state of PR #{pr} unknown ({exc}); judged by expiry only", file=sys.stderr)
    return states


def _http_json(url: str, headers: Mapping[str, str]) -> Mapping[str, Any]:
    if not url.startswith("https://"):
        raise ValueError(f"refusing a non-HTTPS API URL: {url}")
    request = urllib.request.Request(url, headers=dict(headers))  # noqa: S310 (scheme checked above)
    with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
        return json.loads(response.read())


# ------------------------------------------------------------------------------------------
# Automation API commands
# ------------------------------------------------------------------------------------------


def require_pulumi_cli(command: str) -> None:
    if shutil.which("pulumi") is None:
        raise UsageError(PULUMI_INSTALL.format(command=command))


def _workspace_options(root: Path) -> Any:
    from pulumi import automation as auto

    return auto.LocalWorkspaceOptions(work_dir=str(root),
                                      secrets_provider=os.environ.get("PULUMI_SECRETS_PROVIDER") or None)


def _select(root: Path, name: str) -> Any:
    from pulumi import automation as auto

    return auto.select_stack(stack_name=name, work_dir=str(root), opts=_workspace_options(root))


def list_stacks(root: Path) -> list[StackInfo]:
    """The backend's PR stacks with their tags."""
    from pulumi import automation as auto

    workspace = auto.LocalWorkspace(work_dir=str(root),
                                    secrets_provider=os.environ.get("PULUMI_SECRETS_PROVIDER") or None)
    infos = []
    for summary in workspace.list_stacks():
        if pr_number(summary.name) is None:
            continue
        last = summary.last_update
        if isinstance(last, datetime) and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        infos.append(StackInfo(name=summary.name, tags=dict(workspace.list_tags(summary.name)),
                               last_update=last, update_in_progress=bool(summary.update_in_progress)))
    return infos


def cmd_up(args: argparse.Namespace) -> int:
    require_pulumi_cli("up")
    from pulumi import automation as auto

    root: Path = args.root
    name = stack_name(args.pr)
    path = root / f"Pulumi.{name}.yaml"
    if not path.exists():
        raise UsageError(f"{path.name} not found: run `python -m tools ephemeral config --pr {args.pr}` first")
    settings = validate((_read_yaml(path).get("config") or {}), name)
    policy_packs, policy_configs = _policy_pack(root, args.no_policy)
    stack = auto.create_or_select_stack(stack_name=name, work_dir=str(root), opts=_workspace_options(root))
    workspace = stack.workspace
    tags = workspace.list_tags(name)
    if "created-at" not in tags:
        workspace.set_tag(name, "created-at", format_time(_now()))
    workspace.set_tag(name, "pr", str(args.pr))
    workspace.set_tag(name, "expires-at", settings.expires_at)
    result = stack.up(on_output=print, refresh=args.refresh or None, policy_packs=policy_packs,
                      policy_pack_configs=policy_configs, message=f"PR #{args.pr} ({settings.image_tag})")
    url = f"https://{settings.app_host}"
    print(f"{name}: {result.summary.result}; {url} (expires {settings.expires_at})")
    if args.json:
        outputs = {k: v.value for k, v in result.outputs.items() if not v.secret}
        Path(args.json).write_text(json.dumps({"stack": name, "pr": args.pr, "url": url,
                                               "expiresAt": settings.expires_at, "outputs": outputs},
                                              indent=2, default=str) + "\n")
    return EXIT_OK


def _policy_pack(root: Path, disabled: bool) -> tuple[list[str] | None, list[str] | None]:
    if disabled:
        print("warning: --no-policy: the policy pack is not enforced on this update", file=sys.stderr)
        return None, None
    pack = root / "policies"
    if not (pack / "PulumiPolicy.yaml").exists():
        raise UsageError(f"policy pack not found ({pack / 'PulumiPolicy.yaml'}); it is mandatory "
                         "(pass --no-policy only for local experiments)")
    config_file = pack / "config" / "ephemeral.json"
    return [str(pack)], ([str(config_file)] if config_file.exists() else None)


def destroy(root: Path, name: str, *, preview_only: bool = False) -> bool:
    """Destroys (then removes) a stack. False when it does not exist."""
    from pulumi import automation as auto

    try:
        stack = _select(root, name)
    except auto.StackNotFoundError:
        return False
    stack.destroy(on_output=print, preview_only=preview_only or None)
    if not preview_only:
        stack.workspace.remove_stack(name)
    return True


def cmd_destroy(args: argparse.Namespace) -> int:
    require_pulumi_cli("destroy")
    name = stack_name(args.pr)
    if not destroy(args.root, name, preview_only=args.preview_only):
        print(f"{name}: no such stack; nothing to destroy")
        return EXIT_OK
    print(f"{name}: " + ("teardown preview succeeded" if args.preview_only else "destroyed and removed"))
    return EXIT_OK


def _age(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "?"
    hours = (now - then).total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} d"


def render_listing(stacks: Sequence[StackInfo], now: datetime) -> str:
    rows = [("STACK", "PR", "AGE", "EXPIRES-AT", "STATUS")]
    for info in sorted(stacks, key=lambda s: pr_number(s.name) or 0):
        created = parse_time(info.tags.get("created-at")) or info.last_update
        expires = parse_time(info.tags.get("expires-at"))
        status = "?" if expires is None else ("expired" if expires <= now else "active")
        rows.append((info.name, str(pr_number(info.name)), _age(now, created),
                     info.tags.get("expires-at", "-"), status))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def cmd_list(args: argparse.Namespace) -> int:
    require_pulumi_cli("list")
    stacks = list_stacks(args.root)
    if args.json:
        print(json.dumps([{"stack": s.name, "pr": pr_number(s.name), "tags": dict(s.tags),
                           "lastUpdate": format_time(s.last_update) if s.last_update else None} for s in stacks],
                         indent=2))
    else:
        print(render_listing(stacks, _now()) if stacks else "no PR stacks")
    return EXIT_OK


def cmd_reap(args: argparse.Namespace) -> int:
    require_pulumi_cli("reap")
    stacks = list_stacks(args.root)
    closed = github_pr_closed(sorted({pr_number(s.name) or 0 for s in stacks}),
                              repository=os.environ.get("GITHUB_REPOSITORY"), token=os.environ.get("GITHUB_TOKEN"),
                              api_url=os.environ.get("GITHUB_API_URL", "https://api.github.com"))
    decisions = select_for_reaping(stacks, now=_now(), pr_closed=closed, ttl_hours=profile_ttl_hours())
    for d in decisions:
        print(f"{'REAP' if d.reap else 'keep'}  {d.stack}: {d.reason}")
    selected = [d for d in decisions if d.reap]
    if args.dry_run or not selected:
        print(f"{len(selected)} stack(s) selected" + (" (dry run: nothing destroyed)" if args.dry_run else ""))
        return EXIT_OK
    failed = []
    for d in selected:
        try:
            destroy(args.root, d.stack)
        except Exception as exc:  # noqa: BLE001 (one broken stack must not stop the others)
            failed.append(d.stack)
            print(f"error: {d.stack}: {_short(exc)}", file=sys.stderr)
    print(f"reaped {len(selected) - len(failed)} of {len(selected)} stack(s)")
    return EXIT_FAILED if failed else EXIT_OK


def _short(exc: BaseException, limit: int = 4000) -> str:
    text = str(exc).strip()
    return text if len(text) <= limit else "…" + text[-limit:]


# ------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------


def _pr(value: str) -> int:
    if not re.fullmatch(r"[1-9][0-9]{0,7}", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a pull-request number")
    return int(value)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools ephemeral", description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("config", help="write Pulumi.pr-N.yaml (offline)")
    c.add_argument("--pr", type=_pr, required=True)
    c.add_argument("--base", default="staging", help="stack whose outside inputs are inherited (default staging)")
    c.add_argument("--image-tag", help="image tag to deploy (default pr-N; never 'latest')")
    c.add_argument("--build-context", help="sets platform:app.buildContext so the update builds the image")
    c.add_argument("--ttl", type=int, help="expire HOURS from now (default: keep the existing expiry, "
                                           "else the profile TTL)")
    c.add_argument("--renew", action="store_true", help="expire the profile TTL from now")
    c.set_defaults(run=cmd_config)

    u = sub.add_parser("up", help="create or update stack pr-N")
    u.add_argument("--pr", type=_pr, required=True)
    u.add_argument("--refresh", action="store_true", help="refresh before the update")
    u.add_argument("--json", metavar="FILE", help="write {stack, url, expiresAt, outputs} to FILE")
    u.add_argument("--no-policy", action="store_true", help=argparse.SUPPRESS)
    u.set_defaults(run=cmd_up)

    d = sub.add_parser("destroy", help="destroy stack pr-N, then remove it")
    d.add_argument("--pr", type=_pr, required=True)
    d.add_argument("--preview-only", action="store_true", help="only preview the teardown (readiness check)")
    d.set_defaults(run=cmd_destroy)

    ls = sub.add_parser("list", help="PR stacks with age and expiry")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(run=cmd_list)

    r = sub.add_parser("reap", help="destroy expired stacks and stacks of closed PRs")
    r.add_argument("--dry-run", action="store_true", help="print the selection, destroy nothing")
    r.set_defaults(run=cmd_reap)
    return p


def main(argv: list[str]) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_USAGE
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 (Automation API errors carry the CLI's output; no traceback)
        from pulumi import automation as auto

        if isinstance(exc, auto.CommandError | auto.StackNotFoundError | auto.ConcurrentUpdateError):
            print(f"error: {_short(exc)}", file=sys.stderr)
            return EXIT_FAILED
        raise


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
