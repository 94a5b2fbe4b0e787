"""Seeded fuzz of stack files: whatever the bytes, reading and validating them ends in settings or one
``error:`` (exit 2) within a time bound; never a traceback, never a hang."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from tools import cli
from tools.offline import facts

ROOT = Path(__file__).resolve().parents[2]
SEED, MUTATIONS, PER_CASE_SECONDS, TOTAL_SECONDS = 20261201, 300, 2.0, 60.0
_TOKENS = [b":", b"- ", b"[", b"]", b"{", b"}", b"'", b'"', b"\t", b"\n", b"  ", b"&a ", b"*a", b"!!int ", b"? ",
           b"\xff", b"\x00", b"0x1F", b"0o17", b"1e9", b".inf", b"yes", b"~", b"{secure: x}", b"platfrom:", b"#",
           b"|", b">", b"%YAML 1.1\n", b"---\n", b"...\n", b"<<: *a\n", b"\xef\xbb\xbf", b"\\u0000"]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(data) + 1)
        op = rng.randrange(4)
        if op == 0:
            data = data[:at] + rng.choice(_TOKENS) + data[at:]
        elif op == 1:
            data = data[:at] + data[at + rng.randint(1, 20):]
        elif op == 2:
            lines = data.split(b"\n")
            i = rng.randrange(len(lines))
            lines.insert(rng.randrange(len(lines) + 1), lines[i])  # duplicated line: duplicate keys
            data = b"\n".join(lines)
        else:
            data = data[:at] + bytes([rng.randrange(256)]) + data[at + 1:]
    return data


class _HangError(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _HangError


@pytest.mark.parametrize("base", ["staging", "production"])
def test_mutated_stack_files_end_in_settings_or_one_error(base: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Pulumi.yaml").symlink_to(ROOT / "Pulumi.yaml")
    original, rng = (ROOT / f"Pulumi.{base}.yaml").read_bytes(), random.Random(f"{SEED}-{base}")  # noqa: S311 - seeded to be reproducible
    started, outcomes = time.monotonic(), {0: 0, 2: 0}
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for n in range(MUTATIONS // 2):
            mutated = _mutate(original, rng)
            (tmp_path / "Pulumi.fuzz.yaml").write_bytes(mutated)
            signal.setitimer(signal.ITIMER_REAL, PER_CASE_SECONDS)
            try:
                code = cli.run(facts.main, ["fuzz", "-C", str(tmp_path)])
            except _HangError:
                pytest.fail(f"mutation {n} of {base} took over {PER_CASE_SECONDS}s:\n{mutated!r}")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            out, err = capsys.readouterr()
            assert code in outcomes and "Traceback" not in out + err, f"mutation {n} of {base}: {code}\n{err}"
            assert code == 0 or err.startswith("error: "), f"mutation {n} of {base}:\n{err}"
            outcomes[code] += 1
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < TOTAL_SECONDS
    assert outcomes[2] > MUTATIONS // 4, outcomes  # the mutations do reach the error paths
