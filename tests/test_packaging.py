"""Packaging: one import name. The repository keeps the lab's folders (core/, rsa/, experiment/, ...), each
installed as a subpackage of ``garden`` (pyproject.toml's package-dir), so a wheel puts only ``garden`` into
site-packages and lives beside PyPI's Python-RSA (``rsa``, a dependency of google-auth in most notebooks)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def package_folders() -> set[str]:
    """Import names of every folder with an ``__init__.py`` under the mapped folders."""
    found = set()
    for name, folder in SETUPTOOLS["package-dir"].items():
        for init in (REPO / folder).rglob("__init__.py"):
            if "node_modules" not in init.parts:
                relative = init.parent.relative_to(REPO / folder).parts
                found.add(".".join((name, *relative)))
    return found


def test_the_package_list_names_every_package_folder():
    assert set(SETUPTOOLS["packages"]) == package_folders()


def test_the_development_install_maps_the_folders():
    import garden.experiment.config
    import garden.rsa.compare

    assert Path(garden.rsa.compare.__file__) == REPO / "rsa" / "compare.py"
    assert Path(garden.experiment.config.__file__) == REPO / "experiment" / "config.py"


def _source_copy(dest: Path) -> Path:
    """The tracked files of the repository (what a clone has), copied to ``dest``."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for name in filter(None, files.split("\0")):
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


def _run(*command: str | Path, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=300, **kw)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out


@pytest.mark.slow
def test_the_wheel_installs_only_garden_beside_python_rsa(tmp_path):
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to know the tracked files")
    rsa_dir = tmp_path / "rsa-wheel"
    got = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(rsa_dir), "rsa==4.9.1"],
                         capture_output=True, text=True, timeout=300)
    if got.returncode != 0:
        pytest.skip(f"Python-RSA could not be downloaded: {got.stderr.strip()[-300:]}")
    source = _source_copy(tmp_path / "source")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", source)
    wheel = next((tmp_path / "dist").glob("garden_task-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top_level = next(n for n in names if n.endswith("top_level.txt"))
        assert archive.read(top_level).decode().split() == ["garden"]
    assert {n.split("/")[0] for n in names} == {"garden", wheel.name.split("-")[0] + "-" +
                                                wheel.name.split("-")[1] + ".dist-info"}
    assert "garden/experiment/protocols/flesch2018.toml" in names and "garden/rsa/compare.py" in names

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--no-deps", "--no-index", next(rsa_dir.glob("rsa-*.whl")))
    where = "import rsa, pathlib; print(pathlib.Path(rsa.__file__).parent)"
    site = Path(_run(python, "-I", "-c", where, cwd=tmp_path).stdout.strip())
    assert site.name == "rsa" and site.parent.name == "site-packages"
    before = {p.relative_to(site): hashlib.sha256(p.read_bytes()).hexdigest() for p in site.rglob("*.py")}
    _run(python, "-m", "pip", "install", "--no-deps", "--no-index", wheel)
    after = {p.relative_to(site): hashlib.sha256(p.read_bytes()).hexdigest() for p in site.rglob("*.py")}
    assert after == before, "installing garden changed Python-RSA's files"
    check = ("import rsa, garden, garden.rsa, garden.experiment; "
             "print(callable(rsa.newkeys), garden.__version__, garden.rsa.__name__, garden.experiment.__file__)")
    printed = _run(python, "-I", "-c", check, cwd=tmp_path).stdout.split()
    assert printed[:3] == ["True", garden_version(), "garden.rsa"]
    assert Path(printed[3]).parent == site.parent / "garden" / "experiment"


def garden_version() -> str:
    import garden

    return garden.__version__
