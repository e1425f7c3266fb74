"""ConvolutionInputGenerator (sliding window) RTL: bit-exact against the op's
reference (Im2Col order; the depthwise stream order is undone by the harness
from the layer's order spec), under random input gaps and output stalls, and
the measured frame interval against estimate().cycles."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

import streamfold as sf
from streamfold import _core, rtlsim
from streamfold.core.modelwrapper import ModelWrapper

# ----------------------------------------------------------------------------
# Shared by the window ops' RTL tests (test_rtl_fmpadding/maxpool/pool import
# these): single-node HW graphs, reference vs Verilator, the cycle check.

HW = "finn.custom_op.fpgadataflow"


def node_model(op_type, in_shape, out_shape, in_dt=None, **attrs):
    """A one-node HW graph x -> y (node name <op_type>_0), as a ModelWrapper
    with x annotated with datatype in_dt."""
    vi = lambda n, s: helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s))  # noqa: E731
    node = helper.make_node(op_type, ["x"], ["y"], domain=HW, name=f"{op_type}_0", **attrs)
    g = helper.make_graph([node], "g", [vi("x", in_shape)], [vi("y", out_shape)])
    mw = ModelWrapper(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(HW, 1)]))
    if in_dt:
        mw.set_tensor_datatype("x", in_dt)
    return mw


def rand_values(rng, dt, shape):
    """Random legal values of QONNX datatype name dt."""
    if dt == "BIPOLAR":
        return rng.choice([-1.0, 1.0], size=shape).astype(np.float32)
    if dt == "BINARY":
        return rng.integers(0, 2, size=shape).astype(np.float32)
    bits = int(dt.lstrip("UINT"))
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if dt.startswith("INT") else (0, (1 << bits) - 1)
    return rng.integers(lo, hi + 1, size=shape).astype(np.float32)


def estimate(model, name):
    return dict(_core.hw_estimate(model._model, name))


def check(model, x, runs=((0.0, 0.0, 1), (0.3, 0.3, 2), (0.5, 0.1, 3), (0.1, 0.6, 4)), cycles_tol=0.05):
    """Bit-exact against the reference on every run (in_gap, out_stall, seed;
    registers start random from the second run on, so nothing relies on an
    initial value the reset does not set); the first run must be gap-free and
    sets the cycle check."""
    name = model.graph.node[0].name
    want = sf.execute_onnx(model, {"x": x})["y"]
    est = estimate(model, name)["cycles"]
    first = None
    for gap, stall, seed in runs:
        r = rtlsim.simulate_node(model, name, [x], in_gap=gap, out_stall=stall, seed=seed,
                                 rand_reset=first is not None)
        np.testing.assert_array_equal(r.outputs[0], want, err_msg=f"gap={gap} stall={stall} seed={seed}")
        if first is None:
            first = r
    if cycles_tol is not None and x.shape[0] > 1 and runs[0][:2] == (0.0, 0.0):
        assert abs(first.interval_cycles - est) <= cycles_tol * est + 1, (first.interval_cycles, est)
    return first, est


# ---------------------------------------------------------------------------- SWG


def swg_model(ifm, k, s, d, c, simd, dt="UINT4", dw=0, ram_style="auto", n=1):
    ofm = [(ifm[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
    m = node_model("ConvolutionInputGenerator", (n, ifm[0], ifm[1], c), (n, ofm[0], ofm[1], k[0] * k[1] * c),
                   in_dt=dt, ConvKernelDim=list(k), IFMDim=list(ifm), OFMDim=ofm, Stride=list(s), Dilation=list(d),
                   IFMChannels=c, SIMD=simd, inputDataType=dt, outputDataType=dt, depthwise=dw, ram_style=ram_style)
    return m


def run_swg(ifm, k, s, d, c, simd, dt="UINT4", dw=0, ram_style="auto", n=3, seed=0, runs=None):
    m = swg_model(ifm, k, s, d, c, simd, dt, dw, ram_style, n)
    x = rand_values(np.random.default_rng(seed), dt, (n, ifm[0], ifm[1], c))
    return check(m, x, **({} if runs is None else {"runs": runs}))


# A handful of designs (one Verilator build each), several seeds each.
DESIGNS = [
    # ifm,   kernel,  stride, dilation, C, SIMD, dtype, depthwise, ram_style
    ([7, 5], [3, 3], [1, 1], [1, 1], 13, 1, "UINT4", 0, "auto"),
    ([7, 5], [3, 2], [2, 1], [1, 2], 4, 2, "INT3", 1, "distributed"),
    ([1, 9], [1, 3], [1, 2], [1, 2], 6, 3, "BIPOLAR", 0, "auto"),
    ([7, 5], [5, 5], [1, 1], [1, 1], 3, 3, "INT8", 0, "block"),
    ([8, 8], [3, 3], [3, 3], [2, 2], 2, 1, "UINT2", 1, "auto"),
]


@pytest.mark.parametrize("ifm,k,s,d,c,simd,dt,dw,rs", DESIGNS)
def test_swg_designs(ifm, k, s, d, c, simd, dt, dw, rs):
    run_swg(ifm, k, s, d, c, simd, dt, dw, rs)


def sweep_geometry(h, w, kh, kw, sh, sw, dh, dw_):
    """A drawn sweep geometry as ([h, w], k, stride, dilation): a 1-pixel axis
    gets a 1-wide window; None when the window does not fit (test_hls_swg.py
    sweeps the same way)."""
    if h == 1:
        kh, dh, sh = 1, 1, 1
    if w == 1:
        kw, dw_, sw = 1, 1, 1
    if dh * (kh - 1) + 1 > h or dw_ * (kw - 1) + 1 > w:
        return None
    return [h, w], [kh, kw], [sh, sw], [dh, dw_]


@pytest.mark.full
@given(h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 5), kw=st.integers(1, 5),
       sh=st.integers(1, 3), sw=st.integers(1, 3), dh=st.integers(1, 2), dw_=st.integers(1, 2),
       c=st.integers(1, 13), simd_i=st.integers(0, 12), depthwise=st.integers(0, 1),
       dt=st.sampled_from(["UINT4", "INT2", "BIPOLAR", "INT8"]), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=40, derandomize=True, suppress_health_check=list(HealthCheck))
def test_swg_sweep(h, w, kh, kw, sh, sw, dh, dw_, c, simd_i, depthwise, dt, seed):
    g = sweep_geometry(h, w, kh, kw, sh, sw, dh, dw_)
    if g is None:
        return
    divs = [v for v in range(1, c + 1) if c % v == 0]
    simd = divs[simd_i % len(divs)]
    run_swg(*g, c, simd, dt, depthwise, seed=seed,
            runs=((0.0, 0.0, seed), (0.4, 0.4, seed + 1)))
