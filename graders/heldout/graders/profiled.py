"""A sandbox wrapper that runs every job of a bundle in the bundle's runtime profile."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from heldout.sandbox.backend import Sandbox, SandboxWrapper
from heldout.sandbox.spec import JobSpec, RunResult, ServiceRun


class ProfiledSandbox(SandboxWrapper):
    """Gives each job ``profile`` (the bundle's ``profile`` key), so no kind has to: a
    bundle of any kind that names a profile gets that image for all its jobs."""

    def __init__(self, inner: Sandbox, profile: str) -> None:
        super().__init__(inner)
        self.profile = profile

    def _profiled(self, spec: JobSpec) -> JobSpec:
        return dataclasses.replace(spec, profile=self.profile)

    def run(self, spec: JobSpec, output_dir: Path) -> RunResult:
        return self.inner.run(self._profiled(spec), output_dir)

    def run_service(self, service: JobSpec, probe: JobSpec, service_output: Path,
                    probe_output: Path) -> ServiceRun:
        return self.inner.run_service(self._profiled(service), self._profiled(probe),
                                      service_output, probe_output)
