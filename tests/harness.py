"""Build one component alone under the recording mocks of ``tools/mockrun.py``.

``build(lambda: Postgres("postgres", args), stack="staging")`` runs the factory in a fresh
context with its own event loop, mocks and monitor (as Pulumi's testing-unit-py does per test),
with the stack's configuration set, so ``config.load()`` works inside the factory. It returns the
recorded resources (a ``mockrun.Plan``) and the factory's value with every ``Output`` inside
dataclasses, lists and dicts resolved (``None`` when unknown, as in a first preview).

Much faster than running the whole program when a test is about one component and its contract.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pulumi
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from tools.offline import facts, mockrun

T = TypeVar("T")


@dataclass
class Built(Generic[T]):
    plan: mockrun.Plan
    value: T
    """What the factory returned, Outputs resolved."""


def build(factory: Callable[[], T], *, stack: str = "staging", first_preview: bool = False) -> Built[T]:
    cfg = facts.engine_config(stack, reproducible=True)
    config, secret_keys = dict(cfg.config), cfg.secret_keys
    mocks = mockrun.PlatformMocks(region=str(config["aws:region"]), account_id=mockrun._account_from(config),
                                  stack=stack, first_preview=first_preview)
    monitor = mockrun.RecordingMonitor(mocks)
    logger = logging.getLogger(f"platform.harness.{stack}")
    logger.propagate = False
    result: list[Any] = []

    def execute() -> None:
        loop = asyncio.new_event_loop()
        loop.set_default_executor(_LoopClosingExecutor(max_workers=4))
        asyncio.set_event_loop(loop)
        try:
            set_all_config(dict(config), sorted(secret_keys))
            pulumi.runtime.set_mocks(mocks, project="platform", stack=stack, preview=True, logger=logger,
                                     monitor=monitor)
            _sync_await(run_pulumi_func(lambda: result.append(factory())))
            result[0] = _sync_await(_resolve(result[0]))
        finally:
            loop.close()
            asyncio.set_event_loop(None)

    with warnings.catch_warnings():
        # Provider SDKs load submodules lazily and warn about every deprecated class they define.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pulumi_\w+\.")
        contextvars.Context().run(execute)
    resources = [monitor.recorded[u] for u in monitor.order]
    for r in resources:
        if r.urn in monitor.outputs and not r.custom:
            r.outputs = monitor.outputs[r.urn]
    plan = mockrun.Plan(project="platform", stack=stack, resources=resources, stack_outputs={}, warnings=[],
                        errors=[])
    return Built(plan=plan, value=result[0])


class _LoopClosingExecutor(ThreadPoolExecutor):
    """The mock monitor runs in executor threads and gives each thread an event loop it never
    closes; closing it after every call keeps a leaked loop from failing in a later test's GC."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        def call():  # type: ignore[no-untyped-def]
            try:
                return fn(*args, **kwargs)
            finally:
                policy = asyncio.get_event_loop_policy()
                loop = policy._local._loop  # type: ignore[attr-defined]
                if loop is not None:
                    loop.close()
                    policy.set_event_loop(None)
        return super().submit(call)


async def _resolve(value: Any) -> Any:
    if isinstance(value, pulumi.Output):
        return await _resolve(await value.future())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: await _resolve(getattr(value, f.name))
                                             for f in dataclasses.fields(value) if f.init})
    if isinstance(value, dict):
        return {k: await _resolve(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)([await _resolve(v) for v in value])
    return value
