"""Which Lambda runtime an artifact is built for: CPU architecture, Python version, wheel tags.

The template's runtime (`deploy/template.yaml`: `python3.12` on `arm64`) is `DEFAULT_LAMBDA_TARGET`;
a test keeps the two equal. `LambdaTarget.host()` is this machine, so an artifact built for it can be
imported by tests here.
"""

from __future__ import annotations

import platform
import re
import sys
from dataclasses import dataclass
from typing import ClassVar

# Lambda's Python 3.12+ runtimes run on Amazon Linux 2023: glibc 2.34.
LAMBDA_GLIBC = (2, 34)
# Oldest glibc a manylinux wheel can target (manylinux2014).
_OLDEST_MANYLINUX_GLIBC_MINOR = 17
# ELF e_machine values of the shared libraries a wheel may carry.
_ELF_MACHINES = {"arm64": 183, "x86_64": 62}
_MACHINE_ALIASES = {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}
# The package needs Python 3.11 or later.
_MINIMUM_MINOR = 11


class UnsupportedTargetError(ValueError):
    """An architecture or Python version Lambda or this package cannot run."""


@dataclass(frozen=True)
class LambdaTarget:
    """A Lambda architecture (`arm64` or `x86_64`) and Python version (`3.12`)."""

    architecture: str
    python_version: str

    ARCHITECTURES: ClassVar[tuple[str, ...]] = ("arm64", "x86_64")

    def __post_init__(self) -> None:
        if self.architecture not in self.ARCHITECTURES:
            raise UnsupportedTargetError(
                f"architecture {self.architecture!r} is not one of Lambda's: {', '.join(self.ARCHITECTURES)}"
            )
        match = re.fullmatch(r"3\.(\d+)", self.python_version)
        if match is None or int(match.group(1)) < _MINIMUM_MINOR:
            raise UnsupportedTargetError(
                f"Python version {self.python_version!r} is not supported: give 3.N with N >= {_MINIMUM_MINOR}"
            )

    @classmethod
    def host(cls) -> LambdaTarget:
        """This machine's architecture and the running Python, for artifacts imported locally."""
        machine = platform.machine().lower()
        architecture = _MACHINE_ALIASES.get(machine)
        if architecture is None:
            raise UnsupportedTargetError(f"this machine's architecture {machine!r} has no Lambda equivalent")
        return cls(architecture, f"{sys.version_info.major}.{sys.version_info.minor}")

    @property
    def runtime(self) -> str:
        """Lambda's runtime identifier, as in the template (`python3.12`)."""
        return f"python{self.python_version}"

    @property
    def wheel_machine(self) -> str:
        """The machine name in wheel platform tags (`aarch64`, `x86_64`)."""
        return "aarch64" if self.architecture == "arm64" else "x86_64"

    @property
    def elf_machine(self) -> int:
        """ELF e_machine of native libraries built for this architecture."""
        return _ELF_MACHINES[self.architecture]

    @property
    def cpython_tag(self) -> str:
        """`cp312` for Python 3.12."""
        return "cp" + self.python_version.replace(".", "")

    @property
    def artifact_name(self) -> str:
        """The artifact's default file name; the template's CodeUri names the default target's."""
        return f"port-aws-exporter-lambda-{self.architecture}-py{self.python_version}.zip"

    def platform_tags(self) -> list[str]:
        """manylinux platform tags Lambda can load, newest glibc first."""
        newest = LAMBDA_GLIBC[1]
        tags = [
            f"manylinux_2_{minor}_{self.wheel_machine}"
            for minor in range(newest, _OLDEST_MANYLINUX_GLIBC_MINOR - 1, -1)
        ]
        return [*tags, f"manylinux2014_{self.wheel_machine}"]

    def accepts_wheel_tag(self, tag: str) -> bool:
        """Whether a wheel tag (`cp312-cp312-manylinux_2_17_aarch64`, `py3-none-any`) runs on this target."""
        parts = tag.split("-")
        if len(parts) != 3:
            return False
        interpreter, abi, platform_tag = parts
        if platform_tag != "any" and platform_tag not in self.platform_tags():
            return False
        if abi == self.cpython_tag:
            return interpreter == self.cpython_tag
        if abi == "abi3":
            minor = _cpython_minor(interpreter)
            return minor is not None and minor <= self.minor
        if abi == "none":
            return interpreter in {"py3", f"py{self.cpython_tag[2:]}", self.cpython_tag}
        return False

    @property
    def minor(self) -> int:
        """The Python minor version (12 for 3.12)."""
        return int(self.python_version.split(".")[1])


def _cpython_minor(interpreter: str) -> int | None:
    match = re.fullmatch(r"cp3(\d+)", interpreter)
    return int(match.group(1)) if match else None


DEFAULT_LAMBDA_TARGET = LambdaTarget("arm64", "3.12")
