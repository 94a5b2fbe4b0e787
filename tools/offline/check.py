"""``python -m tools check <deployment.json> --stack <stack> [--json FILE]``: the policy pack over a
deployment, exactly as ``pulumi preview --policy-pack policies --policy-pack-config ...`` runs it.

The pack is started the way the engine's plugin host starts a Python analyzer
(``python -u -m pulumi.policy <engine> policies``; it prints its port), and spoken to over the
Analyzer gRPC protocol: ``GetAnalyzerInfo``, ``Configure`` with the environment's policy config
(merged with rule defaults the way the engine merges ``--policy-pack-config``), ``ConfigureStack``,
``Analyze`` per resource (its inputs) and ``AnalyzeStack`` (final state: outputs over inputs).

Secret values in an export carry ciphertext only; they are sent to the analyzer as secrets with a
redacted value, so rules can see that a secret is set and never what it is.
Violations a resource suppresses with a written reason (``policy.platform.example.com/suppress.<rule>``;
the pack reports them as the rule's not-applicable reason) are listed under "Suppressed", never dropped.
Exit codes: 0 no mandatory violation, 1 mandatory violation(s), 2 bad input.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from config import ENVIRONMENTS
from policies import rendering
from tools import cli
from tools.cli import ROOT, UsageError
from tools.offline.facts import environment_of
from tools.report import ENFORCEMENTS, CheckResult, Suppression, Violation, render, what_of
from tools.wire import to_analyzer_value

POLICY_DIR = ROOT / "policies"
CONFIG_DIR = POLICY_DIR / "config"
POLICY_CONFIGS = (*ENVIRONMENTS, "bootstrap")
"""policies/config/<name>.json: one per environment class, and one for the bootstrap project."""

SUPPRESSED = "suppressed: "  # policies/rules/_core.py: how a rule reports applied suppressions
_SKIPPED_TYPES = ("pulumi:pulumi:Stack",)


# --------------------------------------------------------------------------------------------
# Inputs: the deployment file, the stack's environment, the policy config.
# --------------------------------------------------------------------------------------------


def load_deployment(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"deployment file not found: {path}" if not path.exists()
                         else f"{path}: is a folder; give a plan file (tools plan --json FILE)")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as e:
        raise UsageError(f"{path} is not valid JSON ({e})") from None
    resources_of(data, str(path))
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_EXPORT_SHAPE = '{"version": 3, "deployment": {"resources": [{"urn", "type", ...}]}}'


def resources_of(deployment: Any, source: str = "deployment") -> list[dict[str, Any]]:
    """The resources of a stack export; every malformed one is named on a line of its own."""
    inner = deployment.get("deployment", {}) if isinstance(deployment, dict) else None
    resources = inner.get("resources") if isinstance(inner, dict) else None
    if resources is None and isinstance(deployment, dict) and isinstance(deployment.get("resources"), list):
        resources = deployment["resources"]  # the bare "deployment" object
    if not isinstance(resources, list):
        raise UsageError(f"{source} is not a Pulumi stack export: expected {_EXPORT_SHAPE}")
    problems = [f"{source}: resources[{i}]: {why}" for i, r in enumerate(resources) for why in _resource_problems(r)]
    if problems:
        raise UsageError(f"{source} is not a valid Pulumi stack export ({len(problems)} problem(s)):\n  "
                         + "\n  ".join(problems[:50]))
    return resources


def _resource_problems(resource: Any) -> list[str]:
    if not isinstance(resource, dict):
        return [f"expected an object {{\"urn\", \"type\", ...}}, got {type(resource).__name__}"]
    problems = []
    urn = resource.get("urn")
    if not isinstance(urn, str) or not urn.startswith("urn:pulumi:") or urn.count("::") < 3:
        problems.append(f"urn = {json.dumps(urn)[:80]}: expected urn:pulumi:<stack>::<project>::<type>::<name>")
    label = f"{urn}: " if isinstance(urn, str) else ""
    if not isinstance(resource.get("type"), str) or not resource.get("type"):
        problems.append(f"{label}type = {json.dumps(resource.get('type'))[:80]}: expected a type token string")
    for field in ("inputs", "outputs"):
        if field in resource and resource[field] is not None and not isinstance(resource[field], dict):
            problems.append(f"{label}{field}: expected an object of properties, "
                            f"got {type(resource[field]).__name__}")
        elif isinstance(resource.get(field), dict) and _has_nan(resource[field]):
            problems.append(f"{label}{field}: holds NaN or Infinity, which JSON and the engine cannot carry")
    for field in ("parent", "provider"):
        if resource.get(field) is not None and not isinstance(resource[field], str):
            problems.append(f"{label}{field}: expected a string")
    if "dependencies" in resource and not (isinstance(resource["dependencies"], list)
                                           and all(isinstance(d, str) for d in resource["dependencies"])):
        problems.append(f"{label}dependencies: expected a list of URNs")
    return problems


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return value != value or value in (float("inf"), float("-inf"))
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nan(v) for v in value)
    return False


def stacks_named(resources: Iterable[Mapping[str, Any]]) -> set[str]:
    """The stacks the resources' URNs belong to (``urn:pulumi:<stack>::...``)."""
    return {r["urn"][len("urn:pulumi:"):].split("::", 1)[0] for r in resources}


def load_policy_config(environment: str) -> dict[str, Any]:
    if environment not in POLICY_CONFIGS:
        raise UsageError(f"unknown environment {environment!r}: expected one of {', '.join(POLICY_CONFIGS)}")
    path = CONFIG_DIR / f"{environment}.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UsageError(f"policy config {path} cannot be read ({e})") from None
    for name, value in config.items():
        level = value if isinstance(value, str) else value.get("enforcementLevel") if isinstance(value, dict) else None
        if level is not None and level not in ENFORCEMENTS:
            raise UsageError(f"{path.name}: {name} has enforcement level {level!r}")
    return config


def reconcile_config(infos: Iterable[Any], initial: Mapping[str, Any], config: Mapping[str, Any],
                     level_names: Mapping[int, str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """What the engine sends in ``Configure``: per policy its level and properties, from the
    policy's default level and schema defaults, then the pack's initial config, then the file
    (``all`` first, then the policy's own entry)."""
    result: dict[str, tuple[str, dict[str, Any]]] = {}
    for info in infos:
        defaults = {k: v["default"] for k, v in _schema_props(info).items() if "default" in v}
        result[info.name] = (level_names[info.enforcementLevel], defaults)
    for source in (initial, config):
        everything = source.get("all")
        if everything is not None:
            level = everything if isinstance(everything, str) else everything.get("enforcementLevel")
            if level:
                result = {k: (level, props) for k, (_, props) in result.items()}
        for name, value in source.items():
            if name == "all" or name not in result:
                continue
            level, props = result[name]
            if isinstance(value, str):
                level = value
            elif isinstance(value, Mapping):
                level = value.get("enforcementLevel", level)
                props = {**props, **{k: v for k, v in value.items() if k != "enforcementLevel"}}
            result[name] = (level, props)
    unknown = sorted(set(config) - set(result) - {"all"})
    if unknown:
        raise UsageError(f"policy config names unknown policies: {', '.join(unknown)}")
    return result


def _schema_props(info: Any) -> dict[str, Any]:
    from google.protobuf import json_format

    return json_format.MessageToDict(info.configSchema.properties) if info.HasField("configSchema") else {}


# --------------------------------------------------------------------------------------------
# Export values -> Analyzer properties.
# --------------------------------------------------------------------------------------------


def _struct(props: Mapping[str, Any]):
    from google.protobuf import struct_pb2

    s = struct_pb2.Struct()
    s.update({k: to_analyzer_value(v) for k, v in props.items() if v is not None})
    return s


def name_of(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


# --------------------------------------------------------------------------------------------
# The analyzer plugin: started once per process, reconfigured per check.
# --------------------------------------------------------------------------------------------


Handoff = Mapping[str, Mapping[str, Any]] | Callable[[], Mapping[str, Mapping[str, Any]]]
"""What ``Analyzer.check`` hands the pack: Release URN → rendered record, or a function returning it."""


class Analyzer:
    """The policy pack as a running analyzer plugin, spoken to over gRPC."""

    def __init__(self, policy_dir: Path = POLICY_DIR, timeout: float = 60.0):
        import grpc
        from pulumi.runtime.proto import analyzer_pb2_grpc

        # The pack renders the Releases it receives (policies/rules/_rendered.py); what this checker
        # sends holds mock or redacted secrets only, so the pack may cache rendered output on disk.
        # What the driver rendered itself reaches the pack through a folder only this plugin reads
        # (rendering.HANDOFF_ENV), refilled before every check and removed with the plugin.
        self.handoff = Path(tempfile.mkdtemp(prefix="platform-rendered-"))
        env = {**os.environ, "PYTHONUNBUFFERED": "1", rendering.CACHE_WRITES_ENV: "1",
               rendering.HANDOFF_ENV: str(self.handoff)}
        # Its own session: a Ctrl-C reaches only us, and we stop it (close). Its stdin is a pipe only
        # we hold: when this process ends in any way (even SIGKILL), the pipe closes and the
        # watchdog ends the plugin, so it can never outlive the command or the test session.
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-c", _WATCHDOG, "127.0.0.1:0", str(policy_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            cwd=str(policy_dir), start_new_session=True)
        self.channel: Any = None
        try:
            port = self._read_port(timeout)
            self.channel = grpc.insecure_channel(
                f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 400 * 1024 * 1024),
                                              ("grpc.max_receive_message_length", 400 * 1024 * 1024)])
            grpc.channel_ready_future(self.channel).result(timeout=timeout)
        except BaseException:
            self.close()
            raise
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        self.lock = threading.Lock()
        self._info = None
        self._configured: bytes | None = None
        self._memo: OrderedDict[bytes, Any] = OrderedDict()

    def _read_port(self, timeout: float) -> int:
        stdout = self.process.stdout
        assert stdout is not None
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        text = line[0].decode().strip() if line else ""
        if not text.isdigit():
            self.close()
            err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
            raise RuntimeError(f"the policy pack did not start (no port printed): {err.strip()[-2000:]}")
        return int(text)

    def info(self):
        from google.protobuf import empty_pb2

        if self._info is None:
            self._info = self.stub.GetAnalyzerInfo(empty_pb2.Empty())
        return self._info

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stops the plugin and waits for it (idempotent)."""
        channel, self.channel = getattr(self, "channel", None), None
        if channel is not None:
            channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        shutil.rmtree(self.handoff, ignore_errors=True)

    def check(self, deployment: Mapping[str, Any], environment: str, stack: str = "", project: str = "platform",
              rendered: Handoff | None = None) -> CheckResult:
        """``rendered``: what the caller rendered per Release URN (``rendering.write_handoff``), or
        a function that returns it, called once every resource but the Releases is judged (so the
        caller's rendering overlaps the pack's work); without it the pack renders each Release
        itself, as under a real preview."""
        from pulumi.runtime.proto import analyzer_pb2 as pb

        started = time.perf_counter()
        resources = resources_of(deployment)
        info = self.info()
        config = reconcile_config(info.policies, self._initial_config(), load_policy_config(environment),
                                  _LEVEL_NAMES)
        by_name = {v: k for k, v in _LEVEL_NAMES.items()}
        configure = pb.ConfigureAnalyzerRequest(policyConfig={
            name: pb.PolicyConfig(enforcementLevel=by_name[level], properties=_struct(props))  # type: ignore[arg-type]
            for name, (level, props) in config.items()})
        configure_stack = pb.AnalyzerStackConfigureRequest(
            stack=stack, project=project, organization="organization", dry_run=True)

        by_urn = {r["urn"]: r for r in resources}
        providers = {f"{r['urn']}::{r.get('id', '')}": r for r in resources
                     if r["type"].startswith("pulumi:providers:")}
        provider_messages: dict[str, Any] = {}
        requests, stack_resources = [], []
        for r in resources:
            if r["type"] in _SKIPPED_TYPES:
                continue
            options = pb.AnalyzerResourceOptions(protect=bool(r.get("protect")), parent=r.get("parent") or "")
            provider = _provider(r, providers, provider_messages, pb)
            kwargs = {"provider": provider} if provider is not None else {}
            inputs = r.get("inputs") or {}
            requests.append((r["urn"], pb.AnalyzeRequest(
                type=r["type"], properties=_struct(inputs), urn=r["urn"], name=name_of(r["urn"]),
                options=options, **kwargs)))
            stack_resources.append(pb.AnalyzerResource(
                type=r["type"], properties=_struct({**inputs, **(r.get("outputs") or {})}),
                urn=r["urn"], name=name_of(r["urn"]), options=options,
                parent=r.get("parent") or "", dependencies=r.get("dependencies") or [],
                propertyDependencies={k: pb.AnalyzerPropertyDependencies(urns=v)
                                      for k, v in (r.get("propertyDependencies") or {}).items()},
                **kwargs))

        found: list[tuple[str, Any]] = []  # (urn the engine attributes it to, diagnostic)
        waived: list[tuple[str, Any]] = []  # (urn of the Analyze request or "", not-applicable entry)
        with self.lock:
            key = self._configure(configure, configure_stack)
            # Every other resource first, while the caller may still be rendering; then the
            # Releases (in their order), whose responses depend on the hand-off too.
            first: list[int] = []
            later: list[int] = []
            for i, (_, req) in enumerate(requests):
                (later if req.type in rendering.RELEASE_TYPES else first).append(i)
            responses = dict(zip(first, self._call("Analyze", key, [requests[i][1] for i in first]), strict=True))
            rendering.write_handoff(self.handoff, (rendered() if callable(rendered) else rendered) or {})
            key = hashlib.blake2b(key + (self.handoff / rendering.HANDOFF_INDEX).read_bytes()).digest()
            responses.update(zip(later, self._call("Analyze", key, [requests[i][1] for i in later]), strict=True))
            for i, (urn, _) in enumerate(requests):
                # The engine attributes a resource diagnostic without a URN to that resource.
                found += [(d.urn or urn, d) for d in responses[i].diagnostics]
                waived += [(urn, n) for n in responses[i].not_applicable]
            [stack_response] = self._call("AnalyzeStack", key, [pb.AnalyzeStackRequest(resources=stack_resources)])
            found += [(d.urn, d) for d in stack_response.diagnostics]
            waived += [("", n) for n in stack_response.not_applicable]

        policies = {p.name: p for p in info.policies}
        violations = []
        for urn, d in found:
            policy = policies.get(d.policyName)
            fix = policy.remediation_steps if policy is not None else ""
            violations.append(Violation(
                rule=d.policyName, severity=_SEVERITIES.get(d.severity, "unspecified"),
                enforcement=_LEVEL_NAMES.get(d.enforcementLevel, "advisory"), urn=urn,
                type=by_urn.get(urn, {}).get("type", ""), name=name_of(urn) if urn else "",
                what=what_of(d.message, description=d.description, fix=fix), fix=fix))
        violations.sort(key=lambda v: (v.enforcement != "mandatory", v.rule, v.urn))
        suppressed = sorted({
            Suppression(rule=n.policy_name, enforcement=config.get(n.policy_name, ("advisory", {}))[0],
                        urn=entry["urn"], type=by_urn.get(entry["urn"], {}).get("type", ""),
                        name=name_of(entry["urn"]), reason=entry["reason"])
            for _, n in waived for entry in _suppressions(n.reason)}, key=lambda x: (x.rule, x.urn))
        return CheckResult(
            environment=environment, violations=violations, suppressed=suppressed,
            rules_run=sum(level != "disabled" for level, _ in config.values()),
            resources=len(resources), seconds=time.perf_counter() - started)

    def _initial_config(self) -> dict[str, dict[str, Any]]:
        initial = {k: {"enforcementLevel": _LEVEL_NAMES[v.enforcementLevel] if v.enforcementLevel else None,
                       **_struct_dict(v.properties)} for k, v in self.info().initialConfig.items()}
        return {k: {kk: vv for kk, vv in v.items() if vv is not None} for k, v in initial.items()}

    def _configure(self, configure, configure_stack) -> bytes:
        """Sends ``Configure`` and ``ConfigureStack`` unless the plugin already holds exactly this
        configuration (re-sending it changes nothing). Returns the configuration's key."""
        key = hashlib.blake2b(configure.SerializeToString(deterministic=True)
                              + b"\0" + configure_stack.SerializeToString(deterministic=True)).digest()
        if key != self._configured:
            self._configured = None
            self.stub.Configure(configure)
            self.stub.ConfigureStack(configure_stack)
            self._configured = key
        return key

    def _call(self, method: str, key: bytes, requests: list[Any]) -> list[Any]:
        """The responses to ``requests``, in order. The rules are pure functions of the
        configuration and the request, so a response is remembered per (configuration, request
        bytes) for the life of this plugin process: re-checking an edited deployment only sends
        what changed. (Sending the rest concurrently gains nothing: the plugin is one Python
        process, CPU-bound under the GIL.)"""
        rpc = getattr(self.stub, method)
        responses = []
        for request in requests:
            k = hashlib.blake2b(key + request.SerializeToString(deterministic=True)).digest()
            if k in self._memo:
                self._memo.move_to_end(k)
            else:
                self._memo[k] = rpc(request)
            responses.append(self._memo[k])
        while len(self._memo) > _MEMO_SIZE:
            self._memo.popitem(last=False)
        return responses


_MEMO_SIZE = 20_000

_WATCHDOG = """
import os, runpy, sys, threading
def watch():
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
runpy.run_module("pulumi.policy", run_name="__main__", alter_sys=True)
"""
"""``python -m pulumi.policy`` that ends when its parent does (stdin, a pipe only the parent holds, closes)."""


def _enum_names() -> tuple[dict[int, str], dict[int, str]]:
    from pulumi.runtime.proto import analyzer_pb2 as pb

    return ({pb.ADVISORY: "advisory", pb.MANDATORY: "mandatory", pb.REMEDIATE: "remediate",
             pb.DISABLED: "disabled"},
            {pb.POLICY_SEVERITY_LOW: "low", pb.POLICY_SEVERITY_MEDIUM: "medium",
             pb.POLICY_SEVERITY_HIGH: "high", pb.POLICY_SEVERITY_CRITICAL: "critical"})


_LEVEL_NAMES, _SEVERITIES = _enum_names()


def _suppressions(reason: str) -> list[dict[str, str]]:
    """The applied suppressions a rule reports as its not-applicable reason (policies/rules/_core.py)."""
    if not reason.startswith(SUPPRESSED):
        return []
    try:
        entries = json.loads(reason[len(SUPPRESSED):])
    except ValueError:
        return []
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("urn"), str)
            and isinstance(e.get("reason"), str)]


def _struct_dict(struct) -> dict[str, Any]:
    from google.protobuf import json_format

    return json_format.MessageToDict(struct)


def _provider(resource, providers, messages, pb):
    ref = resource.get("provider")
    provider = providers.get(ref) if ref else None
    if provider is None:
        return None
    if ref not in messages:  # one message per provider, not one per resource
        messages[ref] = pb.AnalyzerProviderResource(type=provider["type"], urn=provider["urn"],
                                                    name=name_of(provider["urn"]),
                                                    properties=_struct(provider.get("inputs") or {}))
    return messages[ref]


_SHARED: Analyzer | None = None
_SHARED_LOCK = threading.Lock()


def shared_analyzer() -> Analyzer:
    """One analyzer per process (starting it costs about a second); closed at exit."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None or _SHARED.process.poll() is not None:
            _SHARED = Analyzer()
            atexit.register(_SHARED.close)
        return _SHARED


def close_shared() -> None:
    """Stops the process's analyzer now (a refused command has no use for it)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is not None:
            _SHARED.close()
            _SHARED = None


def check_deployment(deployment: dict, environment: str, *, stack: str = "",
                     rendered: Handoff | None = None) -> CheckResult:
    """Run the pack over a deployment (stack export format) under the environment's config
    (``rendered``: see :meth:`Analyzer.check`)."""
    if environment not in POLICY_CONFIGS:
        raise UsageError(f"unknown environment {environment!r}: expected one of {', '.join(POLICY_CONFIGS)}")
    resources_of(deployment)
    return shared_analyzer().check(deployment, environment, stack=stack, rendered=rendered)


# --------------------------------------------------------------------------------------------
# Output.
# --------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = cli.ArgumentParser(prog="python -m tools check", description="Run the policy pack over a deployment file.")
    parser.add_argument("deployment", help="pulumi stack export / offline plan --json output")
    parser.add_argument("--stack", required=True, help="stack name: staging, production, pr-<n>")
    parser.add_argument("--json", dest="json_file", type=Path, help="also write the result as JSON to FILE")
    args = parser.parse_args(argv)
    environment = environment_of(args.stack)
    if args.json_file is not None:
        cli.output_file(args.json_file, "--json")
    deployment = load_deployment(args.deployment)
    resources = resources_of(deployment, args.deployment)
    if not [r for r in resources if r["type"] != "pulumi:pulumi:Stack" and not r["type"].startswith("pulumi:providers:")]:
        raise UsageError(f"{args.deployment}: the plan holds no resources; an empty plan checks nothing")
    others = stacks_named(resources) - {args.stack}
    if others:
        raise UsageError(f"{args.deployment}: its URNs name stack {', '.join(sorted(others))}, not --stack {args.stack}; "
                         f"pass --stack {sorted(others)[0]} (the stack picks the policy config)")
    try:
        result = check_deployment(deployment, environment, stack=args.stack)
    except RuntimeError as e:  # the pack failed to start or crashed: never report a pass
        print(f"error: {e}", file=sys.stderr)
        return cli.EXIT_FAILED
    print(render(result))
    if args.json_file:
        result.write(args.json_file)
    return cli.EXIT_FAILED if result.mandatory else cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
