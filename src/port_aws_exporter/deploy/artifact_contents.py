"""What a Lambda artifact holds, read back from the zip, and whether it fits its target.

Checked from the files themselves, not from what the builder meant to do: each distribution's wheel
tags (its `*.dist-info/WHEEL`), the CPU architecture of every native library (its ELF header), the
distributions present, and the unpacked size against Lambda's limit.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from port_aws_exporter.deploy.lambda_target import LambdaTarget

# Lambda's limit on a function's unpacked code (and layers), in bytes.
LAMBDA_UNPACKED_LIMIT = 262_144_000
_ELF_MAGIC = b"\x7fELF"


def normalize_distribution_name(name: str) -> str:
    """PEP 503 normal form: `PyYAML` and `pyyaml`, `typing_extensions` and `typing-extensions` agree."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Distribution:
    """One installed distribution in the artifact."""

    name: str
    version: str
    wheel_tags: tuple[str, ...]


@dataclass(frozen=True)
class ArtifactContents:
    """The distributions, native libraries and size of an artifact."""

    distributions: dict[str, Distribution]  # keyed by normalized name
    native_libraries: dict[str, int | None]  # path -> ELF e_machine (None: not an ELF file)
    unpacked_bytes: int
    paths: frozenset[str]

    def problems(self, target: LambdaTarget, *, forbidden: frozenset[str] = frozenset()) -> list[str]:
        """Everything that would stop this artifact from running on `target`, one sentence each.

        `forbidden` names distributions that must not be there (the local-stack and dev extras).
        """
        problems = []
        for dist in sorted(self.distributions.values(), key=lambda d: d.name.lower()):
            if not dist.wheel_tags:
                problems.append(f"{dist.name} {dist.version} was not installed from a wheel (no WHEEL tags)")
            elif not any(target.accepts_wheel_tag(tag) for tag in dist.wheel_tags):
                problems.append(
                    f"{dist.name} {dist.version} is a wheel for {', '.join(dist.wheel_tags)}, not for "
                    f"{target.runtime} on {target.architecture}"
                )
        for path, machine in sorted(self.native_libraries.items()):
            if machine != target.elf_machine:
                found = "not an ELF file" if machine is None else f"ELF machine {machine}"
                problems.append(f"{path} is {found}, not {target.architecture} (ELF machine {target.elf_machine})")
        for name in sorted(forbidden & set(self.distributions)):
            problems.append(f"{self.distributions[name].name} belongs to the local-stack or dev extras")
        if self.unpacked_bytes > LAMBDA_UNPACKED_LIMIT:
            problems.append(
                f"unpacked size {self.unpacked_bytes} bytes exceeds Lambda's limit of {LAMBDA_UNPACKED_LIMIT}"
            )
        return problems


def read_artifact(path: Path) -> ArtifactContents:
    """Read a Lambda artifact zip: its distributions, native libraries and unpacked size."""
    with zipfile.ZipFile(path) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        metadata: dict[str, tuple[str, str]] = {}
        tags: dict[str, tuple[str, ...]] = {}
        natives: dict[str, int | None] = {}
        for info in infos:
            directory, _, file_name = info.filename.rpartition("/")
            if directory.endswith(".dist-info") and "/" not in directory:
                if file_name == "METADATA":
                    metadata[directory] = _name_and_version(archive.read(info).decode("utf-8", "replace"))
                elif file_name == "WHEEL":
                    tags[directory] = _wheel_tags(archive.read(info).decode("utf-8", "replace"))
            if _is_native_library(file_name):
                with archive.open(info) as handle:
                    natives[info.filename] = _elf_machine(handle.read(20))
    distributions = {
        normalize_distribution_name(name): Distribution(name, version, tags.get(directory, ()))
        for directory, (name, version) in metadata.items()
    }
    return ArtifactContents(
        distributions=distributions,
        native_libraries=natives,
        unpacked_bytes=sum(info.file_size for info in infos),
        paths=frozenset(info.filename for info in infos),
    )


def _name_and_version(text: str) -> tuple[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the body (long description) starts after the first blank line
        key, _, value = line.partition(":")
        fields.setdefault(key.strip().lower(), value.strip())
    return fields.get("name", "?"), fields.get("version", "?")


def _wheel_tags(text: str) -> tuple[str, ...]:
    return tuple(line.partition(":")[2].strip() for line in text.splitlines() if line.lower().startswith("tag:"))


def _is_native_library(file_name: str) -> bool:
    return file_name.endswith(".so") or ".so." in file_name


def _elf_machine(header: bytes) -> int | None:
    if len(header) < 20 or not header.startswith(_ELF_MAGIC):
        return None
    # EI_DATA (byte 5): 1 little-endian, 2 big-endian.
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
