"""The PEP 517 build backend of the fsml Python package (pyproject.toml names
it), written with the standard library alone so that `pip install ./python`
works offline: pip installs nothing to run it.

build_wheel() builds the CMake target fsml_python of the fsml source tree
this folder is part of (the extension fsml._fsml and the fsml libraries it
links), then packs the wheel: the .py files of fsml/, the extension, and the
libraries next to it (the extension and the libraries find each other through
$ORIGIN). The wheel is for this machine's Python and its Debian libraries
(SQLite, libpq, libcurl, ...), as scripts/setup.sh installs them.

Build folder: $FSML_BUILD_DIR when set (an existing build, e.g. `build`:
only the target is brought up to date, which is quick), else build-wheel/ at
the top of the source tree, configured for a release build without tests,
benchmarks or LibTorch. Build options can be added with $FSML_CMAKE_ARGS.
"""
import base64
import hashlib
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


def _fail(message):
    raise RuntimeError(f"fsml build: {message}")


def _version():
    text = (ROOT / "CMakeLists.txt").read_text() if (ROOT / "CMakeLists.txt").exists() else ""
    m = re.search(r"project\(fsml\s+VERSION\s+([0-9.]+)", text)
    if not m:
        _fail(f"{ROOT} is not the fsml source tree (pip must build python/ in place, as it does for a local folder)")
    return m.group(1)


def _project():
    with open(HERE / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _run(args, **kw):
    print("fsml build:", " ".join(shlex.quote(str(a)) for a in args), file=sys.stderr, flush=True)
    subprocess.run([str(a) for a in args], check=True, stdout=sys.stderr, **kw)


def _build():
    """Builds fsml_python; returns the files a wheel carries (extension first)."""
    if not shutil.which("cmake"):
        _fail("cmake is not installed (scripts/setup.sh installs what fsml needs)")
    build = pathlib.Path(os.environ.get("FSML_BUILD_DIR") or ROOT / "build-wheel").resolve()
    if not (os.environ.get("FSML_BUILD_DIR") and (build / "CMakeCache.txt").exists()):
        # Release at -O2, as the tested RelWithDebInfo build but without debug
        # info (GCC 12 at -O3 warns falsely, and warnings are errors).
        args = ["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG", "-DFSML_BUILD_TESTS=OFF",
                "-DFSML_BUILD_BENCH=OFF", "-DFSML_BUILD_ML=OFF", "-DFSML_BUILD_PYTHON=ON",
                f"-DPython3_EXECUTABLE={sys.executable}", "-DCMAKE_BUILD_WITH_INSTALL_RPATH=ON"]
        if shutil.which("ninja") and not (build / "CMakeCache.txt").exists():
            args += ["-G", "Ninja"]
        args += shlex.split(os.environ.get("FSML_CMAKE_ARGS", ""))
        _run(args)
    jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 1)
    _run(["cmake", "--build", build, "--target", "fsml_python", "--parallel", jobs])
    listing = build / "python" / "wheel_files.txt"
    if not listing.exists():
        _fail(f"{build} does not build the Python package: configure it with -DFSML_BUILD_PYTHON=ON")
    files = [pathlib.Path(line) for line in listing.read_text().split() if line]
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    if not files[0].name.endswith(suffix):
        _fail(f"{files[0]} was built for another Python than {sys.executable} (wants *{suffix}); "
              "build it with -DPython3_EXECUTABLE=" + sys.executable)
    return files


def _tag():
    impl = f"cp{sys.version_info.major}{sys.version_info.minor}"
    return f"{impl}-{impl}-{sysconfig.get_platform().replace('-', '_').replace('.', '_')}"


def _metadata(version):
    p = _project()
    lines = ["Metadata-Version: 2.1", f"Name: {p['name']}", f"Version: {version}", f"Summary: {p['description']}",
             f"Requires-Python: {p['requires-python']}"]
    lines += [f"Requires-Dist: {d}" for d in p.get("dependencies", [])]
    for extra, deps in p.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {d}; extra == "{extra}"' for d in deps]
    readme = (ROOT / "docs" / "python.md")
    body = readme.read_text() if readme.exists() else ""
    return "\n".join(lines + ["Description-Content-Type: text/markdown", "", body])


def _record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    version = _version()
    files = _build()
    tag = _tag()
    name = f"fsml-{version}-{tag}.whl"
    dist_info = f"fsml-{version}.dist-info"
    entries = [(f"fsml/{p.name}", p.read_bytes()) for p in sorted((HERE / "fsml").glob("*.py"))]
    entries += [(f"fsml/{p.name}", p.read_bytes()) for p in files]
    entries += [
        (f"{dist_info}/METADATA", _metadata(version).encode()),
        (f"{dist_info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: fsml build_backend\nRoot-Is-Purelib: false\n"
                               f"Tag: {tag}\n".encode()),
        (f"{dist_info}/top_level.txt", b"fsml\n"),
    ]
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in entries)
    record += f"{dist_info}/RECORD,,\n"
    entries.append((f"{dist_info}/RECORD", record.encode()))
    os.makedirs(wheel_directory, exist_ok=True)
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in entries:
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if path.endswith(".so") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return name
