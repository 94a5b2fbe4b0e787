"""A stand-in for the ``aws`` CLI: exactly the subcommands the backup image's scripts use, on a folder.

``s3://<bucket>/<key>`` is ``$FAKE_S3_ROOT/<bucket>/<key>``; what S3 keeps beside an object
(user metadata, SSE settings, content type) is ``$FAKE_S3_ROOT/.meta/<bucket>/<key>.json``.
Like the bucket policy (components/backups.py ``bucket_policy``), an upload without
``--sse aws:kms`` and a key is refused. Any option or subcommand not listed here is an error, so
a script that starts using one fails its tests until this stand-in learns it.

Standard library only: it runs under the system Python as the unprivileged test user.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(os.environ["FAKE_S3_ROOT"])
FLAGS = {"--only-show-errors"}
CP_OPTIONS = {"--sse", "--sse-kms-key-id", "--checksum-algorithm", "--content-type", "--metadata", "--expected-size"}


class AwsError(Exception):
    def __init__(self, message: str, code: int = 252):
        super().__init__(message)
        self.code = code


def options(args: list[str], allowed: set[str]) -> tuple[list[str], dict[str, str]]:
    positional, opts, it = [], {}, iter(args)
    for arg in it:
        if arg in FLAGS:
            opts[arg] = "true"
        elif arg.startswith("--"):
            if arg not in allowed:
                raise AwsError(f"Unknown options: {arg}")
            opts[arg] = next(it)
        else:
            positional.append(arg)
    return positional, opts


def s3_path(url: str) -> tuple[Path, Path]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not bucket or not key or ".." in key.split("/"):
        raise AwsError(f"invalid S3 URL {url!r}")
    return ROOT / bucket / key, ROOT / ".meta" / bucket / f"{key}.json"


def cp(args: list[str]) -> None:
    (src, dst), opts = options(args, CP_OPTIONS)
    if dst.startswith("s3://"):
        if opts.get("--sse") != "aws:kms" or not opts.get("--sse-kms-key-id"):
            raise AwsError("upload failed: An error occurred (AccessDenied) when calling the PutObject operation: "
                           "the bucket policy denies uploads without SSE-KMS", 1)
        data, meta = s3_path(dst)
        data.parent.mkdir(parents=True, exist_ok=True)
        meta.parent.mkdir(parents=True, exist_ok=True)
        if src == "-":
            with data.open("wb") as out:
                shutil.copyfileobj(sys.stdin.buffer, out)
        else:
            shutil.copyfile(src, data)
        user = dict(pair.split("=", 1) for pair in opts.get("--metadata", "").split(",") if pair)
        meta.write_text(json.dumps({
            "Metadata": {k.lower(): v for k, v in user.items()}, "ServerSideEncryption": opts["--sse"],
            "SSEKMSKeyId": opts["--sse-kms-key-id"], "ContentType": opts.get("--content-type", "binary/octet-stream"),
            "ChecksumAlgorithm": opts.get("--checksum-algorithm")}))
    elif src.startswith("s3://"):
        data, _ = s3_path(src)
        if not data.is_file():
            raise AwsError(f"download failed: {src}: An error occurred (404) when calling the HeadObject operation: "
                           "Key not found", 1)
        if dst == "-":
            with data.open("rb") as f:
                shutil.copyfileobj(f, sys.stdout.buffer)
        else:
            shutil.copyfile(data, dst)
    else:
        raise AwsError("cp: one of the arguments must be an s3:// URL")


def s3api(command: str, args: list[str]) -> None:
    _, opts = options(args, {"--bucket", "--prefix", "--key", "--output"})
    if opts.get("--output") != "json":
        raise AwsError("the scripts parse JSON: pass --output json")
    bucket = ROOT / opts["--bucket"]
    if command == "list-objects-v2":
        prefix = opts.get("--prefix", "")
        keys = sorted(str(p.relative_to(bucket)) for p in bucket.rglob("*") if p.is_file()) if bucket.is_dir() else []
        contents = [{"Key": k, "Size": (bucket / k).stat().st_size} for k in keys if k.startswith(prefix)]
        print(json.dumps({"Contents": contents, "KeyCount": len(contents)} if contents else {"KeyCount": 0}))
    elif command == "head-object":
        data, meta = s3_path(f"s3://{opts['--bucket']}/{opts['--key']}")
        if not data.is_file():
            raise AwsError("An error occurred (404) when calling the HeadObject operation: Not Found", 254)
        print(json.dumps({"ContentLength": data.stat().st_size, **json.loads(meta.read_text())}))
    else:
        raise AwsError(f"s3api {command}: not supported by the stand-in")


def main(argv: list[str]) -> int:
    try:
        if argv[:2] == ["s3", "cp"]:
            cp(argv[2:])
        elif argv[:1] == ["s3api"] and len(argv) > 1:
            s3api(argv[1], argv[2:])
        else:
            raise AwsError(f"aws {' '.join(argv[:2])}: not supported by the stand-in")
    except AwsError as exc:
        print(exc, file=sys.stderr)
        return exc.code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
