"""The tools' kernel: wire sentinels equal the SDK's, a verdict survives JSON strictly, a rule's
message splits back into what and fix, and every command runs through ``cli.run``."""

from __future__ import annotations

import importlib

import pytest

from tools import cli, report, wire
from tools.__main__ import COMMANDS


def test_wire_sentinels_are_the_sdks() -> None:
    from pulumi.runtime import rpc

    assert (wire.SIG, wire.SECRET_SIG, wire.RESOURCE_SIG, wire.UNKNOWN) == (
        rpc._special_sig_key, rpc._special_secret_sig, rpc._special_resource_sig, rpc.UNKNOWN)


def test_pack_and_report_agree_on_the_fix_separator() -> None:
    from policies.rules import _core

    assert _core.FIX_SEPARATOR == report.FIX_SEPARATOR
    sent = f"Buckets are private\n{_core.message('bucket b is public', 'block public access')}"
    assert report.what_of(sent, description="Buckets are private", fix="block public access") == "bucket b is public"


def _result() -> report.CheckResult:
    v = report.Violation(rule="aws-s3-no-public-access", severity="high", enforcement="mandatory",
                         urn="urn:pulumi:s::p::aws:s3/bucket:Bucket::b", type="aws:s3/bucket:Bucket", name="b",
                         what="bucket b is public", fix="block public access")
    s = report.Suppression(rule="k8s-min-replicas", enforcement="advisory", urn="urn:x", type="t", name="n",
                           reason="one replica is enough")
    return report.CheckResult(environment="staging", violations=[v], suppressed=[s], rules_run=3, resources=9,
                              seconds=0.25)


def test_check_result_round_trips_through_json() -> None:
    result = _result()
    assert report.CheckResult.from_json(result.to_json()) == result


@pytest.mark.parametrize(("edit", "named"), [
    (lambda d: d.pop("rulesRun"), "missing key(s) 'rulesRun'"),
    (lambda d: d.update(extra=1), "unknown key(s) 'extra'"),
    (lambda d: d["violations"][0].update(message="x"), "violations[0]: unknown key(s) 'message'"),
    (lambda d: d.update(mandatory=5), "'mandatory' is 5 but 1 violation(s)"),
    (lambda d: d.update(resources="9"), "'resources' must be an integer"),
    (lambda d: d["violations"][0].update(enforcement="blocking"), "violations[0].enforcement is 'blocking'"),
])
def test_check_result_from_json_is_strict(edit, named: str) -> None:
    data = _result().to_json()
    edit(data)
    with pytest.raises(cli.UsageError, match=named.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        report.CheckResult.from_json(data)


def test_run_turns_usage_and_config_errors_into_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    import config

    def bad_usage(argv: list[str]) -> int:
        raise cli.UsageError("--pr x: not a number")

    def bad_config(argv: list[str]) -> int:
        raise config.ConfigError(["Pulumi.s.yaml: platform:owner (missing)"])

    assert cli.run(bad_usage, []) == cli.EXIT_USAGE and cli.run(bad_config, []) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "error: --pr x: not a number" in err and "error: " in err and "Traceback" not in err


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_answers_help_and_rejects_a_bogus_flag(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = importlib.import_module(COMMANDS[name][0])
    assert cli.run(module.main, ["--help"]) == cli.EXIT_OK, name
    assert cli.run(module.main, ["--no-such-flag"]) == cli.EXIT_USAGE, name
    assert "error: python -m tools" in capsys.readouterr().err, name
