"""The generated PYNQ driver (driver.py, driver_base.py, validate.py) against a
fake overlay that behaves like the IODMAs: registers at 0x00/0x10/0x14/0x1C,
a device memory that only sees what the driver flush()es and shows only what
it invalidate()s, and an 'accelerator' that maps the input stream to the
output stream with a known function (packed and unpacked with FINN's own
functions, so the driver's packer is checked independently). The end-to-end
run through the real system simulation is the lead's test."""
import ast
import importlib
import os
import subprocess
import sys
import types

import numpy as np
import pytest
from finn.util.data_packing import finnpy_to_packed_bytearray, packed_bytearray_to_finnpy
from qonnx.core.datatype import DataType

from streamfold.driver.make import driver_base_source, io_shape_dict, write_driver

# ------------------------------------------------------------------ the fake


class FakeBuffer(np.ndarray):
    """allocate(): host view + separate device bytes; flush/invalidate copy."""

    def __array_finalize__(self, obj):
        pass


class FakeSystem:
    def __init__(self, plan, fn, fclk_mhz=100.0):
        self.plan = {d["name"]: d for d in plan}
        self.fn = fn  # list of input arrays (normal shape, batch) -> list of outputs
        self.mem = {}  # device address -> bytes on the "device"
        self.next_addr = 0x1000_0000
        self.cycles = 0
        self.fclk_mhz = fclk_mhz
        self.log = []
        self.weights_seen = {}

    def allocate(self, shape, dtype, target=None, **kw):
        assert np.dtype(dtype) == np.uint8 and not kw  # sim platform: allocate(shape, dtype, target=overlay)
        assert target is not None and target.ip_dict
        b = np.zeros(shape, np.uint8).view(FakeBuffer)
        addr = self.next_addr
        self.next_addr += (b.nbytes + 4095) // 4096 * 4096 + 4096
        b.device_address = b.physical_address = addr
        self.mem[addr] = np.zeros(b.nbytes, np.uint8)
        sysm = self

        def flush():
            sysm.mem[addr][:] = np.asarray(b).reshape(-1)

        def invalidate():
            np.copyto(np.asarray(b).reshape(-1), sysm.mem[addr])

        b.flush, b.invalidate, b.freebuffer = flush, invalidate, lambda: sysm.mem.pop(addr, None)
        return b

    def run(self, counts):
        """All input DMAs started: move the data through fn."""
        ins = []
        for name, d in self.plan.items():
            if d["kind"] == "weights":
                assert counts[name][1] == counts[self.inputs[0]][1], "weight DMA count must be the batch size"
                self.weights_seen[name] = self.mem[counts[name][0]].copy()
        n = counts[self.inputs[0]][1]
        for name in self.inputs:
            d = self.plan[name]
            addr, cnt = counts[name]
            assert cnt == n
            folded = [n] + list(d["shape_folded"][1:])
            raw = self.mem[addr][: n * d["frame_bytes"]].reshape(folded[:-1] + [d["sw"] // 8])
            x = packed_bytearray_to_finnpy(np.ascontiguousarray(raw), DataType[d["dtype"]], tuple(folded),
                                           reverse_inner=True, reverse_endian=True)
            ins.append(x.reshape([n] + list(d["shape_normal"][1:])))
        outs = self.fn(ins)
        for name, y in zip(self.outputs, outs):
            d = self.plan[name]
            addr, cnt = counts[name]
            folded = [n] + list(d["shape_folded"][1:])
            p = finnpy_to_packed_bytearray(y.reshape(folded).astype(np.float32), DataType[d["dtype"]],
                                           reverse_inner=True, reverse_endian=True)
            self.mem[addr][: p.size] = np.ascontiguousarray(p).reshape(-1)
        self.cycles += 1000 * n

    @property
    def inputs(self):
        return [k for k, d in self.plan.items() if d["kind"] == "input"]

    @property
    def outputs(self):
        return [k for k, d in self.plan.items() if d["kind"] == "output"]


class FakeDMA:
    def __init__(self, sysm, name):
        self.sysm, self.name, self.regs, self.busy, self.done = sysm, name, {0x10: 0, 0x14: 0, 0x1C: 0}, False, False

    def write(self, off, val):
        self.sysm.log.append((self.name, off, val))
        if off == 0x00 and val & 1:
            s = self.sysm
            kind = s.plan[self.name]["kind"]
            if kind == "input":  # outputs and weights must already be running
                for o in s.outputs:
                    assert s.dmas[o].busy, "output DMA started after an input DMA"
            self.busy = True
            s.started[self.name] = (self.regs[0x10] | self.regs[0x14] << 32, self.regs[0x1C])
            if all(s.dmas[i].busy for i in s.inputs):
                s.run(s.started)
                for dma in s.dmas.values():
                    dma.busy = False
                    dma.done = True
        else:
            self.regs[off] = val

    def read(self, off):
        self.sysm.cycles += 10
        if off == 0x00:
            v = (0 if self.busy else 0x4) | (0x2 if self.done else 0)
            self.done = False  # clear on read
            return v
        return self.regs.get(off, 0)


def fake_sim_module(sysm):
    mod = types.ModuleType("streamfold.driver.sim")
    sysm.dmas = {n: FakeDMA(sysm, n) for n in sysm.plan}
    sysm.started = {}

    class Overlay:
        def __init__(self, bitfile_name, download=True, sim_dir=None):
            self.bitfile_name = bitfile_name
            self.ip_dict = {n: {} for n in sysm.plan}
            for n, dma in sysm.dmas.items():
                setattr(self, n, dma)

        @property
        def cycles(self):
            return sysm.cycles

        @property
        def fclk_mhz(self):
            return sysm.fclk_mhz

    mod.Overlay, mod.allocate = Overlay, sysm.allocate
    return mod


# ------------------------------------------------------------------ plans
def _entry(name, kind, dt, normal, e, k):
    bits = DataType[dt].bitwidth()
    folded = list(normal[:-1]) + [normal[-1] // e, e]
    sw = (e * bits + 7) // 8 * 8
    beats = int(np.prod(folded[1:-1]))
    return {"name": name, "kind": kind, "module": "sf_iodma_rd" if kind != "output" else "sf_iodma_wr",
            "stream": ("s_axis_%d" if kind == "input" else "m_axis_%d") % 0, "sw": sw, "width": e * bits,
            "frame_beats": beats, "repeat": 1, "addr": 0x40000000 + k * 0x10000, "range": 0x10000,
            "tensor": name + "_t", "dtype": dt, "shape_normal": list(normal), "shape_folded": folded,
            "shape_packed": folded[:-1] + [sw // 8], "frame_bytes": beats * sw // 8}


def plan_one():
    """UINT4 NHWC (1,4,4,6) with SIMD 3 in, INT5 (1,4,4,6) with PE 2 out: y = x - 7."""
    return [_entry("idma0", "input", "UINT4", [1, 4, 4, 6], 3, 0), _entry("odma0", "output", "INT5", [1, 4, 4, 6], 2, 1)]


def plan_two_weights(tmp_path):
    """Two inputs (BIPOLAR, INT3 odd SIMD), an external weight DMA, two outputs."""
    p = [_entry("idma0", "input", "BIPOLAR", [1, 10], 5, 0), _entry("idma1", "input", "INT3", [1, 7], 7, 1)]
    w = {"name": "idma2", "kind": "weights", "module": "sf_iodma_rd", "stream": "s_axis_2", "sw": 16, "width": 12,
         "frame_beats": 6, "repeat": 4, "addr": 0x40020000, "range": 0x10000, "tensor": "W", "dtype": "INT4",
         "node": "MVAU_0", "frame_bytes": 12}
    wf = tmp_path / "MVAU_0_weights.dat"
    wf.write_text("\n".join(f"{v:03x}" for v in (0x123, 0xfff, 0x000, 0x801, 0x7a5, 0x0c3)) + "\n")
    w["weights_file"] = str(wf)
    p.append(w)
    p += [_entry("odma0", "output", "INT8", [1, 10], 2, 3), _entry("odma1", "output", "UINT2", [1, 1], 1, 4)]
    return p


def fn_one(ins):
    return [ins[0] - 7]


def fn_two(ins):
    a, b = ins
    return [a * 3 + b[:, :1] * 0 + b.sum(axis=1, keepdims=True), (b[:, :1] > 0).astype(np.float32) + 1]


# ------------------------------------------------------------------ helpers
@pytest.fixture
def make_driver(tmp_path, monkeypatch):
    def make(plan, fn, fclk=100.0):
        d = tmp_path / "deploy" / "driver"
        write_driver(str(d), plan, "test_model", fclk_mhz=fclk)
        sysm = FakeSystem(plan, fn)
        monkeypatch.setitem(sys.modules, "streamfold.driver.sim", fake_sim_module(sysm))
        monkeypatch.syspath_prepend(str(d))
        for m in ("driver", "driver_base", "validate"):
            sys.modules.pop(m, None)
        drv = importlib.import_module("driver")
        base = importlib.import_module("driver_base")
        return d, drv, base, sysm

    yield make
    for m in ("driver", "driver_base", "validate"):
        sys.modules.pop(m, None)


# ------------------------------------------------------------------ tests
def test_generated_files_need_only_numpy_and_pynq(tmp_path):
    write_driver(str(tmp_path), plan_one(), "m")
    allowed = {"numpy", "pynq", "argparse", "os", "sys", "time", "gzip", "math", "re", "__future__", "driver",
               "driver_base"}
    for f in ("driver.py", "driver_base.py", "validate.py"):
        tree = ast.parse((tmp_path / f).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                mod = node.module.split(".")[0]
            elif isinstance(node, ast.Import):
                mod = node.names[0].name.split(".")[0]
            else:
                continue
            # streamfold only for platform sim (inside a function), ..errors only inside try/except ImportError
            assert mod in allowed or (mod == "streamfold" and node.module == "streamfold.driver.sim"), (f, mod)
        # Python 3.6 syntax (PYNQ images from v2.6)
        ast.parse((tmp_path / f).read_text(), feature_version=(3, 6))
    # driver_base imports without streamfold on the path (a PYNQ image)
    r = subprocess.run([sys.executable, "-c", "import sys; sys.modules['streamfold'] = None; import driver_base as d; "
                        "print(d.pack([[1, -2, 3]], 'INT4').tolist(), d.DataType['UINT8'])"],
                       cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[0] == "[[225, 3]] DataType['UINT8']"


def test_io_shape_dict_keys_and_values(tmp_path):
    d = io_shape_dict(plan_two_weights(tmp_path))
    finn_keys = {"idt", "odt", "ishape_normal", "oshape_normal", "ishape_folded", "oshape_folded", "ishape_packed",
                 "oshape_packed", "input_dma_name", "output_dma_name", "number_of_external_weights", "num_inputs",
                 "num_outputs"}
    assert finn_keys <= set(d)
    assert d["idt"] == ["BIPOLAR", "INT3"] and d["odt"] == ["INT8", "UINT2"]
    assert d["ishape_normal"] == [(1, 10), (1, 7)] and d["ishape_folded"] == [(1, 2, 5), (1, 1, 7)]
    assert d["ishape_packed"] == [(1, 2, 1), (1, 1, 3)] and d["oshape_packed"] == [(1, 5, 2), (1, 1, 1)]
    assert d["input_dma_name"] == ["idma0", "idma1"] and d["output_dma_name"] == ["odma0", "odma1"]
    assert d["number_of_external_weights"] == 1 and d["num_inputs"] == 2 and d["num_outputs"] == 2
    assert d["weight_dma_name"] == ["idma2"] and d["external_weights_bytes"] == {"idma2": 12}


def test_execute_folds_packs_copies_and_unpacks(make_driver):
    d, drv, base, sysm = make_driver(plan_one(), fn_one)
    assert drv.io_shape_dict["idt"] == [base.DataType["UINT4"]] and drv.fclk_mhz == 100.0
    accel = base.FINNExampleOverlay("x.bit", "sim", drv.io_shape_dict, batch_size=3)
    x = np.random.default_rng(0).integers(0, 16, size=(3, 4, 4, 6)).astype(np.float32)
    y = accel.execute(x)
    assert y.shape == (3, 4, 4, 6) and y.dtype == np.float32 and (y == x - 7).all()
    # FINN's protocol: output DMA first, each DMA: address low, high, count, then start
    regs = [(n, o) for n, o, _ in sysm.log]
    assert regs == [("odma0", 0x10), ("odma0", 0x14), ("odma0", 0x1C), ("odma0", 0),
                    ("idma0", 0x10), ("idma0", 0x14), ("idma0", 0x1C), ("idma0", 0)]
    assert [v for n, o, v in sysm.log if o == 0x1C] == [3, 3]
    # another batch size re-allocates; a second run works (done was cleared on read)
    x1 = x[:1]
    assert (accel.execute(x1) == x1 - 7).all() and accel.batch_size == 1
    assert accel.ip_dict.keys() == {"idma0", "odma0"}  # the overlay's attributes pass through


def test_execute_multi_io_and_external_weights(make_driver, tmp_path):
    plan = plan_two_weights(tmp_path)
    d, drv, base, sysm = make_driver(plan, fn_two)
    w = np.load(d / "runtime_weights" / "idma2.npy")
    # $readmemh beats, least significant byte first, 16-bit stream
    assert w.dtype == np.uint8 and w.tolist() == [0x23, 0x01, 0xff, 0x0f, 0, 0, 0x01, 0x08, 0xa5, 0x07, 0xc3, 0x00]
    rng = np.random.default_rng(1)
    a = rng.choice([-1.0, 1.0], size=(4, 10)).astype(np.float32)
    b = rng.integers(-4, 4, size=(4, 7)).astype(np.float32)
    accel = base.FINNExampleOverlay("x.bit", "sim", drv.io_shape_dict, batch_size=4,
                                    runtime_weight_dir=str(d / "runtime_weights"))
    y0, y1 = accel.execute([a, b])
    e0, e1 = fn_two([a, b])
    assert (y0 == e0).all() and (y1 == e1).all()
    assert (sysm.weights_seen["idma2"] == w).all()  # flushed to the device before the run
    order = [n for n, o, v in sysm.log if o == 0]
    assert order == ["idma2", "odma0", "odma1", "idma0", "idma1"]  # FINN: weights, outputs, inputs
    res = accel.throughput_test()
    assert "DRAM_extw_idma2_bandwidth[MB/s]" in res
    # the default folder is found next to driver_base.py from any working directory
    accel2 = base.FINNExampleOverlay("x.bit", "sim", drv.io_shape_dict)
    assert len(accel2.external_weights) == 1


def test_missing_weights_and_wrong_overlay_are_clear_errors(make_driver, tmp_path):
    plan = plan_two_weights(tmp_path)
    d, drv, base, sysm = make_driver(plan, fn_two)
    with pytest.raises(base.DriverError, match="idma2.npy not found") as e:
        base.FINNExampleOverlay("x.bit", "sim", drv.io_shape_dict, runtime_weight_dir=str(tmp_path / "nowhere"))
    assert "runtime_weight_dir" in e.value.hint
    bad = dict(drv.io_shape_dict, output_dma_name=["odma7", "odma1"])
    with pytest.raises(base.DriverError, match="no DMA odma7"):
        base.FINNExampleOverlay("x.bit", "sim", bad)
    with pytest.raises(base.DriverError, match="alveo"):
        base.FINNExampleOverlay("x.bit", "alveo", drv.io_shape_dict)


def test_wrong_input_shape_and_values(make_driver):
    d, drv, base, sysm = make_driver(plan_one(), fn_one)
    accel = base.FINNExampleOverlay("x.bit", "sim", drv.io_shape_dict, batch_size=2)
    with pytest.raises(base.DriverError, match=r"takes \(2, 4, 4, 6\)"):
        accel.execute(np.zeros((2, 4, 4, 5), np.float32))
    with pytest.raises(base.DriverError, match="UINT4"):
        accel.execute(np.full((2, 4, 4, 6), 16, np.float32))


def test_throughput_test_keys(make_driver):
    d, drv, base, sysm = make_driver(plan_one(), fn_one)
    accel = base.FINNExampleOverlay("x.bit", "sim", drv.io_shape_dict, batch_size=10)
    res = accel.throughput_test()
    finn_keys = ["runtime[ms]", "throughput[images/s]", "DRAM_in_bandwidth[MB/s]", "DRAM_out_bandwidth[MB/s]",
                 "fclk[mhz]", "batch_size", "fold_input[ms]", "pack_input[ms]", "copy_input_data_to_device[ms]",
                 "copy_output_data_from_device[ms]", "unpack_output[ms]", "unfold_output[ms]"]
    assert all(k in res for k in finn_keys)
    # sim: the runtime is simulated cycles / fclk (the fake: 1000 per frame + 10 per register read)
    assert res["batch_size"] == 10 and res["fclk[mhz]"] == 100.0
    assert 10000 <= res["cycles"] < 10000 + 10 * 20
    assert res["runtime[ms]"] == pytest.approx(res["cycles"] / 100e6 * 1e3)
    assert res["throughput[images/s]"] == pytest.approx(10 / (res["cycles"] / 100e6))
    assert res["DRAM_in_bandwidth[MB/s]"] == pytest.approx(10 * 32 * 2 * 1e-6 / (res["cycles"] / 100e6))


def test_command_line_execute_and_throughput(make_driver, tmp_path, monkeypatch):
    d, drv, base, sysm = make_driver(plan_one(), fn_one)
    monkeypatch.chdir(tmp_path)
    x = np.random.default_rng(2).integers(0, 16, size=(5, 4, 4, 6)).astype(np.float32)
    np.save("input.npy", x)
    assert drv.main(["--platform", "sim"]) == 0  # FINN's defaults: input.npy -> output.npy, batch from the file
    assert (np.load("output.npy") == x - 7).all()
    assert drv.main(["--platform", "sim", "--exec_mode", "throughput_test", "--batchsize", "7"]) == 0
    res = ast.literal_eval(open("nw_metrics.txt").read())
    assert res["batch_size"] == 7 and "throughput[images/s]" in res
    # the default bitfile is the one the package ships
    assert os.path.normpath(drv.default_bitfile) == str(d.parent / "bitfile" / "finn-accel.bit")
    assert drv.main(["--platform", "sim", "--inputfile", "missing.npy"]) == 2
    # an error of the simulation (it carries a hint) is one clear line, not a traceback

    def stuck(off):
        from streamfold.errors import StreamfoldError
        raise StreamfoldError("the simulated system is stuck", hint="check the DMA counts")

    monkeypatch.setattr(sysm.dmas["odma0"], "read", stuck)
    assert drv.main(["--platform", "sim"]) == 2


def test_validate_on_fashion_mnist(make_driver, tmp_path, monkeypatch, capsys):
    """validate.py feeds the IDX test images; a fake accelerator that returns
    the true label for each image (looked up by its bytes) scores 100 %, one
    that returns label + 1 scores 0 %."""
    from streamfold.data import load_fashion_mnist

    imgs, labels = load_fashion_mnist("test", limit=250)
    table = {im.tobytes(): int(lb) for im, lb in zip(imgs, labels)}
    plan = [_entry("idma0", "input", "UINT8", [1, 784], 49, 0), _entry("odma0", "output", "UINT8", [1, 1], 1, 1)]
    shift = {"k": 0}

    def fn(ins):
        x = ins[0].astype(np.uint8).reshape(-1, 28, 28)
        return [np.array([[(table[im.tobytes()] + shift["k"]) % 10] for im in x], np.float32)]

    d, drv, base, sysm = make_driver(plan, fn)
    val = importlib.import_module("validate")
    assert val.main(["--platform", "sim", "--limit", "250", "--batchsize", "100"]) == 0
    out = capsys.readouterr().out
    assert "batch 3 / 3 : total OK 250 NOK 0" in out and "Final accuracy: 100.000000" in out
    shift["k"] = 1
    assert val.main(["--platform", "sim", "--limit", "30", "--batchsize", "30"]) == 0
    assert "Final accuracy: 0.000000" in capsys.readouterr().out
    assert val.main(["--platform", "sim", "--dataset_root", str(tmp_path)]) == 2
    assert "dataset-fashion-mnist" in capsys.readouterr().err


def test_driver_base_template_inlines_the_packer():
    src = driver_base_source()
    assert "def pack(" in src and "def unpack(" in src and "@@INLINE" not in src
    ns = {"__name__": "driver_base_check", "__file__": "driver_base.py"}
    exec(compile(src, "driver_base.py", "exec"), ns)
    x = np.arange(-4, 4, dtype=np.float32).reshape(2, 4)
    ref = finnpy_to_packed_bytearray(x, DataType["INT3"], reverse_inner=True, reverse_endian=True)
    assert (ns["pack"](x, "INT3") == ref).all()


def test_weight_bytes_from_the_stitchers_npy(tmp_path):
    """The stitcher's <node>_wstream.npy (uint8 (pass_beats, bytes), relative
    to the stitched folder) becomes runtime_weights/<dma>.npy as it is."""
    from streamfold.driver.make import weight_bytes
    from streamfold.errors import StreamfoldError

    beats = np.arange(18, dtype=np.uint8).reshape(6, 3)
    np.save(tmp_path / "MVAU_1_wstream.npy", beats)
    e = {"name": "idma1", "node": "MVAU_1", "sw": 24, "frame_beats": 6, "weights_file": "MVAU_1_wstream.npy"}
    assert (weight_bytes(e, str(tmp_path)) == beats.reshape(-1)).all()
    with pytest.raises(StreamfoldError, match="18 bytes, the DMA reads 21"):
        weight_bytes(dict(e, frame_beats=7), str(tmp_path))
    with pytest.raises(StreamfoldError, match="not found"):
        weight_bytes(e, str(tmp_path / "elsewhere"))


def test_steps_write_driver_and_deployment_package(tmp_path, monkeypatch):
    """step_make_pynq_driver + step_deployment_package on a model whose
    stitched design and DMA plan are stand-ins: FINN's layout, contents,
    with and without a bitfile."""
    import onnx
    from onnx import TensorProto, helper

    import streamfold as sf
    from streamfold.builder import DataflowBuildConfig, hw_steps, system
    from streamfold.builder.pynq_steps import step_deployment_package, step_make_pynq_driver
    from streamfold.errors import StreamfoldError

    g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "tiny_accel",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = sf.ModelWrapper(helper.make_model(g).SerializeToString())
    cfg = DataflowBuildConfig(output_dir=str(tmp_path / "out"), board="Pynq-Z2", synth_clk_period_ns=8.0,
                              generate_outputs=["pynq_driver", "deployment_package"])
    with pytest.raises(StreamfoldError, match="no stitched design"):
        step_make_pynq_driver(model, cfg)
    plan = plan_two_weights(tmp_path)
    stitched = tmp_path / "stitched"
    stitched.mkdir()
    monkeypatch.setattr(hw_steps, "stitched_dir", lambda m: str(stitched))
    monkeypatch.setattr(system, "dma_plan", lambda m, d: plan)
    import streamfold.rtlsim.system as rsys

    def fake_write_system(m, sd, out, clk_ns=10.0):  # the lead's system simulation (tested in its own tests)
        import shutil
        shutil.rmtree(out, ignore_errors=True)  # as the real one: a fresh folder swapped in
        os.makedirs(out)
        open(os.path.join(out, "sf_system.json"), "w").write(str(clk_ns))

    monkeypatch.setattr(rsys, "write_system", fake_write_system)
    with pytest.raises(StreamfoldError, match="no PYNQ driver"):
        step_deployment_package(model, cfg)
    model = step_make_pynq_driver(model, cfg)
    drv = tmp_path / "out" / "driver"
    assert model.get_metadata_prop("pynq_driver_dir") == str(drv)
    assert sorted(os.listdir(drv)) == ["driver.py", "driver_base.py", "runtime_weights", "validate.py"]
    assert os.listdir(drv / "runtime_weights") == ["idma2.npy"]
    assert "fclk_mhz = 125.0" in (drv / "driver.py").read_text()
    assert "external weight DMA" in model._step_note
    model = step_deployment_package(model, cfg)
    dep = tmp_path / "out" / "deploy"
    assert sorted(os.listdir(dep)) == ["bitfile", "driver", "sim"] and os.listdir(dep / "bitfile") == []
    assert (dep / "sim" / "sf_system.json").read_text() == "8.0"
    assert sorted(os.listdir(dep / "driver")) == sorted(os.listdir(drv))
    assert (dep / "driver" / "driver_base.py").read_text() == (drv / "driver_base.py").read_text()
    assert "no bitfile" in model._step_note and "--platform sim" in model._step_note
    # with Vivado's outputs in <output_dir>/bitfile, the package ships them
    (tmp_path / "out" / "bitfile").mkdir()
    for f in ("finn-accel.bit", "finn-accel.hwh", "vivado.log"):
        (tmp_path / "out" / "bitfile" / f).write_text(f)
    model = step_deployment_package(model, cfg)
    assert sorted(os.listdir(dep / "bitfile")) == ["finn-accel.bit", "finn-accel.hwh"]
    # the driver's default bitfile is the packaged one
    sys.path.insert(0, str(dep / "driver"))
    try:
        for m in ("driver", "driver_base"):
            sys.modules.pop(m, None)
        d = importlib.import_module("driver")
        assert os.path.samefile(d.default_bitfile, dep / "bitfile" / "finn-accel.bit")
    finally:
        sys.path.remove(str(dep / "driver"))
        for m in ("driver", "driver_base"):
            sys.modules.pop(m, None)
    # not asked for: skipped with a note
    cfg2 = DataflowBuildConfig(output_dir=str(tmp_path / "out2"), board="Pynq-Z2", generate_outputs=["stitched_ip"])
    assert "skipped" in step_make_pynq_driver(model, cfg2)._step_note
    assert not os.path.exists(tmp_path / "out2" / "driver")


def test_validate_pixel_table_replaces_host_side_nodes():
    """TFC's input quantizer stays on the host; the build tabulates it per
    pixel byte (model input = pixel / 255), checked on real test images."""
    import rtl_zoo

    from streamfold.builder.build import _with_child
    from streamfold.builder.pynq_steps import _host_pixel_table
    from streamfold.data import load_fashion_mnist

    cfg, parent, child = rtl_zoo.folded("tfc_w1a1")
    table, why = _host_pixel_table(parent, child, n_check=5)
    assert table is not None, why
    assert table.shape == (256,) and set(np.unique(table)) <= {0.0, 1.0}  # BINARY accelerator input
    assert table[0] == 0 and table[255] == 1 and (np.diff(table) >= 0).all()  # a threshold on the pixel
    imgs, _ = load_fashion_mnist("test", limit=3)
    full = sf_exec(_with_child(parent, child), imgs[2].astype(np.float32).reshape(1, 1, 28, 28) / 255,
                   child._model.runtime_input_names()[0])
    assert (table[imgs[2].reshape(-1)] == full.reshape(-1)).all()
    assert _host_pixel_table(None, child)[0] is None  # no host part: the images' bytes go in as they are


def sf_exec(model, x, tensor):
    import streamfold as sf
    return sf.execute_onnx(model, {model.graph.input[0].name: x}, return_full_exec_context=True)[tensor]
