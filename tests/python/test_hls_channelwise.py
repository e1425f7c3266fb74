"""ChannelwiseOp HLS (hlslib/sf_channelwise.hpp) in cppsim against the
reference: add, mul, cmp_le, cmp_ge, per-channel and broadcast parameters,
PE folds, signed/unsigned/bipolar inputs (the RTL test's designs). The wide
sweep is @pytest.mark.full."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hls_test_util import check_cppsim, same_beats_as_rtl
from test_rtl_channelwise import DESIGNS, DTS, cw_model


def run_cw(niv, c, pe, func, idt, pdt, broadcast=False, ram_style="auto", n=3, seed=0, beats_dir=None):
    m, xs = cw_model(niv, c, pe, func, idt, pdt, broadcast, ram_style, n, seed)
    if beats_dir is not None:
        return same_beats_as_rtl(m, xs, beats_dir)
    return check_cppsim(m, xs)


@pytest.mark.parametrize("niv,c,pe,func,idt,pdt,bc,style", DESIGNS)
def test_channelwise_hls_designs(niv, c, pe, func, idt, pdt, bc, style):
    for seed in (0, 1):
        run_cw(niv, c, pe, func, idt, pdt, bc, style, seed=seed)


@pytest.mark.parametrize("niv,c,pe,func,idt,pdt,bc,style", DESIGNS)
def test_channelwise_hls_beats_equal_rtl(niv, c, pe, func, idt, pdt, bc, style, tmp_path):
    """Same input beats into the HLS and the RTL layer: identical output beats."""
    run_cw(niv, c, pe, func, idt, pdt, bc, style, seed=5, beats_dir=tmp_path)


@pytest.mark.full
@given(h=st.integers(1, 5), w=st.integers(1, 5), c=st.integers(1, 13), pe_i=st.integers(0, 12),
       func=st.sampled_from(["add", "mul", "cmp_le", "cmp_ge"]), idt=st.sampled_from(DTS + ["BIPOLAR"]),
       pdt=st.sampled_from(DTS), bc=st.booleans(), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=30, suppress_health_check=list(HealthCheck))
def test_channelwise_hls_sweep(h, w, c, pe_i, func, idt, pdt, bc, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    run_cw([1, h, w], c, divs[pe_i % len(divs)], func, idt, pdt, bc, seed=seed)
