"""Pool RTL (FINN's Pool_Batch behind a depthwise sliding window): MaxPool,
AccPool and QuantAvgPool (sum, then shift) bit-exact against the op's
reference under random input gaps and output stalls; the input travels in the
depthwise SWG order, which the harness applies from the layer's order spec.
Plus the measured frame interval against estimate().cycles."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_rtl_swg import check, node_model, rand_values


def pool_model(od, k, c, pe, func, idt, odt=None, n=3):
    """The single-node Pool model (test_hls_pool.py builds the same)."""
    kk = k[0] * k[1]
    attrs = dict(Channels=c, PE=pe, KernelSize=list(k), OutImgDims=list(od), Function=func, InputDataType=idt)
    if odt:
        attrs["OutputDataType"] = odt
    return node_model("Pool", (n, od[0], od[1], kk * c), (n, od[0], od[1], c), in_dt=idt, **attrs)


def run_pool(od, k, c, pe, func, idt, odt=None, n=3, seed=0, runs=None):
    kk = k[0] * k[1]
    m = pool_model(od, k, c, pe, func, idt, odt, n)
    x = rand_values(np.random.default_rng(seed), idt, (n, od[0], od[1], kk * c))
    return check(m, x, **({} if runs is None else {"runs": runs}))


DESIGNS = [
    # out dims, kernel, C, PE, function, in type, out type
    ([3, 2], [3, 3], 13, 1, "MaxPool", "INT4", None),
    ([2, 3], [2, 3], 6, 3, "QuantAvgPool", "UINT4", "UINT4"),
    ([3, 1], [5, 1], 4, 2, "AccPool", "INT3", None),
    ([2, 2], [2, 2], 4, 4, "QuantAvgPool", "INT4", "INT4"),
    ([2, 3], [3, 1], 5, 5, "MaxPool", "BIPOLAR", None),
]


@pytest.mark.parametrize("od,k,c,pe,func,idt,odt", DESIGNS)
def test_pool_designs(od, k, c, pe, func, idt, odt):
    run_pool(od, k, c, pe, func, idt, odt)


def test_pool_avg_float_has_no_rtl(tmp_path):
    import streamfold as sf
    from streamfold import rtlsim
    m = node_model("Pool", (1, 2, 2, 4 * 2), (1, 2, 2, 2), in_dt="UINT4", Channels=2, PE=1, KernelSize=[2, 2],
                   OutImgDims=[2, 2], Function="AvgPool", InputDataType="UINT4")
    with pytest.raises(sf.UnsupportedOpError, match="float mean"):
        rtlsim.emit_node(m, "Pool_0", tmp_path / "l")


# The sweep's strategies (also the FIFO schedule tests').
POOL_SWEEP = dict(oh=st.integers(1, 4), ow=st.integers(1, 4), kh=st.integers(1, 5), kw=st.integers(1, 5),
                  c=st.integers(1, 13), pe_i=st.integers(0, 12), func=st.sampled_from(["MaxPool", "AccPool", "QuantAvgPool"]),
                  idt=st.sampled_from(["INT4", "UINT2", "UINT8", "INT8", "BIPOLAR"]), obits=st.integers(2, 8),
                  seed=st.integers(0, 2 ** 16))


@pytest.mark.full
@given(**POOL_SWEEP)
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_pool_sweep(oh, ow, kh, kw, c, pe_i, func, idt, obits, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    odt = None
    if func == "QuantAvgPool":
        odt = f"{'INT' if idt.startswith('INT') else 'UINT'}{obits}"
        if idt == "BIPOLAR":
            return
    run_pool([oh, ow], [kh, kw], c, divs[pe_i % len(divs)], func, idt, odt, seed=seed,
             runs=((0.0, 0.0, seed), (0.4, 0.4, seed + 1)))
