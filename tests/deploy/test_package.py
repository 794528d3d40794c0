"""`package`: the Lambda artifact holds the right wheels for its target, and nothing from the extras.

Two real builds (pip against PyPI), run at once: the template's target (arm64, Python 3.12) through
the command line as a user runs it, and this machine's target through the API (the session's
`host_artifact_build`, shared with the deployment tests), which a bare interpreter then imports and runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from port_aws_exporter.cli import main
from port_aws_exporter.deploy.artifact import LOCAL_STACK_PACKAGE, LambdaArtifact, zip_reproducibly
from port_aws_exporter.deploy.artifact_contents import (
    LAMBDA_UNPACKED_LIMIT,
    ArtifactContents,
    Distribution,
    normalize_distribution_name,
    read_artifact,
)
from port_aws_exporter.deploy.lambda_target import DEFAULT_LAMBDA_TARGET, LambdaTarget, UnsupportedTargetError

PROJECT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text())
AARCH64 = 183
X86_64 = 62


def _names(requirements: list[str]) -> set[str]:
    return {
        normalize_distribution_name(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0])
        for requirement in requirements
    }


RUNTIME = _names(PYPROJECT["project"]["dependencies"])
EXTRAS_ONLY = set().union(*(_names(reqs) for reqs in PYPROJECT["project"]["optional-dependencies"].values())) - RUNTIME
# Pulled in by the extras only: moto's server, cfn-lint's schema checks, pytest's plugins.
EXTRAS_TRANSITIVE = {
    "werkzeug",
    "flask",
    "jsonschema",
    "pluggy",
    "networkx",
    "sympy",
    "xmltodict",
    "responses",
    "markupsafe",
}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory, host_artifact_build: Future[LambdaArtifact]) -> dict[str, Any]:
    # The session's host build (shared with the deployment tests) runs while the CLI builds arm64.
    out = tmp_path_factory.mktemp("artifacts")
    cli = subprocess.run(
        [sys.executable, "-m", "port_aws_exporter", "package", "--output", str(out / "default.zip")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return {"cli": cli, "default_path": out / "default.zip", "host": host_artifact_build.result()}


@pytest.fixture(scope="module")
def default_zip(builds: dict[str, Any]) -> zipfile.ZipFile:
    assert builds["cli"].returncode == 0, builds["cli"].stderr
    return zipfile.ZipFile(builds["default_path"])


def test_package_prints_the_artifact_path_and_size_on_the_last_line(builds: dict[str, Any]) -> None:
    result = builds["cli"]
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    path, size = builds["default_path"], builds["default_path"].stat().st_size
    assert last == f"{path} {size} bytes ({size / 1024 / 1024:.1f} MiB)"
    assert "installing runtime dependencies as arm64 wheels for Python 3.12" in result.stderr


def test_every_native_library_is_aarch64(default_zip: zipfile.ZipFile) -> None:
    natives = [name for name in default_zip.namelist() if name.endswith(".so") or ".so." in name]
    machines = {}
    for name in natives:
        header = default_zip.read(name)[:20]
        assert header[:4] == b"\x7fELF", name
        machines[name] = int.from_bytes(header[18:20], "little")
    assert set(machines.values()) == {AARCH64}
    # jq, pydantic-core and PyYAML's C loader at least.
    assert any(name.startswith("jq.cpython-312-aarch64") for name in natives)
    assert any(name.startswith("pydantic_core/_pydantic_core.cpython-312-aarch64") for name in natives)
    assert any(name.startswith("yaml/_yaml.cpython-312-aarch64") for name in natives)


def test_every_distribution_is_a_wheel_for_python_312_on_aarch64(default_zip: zipfile.ZipFile) -> None:
    compatible = re.compile(
        r"^(py3|py2\.py3|cp312|cp3\d+)-(none|abi3|cp312)-(any|manylinux_2_\d+_aarch64|manylinux2014_aarch64)$"
    )
    wheel_files = [name for name in default_zip.namelist() if name.endswith(".dist-info/WHEEL")]
    assert len(wheel_files) > 10
    for name in wheel_files:
        tags = [
            line.split(":", 1)[1].strip()
            for line in default_zip.read(name).decode().splitlines()
            if line.startswith("Tag:")
        ]
        assert any(compatible.match(tag) for tag in tags), (name, tags)
        assert not any("x86_64" in tag or "win" in tag or "macosx" in tag for tag in tags), (name, tags)


def test_the_runtime_dependencies_and_nothing_from_the_extras(builds: dict[str, Any]) -> None:
    contents = read_artifact(builds["default_path"])
    present = set(contents.distributions)
    assert RUNTIME | {"port-aws-exporter"} <= present
    assert present & (EXTRAS_ONLY | EXTRAS_TRANSITIVE) == set()
    assert "port_aws_exporter/core/kinds/registry.py" in contents.paths
    # Nor the local stack's own files (the catalog page's templates among them).
    assert not [path for path in contents.paths if path.startswith(f"{LOCAL_STACK_PACKAGE}/")]
    assert contents.problems(DEFAULT_LAMBDA_TARGET) == []
    assert contents.unpacked_bytes < LAMBDA_UNPACKED_LIMIT


def test_no_scripts_bytecode_or_build_paths(default_zip: zipfile.ZipFile) -> None:
    names = default_zip.namelist()
    assert not [n for n in names if n.startswith("bin/") or n.endswith(".pyc") or "__pycache__" in n]
    assert not [n for n in names if n.endswith("direct_url.json")]
    for name in (n for n in names if ".dist-info/" in n):
        assert b"port-aws-exporter-package-" not in default_zip.read(name), name
    assert {info.date_time for info in default_zip.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_the_host_artifact_runs_in_a_bare_interpreter(
    builds: dict[str, Any], tmp_path: Path, shared_data: Path
) -> None:
    artifact: LambdaArtifact = builds["host"]
    assert artifact.target == LambdaTarget.host()
    assert set(artifact.contents.native_libraries.values()) == {
        X86_64 if artifact.target.architecture == "x86_64" else AARCH64
    }
    code_dir = tmp_path / "task"
    with zipfile.ZipFile(artifact.path) as archive:
        archive.extractall(code_dir)
    program = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(code_dir)!r})
        import boto3, httpx, jq, yaml, pydantic
        import port_aws_exporter
        from port_aws_exporter.core.config import load_config
        config = load_config({str(shared_data / "port-examples" / "lambda.mapping.json")!r})
        print(json.dumps({{
            "package": port_aws_exporter.__file__,
            "boto3": boto3.__file__,
            "kinds": config.kinds(),
            "jq": jq.compile(".a + 1").input_value({{"a": 41}}).first(),
            "cyaml": hasattr(yaml, "CSafeLoader"),
        }}))
        """
    )
    # -I -S: no site-packages, no PYTHONPATH: only the standard library and the artifact.
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", program], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["package"].startswith(str(code_dir))
    assert facts["boto3"].startswith(str(code_dir))
    assert facts["kinds"] == ["AWS::Lambda::Function"]
    assert facts["jq"] == 42
    assert facts["cyaml"] is True


class TestTarget:
    def test_platform_tags_stop_at_lambdas_glibc(self) -> None:
        tags = LambdaTarget("arm64", "3.12").platform_tags()
        assert tags[0] == "manylinux_2_34_aarch64"
        assert "manylinux_2_17_aarch64" in tags
        assert tags[-1] == "manylinux2014_aarch64"
        assert "manylinux_2_35_aarch64" not in tags

    @pytest.mark.parametrize(
        ("tag", "accepted"),
        [
            ("py3-none-any", True),
            ("cp312-cp312-manylinux_2_17_aarch64", True),
            ("cp39-abi3-manylinux_2_28_aarch64", True),
            ("cp313-abi3-manylinux_2_28_aarch64", False),
            ("cp311-cp311-manylinux_2_17_aarch64", False),
            ("cp312-cp312-manylinux_2_17_x86_64", False),
            ("cp312-cp312-manylinux_2_39_aarch64", False),
            ("cp312-cp312-musllinux_1_2_aarch64", False),
            ("py2-none-any", False),
            ("nonsense", False),
        ],
    )
    def test_wheel_tags(self, tag: str, accepted: bool) -> None:
        assert LambdaTarget("arm64", "3.12").accepts_wheel_tag(tag) is accepted

    @pytest.mark.parametrize(("architecture", "python"), [("arm", "3.12"), ("arm64", "3.9"), ("x86_64", "312")])
    def test_unsupported_targets(self, architecture: str, python: str) -> None:
        with pytest.raises(UnsupportedTargetError):
            LambdaTarget(architecture, python)

    def test_the_cli_refuses_an_unsupported_python_before_building(self) -> None:
        result = CliRunner().invoke(main, ["package", "--python", "3.9"])
        assert result.exit_code == 2
        assert "Python version '3.9' is not supported" in result.stderr


def _contents(**changes: Any) -> ArtifactContents:
    base: dict[str, Any] = {
        "distributions": {"jq": Distribution("jq", "1.13.0", ("cp312-cp312-manylinux_2_17_aarch64",))},
        "native_libraries": {"jq.cpython-312-aarch64-linux-gnu.so": AARCH64},
        "unpacked_bytes": 1000,
        "paths": frozenset(),
    }
    return ArtifactContents(**(base | changes))


class TestProblems:
    target = LambdaTarget("arm64", "3.12")

    def test_a_good_artifact_has_none(self) -> None:
        assert _contents().problems(self.target) == []

    def test_each_kind_of_problem_is_named(self) -> None:
        contents = _contents(
            distributions={
                "jq": Distribution("jq", "1.13.0", ("cp312-cp312-manylinux_2_17_x86_64",)),
                "moto": Distribution("moto", "5.2.5", ("py3-none-any",)),
                "odd": Distribution("odd", "1", ()),
            },
            native_libraries={"jq.so": X86_64, "broken.so": None},
            unpacked_bytes=LAMBDA_UNPACKED_LIMIT + 1,
        )
        assert contents.problems(self.target, forbidden=frozenset({"moto"})) == [
            "jq 1.13.0 is a wheel for cp312-cp312-manylinux_2_17_x86_64, not for python3.12 on arm64",
            "odd 1 was not installed from a wheel (no WHEEL tags)",
            "broken.so is not an ELF file, not arm64 (ELF machine 183)",
            "jq.so is ELF machine 62, not arm64 (ELF machine 183)",
            "moto belongs to the local-stack or dev extras",
            f"unpacked size {LAMBDA_UNPACKED_LIMIT + 1} bytes exceeds Lambda's limit of {LAMBDA_UNPACKED_LIMIT}",
        ]


def test_zips_are_reproducible_whatever_the_mtimes(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    (stage / "pkg").mkdir(parents=True)
    (stage / "pkg" / "b.py").write_text("b = 2\n")
    (stage / "a.py").write_text("a = 1\n")
    zip_reproducibly(stage, tmp_path / "one.zip")
    for path in stage.rglob("*.py"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    zip_reproducibly(stage, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    assert zipfile.ZipFile(tmp_path / "one.zip").namelist() == ["a.py", "pkg/b.py"]


def test_package_refuses_a_directory_that_is_not_this_project(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["package", "--project", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path.resolve()} is not a port-aws-exporter source tree" in result.stderr
