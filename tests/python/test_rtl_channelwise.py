"""ChannelwiseOp RTL (sf_channelwise): per-channel add, mul, cmp_le and cmp_ge
with parameters from the initializer in a ROM (distributed or block), PE
folds, signed/unsigned/bipolar inputs, signed/unsigned parameters, random gaps
and stalls; one beat per cycle (estimate().cycles)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtl_stream_util import check, node_model, rand_values



def dt_range(dt):
    if dt == "BIPOLAR":
        return -1, 1
    bits = int(dt.lstrip("UINT"))
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if dt.startswith("INT") else (0, (1 << bits) - 1)


def out_type(func, idt, pdt):
    if func.startswith("cmp"):
        return "BINARY"
    (a, b), (c, d) = dt_range(idt), dt_range(pdt)
    vals = [a + c, b + d] if func == "add" else [a * c, a * d, b * c, b * d]
    lo, hi = min(vals + [0]), max(vals)
    if lo >= 0:
        return f"UINT{max(1, int(hi).bit_length())}"
    bits = max((-lo - 1).bit_length(), int(hi).bit_length()) + 1
    return f"INT{bits}"


def cw_model(niv, c, pe, func, idt, pdt, broadcast=False, ram_style="auto", n=3, seed=0):
    """The single-node ChannelwiseOp model with random parameters and its input
    x, both drawn from `seed` (test_hls_channelwise.py uses the same)."""
    shape = (n,) + tuple(niv[1:]) + (c,)
    rng = np.random.default_rng(seed)
    p = rand_values(rng, pdt, (1,) if broadcast else (c,))
    m = node_model("ChannelwiseOp", [("x", shape, idt)], [("y", shape)], inits={"P": p},
                   NumChannels=c, PE=pe, Func=func, numInputVectors=list(niv), inputDataType=idt, paramDataType=pdt,
                   outputDataType=out_type(func, idt, pdt), ram_style=ram_style)
    return m, {"x": rand_values(rng, idt, shape)}


def run_cw(niv, c, pe, func, idt, pdt, broadcast=False, ram_style="auto", n=3, seed=0, runs=None):
    m, xs = cw_model(niv, c, pe, func, idt, pdt, broadcast, ram_style, n, seed)
    return check(m, xs, **({} if runs is None else {"runs": runs}))


DESIGNS = [
    # numInputVectors, C, PE, Func, idt, pdt, broadcast, ram_style
    ([1, 7, 5], 13, 1, "add", "INT4", "INT6", False, "auto"),
    ([1, 3, 3], 6, 3, "mul", "UINT3", "INT5", False, "block"),
    ([1, 5], 4, 4, "cmp_le", "INT8", "INT8", False, "auto"),
    ([1, 2, 3], 9, 3, "cmp_ge", "BIPOLAR", "INT2", True, "distributed"),
]


@pytest.mark.parametrize("niv,c,pe,func,idt,pdt,bc,style", DESIGNS)
def test_channelwise_designs(niv, c, pe, func, idt, pdt, bc, style):
    run_cw(niv, c, pe, func, idt, pdt, bc, style)


DTS = ["INT4", "UINT3", "INT8", "UINT1", "INT2"]


@pytest.mark.full
@given(h=st.integers(1, 5), w=st.integers(1, 5), c=st.integers(1, 13), pe_i=st.integers(0, 12),
       func=st.sampled_from(["add", "mul", "cmp_le", "cmp_ge"]), idt=st.sampled_from(DTS + ["BIPOLAR"]),
       pdt=st.sampled_from(DTS), bc=st.booleans(), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_channelwise_sweep(h, w, c, pe_i, func, idt, pdt, bc, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    run_cw([1, h, w], c, divs[pe_i % len(divs)], func, idt, pdt, bc, seed=seed,
           runs=((0.0, 0.0, seed), (0.4, 0.4, seed + 1)))
