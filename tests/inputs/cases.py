"""The corpus of bad inputs: stack files, CLI arguments, plan JSON and output paths.

Each case is what a user (or a broken CI step) could hand a command, the exit code it must get,
and the words its one ``error:`` line must contain (the key, file or path at fault).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import config

ROOT = Path(__file__).resolve().parents[2]
STAGING = (ROOT / "Pulumi.staging.yaml").read_text()
END = STAGING.count("\n") + 1
"""The line a case appends to the staging file."""


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    """stack-file | cli-args | plan-json | output-path"""
    argv: tuple[str, ...]
    """Arguments of ``python -m tools``; ``{p}`` is the case's project folder, ``{t}`` a scratch folder."""
    named: tuple[str, ...]
    files: dict[str, str | bytes] = field(default_factory=dict)
    """Files to lay out first, relative to ``{t}`` (``{p}`` holds the program and Pulumi.bad.yaml)."""
    stack_file: str | bytes | None = None
    code: int = 2


def with_key(text: str, full: str, value: str) -> str:
    """The stack file with ``full`` set to the YAML ``value`` (replacing an existing setting)."""
    lines, out, skipping = text.splitlines(), [], False
    for line in lines:
        if line.startswith(f"  {full}:"):
            skipping = True
            continue
        if skipping and line.startswith("    "):
            continue
        skipping = False
        out.append(line)
    return "\n".join(out) + f"\n  {full}: {value}\n"


def _stack(id_: str, text: str | bytes, *named: str, command: str = "plan") -> Case:
    """A stack file refused by ``tools plan`` (the real program under the mocks), or by ``tools facts``
    (the same reading and ``config.parse``, without the program: the cheap path for the per-key sweep)."""
    argv = ("plan", "bad", "-C", "{p}", "--no-policy") if command == "plan" else ("facts", "bad", "-C", "{p}")
    return Case(id=id_, kind="stack-file", argv=argv, named=named, stack_file=text)


_WRONG = {"integer": "lots", "boolean": "yes", "array": "not-a-list", "string": "{a: 1}"}


def _per_key() -> list[Case]:
    cases = []
    for key in config.KEYS:
        full = f"platform:{key.name}"
        cases.append(_stack(f"wrong-type-{key.name}", with_key(STAGING, full, _WRONG[key.type]), full,
                            command="plan" if key.type == "boolean" else "facts"))
        typo = full + "x"
        cases.append(_stack(f"typo-{key.name}", with_key(STAGING, typo, "'1'"), typo, "did you mean",
                            command="facts"))
        if key.secret:
            cases.append(_stack(f"plain-secret-{key.name}", with_key(STAGING, full, "plain-text"), full,
                                "pulumi config set --secret", command="facts"))
        else:
            cases.append(_stack(f"secure-on-plain-{key.name}", with_key(STAGING, full, "{secure: AAABADxd1c2Vy}"),
                                full, "not secret", command="facts"))
    return cases


_HANDWRITTEN_STACKS = [
    _stack("duplicate-key", STAGING + "  platform:environment: production\n", "line", "duplicate key"),
    _stack("duplicate-nested-key", STAGING + "  platform:postgres:\n    multiAz: true\n    multiAz: false\n",
           "line 25", "duplicate key"),
    _stack("not-utf8", STAGING.encode() + b"  platform:owner: caf\xe9\n", f"line {END}", "not UTF-8"),
    _stack("utf16", STAGING.encode("utf-16"), "not UTF-8"),
    _stack("deep-nesting", STAGING + "  platform:postgres: " + "[" * 200 + "]" * 200 + "\n", "nested deeper"),
    _stack("deep-mapping", STAGING + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(60)) + "  " * 61 + "x\n",
           "nested deeper"),
    _stack("unclosed-quote", STAGING.replace("platform:owner: team-platform", "platform:owner: 'team-platform"),
           "line 6", "unclosed"),
    _stack("unclosed-flow", STAGING.replace("platform:costCenter: cc-1234", "platform:costCenter: [cc-1234"),
           "line"),
    _stack("tab-indent", STAGING.replace("  platform:domain:", "\tplatform:domain:"), "line 8"),
    _stack("bad-indent", STAGING.replace("  platform:domain:", "   platform:domain:"), "line"),
    _stack("top-level-list", "- config\n", "mapping at the top level"),
    _stack("config-a-list", "config:\n  - a\n", "'config' must be a mapping"),
    _stack("config-a-string", "config: staging\n", "'config' must be a mapping"),
    _stack("key-a-number", STAGING + "  42: x\n", "42"),
    _stack("key-a-mapping", STAGING + "  ? {a: 1}\n  : x\n", "line"),
    _stack("yaml11-bool-yes", with_key(STAGING, "platform:postgres.multiAz", "yes"), "platform:postgres.multiAz"),
    _stack("yaml11-bool-on", with_key(STAGING, "platform:postgres.multiAz", "on"), "platform:postgres.multiAz"),
    _stack("timestamp-tag", STAGING + "  platform:app.healthPath: !!timestamp 2026-01-01\n", f"line {END}"),
    _stack("python-tag", STAGING + "  platform:app.healthPath: !!python/object:os.system x\n", f"line {END}"),
    _stack("anchor-alias-unknown", STAGING + "  platform:app.healthPath: *nothing\n", f"line {END}"),
    _stack("namespace-typo", STAGING + "  platfrom:acmeEmail: a@b.c\n", "platfrom:acmeEmail", "did you mean platform"),
    _stack("namespace-typo-required", STAGING.replace("platform:owner:", "platfrom:owner:"), "platfrom:owner",
           "platform:owner"),
    _stack("namespace-unknown", STAGING + "  acme:thing: 1\n", "acme:thing"),
    _stack("aws-region-typo", STAGING.replace("aws:region: eu-west-1", "aws:region: eu-west"), "aws:region"),
    _stack("environment-unknown", with_key(STAGING, "platform:environment", "qa"), "platform:environment"),
    _stack("environment-missing", STAGING.replace("  platform:environment: staging\n", ""), "platform:environment"),
    _stack("image-tag-latest", with_key(STAGING, "platform:imageTag", "latest"), "platform:imageTag"),
    _stack("registry-account-short", with_key(STAGING, "platform:registryAccount", "'12345'"),
           "platform:registryAccount", "12-digit"),
    _stack("registry-account-an-arn", with_key(STAGING, "platform:registryAccount",
                                               "arn:aws:iam::123456789012:root"), "platform:registryAccount"),
    _stack("expires-on-staging", with_key(STAGING, "platform:expiresAt", "2026-12-01T10:00:00Z"),
           "platform:expiresAt"),
    _stack("empty-owner", with_key(STAGING, "platform:owner", "''"), "platform:owner"),
    _stack("null-owner", with_key(STAGING, "platform:owner", "null"), "platform:owner"),
    _stack("both-kube-settings", with_key(STAGING, "platform:kubeconfig", "{secure: AAAB}"), "platform:kubeContext"),
    _stack("subnets-one", with_key(STAGING, "platform:privateSubnetIds", "[subnet-0a1b2c3d4e5f60718]"),
           "platform:privateSubnetIds"),
    _stack("subnets-holding-an-object", with_key(STAGING, "platform:privateSubnetIds",
                                                 "[subnet-0a1b2c3d4e5f60718, {a: 1}]"), "platform:privateSubnetIds"),
    _stack("services-holding-numbers", with_key(STAGING, "platform:services", "[app, backup, 3]"), "platform:services"),
    _stack("secure-nested-on-plain", STAGING + "  platform:postgres:\n    instanceClass: {secure: AAAB}\n",
           "platform:postgres.instanceClass"),
]

_PR = with_key(with_key(with_key(STAGING, "platform:environment", "ephemeral"), "platform:pr", "7"),
               "platform:expiresAt", "'2099-01-01T00:00:00Z'")
_PR_CASES = [
    Case(id="pr-number-disagrees", kind="stack-file", argv=("plan", "pr-8", "-C", "{p}", "--no-policy"),
         named=("platform:pr", "pr-8"), files={"Pulumi.pr-8.yaml": _PR}),
    Case(id="stack-name-capitals", kind="stack-file", argv=("plan", "Staging", "-C", "{p}", "--no-policy"),
         named=("Staging",), files={"Pulumi.Staging.yaml": STAGING}),
    Case(id="stack-name-too-long", kind="stack-file", argv=("plan", "s" * 60, "-C", "{p}", "--no-policy"),
         named=("s" * 60,), files={f"Pulumi.{'s' * 60}.yaml": STAGING}),
]


def _plan_json(resources: object) -> str:
    return json.dumps({"version": 3, "deployment": {"resources": resources}})


_GOOD = {"urn": "urn:pulumi:staging::platform::aws:s3/bucketV2:BucketV2::b", "type": "aws:s3/bucketV2:BucketV2",
         "inputs": {}}
_STACK = {"urn": "urn:pulumi:staging::platform::pulumi:pulumi:Stack::platform-staging", "type": "pulumi:pulumi:Stack"}


def _check(id_: str, text: str | bytes, *named: str) -> Case:
    return Case(id=id_, kind="plan-json", argv=("check", "{t}/plan.json", "--stack", "staging"), named=named,
                files={"plan.json": text})


_PLAN_JSON = [
    _check("empty-plan", _plan_json([]), "no resources"),
    _check("only-the-stack", _plan_json([_STACK]), "no resources"),
    _check("other-stack", _plan_json([{**_GOOD, "urn": _GOOD["urn"].replace("staging", "production")}]),
           "production", "--stack staging"),
    _check("inputs-a-list", _plan_json([{**_GOOD, "inputs": [1]}]), "resources[0]", "inputs"),
    _check("inputs-a-string", _plan_json([{**_GOOD, "inputs": "x"}]), "resources[0]", "inputs"),
    _check("outputs-a-number", _plan_json([{**_GOOD, "outputs": 3}]), "resources[0]", "outputs"),
    _check("urn-a-number", _plan_json([{**_GOOD, "urn": 5}]), "resources[0]", "urn"),
    _check("urn-not-pulumi", _plan_json([{**_GOOD, "urn": "arn:aws:s3:::b"}]), "resources[0]", "urn"),
    _check("urn-missing", _plan_json([{"type": "aws:s3/bucketV2:BucketV2"}]), "resources[0]", "urn"),
    _check("type-missing", _plan_json([{"urn": _GOOD["urn"]}]), "resources[0]", "type"),
    _check("type-a-list", _plan_json([{**_GOOD, "type": ["x"]}]), "resources[0]", "type"),
    _check("resource-a-string", _plan_json(["urn:pulumi:x"]), "resources[0]", "str"),
    _check("resource-null", _plan_json([None]), "resources[0]"),
    _check("nan-input", '{"deployment": {"resources": [{"urn": "URN", "type": "t", "inputs": {"a": NaN}}]}}'
           .replace("URN", _GOOD["urn"]), "NaN"),
    _check("infinity-input", '{"deployment": {"resources": [{"urn": "URN", "type": "t", "inputs": {"a": -Infinity}}]}}'
           .replace("URN", _GOOD["urn"]), "Infinity"),
    _check("parent-a-number", _plan_json([{**_GOOD, "parent": 1}]), "resources[0]", "parent"),
    _check("dependencies-a-string", _plan_json([{**_GOOD, "dependencies": "x"}]), "resources[0]", "dependencies"),
    _check("two-bad-resources", _plan_json([{**_GOOD, "inputs": 1}, {**_GOOD, "urn": None}]), "resources[0]",
           "resources[1]"),
    _check("resources-an-object", json.dumps({"deployment": {"resources": {}}}), "not a Pulumi stack export"),
    _check("deployment-a-list", json.dumps({"deployment": []}), "not a Pulumi stack export"),
    _check("plan-top-level-list", "[]", "not a Pulumi stack export"),
    _check("not-json", "{", "not valid JSON"),
    _check("plan-not-utf8", b'{"a": "\xff"}', "not valid JSON"),
    _check("truncated", _plan_json([_GOOD])[:-5], "not valid JSON"),
    Case(id="plan-missing", kind="plan-json", argv=("check", "{t}/nope.json", "--stack", "staging"),
         named=("nope.json",)),
    Case(id="plan-a-folder", kind="plan-json", argv=("check", "{t}", "--stack", "staging"), named=("folder",)),
]

_CLI = [
    Case(id="unknown-command", kind="cli-args", argv=("plna", "staging"), named=("plna",)),
    Case(id="plan-no-stack", kind="cli-args", argv=("plan",), named=("STACK",)),
    Case(id="plan-stack-twice", kind="cli-args", argv=("plan", "staging", "staging"), named=("twice",)),
    Case(id="plan-json-two-stacks", kind="cli-args", argv=("plan", "staging", "production", "--json", "{t}/x.json"),
         named=("--json", "--json-dir")),
    Case(id="plan-manifests-two-stacks", kind="cli-args",
         argv=("plan", "staging", "production", "--manifests", "{t}/m"), named=("--manifests",)),
    Case(id="plan-no-policy-check-json", kind="cli-args",
         argv=("plan", "staging", "--no-policy", "--check-json", "{t}/c.json"), named=("--no-policy",)),
    Case(id="plan-unknown-stack", kind="cli-args", argv=("plan", "qa", "--no-policy"), named=("qa",)),
    Case(id="plan-bad-stack-name", kind="cli-args", argv=("plan", "st/aging", "--no-policy"), named=("st/aging",)),
    Case(id="plan-unknown-flag", kind="cli-args", argv=("plan", "staging", "--jsn", "x"), named=("--jsn",)),
    Case(id="plan-missing-project", kind="cli-args", argv=("plan", "staging", "-C", "{t}/none", "--no-policy"),
         named=("none",)),
    Case(id="check-no-stack", kind="cli-args", argv=("check", "x.json"), named=("--stack",)),
    Case(id="check-unknown-stack", kind="cli-args", argv=("check", "x.json", "--stack", "qa"), named=("qa",)),
    Case(id="restore-untagged-image", kind="cli-args",
         argv=("restore", "--stack", "staging", "--from", "postgres/x.dump", "--image", "repo/backup"),
         named=("repo/backup", "tag")),
    Case(id="restore-registry-port-untagged", kind="cli-args",
         argv=("restore", "--stack", "staging", "--from", "postgres/x.dump", "--image", "reg:5000/backup"),
         named=("reg:5000/backup",)),
    Case(id="restore-latest", kind="cli-args",
         argv=("restore", "--stack", "staging", "--from", "postgres/x.dump", "--image", "repo/backup:latest"),
         named=("latest",)),
    Case(id="restore-no-from", kind="cli-args", argv=("restore", "--stack", "staging"), named=("--from",)),
    Case(id="restore-unknown-stack", kind="cli-args", argv=("restore", "--stack", "qa", "--from", "x"), named=("qa",)),
    Case(id="ephemeral-base-production", kind="cli-args",
         argv=("ephemeral", "--root", "{p}", "config", "--pr", "7", "--base", "production"),
         named=("--base production", "--allow-base"), files={"Pulumi.production.yaml": (ROOT / "Pulumi.production.yaml").read_text()}),
    Case(id="ephemeral-base-pr", kind="cli-args",
         argv=("ephemeral", "--root", "{p}", "config", "--pr", "7", "--base", "pr-3"), named=("--base pr-3",)),
    Case(id="ephemeral-base-missing", kind="cli-args",
         argv=("ephemeral", "--root", "{p}", "config", "--pr", "7", "--base", "nope"), named=("Pulumi.nope.yaml",)),
    Case(id="ephemeral-pr-not-a-number", kind="cli-args", argv=("ephemeral", "config", "--pr", "abc"),
         named=("--pr",)),
    Case(id="ephemeral-ttl-zero", kind="cli-args", argv=("ephemeral", "--root", "{p}", "config", "--pr", "7",
                                                          "--ttl", "0"), named=("--ttl",)),
    Case(id="comment-plan-no-equals", kind="cli-args", argv=("comment", "--plan", "staging", "--out", "-"),
         named=("--plan",)),
    Case(id="comment-check-without-plan", kind="cli-args",
         argv=("comment", "--plan", "staging={t}/p.json", "--check", "production={t}/c.json", "--out", "-"),
         named=("production",)),
    Case(id="diff-missing-base", kind="cli-args", argv=("diff", "{t}/a.json", "{t}/b.json"), named=("a.json",)),
]

_OUT = [
    Case(id="plan-json-is-folder", kind="output-path", argv=("plan", "staging", "--json", "{t}"), named=("--json",
         "folder")),
    Case(id="plan-json-parent-is-file", kind="output-path", argv=("plan", "staging", "--json", "{t}/f/x.json"),
         named=("--json", "is a file"), files={"f": "x"}),
    Case(id="plan-json-dir-is-file", kind="output-path", argv=("plan", "staging", "--json-dir", "{t}/f"),
         named=("--json-dir", "is a file"), files={"f": "x"}),
    Case(id="plan-check-json-is-folder", kind="output-path", argv=("plan", "staging", "--check-json", "{t}"),
         named=("--check-json", "folder")),
    Case(id="plan-check-json-dir-is-file", kind="output-path", argv=("plan", "staging", "--check-json-dir", "{t}/f"),
         named=("--check-json-dir",), files={"f": "x"}),
    Case(id="plan-manifests-is-file", kind="output-path", argv=("plan", "staging", "--manifests", "{t}/f"),
         named=("--manifests", "is a file"), files={"f": "x"}),
    Case(id="plan-manifests-project-folder", kind="output-path",
         argv=("plan", "bad", "-C", "{p}", "--manifests", "{p}"), named=("--manifests", "did not write"),
         stack_file=STAGING),
    Case(id="plan-manifests-foreign-file", kind="output-path", argv=("plan", "staging", "--manifests", "{t}/m"),
         named=("--manifests", "notes.yaml"), files={"m/notes.yaml": "mine: true\n"}),
    Case(id="plan-manifests-under-file", kind="output-path", argv=("plan", "staging", "--manifests", "{t}/f/m"),
         named=("--manifests", "is a file"), files={"f": "x"}),
    Case(id="check-json-is-folder", kind="output-path",
         argv=("check", "{t}/plan.json", "--stack", "staging", "--json", "{t}"), named=("--json", "folder"),
         files={"plan.json": _plan_json([_GOOD])}),
    Case(id="check-json-parent-is-file", kind="output-path",
         argv=("check", "{t}/plan.json", "--stack", "staging", "--json", "{t}/plan.json/x"),
         named=("--json", "is a file"), files={"plan.json": _plan_json([_GOOD])}),
    Case(id="comment-out-is-folder", kind="output-path", argv=("comment", "--plan", "staging={t}/p.json", "--out",
                                                               "{t}"), named=("--out", "folder")),
    Case(id="comment-out-parent-is-file", kind="output-path",
         argv=("comment", "--plan", "staging={t}/p.json", "--out", "{t}/f/c.md"), named=("--out", "is a file"),
         files={"f": "x"}),
    Case(id="restore-out-is-folder", kind="output-path",
         argv=("restore", "--stack", "staging", "--from", "postgres/x.dump", "--out", "{t}"), named=("--out",)),
    Case(id="restore-out-parent-is-file", kind="output-path",
         argv=("restore", "--stack", "staging", "--from", "postgres/x.dump", "--out", "{t}/f/job.yaml"),
         named=("--out", "is a file"), files={"f": "x"}),
    Case(id="diff-json-is-folder", kind="output-path", argv=("diff", "{t}/a.json", "{t}/a.json", "--json", "{t}"),
         named=("--json", "folder"), files={"a.json": _plan_json([_GOOD])}),
    Case(id="diff-markdown-parent-is-file", kind="output-path",
         argv=("diff", "{t}/a.json", "{t}/a.json", "--markdown", "{t}/a.json/m.md"), named=("--markdown",),
         files={"a.json": _plan_json([_GOOD])}),
]

CASES: list[Case] = [*_per_key(), *_HANDWRITTEN_STACKS, *_PR_CASES, *_PLAN_JSON, *_CLI, *_OUT]
