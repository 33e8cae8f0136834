"""docs/python.md's walk-through runs: every ```python block, in order, in one
namespace, from a folder holding a small stand-in for the quickstart
workspace, with a served model for the client examples."""
import os
import re

from conftest import SOURCE_DIR

DOC = SOURCE_DIR / "docs" / "python.md"


def python_blocks(text):
    """[(line number, code)] of the ```python blocks."""
    return [(text[:m.start()].count("\n") + 2, m.group(1))
            for m in re.finditer(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)]


def test_the_walkthrough_runs(fashion, server, tmp_path, monkeypatch, capsys):
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) >= 10, "the walk-through lost its code blocks"
    os.symlink(fashion.root, tmp_path / "fsml-quickstart")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FSML_WORKSPACE", raising=False)
    monkeypatch.setenv("FSML_URL", server.url)
    monkeypatch.setenv("FSML_TOKEN", server.token)
    namespace = {"__name__": "docs_python_md"}
    for line, code in blocks:
        exec(compile(code, f"{DOC}:{line}", "exec"), namespace)  # a failure names the doc's line
    out = capsys.readouterr().out
    assert "<fsml.Dataset fashion@v1:" in out and "test accuracy" in out
    assert "not_found - no version fashion@v99" in out and "401" in out
    assert namespace["job"].state == "succeeded" and namespace["item_job"].state == "succeeded"
    assert namespace["ws"].closed
