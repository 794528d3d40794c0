"""Build the Lambda artifact: this package and its runtime dependencies, as wheels for a Lambda target.

pip does the work. `pip wheel` builds the project's own wheel from its source tree, then
`pip install --target … --platform … --only-binary=:all:` resolves the project's runtime dependencies
(`[project].dependencies`, never the `local`/`dev` extras) as manylinux wheels of the target's
architecture and Python. The staged tree is zipped reproducibly (sorted entries, fixed timestamps):
an unchanged build gives the same bytes, so `sam deploy` does not upload or redeploy unchanged code.

The zip is read back and checked (`ArtifactContents.problems`) before it replaces the previous
artifact, so a failed build never leaves a broken artifact behind.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from port_aws_exporter.deploy.artifact_contents import ArtifactContents, normalize_distribution_name, read_artifact
from port_aws_exporter.deploy.lambda_target import DEFAULT_LAMBDA_TARGET, LambdaTarget

PROJECT_NAME = "port-aws-exporter"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_PIP_TIMEOUT_SECONDS = 900
_PIP_ERROR_LINES = 25
# What pip --target leaves that the function never uses: console scripts (`bin/`, pointing at this
# machine's Python) and bytecode of the building interpreter, not the target's.
_SCRIPTS_DIRECTORY = "bin"
LOCAL_STACK_PACKAGE = "port_aws_exporter/local"


class PackageBuildError(RuntimeError):
    """The artifact could not be built, or what was built would not run on its target."""


@dataclass(frozen=True)
class LambdaArtifact:
    """A built artifact: where it is, what it is for, what it holds."""

    path: Path
    target: LambdaTarget
    size_bytes: int
    contents: ArtifactContents


def find_project_dir(start: Path | None = None) -> Path:
    """The source tree (the directory of `pyproject.toml`) this package was imported from."""
    here = (start or Path(__file__)).resolve()
    for candidate in here.parents:
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and _project_name(pyproject) == PROJECT_NAME:
            return candidate
    raise PackageBuildError(
        f"{PROJECT_NAME} is not running from a source checkout (no pyproject.toml above {here}); "
        "run `package` from a checkout, or pass its directory with --project"
    )


def default_artifact_path(project_dir: Path, target: LambdaTarget = DEFAULT_LAMBDA_TARGET) -> Path:
    """`<project>/dist/<name>`: where the template's CodeUri expects the default target's artifact."""
    return project_dir / "dist" / target.artifact_name


def build_lambda_artifact(
    target: LambdaTarget = DEFAULT_LAMBDA_TARGET,
    *,
    project_dir: Path | None = None,
    output: Path | None = None,
    constraint: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> LambdaArtifact:
    """Build the zip for `target` and check it; raises PackageBuildError naming what failed.

    `constraint` is a pip constraints file (pin the artifact to tested versions). `progress` receives
    one line per step.
    """
    say = progress or (lambda _line: None)
    project = (project_dir or find_project_dir()).resolve()
    if _project_name(project / "pyproject.toml") != PROJECT_NAME:
        raise PackageBuildError(f"{project} is not a {PROJECT_NAME} source tree (pyproject.toml)")
    destination = (output or default_artifact_path(project, target)).resolve()
    _require_pip()
    with tempfile.TemporaryDirectory(prefix="port-aws-exporter-package-") as work_dir:
        work = Path(work_dir)
        say(f"building the {PROJECT_NAME} wheel from {project}")
        wheel = _build_project_wheel(project, work / "wheel")
        say(f"installing runtime dependencies as {target.architecture} wheels for Python {target.python_version}")
        stage = work / "stage"
        _install_for_target(wheel, stage, target, constraint)
        _prune(stage)
        candidate = work / destination.name
        zip_reproducibly(stage, candidate)
        contents = read_artifact(candidate)
        problems = contents.problems(target, forbidden=_extras_only_distributions(wheel))
        if problems:
            listed = "\n".join(f"  - {problem}" for problem in problems)
            raise PackageBuildError(
                f"the artifact for {target.runtime} on {target.architecture} is not usable:\n{listed}"
            )
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(destination.name + ".partial")
        shutil.copyfile(candidate, partial)
        os.replace(partial, destination)  # atomic: readers see the old artifact or the new one
    return LambdaArtifact(destination, target, destination.stat().st_size, contents)


def _project_name(pyproject: Path) -> str | None:
    try:
        document = tomllib.loads(pyproject.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    name = document.get("project", {}).get("name")
    return name if isinstance(name, str) else None


def _require_pip() -> None:
    if importlib.util.find_spec("pip") is None:
        raise PackageBuildError(f"pip is not installed in this environment ({sys.executable}); it builds the artifact")


# What the project's wheel is built from. The build runs on a copy: setuptools writes `build/` and
# `*.egg-info` into the tree it builds, and two builds of one tree at once collide there.
_BUILD_INPUTS = ("pyproject.toml", "README.md", "src")


def _build_project_wheel(project: Path, wheel_dir: Path) -> Path:
    source = wheel_dir.parent / "project-source"
    for name in _BUILD_INPUTS:
        if (project / name).is_dir():
            shutil.copytree(
                project / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
            )
        elif (project / name).is_file():
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(project / name, source / name)
    _run_pip(["wheel", "--no-deps", "--wheel-dir", str(wheel_dir), str(source)], f"building the wheel of {project}")
    wheels = sorted(wheel_dir.glob("*.whl"))
    if len(wheels) != 1:
        raise PackageBuildError(f"pip wheel produced {len(wheels)} wheels in {wheel_dir}, expected one")
    return wheels[0]


def _install_for_target(wheel: Path, stage: Path, target: LambdaTarget, constraint: Path | None) -> None:
    arguments = [
        "install",
        "--target",
        str(stage),
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        target.python_version,
        "--abi",
        target.cpython_tag,
        *[option for tag in target.platform_tags() for option in ("--platform", tag)],
        "--no-compile",
        "--no-warn-conflicts",
    ]
    if constraint is not None:
        arguments += ["--constraint", str(constraint)]
    _run_pip(
        [*arguments, str(wheel)],
        f"installing {wheel.name} and its runtime dependencies for {target.runtime} on {target.architecture} "
        "(every dependency needs a manylinux wheel for it)",
    )


def _run_pip(arguments: Sequence[str], purpose: str) -> None:
    command = [sys.executable, "-m", "pip", *arguments]
    environment = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, env=environment, timeout=_PIP_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        raise PackageBuildError(f"{purpose}: pip did not finish in {_PIP_TIMEOUT_SECONDS} s") from None
    if result.returncode != 0:
        output = (result.stderr.strip() or result.stdout.strip()).splitlines()[-_PIP_ERROR_LINES:]
        listed = "\n".join(f"    {line}" for line in output)
        raise PackageBuildError(f"{purpose} failed (pip exited {result.returncode}):\n{listed}")


def _prune(stage: Path) -> None:
    shutil.rmtree(stage / _SCRIPTS_DIRECTORY, ignore_errors=True)
    # The local stack (local AWS, local catalog and its web page's templates) is workstation
    # tooling on the `local` extra, whose dependencies are never in the artifact; in Lambda nothing
    # imports it (only the CLI does), so its files are left out too.
    shutil.rmtree(stage / LOCAL_STACK_PACKAGE, ignore_errors=True)
    for record in stage.glob("port_aws_exporter-*.dist-info/RECORD"):
        prefix = f"{LOCAL_STACK_PACKAGE}/"
        record.write_text("".join(line for line in record.read_text().splitlines(True) if not line.startswith(prefix)))
    for cache in sorted(stage.rglob("__pycache__"), key=lambda p: len(p.parts), reverse=True):
        shutil.rmtree(cache)
    for bytecode in stage.rglob("*.pyc"):
        bytecode.unlink()
    # pip records where the project's wheel came from: a temporary path, which would make every
    # build differ and tell the function about the build machine.
    for direct_url in stage.glob("*.dist-info/direct_url.json"):
        direct_url.unlink()
        record = direct_url.with_name("RECORD")
        if record.is_file():
            kept = [
                line
                for line in record.read_text().splitlines()
                if not line.startswith(f"{direct_url.parent.name}/direct_url.json,")
            ]
            record.write_text("\n".join(kept) + "\n")


def zip_reproducibly(stage: Path, destination: Path) -> None:
    """Zip the files under `stage`: same files and contents give the same bytes, whatever their mtimes."""
    files = sorted(path for path in stage.rglob("*") if path.is_file())
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(stage).as_posix(), date_time=_ZIP_EPOCH)
            executable = path.stat().st_mode & stat.S_IXUSR
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def _extras_only_distributions(wheel: Path) -> frozenset[str]:
    """Distributions the project requires only through an extra: none may be in the artifact."""
    with zipfile.ZipFile(wheel) as archive:
        metadata_name = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        lines = archive.read(metadata_name).decode().splitlines()
    runtime: set[str] = set()
    extras: set[str] = set()
    for line in lines:
        if not line.startswith("Requires-Dist:"):
            continue
        requirement = line.partition(":")[2].strip()
        name = normalize_distribution_name(_requirement_name(requirement))
        (extras if "extra ==" in requirement.partition(";")[2] else runtime).add(name)
    return frozenset(extras - runtime)


def _requirement_name(requirement: str) -> str:
    for position, character in enumerate(requirement):
        if not (character.isalnum() or character in "-_."):
            return requirement[:position]
    return requirement
