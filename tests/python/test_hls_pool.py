"""Pool HLS layer (hlslib/sf_pool.hpp, FINN's Pool_Batch behind a depthwise
sliding window) in cppsim: MaxPool, AccPool and QuantAvgPool bit-exact against
the op's reference; the input travels in the depthwise SWG order (as the RTL
layer's), which the harness applies from the layer's order spec. AvgPool
(a float mean) is a typed error, as in the RTL back end."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamfold.errors import UnsupportedOpError
from hls_test_util import check_cppsim, emit, same_beats_as_rtl
from test_rtl_pool import DESIGNS as RTL_DESIGNS, pool_model  # the RTL layer's designs and model
from test_rtl_swg import rand_values


def run_pool(od, k, c, pe, func, idt, odt=None, n=3, seeds=(0, 1)):
    m = pool_model(od, k, c, pe, func, idt, odt, n)
    kk = k[0] * k[1]
    for seed in seeds:
        check_cppsim(m, {"x": rand_values(np.random.default_rng(seed), idt, (n, od[0], od[1], kk * c))})


DESIGNS = RTL_DESIGNS + [
    # out dims, kernel, C, PE, function, in type, out type
    ([2, 1], [2, 2], 4, 2, "AccPool", "BIPOLAR", None),  # the sum is an INT, not a BIPOLAR
]


@pytest.mark.parametrize("od,k,c,pe,func,idt,odt", DESIGNS)
def test_pool_designs(od, k, c, pe, func, idt, odt):
    run_pool(od, k, c, pe, func, idt, odt)


def test_pool_avgpool_is_unsupported(tmp_path):
    m = pool_model([2, 2], [2, 2], 4, 2, "AvgPool", "UINT4", None, 1)
    with pytest.raises(UnsupportedOpError, match="Pool_0.*AvgPool"):
        emit(m, tmp_path)


@pytest.mark.full
@given(oh=st.integers(1, 4), ow=st.integers(1, 4), kh=st.integers(1, 4), kw=st.integers(1, 4), c=st.integers(1, 12),
       pe_i=st.integers(0, 12), func=st.sampled_from(["MaxPool", "AccPool", "QuantAvgPool"]),
       idt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8", "UINT1", "INT2", "UINT8"]),
       obits=st.integers(1, 8), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_pool_sweep(oh, ow, kh, kw, c, pe_i, func, idt, obits, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    odt = None
    if func == "QuantAvgPool":
        if idt == "BIPOLAR":
            return  # QuantAvgPool2d works on integer codes, not on bipolar values
        odt = ("INT" if idt.startswith("INT") else "UINT") + str(max(obits, 2 if idt.startswith("INT") else 1))
    run_pool([oh, ow], [kh, kw], c, divs[pe_i % len(divs)], func, idt, odt, seeds=(seed,))


def test_pool_beats_match_rtl(tmp_path):
    # The input arrives in the depthwise SWG order; HLS and RTL must read it
    # alike. (test_rtl_pool builds the same RTL design.)
    m = pool_model([3, 2], [3, 3], 13, 1, "MaxPool", "INT4", None, 3)
    same_beats_as_rtl(m, {"x": rand_values(np.random.default_rng(5), "INT4", (3, 3, 2, 9 * 13))}, tmp_path)


@pytest.mark.full
def test_pool_bipolar_accpool_beats_match_rtl(tmp_path):
    # Both emitters take the output encoding from the op's inferred type
    # (an AccPool of BIPOLAR inputs sums to an INT; it used to go out as {0,1}).
    m = pool_model([2, 1], [2, 2], 4, 2, "AccPool", "BIPOLAR", None, 3)
    same_beats_as_rtl(m, {"x": rand_values(np.random.default_rng(5), "BIPOLAR", (3, 2, 1, 16))}, tmp_path)
