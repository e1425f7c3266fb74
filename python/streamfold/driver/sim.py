"""platform="sim": the pynq calls the PYNQ driver makes, answered by a
Verilator model of the whole accelerator system (rtlsim/system.py) instead
of a board.

The driver runs unchanged: `Overlay` gives it the DMAs by their block-design
names with `read`/`write` (each a real AXI-lite transaction on the simulated
bus), `allocate` gives it buffers with device addresses in the simulated DDR,
and `flush()` / `invalidate()` move their bytes, as the non-coherent HP0 port
requires on the board. Simulated time advances only while the driver talks
to the hardware; `Overlay.cycles` is that clock, and the driver's
throughput_test reads it instead of wall time.

The simulation is found from the deployment package: `deploy/sim/` next to
`deploy/bitfile/` (STREAMFOLD_SIM_DIR or `sim_dir=` override it).
"""
from __future__ import annotations

import json
import os
import subprocess
import weakref

import numpy as np

from ..errors import StreamfoldError
from ..rtlsim.build import DeadlockError, SimulationError

PAGE = 4096
DDR_BASE = 0x1000_0000                         # where PYNQ's CMA buffers usually live
DDR_SIZE = int(os.environ.get("STREAMFOLD_SIM_DDR_MB", "256")) << 20

_device = None   # the Overlay allocate() serves (pynq: the active device)


class _Ddr:
    """First-fit allocator over the simulated DDR's address range."""

    def __init__(self, base=DDR_BASE, size=DDR_SIZE):
        self.base, self.size = base, size
        self.free = [(base, size)]

    def alloc(self, n):
        n = max(PAGE, (n + PAGE - 1) // PAGE * PAGE)
        for i, (a, s) in enumerate(self.free):
            if s >= n:
                self.free[i] = (a + n, s - n)
                if self.free[i][1] == 0:
                    del self.free[i]
                return a, n
        raise StreamfoldError(f"the simulated DDR has no room for a {n}-byte buffer",
                              hint="free buffers, use a smaller batch, or raise STREAMFOLD_SIM_DDR_MB "
                                   f"(now {self.size >> 20})")

    def release(self, a, n):
        self.free.append((a, n))
        self.free.sort()
        merged = []
        for b, s in self.free:
            if merged and merged[-1][0] + merged[-1][1] == b:
                merged[-1] = (merged[-1][0], merged[-1][1] + s)
            else:
                merged.append((b, s))
        self.free = merged


class SimBuffer(np.ndarray):
    """A pynq.buffer.PynqBuffer look-alike: a numpy array with a device
    address in the simulated DDR."""

    def __new__(cls, shape, dtype, device):
        obj = np.zeros(shape, dtype=dtype).view(cls)
        obj._device = device
        obj._nbytes_dev = obj.nbytes
        obj.physical_address, obj._span = device._ddr.alloc(obj.nbytes)
        obj.device_address = obj.physical_address
        obj.coherent = False
        return obj

    def __array_finalize__(self, obj):
        # Views and slices keep the device address of their base buffer, as
        # PYNQ's do; only the allocated buffer itself may be flushed.
        for a in ("_device", "physical_address", "device_address", "coherent", "_span", "_nbytes_dev"):
            if obj is not None and hasattr(obj, a):
                setattr(self, a, getattr(obj, a))

    def _whole(self):
        if not hasattr(self, "_device") or self._device is None:
            raise StreamfoldError("this array is not a buffer from streamfold.driver.sim.allocate")
        base = self
        while isinstance(base.base, SimBuffer):
            base = base.base
        return base

    def flush(self):
        """Host -> simulated DDR (the board's cache flush)."""
        b = self._whole()
        b._device._write_mem(b.physical_address, np.ascontiguousarray(b).view(np.uint8).tobytes())

    def invalidate(self):
        """Simulated DDR -> host (the board's cache invalidate)."""
        b = self._whole()
        data = b._device._read_mem(b.physical_address, b._nbytes_dev)
        np.copyto(b.view(np.uint8).reshape(-1), np.frombuffer(data, dtype=np.uint8))

    def sync_to_device(self):
        self.flush()

    def sync_from_device(self):
        self.invalidate()

    def freebuffer(self):
        b = self._whole()
        if b._device is not None and b._span:
            b._device._ddr.release(b.physical_address, b._span)
            b._span = 0

    close = freebuffer


def allocate(shape, dtype="u8", target=None, **kwargs):
    """pynq.allocate for the simulated board: a buffer in the simulated DDR of
    `target` (an Overlay) or of the Overlay created last."""
    dev = target if isinstance(target, Overlay) else _device
    if dev is None:
        raise StreamfoldError("allocate() before any simulated Overlay exists",
                              hint="create the Overlay (FINNExampleOverlay with platform='sim') first")
    return SimBuffer(shape, dtype, dev)


class _Dma:
    """One DMA's AXI-lite registers (pynq's DefaultIP read/write)."""

    def __init__(self, ov, k, info):
        self._ov, self._k, self.description = ov, k, info
        self.mmio = self

    def write(self, offset, value):
        self._ov._cmd(f"W {self._k} {int(offset)} {int(value) & 0xFFFFFFFF}")

    def read(self, offset=0, length=4):
        v, quiet = self._ov._cmd(f"R {self._k} {int(offset)}").split()
        v, quiet = int(v), int(quiet)
        if offset == 0 and not (v & 0x6) and quiet > self._ov.idle_timeout:
            # started, not done, not idle, and no DDR beat for longer than any
            # layer can be silent: the accelerator or a DMA is stuck.
            raise DeadlockError(f"the simulated system is stuck: {self.description['name']} is busy and no DMA has "
                                f"moved a beat for {quiet} cycles",
                                hint="check that every DMA was started with the right batch count and buffer "
                                     f"size; AXI counters: {self._ov.axi_stats()}")
        return v


class Overlay:
    """pynq.Overlay for the simulated board: the DMAs of sf_system.json as
    attributes, their AXI-lite windows in ip_dict."""

    def __init__(self, bitfile_name=None, download=True, sim_dir=None, seed=0, mmio_cycles=300, rd_lat=(20, 40),
                 wr_lat=(20, 40), p_ready=1.0, p_valid=1.0, **kwargs):
        from ..rtlsim.system import build_system, load_system

        global _device
        # STREAMFOLD_SIM_OPTIONS="seed=3,p_ready=0.7,p_valid=0.6,rd_lat=20:80" stresses the unchanged
        # driver's runs (the driver has no way to pass these).
        for kv in filter(None, os.environ.get("STREAMFOLD_SIM_OPTIONS", "").split(",")):
            k, _, v = kv.partition("=")
            k = k.strip()
            if k in ("rd_lat", "wr_lat"):
                lo, _, hi = v.partition(":")
                v = (int(lo), int(hi or lo))
            elif k in ("seed", "mmio_cycles"):
                v = int(v)
            elif k in ("p_ready", "p_valid"):
                v = float(v)
            else:
                raise StreamfoldError(f"unknown STREAMFOLD_SIM_OPTIONS key {k!r}",
                                      hint="seed, mmio_cycles, rd_lat=lo:hi, wr_lat=lo:hi, p_ready, p_valid")
            if k == "seed":
                seed = v
            elif k == "mmio_cycles":
                mmio_cycles = v
            elif k == "rd_lat":
                rd_lat = v
            elif k == "wr_lat":
                wr_lat = v
            elif k == "p_ready":
                p_ready = v
            else:
                p_valid = v
        sim_dir = sim_dir or os.environ.get("STREAMFOLD_SIM_DIR")
        if sim_dir is None:
            if bitfile_name is None:
                raise StreamfoldError("no simulation folder: give sim_dir, STREAMFOLD_SIM_DIR or the bitfile path "
                                      "of a deployment package")
            sim_dir = os.path.join(os.path.dirname(os.path.abspath(os.fspath(bitfile_name))), os.pardir, "sim")
        self.sim_dir = os.path.abspath(sim_dir)
        self.manifest = load_system(self.sim_dir)
        self.bitfile_name = bitfile_name
        self.fclk_mhz = 1000.0 / self.manifest["clk_ns"]
        self.idle_timeout = int(self.manifest["idle_timeout"])
        self._ddr = _Ddr()
        exe = build_system(self.sim_dir)
        args = [exe, f"base={DDR_BASE}", f"size={DDR_SIZE}", f"seed={seed}", f"mmio={mmio_cycles}",
                f"rd_lat_min={rd_lat[0]}", f"rd_lat_max={rd_lat[1]}", f"wr_lat_min={wr_lat[0]}",
                f"wr_lat_max={wr_lat[1]}", f"p_ready={p_ready}", f"p_valid={p_valid}"]
        self._p = subprocess.Popen(args, cwd=self.sim_dir, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        self._fin = weakref.finalize(self, _stop, self._p)
        self.ip_dict = {}
        for k, d in enumerate(self.manifest["dmas"]):
            setattr(self, d["name"], _Dma(self, k, d))
            self.ip_dict[d["name"]] = {"phys_addr": d["addr"], "addr_range": d["range"], "type": d["module"],
                                       "fullpath": d["name"]}
        _device = self

    # -- the pipe -----------------------------------------------------------
    def _send(self, line, payload=b""):
        if self._p.poll() is not None:
            self._died()
        try:
            self._p.stdin.write(line.encode() + b"\n" + payload)
            self._p.stdin.flush()
        except BrokenPipeError:
            self._died()

    def _line(self):
        r = self._p.stdout.readline()
        if not r:
            self._died()
        return r.decode().strip()

    def _cmd(self, line):
        self._send(line)
        return self._line()

    def _died(self):
        self._p.wait()
        err = self._p.stderr.read().decode(errors="replace").strip().splitlines()[-10:]
        raise SimulationError("the system simulation stopped: " + ("\n".join(err) or f"exit {self._p.returncode}"),
                              hint="an AXI protocol error is a bug in the DMA or the design; report it")

    def _write_mem(self, addr, data):
        self._send(f"M {addr} {len(data)}", data)
        self._line()

    def _read_mem(self, addr, n):
        self._send(f"D {addr} {n}")
        self._line()
        return self._p.stdout.read(n)

    # -- what the driver and the tests use ----------------------------------
    @property
    def cycles(self):
        """Simulated clock cycles since reset."""
        return int(self._cmd("C"))

    def run(self, n):
        """Advance the simulated clock by n cycles."""
        self._cmd(f"S {int(n)}")

    def axi_stats(self):
        return json.loads(self._cmd("T"))

    def download(self):
        pass

    def free(self):
        self.close()

    def close(self):
        global _device
        self._fin()
        if _device is self:
            _device = None


def _stop(p):
    if p.poll() is None:
        try:
            p.stdin.write(b"Q\n")
            p.stdin.flush()
            p.wait(timeout=5)
        except Exception:  # noqa: BLE001 - already gone
            p.kill()


__all__ = ["Overlay", "allocate", "SimBuffer"]
