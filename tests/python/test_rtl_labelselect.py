"""LabelSelect RTL (sf_labelselect): the K largest labels per row, largest
first, ties to the lower index exactly as the reference (stable sort), PE
candidates per beat, K from 1 to Labels, narrow types so that ties are common,
random gaps and stalls; a row takes max(Labels/PE, K) cycles
(estimate().cycles)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtl_stream_util import check, node_model, rand_values


def run_ls(labels, pe, k, dt, rows=1, n=4, seed=0, runs=None):
    lead = (rows,) if rows > 1 else ()
    m = node_model("LabelSelect", [("x", (n,) + lead + (labels,), dt)], [("y", (n,) + lead + (k,))], Labels=labels,
                   PE=pe, K=k, inputDataType=dt, numInputVectors=[1, rows] if rows > 1 else [1])
    x = rand_values(np.random.default_rng(seed), dt, (n,) + lead + (labels,))
    return check(m, {"x": x}, **({} if runs is None else {"runs": runs}))


DESIGNS = [
    # Labels, PE, K, dtype, rows
    (10, 1, 3, "INT4", 1),
    (10, 5, 1, "UINT2", 1),     # many ties
    (12, 4, 12, "INT3", 3),     # K = Labels, K > Labels/PE
    (7, 7, 2, "BIPOLAR", 2),
    (13, 1, 5, "INT8", 1),
]


@pytest.mark.parametrize("labels,pe,k,dt,rows", DESIGNS)
def test_labelselect_designs(labels, pe, k, dt, rows):
    run_ls(labels, pe, k, dt, rows)


@pytest.mark.full
@given(labels=st.integers(1, 20), pe_i=st.integers(0, 20), k_i=st.integers(0, 20), rows=st.integers(1, 3),
       dt=st.sampled_from(["INT4", "UINT2", "BIPOLAR", "INT8", "UINT1", "INT2"]), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_labelselect_sweep(labels, pe_i, k_i, rows, dt, seed):
    divs = [v for v in range(1, labels + 1) if labels % v == 0]
    run_ls(labels, divs[pe_i % len(divs)], 1 + k_i % labels, dt, rows, seed=seed,
           runs=((0.0, 0.0, seed), (0.4, 0.4, seed + 1)))
