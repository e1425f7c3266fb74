"""IODMA RTL (cpp/ops/iodma/rtl: sf_iodma_rd, sf_iodma_wr, sf_axil_ctrl)
against the AXI memory model python/streamfold/rtlsim/axi_mem.h, in Verilator.

One build per parameter set holds both DMAs (tests/python/iodma_tb/
sf_iodma_tb_top.sv); the C++ testbench (iodma_tb/iodma_tb.cpp) starts them
through their AXI-Lite registers as FINN's driver does and checks the
register behaviour (readback, ap_done clear-on-read, ap_idle). The memory
model aborts the run on any AXI protocol error (4 KiB crossing, WLAST, size,
address range, VALID dropped), which the tests turn into failures. Random
memory latencies, R/AW/W/B gaps, stream stalls and gaps come from seeds.
"""
import glob
import hashlib
import json
import os
import subprocess
import tempfile

import numpy as np
import pytest

from streamfold.rtlsim import build as B

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "iodma_tb")
RTL = [os.path.join(REPO, "cpp", "ops", "iodma", "rtl", f) for f in
       ("sf_iodma_rd.sv", "sf_iodma_wr.sv", "sf_axil_ctrl.sv", "sf_iodma_mulc.sv")] + \
      [os.path.join(REPO, "cpp", "ops", "hw", "rtl", "sf_fifo.sv"),
       os.path.join(REPO, "cpp", "ops", "hw", "rtl", "sf_ram_sdp.sv")]
MEM_BASE = 0x10000000
PAGE = 4096

pytestmark = pytest.mark.skipif(not B.shutil.which("verilator"), reason="verilator not installed")


def build(sw, fb, repeat=1, wrap=None, max_burst=16, rd_depth=128, wr_depth=64):
    """The simulation binary of sf_iodma_tb_top with these parameters (cached)."""
    params = dict(SW=sw, FRAME_BEATS=fb, REPEAT=repeat, WRAP=int(repeat > 1) if wrap is None else wrap,
                  AXI_AW=32, MAX_BURST=max_burst, RD_DEPTH=rd_depth, WR_DEPTH=wr_depth)
    with open(os.path.join(TB, "sf_iodma_tb_top.sv")) as f:
        top = f.read()
    head = top.index("module sf_iodma_tb_top #(")
    a, b = top.index("(", head) + 1, top.index(") (", head)
    top = top[:a] + "\n  " + ", ".join(f"parameter integer {k} = {v}" for k, v in params.items()) + "\n" + top[b:]
    files = {}
    for name in ("iodma_tb.cpp",):
        with open(os.path.join(TB, name)) as f:
            files[name] = f.read()
    with open(os.path.join(REPO, "python", "streamfold", "rtlsim", "axi_mem.h")) as f:
        files["axi_mem.h"] = f.read()
    files["vl_bits.h"] = B.testbench_header()
    h = hashlib.sha256()
    for part in (B.verilator_version(), " ".join(B.VFLAGS), B.CXXFLAGS, top, *files.values()):
        h.update(part.encode() + b"\0")
    for s in RTL:
        with open(s, "rb") as f:
            h.update(f.read())
    key = "iodma-" + h.hexdigest()[:24]
    work = os.path.join(B.cache_dir(), "iodma-src", key)
    os.makedirs(work, exist_ok=True)
    top_path = os.path.join(work, "sf_iodma_tb_top.sv")
    with open(top_path, "w") as f:
        f.write(top)
    return B.compile_verilated(key, RTL + [top_path], "sf_iodma_tb_top", "Vtop", files, ["iodma_tb.cpp"],
                               f"the IODMA testbench {params}")


def run(exe, **kw):
    """Run the testbench; returns (bytes of out=, stats). Fails the test on a
    protocol error, a register check or a deadlock, with the testbench's message."""
    with tempfile.TemporaryDirectory(dir=os.path.join(B.cache_dir(), "runs")) as tmp:
        args = [exe]
        for k, v in kw.items():
            if isinstance(v, (bytes, np.ndarray)):
                p = os.path.join(tmp, k + ".bin")
                np.frombuffer(bytes(v), dtype=np.uint8).tofile(p)
                v = p
            args.append(f"{k}={v}")
        out = os.path.join(tmp, "out.bin")
        stats = os.path.join(tmp, "stats.json")
        args += [f"out={out}", f"stats={stats}"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=600)
        assert os.path.isfile(stats), f"testbench crashed (exit {r.returncode}): {r.stderr[-2000:]}"
        with open(stats) as f:
            st = json.load(f)
        assert r.returncode == 0, f"exit {r.returncode}: {st['error'] or r.stderr[-2000:]}"
        with open(out, "rb") as f:
            return f.read(), st


def rd_expected(img, sb, fb, n, repeat, wrap):
    fbytes = sb * fb
    frames = [img[(0 if wrap else i) * fbytes:((0 if wrap else i) + 1) * fbytes] for i in range(n)]
    return b"".join(fr * repeat for fr in frames)


STRESS = dict(rlat="5,60", wlat="5,60", p_ar=0.6, p_r=0.6, p_aw=0.6, p_w=0.6, p_b=0.5)


def check_read(exe, sb, fb, n, repeat=1, wrap=None, jobs=1, seed=1, offset=PAGE - 40, stall=0.3, **mem):
    """Read DMA: a random buffer at MEM_BASE + offset (8-aligned) comes out of
    the stream N*REPEAT frames long, in order, `jobs` times."""
    wrap = int(repeat > 1) if wrap is None else wrap
    rng = np.random.default_rng(seed)
    nbytes = sb * fb * (1 if wrap else n)
    img = rng.integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    size = (offset + nbytes + 2 * PAGE) // PAGE * PAGE
    out, st = run(exe, mode="rd", sb=sb, fb=fb, n=n, jobs=jobs, mem_base=MEM_BASE, mem_size=size,
                  rd_base=MEM_BASE + offset, img=img, seed=seed, stall=stall, **mem)
    exp = rd_expected(img, sb, fb, n, repeat, wrap) * jobs
    assert len(out) == len(exp), f"{len(out)} bytes streamed, {len(exp)} expected"
    bad = np.flatnonzero(np.frombuffer(out, np.uint8) != np.frombuffer(exp, np.uint8))
    assert bad.size == 0, f"{bad.size} bytes differ, first at stream byte {bad[0]}"
    return st


def check_write(exe, sb, fb, n, jobs=1, seed=1, offset=PAGE - 24, gap=0.3, **mem):
    """Write DMA: N frames from the stream land at MEM_BASE + offset exactly,
    and not one byte around them changes."""
    rng = np.random.default_rng(seed + 100)
    nbytes = sb * fb * n
    src = rng.integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    guard = 64
    size = (offset + nbytes + 2 * PAGE) // PAGE * PAGE
    out, st = run(exe, mode="wr", sb=sb, fb=fb, n=n, jobs=jobs, mem_base=MEM_BASE, mem_size=size,
                  wr_base=MEM_BASE + offset, src=src, seed=seed, gap=gap, fill=0xA5,
                  dump_base=MEM_BASE + offset - guard, dump_len=nbytes + 2 * guard, **mem)
    assert out[:guard] == b"\xa5" * guard, "bytes before the buffer were written"
    assert out[guard + nbytes:] == b"\xa5" * guard, "bytes after the buffer were written (WSTRB of the last word?)"
    got = np.frombuffer(out[guard:guard + nbytes], np.uint8)
    bad = np.flatnonzero(got != np.frombuffer(src, np.uint8))
    assert bad.size == 0, f"{bad.size} bytes differ, first at buffer byte {bad[0]}"
    assert st["wr_beats"] == fb * n * jobs
    return st


def check_loop(exe, sb, fb, n, seed=1, stall=0.2, **mem):
    """Read DMA -> (random gate) -> write DMA: the destination buffer equals the source."""
    rng = np.random.default_rng(seed + 200)
    nbytes = sb * fb * n
    img = rng.integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    rd_off, wr_off = PAGE - 8, 3 * PAGE + 2 * PAGE * ((nbytes + PAGE - 1) // PAGE) - 16
    size = (wr_off + nbytes + 2 * PAGE) // PAGE * PAGE
    out, st = run(exe, mode="loop", sb=sb, fb=fb, n=n, mem_base=MEM_BASE, mem_size=size, rd_base=MEM_BASE + rd_off,
                  wr_base=MEM_BASE + wr_off, img=img, seed=seed, stall=stall, fill=0x5A,
                  dump_base=MEM_BASE + wr_off, dump_len=nbytes + 8, **mem)
    assert out[:nbytes] == img and out[nbytes:] == b"\x5a" * 8
    return st


# (SW, FRAME_BEATS, N): frames whose byte counts are not multiples of 8, batches
# that cross several 4 KiB pages, stream widths below, at and above the 64-bit bus.
DEFAULT = [(24, 5, 333), (8, 7, 700), (64, 3, 200), (200, 3, 70)]
FULL = [(16, 9, 301), (72, 5, 130), (8, 1, 5001), (40, 1, 900), (256, 2, 90), (24, 1, 1)]


@pytest.mark.parametrize("sw,fb,n", DEFAULT, ids=[f"SW{a}_FB{b}_N{c}" for a, b, c in DEFAULT])
def test_iodma_random_latency_and_backpressure(sw, fb, n):
    exe = build(sw, fb)
    sb = sw // 8
    check_read(exe, sb, fb, n, jobs=2, seed=sw, **STRESS)
    check_write(exe, sb, fb, n, jobs=2, seed=sw, **STRESS)
    check_loop(exe, sb, fb, n, seed=sw, **STRESS)


@pytest.mark.full
@pytest.mark.parametrize("sw,fb,n", FULL, ids=[f"SW{a}_FB{b}_N{c}" for a, b, c in FULL])
def test_iodma_random_full(sw, fb, n):
    exe = build(sw, fb)
    sb = sw // 8
    for seed in (1, 2):
        check_read(exe, sb, fb, n, seed=seed, **STRESS)
        check_write(exe, sb, fb, n, seed=seed, **STRESS)
    check_loop(exe, sb, fb, n, **STRESS)


def test_read_repeat_wrap():
    """External weights (WRAP=1): one frame in DDR, re-read N*REPEAT times; a
    frame of 7*3 = 21 bytes (not a multiple of 8)."""
    exe = build(24, 7, repeat=3)
    check_read(exe, 3, 7, 5, repeat=3, seed=3, **STRESS)
    check_read(exe, 3, 7, 1, repeat=3, seed=4)
    # a weight stream with one pass per frame (REPEAT = 1): still one buffer, N passes
    exe = build(16, 11, repeat=1, wrap=1)
    check_read(exe, 2, 11, 9, repeat=1, wrap=1, seed=6, **STRESS)


@pytest.mark.full
def test_read_repeat_nowrap():
    """WRAP=0 with REPEAT > 1: N frames, each streamed REPEAT times; frames start
    at addresses that are not 8-byte aligned."""
    exe = build(8, 13, repeat=2, wrap=0)
    check_read(exe, 1, 13, 37, repeat=2, wrap=0, seed=5, **STRESS)


def test_interrupt_and_auto_restart():
    """IER/GIE/ISR drive the interrupt pin (ISR toggles on write); with
    auto_restart the DMA runs job after job until it is cleared, never cutting
    one short."""
    exe = build(24, 5)
    rng = np.random.default_rng(9)
    n = 7
    img = rng.integers(0, 256, 3 * 5 * n, dtype=np.uint8).tobytes()
    out, st = run(exe, mode="regs", sb=3, fb=5, n=n, mem_base=MEM_BASE, mem_size=2 * PAGE,
                  rd_base=MEM_BASE + 8, img=img, stall=0.2, **STRESS)
    # the first job, then auto_restart until 4 jobs' beats were seen: the 5th has
    # started by the time the clearing write lands, and it is the last
    assert st["regs_jobs"] == 5, st
    assert out == img * st["regs_jobs"]


def test_batch_zero_finishes():
    """N = 0: ap_done at once, nothing moves."""
    exe = build(24, 5)
    out, st = run(exe, mode="rd", sb=3, fb=5, n=0, mem_base=MEM_BASE, mem_size=PAGE)
    assert out == b"" and st["ar"] == 0
    _, st = run(exe, mode="wr", sb=3, fb=5, n=0, mem_base=MEM_BASE, mem_size=PAGE, dump_len=0)
    assert st["aw"] == 0


def throughput(st, key):
    first, last = st[key]
    return st[key.split("_")[0] + "_beats"] / (last - first + 1)


@pytest.mark.parametrize("sw", [8, 64, pytest.param(24, marks=pytest.mark.full),
                                pytest.param(72, marks=pytest.mark.full), pytest.param(200, marks=pytest.mark.full)])
def test_throughput_one_beat_per_cycle(sw):
    """With memory latency 20..40 cycles and no stalls, the stream moves one beat
    per cycle for SW <= 64, and 8 bytes per cycle (the 64-bit bus) above: the
    DMA is not the bottleneck."""
    fb = 512 if sw <= 64 else 128
    exe = build(sw, fb)
    sb = sw // 8
    lat = dict(rlat="20,40", wlat="20,40")
    st = check_read(exe, sb, fb, 4, stall=0.0, offset=PAGE, **lat)
    rd = throughput(st, "rd_first_last")
    st = check_write(exe, sb, fb, 4, gap=0.0, offset=PAGE, **lat)
    wr = throughput(st, "wr_first_last")
    print(f"SW={sw}: read {rd:.4f} beats/cycle, write {wr:.4f} beats/cycle over {4 * fb} beats")
    want = min(1.0, 8 / sb)
    assert rd >= 0.99 * want and wr >= 0.99 * want, (rd, wr, want)


@pytest.mark.full
def test_yosys_synthesis():
    """Both DMAs synthesize with Yosys for xc7 (no DSP, the FIFOs in block RAM)."""
    from streamfold.rtlsim.synth import synth_sources
    import shutil
    if not shutil.which("yosys"):
        pytest.skip("yosys not installed")
    with tempfile.TemporaryDirectory() as d:
        for top in ("sf_iodma_rd", "sf_iodma_wr"):
            res = synth_sources(RTL, top, d, log_name=top + ".log")
            print(top, res)
            assert res["DSP"] == 0 and res["BRAM_18K"] <= 2 and 0 < res["LUT"] < 2000, res


@pytest.mark.parametrize("top,params", [
    ("sf_iodma_rd", ["-GSW=200", "-GFRAME_BEATS=3", "-GREPEAT=3"]),
    ("sf_iodma_rd", ["-GSW=24", "-GREPEAT=2", "-GWRAP=0", "-GDEPTH=32", "-GMAX_BURST=32"]),
    ("sf_iodma_wr", ["-GSW=72", "-GFRAME_BEATS=5", "-GDEPTH=16"]),
    ("sf_iodma_wr", ["-GSW=8", "-GMAX_BURST=256", "-GDEPTH=256"])])
def test_lint_clean_at_other_parameters(top, params):
    """Verilator -Wall is clean away from the defaults too (the library lint test checks the defaults)."""
    search = [a for d in sorted(glob.glob(os.path.join(REPO, "cpp", "ops", "*", "rtl"))) for a in ("-y", d)]
    src = os.path.join(REPO, "cpp", "ops", "iodma", "rtl", top + ".sv")
    r = subprocess.run(["verilator", "--lint-only", "-Wall", *search, *params, "--top-module", top, src],
                       capture_output=True, text=True)
    msgs = [l for l in r.stderr.splitlines() if l.startswith("%")]
    assert r.returncode == 0 and not msgs, "\n".join(msgs[:10])


@pytest.mark.parametrize("case,expect", [
    ("ok", "no error"),
    ("cross4k", "crosses a 4 KiB boundary"),
    ("size", "SIZE=2"),
    ("outside", "outside the memory"),
    ("wlast", "WLAST=1 on beat 0 of a 4-beat burst"),
    ("drop", "ARVALID dropped"),
])
def test_axi_mem_catches(case, expect, tmp_path_factory):
    """axi_mem.h's own protocol checks fire on a bad master (and stay quiet on a good one)."""
    exe = _axi_mem_checks(tmp_path_factory)
    out = subprocess.run([exe, case], capture_output=True, text=True, timeout=60).stdout.strip()
    assert expect in out, out
    assert case == "ok" or out.startswith("dma "), out   # the message names the port


_CHECKS = {}


def _axi_mem_checks(tmp_path_factory):
    if "exe" not in _CHECKS:
        d = tmp_path_factory.mktemp("axi_mem")
        exe = str(d / "checks")
        subprocess.run(["g++", "-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror",
                        "-I", os.path.join(REPO, "python", "streamfold", "rtlsim"),
                        os.path.join(TB, "axi_mem_checks.cpp"), "-o", exe], check=True)
        _CHECKS["exe"] = exe
    return _CHECKS["exe"]


@pytest.mark.full
@pytest.mark.parametrize("it", range(14))
def test_iodma_random_sweep(it):
    """Random batch sizes, buffer offsets, memory latencies/gaps and stream
    stalls on the parameter sets above (seeded, so reproducible)."""
    cfgs = [(24, 5, 1, None), (8, 7, 1, None), (64, 3, 1, None), (200, 3, 1, None), (24, 7, 3, None),
            (16, 11, 1, 1), (8, 13, 2, 0)]
    sw, fb, rep, wrap = cfgs[it % len(cfgs)]
    rng = np.random.default_rng(1000 + it)
    exe = build(sw, fb, repeat=rep, wrap=wrap)
    sb = sw // 8
    n, seed, off = int(rng.integers(1, 300)), int(rng.integers(1, 10**6)), int(rng.integers(1, 1024)) * 8
    p = lambda: float(rng.uniform(0.2, 1.0))  # noqa: E731
    mem = dict(rlat=f"{rng.integers(1, 10)},{rng.integers(10, 120)}", wlat=f"{rng.integers(1, 10)},{rng.integers(10, 120)}",
               p_ar=p(), p_r=p(), p_aw=p(), p_w=p(), p_b=p())
    check_read(exe, sb, fb, n, repeat=rep, wrap=wrap, seed=seed, offset=off, stall=float(rng.uniform(0, 0.8)),
               jobs=int(rng.integers(1, 3)), **mem)
    if rep == 1 and not wrap:
        check_write(exe, sb, fb, n, seed=seed, offset=off + 64, gap=float(rng.uniform(0, 0.8)), **mem)
        check_loop(exe, sb, fb, n, seed=seed, stall=float(rng.uniform(0, 0.8)), **mem)
