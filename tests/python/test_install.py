"""`pip install ./python` into a virtual environment made with
--system-site-packages, offline (--no-index: pip may download nothing), then
the installed package at work from another folder."""
import os
import subprocess
import sys
import textwrap

from conftest import SOURCE_DIR


def test_pip_install_into_a_venv_offline(tmp_path, fashion):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # FSML_BUILD_DIR (the build tree under test) is inherited: the backend
    # only brings its fsml_python target up to date.
    p = subprocess.run([venv / "bin" / "pip", "install", "--no-index", SOURCE_DIR / "python"], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Successfully installed fsml-" in p.stdout
    check = textwrap.dedent(f"""
        import numpy, fsml
        assert fsml.__file__.startswith({str(venv)!r}), fsml.__file__
        assert numpy.__file__.startswith("/usr/lib/python3/dist-packages"), numpy.__file__
        with fsml.open_workspace({str(fashion.root)!r}) as ws:
            train = ws.dataset("fashion@v1").split("train")
            images, labels = next(iter(train.loader(batch_size=32, as_torch=True)))
            print(fsml.__version__, tuple(images.shape), labels.dtype)
    """)
    run = subprocess.run([venv / "bin" / "python", "-c", check], env=env, cwd=tmp_path, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.split()[1:] == ["(32,", "1,", "28,", "28)", "torch.int64"]
    # Nothing was written into the source tree.
    assert not (SOURCE_DIR / "python" / "build").exists()
    assert not list((SOURCE_DIR / "python").glob("*.egg-info"))
