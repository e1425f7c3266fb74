"""Every RTL library module lints clean on its own (default parameters,
Verilator -Wall). Modules instantiate shared ones (sf_skid, sf_fifo, sf_rom,
...) from other folders, so the library's rtl/ folders are the search path,
as they are in every emitted layer folder."""
import glob
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIRS = sorted(glob.glob(os.path.join(REPO, "cpp", "ops", "*", "rtl")))
MODULES = sorted(glob.glob(os.path.join(REPO, "cpp", "ops", "*", "rtl", "*.sv")))


@pytest.mark.parametrize("path", MODULES, ids=[os.path.basename(p)[:-3] for p in MODULES])
def test_library_module_lints_clean(path):
    search = [a for d in DIRS for a in ("-y", d)]
    r = subprocess.run(["verilator", "--lint-only", "-Wall", *search, "--top-module",
                        os.path.basename(path)[:-3], path], capture_output=True, text=True)
    msgs = [l for l in r.stderr.splitlines() if l.startswith("%")]
    assert r.returncode == 0 and not msgs, "\n".join(msgs[:10])
