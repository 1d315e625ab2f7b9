"""A PEP 517 build backend for the bitfarm package, standard library only.

Why not setuptools: Debian 12's setuptools (66) builds wheels only with
the separate `wheel` package, which a new venv lacks, and pip's build
isolation would download both; this backend needs nothing, so
`pip install ./python` works offline, with or without build isolation.
It builds a pure-Python wheel (py3-none-any) of the packages named in
pyproject.toml's [tool.bitfarm-build], an sdist, and editable wheels
(PEP 660: a .pth file naming this directory).

Wheels are reproducible: files in sorted order, timestamps from
$SOURCE_DATE_EPOCH (else 1980-01-01), modes 0644.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import time
import zipfile
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))


def _pyproject() -> Dict[str, Any]:
    path = os.path.join(HERE, "pyproject.toml")
    try:
        import tomllib   # Python 3.11+
        with open(path, "rb") as f:
            return tomllib.load(f)
    except ImportError:
        pass
    # Older Pythons: the few keys this backend reads, one per line.
    data: Dict[str, Any] = {}
    table: Dict[str, Any] = data
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            m = re.fullmatch(r"\[([A-Za-z0-9_.-]+)\]", line)
            if m:
                table = data
                for part in m.group(1).split("."):
                    table = table.setdefault(part, {})
                continue
            m = re.fullmatch(r'([A-Za-z0-9_-]+)\s*=\s*"([^"]*)"', line)
            if m:
                table[m.group(1)] = m.group(2)
                continue
            m = re.fullmatch(r'([A-Za-z0-9_-]+)\s*=\s*\[(.*)\]', line)
            if m:
                table[m.group(1)] = re.findall(r'"([^"]*)"', m.group(2))
    return data


def _meta() -> Tuple[str, str, Dict[str, Any], List[str]]:
    pp = _pyproject()
    project = pp["project"]
    packages = pp.get("tool", {}).get("bitfarm-build", {}).get("packages", [])
    return project["name"], project["version"], project, list(packages)


def _metadata_text() -> str:
    name, version, project, _ = _meta()
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if project.get("description"):
        lines.append(f"Summary: {project['description']}")
    if project.get("requires-python"):
        lines.append(f"Requires-Python: {project['requires-python']}")
    for c in project.get("classifiers", []):
        lines.append(f"Classifier: {c}")
    body = ""
    readme = project.get("readme")
    if isinstance(readme, str) and os.path.exists(os.path.join(HERE, readme)):
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(HERE, readme), encoding="utf-8") as f:
            body = f.read()
    return "\n".join(lines) + "\n\n" + body


def _dist_info() -> str:
    name, version, _, _ = _meta()
    return f"{name}-{version}.dist-info"


def _wheel_name() -> str:
    name, version, _, _ = _meta()
    return f"{name}-{version}-py3-none-any.whl"


def _package_files() -> List[Tuple[str, str]]:
    """(path in the wheel, path on disk) for every file of the packages."""
    out = []
    for pkg in _meta()[3]:
        root = os.path.join(HERE, *pkg.split("."))
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for fn in sorted(filenames):
                if fn.endswith(".py") or fn == "py.typed":
                    full = os.path.join(dirpath, fn)
                    out.append((os.path.relpath(full, HERE).replace(os.sep, "/"), full))
    return out


def _date() -> Tuple[int, int, int, int, int, int]:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        t = time.gmtime(max(int(epoch), 315532800))
        return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
    return (1980, 1, 1, 0, 0, 0)


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory: str, files: List[Tuple[str, bytes]]) -> str:
    di = _dist_info()
    files = list(files) + [
        (f"{di}/METADATA", _metadata_text().encode("utf-8")),
        (f"{di}/WHEEL", b"Wheel-Version: 1.0\nGenerator: _bitfarm_build\n"
                        b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{di}/top_level.txt", ("\n".join(p.split(".")[0] for p in _meta()[3]) + "\n")
         .encode("utf-8")),
    ]
    record = "\n".join(_record_line(p, d) for p, d in files) + f"\n{di}/RECORD,,\n"
    files.append((f"{di}/RECORD", record.encode("utf-8")))
    name = _wheel_name()
    os.makedirs(wheel_directory, exist_ok=True)
    tmp = os.path.join(wheel_directory, f".{name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files:
            info = zipfile.ZipInfo(path, date_time=_date())
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    os.replace(tmp, os.path.join(wheel_directory, name))
    return name


# -- the PEP 517 / PEP 660 hooks ------------------------------------------------

def get_requires_for_build_wheel(config_settings: Optional[dict] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[dict] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[dict] = None) -> List[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str,
                                     config_settings: Optional[dict] = None) -> str:
    di = _dist_info()
    d = os.path.join(metadata_directory, di)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata_text())
    return di


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory: str, config_settings: Optional[dict] = None,
                metadata_directory: Optional[str] = None) -> str:
    files = []
    for arc, full in _package_files():
        with open(full, "rb") as f:
            files.append((arc, f.read()))
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory: str, config_settings: Optional[dict] = None,
                   metadata_directory: Optional[str] = None) -> str:
    name = _meta()[0]
    return _write_wheel(wheel_directory, [(f"__editable__.{name}.pth",
                                           (HERE + "\n").encode("utf-8"))])


def build_sdist(sdist_directory: str, config_settings: Optional[dict] = None) -> str:
    name, version, project, _ = _meta()
    base = f"{name}-{version}"
    members: List[Tuple[str, bytes]] = [("PKG-INFO", _metadata_text().encode("utf-8"))]
    extra = ["pyproject.toml", "_bitfarm_build.py"]
    if isinstance(project.get("readme"), str):
        extra.append(project["readme"])
    for rel in extra:
        with open(os.path.join(HERE, rel), "rb") as f:
            members.append((rel, f.read()))
    for arc, full in _package_files():
        with open(full, "rb") as f:
            members.append((arc, f.read()))
    os.makedirs(sdist_directory, exist_ok=True)
    out = f"{base}.tar.gz"
    mtime = int(time.mktime(_date() + (0, 0, -1)))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as t:
        for rel, data in sorted(members):
            info = tarfile.TarInfo(f"{base}/{rel}")
            info.size, info.mode, info.mtime = len(data), 0o644, mtime
            t.addfile(info, io.BytesIO(data))
    with open(os.path.join(sdist_directory, out), "wb") as f:
        f.write(buf.getvalue())
    return out
