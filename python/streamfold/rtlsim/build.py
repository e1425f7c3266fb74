"""Compiling and running Verilator simulations, cached by content hash.

Measured on this machine (DESIGN §7.3): Verilator's generated Makefile builds
with -Os; OPT_FAST/OPT_GLOBAL=-O2 runs 1.5-3x faster, and --threads 2 is
slower on 2 cores. The Verilator runtime (verilated.cpp and friends) is
compiled once per Verilator version and flag set into the cache and linked
into every design, which removes most of a small design's build time.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np

from ..errors import StreamfoldError


class SimulationError(StreamfoldError):
    """A simulation could not be built or run, or broke the stream protocol."""


class DeadlockError(SimulationError):
    """Nothing moved for `timeout` cycles; the message names the stalled streams."""


HERE = os.path.dirname(os.path.abspath(__file__))
# The optimisation level of the simulation's C++: -O2 simulates fastest, -O1
# builds twice as fast at some simulation speed (STREAMFOLD_SIM_OPT picks;
# the test suite, whose simulations are short, uses -O1).
CXXFLAGS = os.environ.get("STREAMFOLD_SIM_OPT", "-O2") + \
    " -fno-stack-protector -Wno-unused-variable -Wno-unused-but-set-variable"
VFLAGS = ["-O3", "--x-assign", "fast", "--x-initial", "unique", "--noassert", "-Wno-fatal", "-Wno-lint",
          "-Wno-style", "-Wno-MULTIDRIVEN"]


def read_manifest(folder, name, what, hint, error=None):
    """The JSON manifest `name` in `folder`; a typed error saying what the
    folder should hold and how to make it when the file is missing."""
    p = os.path.join(folder, name)
    if not os.path.isfile(p):
        raise (error or StreamfoldError)(f"{folder} holds no {what} ({name} is missing)", hint=hint)
    with open(p) as f:
        return json.load(f)


def cache_dir():
    """Where builds are cached: $STREAMFOLD_CACHE_DIR, else ~/.cache/streamfold."""
    d = os.environ.get("STREAMFOLD_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "streamfold")
    d = os.path.abspath(d)  # simulations run in the design's folder: a relative cache path would not resolve
    os.makedirs(os.path.join(d, "runs"), exist_ok=True)
    return d


def _verilator():
    exe = shutil.which("verilator")
    if not exe:
        raise SimulationError("verilator is not installed", hint="run `make setup` (apt-get install verilator)")
    return exe


_version = None


def verilator_version():
    global _version
    if _version is None:
        _version = subprocess.run([_verilator(), "--version"], capture_output=True, text=True).stdout.strip()
    return _version


def _verilator_root():
    out = subprocess.run([_verilator(), "--getenv", "VERILATOR_ROOT"], capture_output=True, text=True).stdout
    return out.strip()


class _Lock:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.f = open(self.path, "w")
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *a):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


def _sig(s, part):
    """The top-level signal of a stream: layer tops use FINN's <name>_TDATA,
    the stitched top s_axis_0_tdata (named in its manifest)."""
    return s.get(part.lower(), f"{s['name']}_{part}")


def _ports_header(inputs, outputs, mem_files, monitors=()):
    """sf_ports.h / sf_ports_impl.h: the design's streams for the generic harness."""
    names = lambda v: ", ".join(f'"{s["name"]}"' for s in v) or '""'  # noqa: E731
    monitors = [m if isinstance(m, dict) else {"name": m} for m in monitors]
    nbytes = lambda v: ", ".join(str(s["tdata_width"] // 8) for s in v) or "0"  # noqa: E731
    mems = ", ".join(json.dumps(m) for m in mem_files) or '""'
    h = ["#pragma once", '#include "Vtop.h"', "#define SF_TOP Vtop",
         f"static constexpr int SF_NI = {len(inputs)};", f"static constexpr int SF_NO = {len(outputs)};",
         f"static const char* SF_IN_NAMES[] = {{{names(inputs)}}};",
         f"static const char* SF_OUT_NAMES[] = {{{names(outputs)}}};",
         f"static const int SF_IN_BYTES[] = {{{nbytes(inputs)}}};",
         f"static const int SF_OUT_BYTES[] = {{{nbytes(outputs)}}};",
         f"static const char* SF_MEM_FILES[] = {{{mems}}};",
         f"static constexpr int SF_NMON = {len(monitors)};",
         f"static const char* SF_MON_NAMES[] = {{{names(monitors)}}};"]
    impl = ["#pragma once"]

    def fn(sig, streams, body):
        cases = "".join(f"    case {i}: " + body.format(d=_sig(s, "TDATA"), v=_sig(s, "TVALID"), r=_sig(s, "TREADY"),
                                                       n=s["name"], b=s.get("tdata_width", 8) // 8) + " break;\n"
                        for i, s in enumerate(streams))
        return f"static inline {sig} {{\n  switch (i) {{\n{cases}    default: break;\n  }}\n}}"
    impl.append(fn("void sf_in_data(Vtop* t, int i, const uint8_t* d)", inputs, "put_bits(t->{d}, d, {b});"))
    impl.append(fn("void sf_in_valid(Vtop* t, int i, bool v)", inputs, "t->{v} = v;"))
    impl.append(fn("bool sf_in_ready(Vtop* t, int i)", inputs, "return t->{r};")[:-1] + "  return false;\n}")
    impl.append(fn("void sf_out_data(Vtop* t, int i, uint8_t* d)", outputs, "get_bits(t->{d}, d, {b});"))
    impl.append(fn("bool sf_out_valid(Vtop* t, int i)", outputs, "return t->{v};")[:-1]
                + "  return false;\n}")
    impl.append(fn("void sf_out_ready(Vtop* t, int i, bool v)", outputs, "t->{r} = v;"))
    impl.append(fn("bool sf_out_ready_get(Vtop* t, int i)", outputs, "return t->{r};")[:-1]
                + "  return false;\n}")
    impl.append(fn("uint64_t sf_mon(Vtop* t, int i)", monitors, "return (uint64_t)t->{n};")[:-1]
                + "  return 0;\n}")
    return "\n".join(h) + "\n", "\n".join(impl) + "\n"


def _harness_source():
    with open(os.path.join(HERE, "harness.cpp")) as f:
        return f.read()


def testbench_header():
    """vl_bits.h: byte buffers <-> Verilated signals, for every C++ testbench."""
    with open(os.path.join(HERE, "vl_bits.h")) as f:
        return f.read()


def _runtime_lib():
    """The Verilator runtime objects, compiled once per Verilator version."""
    key = hashlib.sha256((verilator_version() + CXXFLAGS).encode()).hexdigest()[:16]
    d = os.path.join(cache_dir(), "verilator", f"runtime-{key}")
    lib = os.path.join(d, "libverilated.a")
    if os.path.isfile(lib):
        return lib
    os.makedirs(d, exist_ok=True)
    with _Lock(os.path.join(d, ".lock")):
        if os.path.isfile(lib):
            return lib
        root = _verilator_root()
        inc = os.path.join(root, "include")
        objs = []
        for src in ("verilated.cpp", "verilated_threads.cpp"):
            o = os.path.join(d, src.replace(".cpp", ".o"))
            _check([_cxx(), *CXXFLAGS.split(), "-std=gnu++17", "-faligned-new", f"-I{inc}", f"-I{inc}/vltstd",
                    "-DVM_COVERAGE=0", "-DVM_SC=0", "-DVM_TRACE=0", "-DVM_TRACE_FST=0", "-DVM_TRACE_VCD=0",
                    "-c", os.path.join(inc, src), "-o", o], "compiling the Verilator runtime")
            objs.append(o)
        _check(["ar", "rcs", lib + ".tmp", *objs], "archiving the Verilator runtime")
        os.replace(lib + ".tmp", lib)
    return lib


def _cxx():
    return shutil.which("ccache") and "ccache g++" or "g++"


def _check(cmd, what, cwd=None):
    if isinstance(cmd, list) and cmd and " " in cmd[0]:
        cmd = cmd[0].split() + cmd[1:]
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        tail = (r.stdout + r.stderr).strip().splitlines()[-25:]
        raise SimulationError(f"{what} failed:\n" + "\n".join(tail),
                              hint="this is a bug in the generated RTL or the harness; the log above names the line")
    return r


def design_hash(sources, top, inputs, outputs, mem_files, monitors=()):
    h = hashlib.sha256()
    h.update(verilator_version().encode())
    h.update(" ".join(VFLAGS).encode() + CXXFLAGS.encode())
    h.update(_harness_source().encode())
    h.update(testbench_header().encode())
    h.update("".join(_ports_header(inputs, outputs, mem_files, monitors)).encode())
    h.update(top.encode())
    for s in sorted(sources, key=os.path.basename):
        h.update(os.path.basename(s).encode())
        with open(s, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:24]


# (top, seconds) of every Verilator build this process ran (benchmarks read it).
BUILD_LOG = []


def build_sim(sources, top, inputs, outputs, mem_files, monitors=()):
    """Path of the simulation binary for this design (built on first use)."""
    key = design_hash(sources, top, inputs, outputs, mem_files, monitors)
    d = os.path.join(cache_dir(), "verilator", key)
    exe = os.path.join(d, "sim")
    if os.path.isfile(exe):
        return exe
    import time

    t0 = time.perf_counter()
    try:
        return _build_sim(sources, top, inputs, outputs, mem_files, monitors, key, d, exe)
    finally:
        BUILD_LOG.append((top, time.perf_counter() - t0))


def _build_sim(sources, top, inputs, outputs, mem_files, monitors, key, d, exe):
    ports, impl = _ports_header(inputs, outputs, mem_files, monitors)
    return compile_verilated(key, sources, top, "Vtop",
                             {"sf_ports.h": ports, "sf_ports_impl.h": impl, "harness.cpp": _harness_source(),
                              "vl_bits.h": testbench_header()},
                             ["harness.cpp"], f"the simulation of {top}")


def compile_verilated(key, sources, top, prefix, files, cpp_files, what):
    """Verilate `sources` (top module `top`, class `prefix`) and link them with
    a C++ testbench into <cache>/verilator/<key>/sim; returns that path.
    `files` maps file names to texts written next to the model (headers and
    the testbench); `cpp_files` names the ones to compile. Built once: the
    caller's `key` must hash everything that goes in."""
    d = os.path.join(cache_dir(), "verilator", key)
    exe = os.path.join(d, "sim")
    if os.path.isfile(exe):
        return exe
    lib = _runtime_lib()
    os.makedirs(os.path.dirname(d), exist_ok=True)
    with _Lock(d + ".lock"):
        if os.path.isfile(exe):
            return exe
        tmp = tempfile.mkdtemp(prefix=key + ".", dir=os.path.dirname(d))
        try:
            src_dir = os.path.join(tmp, "src")
            os.makedirs(src_dir)
            local = []
            for s in sources:
                shutil.copy(s, src_dir)
                local.append(os.path.join(src_dir, os.path.basename(s)))
            for name, text in files.items():
                with open(os.path.join(tmp, name), "w") as f:
                    f.write(text)
            obj = os.path.join(tmp, "obj")
            _check([_verilator(), "--cc", *VFLAGS, "--top-module", top, "--prefix", prefix, "-Mdir", obj, *local],
                   f"verilator on {top}")
            root = _verilator_root()
            inc = os.path.join(root, "include")
            # The generated model: all its .cpp files in one translation unit
            # (faster to compile than one g++ process each).
            cpps = sorted(f for f in os.listdir(obj) if f.endswith(".cpp"))
            with open(os.path.join(obj, "all.cpp"), "w") as f:
                f.writelines(f'#include "{c}"\n' for c in cpps)
            _check([_cxx(), *CXXFLAGS.split(), "-std=gnu++17", "-faligned-new", f"-I{obj}", f"-I{tmp}", f"-I{inc}",
                    f"-I{inc}/vltstd", "-DVM_COVERAGE=0", "-DVM_SC=0", "-DVM_TRACE=0", "-DVM_TRACE_FST=0",
                    "-DVM_TRACE_VCD=0", os.path.join(obj, "all.cpp"), *[os.path.join(tmp, c) for c in cpp_files],
                    lib, "-pthread", "-latomic", "-o", os.path.join(tmp, "sim")], f"compiling {what}")
            shutil.rmtree(obj, ignore_errors=True)
            os.replace(tmp, d)
        finally:
            if os.path.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
    return exe


def lint_sources(sources, top):
    r = subprocess.run([_verilator(), "--lint-only", "-Wall", "--top-module", top, *sources],
                       capture_output=True, text=True, cwd=os.path.dirname(sources[0]))
    lines = [l for l in r.stderr.splitlines() if l.startswith("%")]
    errors = [l for l in lines if l.startswith("%Error") and "Exiting due to" not in l]
    if errors:
        raise SimulationError(f"Verilator lint of {top} failed:\n" + "\n".join(errors[:25]),
                              hint="the log names the file and line")
    return [l for l in lines if l.startswith("%Warning")]


def run_sim(exe, cwd, inputs, outputs, beats_in, beats_out, frame_beats, in_gap, out_stall, seed, timeout,
            rand_reset, what, in_rate=1.0, trace=False):
    """trace: also return every beat's handshake cycles in stats["trace"]
    (in_offer, in_take per input stream, out_take per output stream)."""
    with tempfile.TemporaryDirectory(dir=os.path.join(cache_dir(), "runs")) as tmp:
        args = [exe]
        for i, (b, s) in enumerate(zip(beats_in, inputs)):
            b = np.ascontiguousarray(b, dtype=np.uint8)
            if b.ndim != 2 or b.shape[1] != s["tdata_width"] // 8:
                raise SimulationError(f"{what}: input {s['name']} beats must be (beats, {s['tdata_width'] // 8}) "
                                      f"bytes, got {b.shape}", hint="pack with streamfold.driver.pack")
            p = os.path.join(tmp, f"in{i}.bin")
            b.tofile(p)
            args += [f"in{i}={p}", f"in_beats{i}={b.shape[0]}"]
            if s.get("weights"):  # a weight stream (mem_mode external) is read at the layer's pace, not in_rate
                args.append(f"rate{i}=1")
        for j, n in enumerate(beats_out):
            args += [f"out{j}={os.path.join(tmp, f'out{j}.bin')}", f"out_beats{j}={n}", f"out_frame{j}={frame_beats[j]}"]
        stats_p = os.path.join(tmp, "stats.json")
        args += [f"gap={in_gap}", f"stall={out_stall}", f"rate={in_rate}", f"seed={seed}",
                 f"timeout={timeout or 100000}",
                 f"stats={stats_p}"]
        trace_p = os.path.join(tmp, "trace.json")
        if trace:
            args += [f"trace={trace_p}", "start=4"]
        if rand_reset:
            args += ["+verilator+rand+reset+2", f"+verilator+seed+{int(seed) % 1000000 + 1}"]
        r = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
        if r.returncode not in (0, 3, 4) or not os.path.isfile(stats_p):
            raise SimulationError(f"simulation of {what} failed (exit {r.returncode}): {r.stderr.strip()[-2000:]}",
                                  hint="see the message; a missing memory file means the layer folder is incomplete")
        with open(stats_p) as f:
            stats = json.load(f)
        if trace and os.path.isfile(trace_p):
            with open(trace_p) as f:
                stats["trace"] = json.load(f)
        if r.returncode == 4:
            raise SimulationError(f"{what}: {stats['protocol_error']}", hint="the RTL breaks the stream protocol")
        if r.returncode == 3:
            e = DeadlockError(f"{what}: deadlock, nothing moved for {timeout} cycles: {stats['why']}",
                              hint="a stream stalled; raise timeout if the design legitimately waits longer")
            e.stats = stats
            raise e
        outs = []
        for j, s in enumerate(outputs):
            outs.append(np.fromfile(os.path.join(tmp, f"out{j}.bin"), dtype=np.uint8).reshape(
                beats_out[j], s["tdata_width"] // 8))
        return outs, stats
