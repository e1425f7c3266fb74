"""Stream schedule models (OpDef::schedule, used by FIFO sizing) of the stream
plumbing ops against their RTL, beat by beat: StreamingDataWidthConverter
(narrowing, widening, widths neither of which divides the other),
AddStreams (both inputs taken in one cycle), DuplicateStreams (2+ outputs,
each always ready), StreamingConcat (1+ inputs in turn), LabelSelect (K
indices after the row's last beat, rows at least K cycles apart) and
GlobalAccPool. Each layer runs alone in Verilator with an always-ready sink
and input gaps 0 and 0.3 over at least 3 frames; the model, given the same
input offer cycles, must put every input take and output offer at the RTL's
cycle exactly. The model's steady-state frame interval (inputs always there)
must equal estimate().cycles."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtl_stream_util import estimate, node_model, rand_values
from schedule_test_util import check_schedule
from streamfold import _core
from test_rtl_addstreams import ADD_SWEEP, add_model
from test_rtl_duplicatestreams import dup_model
from test_rtl_dwc import BITS as DWC_BITS
from test_rtl_dwc import dwc_model
from test_rtl_streaming_concat import cat_model, CONCAT_SWEEP

SWEEP = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def divisor(c, i):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    return divs[i % len(divs)]


def model_interval(model, node, frames=5):
    """The model's frame interval once settled: every input beat there from
    cycle 0, cycles between the last output beats of the last two frames (on
    every output port, which must agree)."""
    raw = model._model
    s = _core.hw_schedule(raw, node)
    arrivals = [[0] * (frames * b) for b in s["in_beats"]]
    t = _core.hw_schedule_times(raw, node, frames, arrivals)
    got = set()
    for q, ob in enumerate(s["out_beats"]):
        out = t["out_take"][q]
        got.add(out[frames * ob - 1] - out[(frames - 1) * ob - 1])
    assert len(got) == 1, got
    return got.pop()


def check(model, inputs, gaps=((0.0, 1), (0.3, 2))):
    node = model.graph.node[0].name
    arrays = [inputs[i] for i in model.graph.node[0].input if i in inputs]
    assert arrays[0].shape[0] >= 3
    check_schedule(model, node, arrays, gaps=gaps)
    assert model_interval(model, node) == estimate(model, node)["cycles"]


def seeds(seed):
    return ((0.0, seed), (0.3, seed + 1))


# ------------------------------------------------------------------ DWC

def dwc_case(shape, ie, oe, dt, seed=0, gaps=((0.0, 1), (0.3, 2))):
    m = dwc_model(shape, ie, oe, dt, DWC_BITS[dt], 3)
    x = rand_values(np.random.default_rng(seed), dt, (3,) + tuple(shape))
    check(m, {"x": x}, gaps)


@pytest.mark.parametrize("shape,ie,oe,dt", [
    ((5, 12), 12, 4, "INT4"),     # narrowing 3:1: the input waits for room
    ((3, 3, 15), 1, 5, "UINT3"),  # widening 1:5
    ((7, 12), 4, 6, "BIPOLAR"),   # neither divides (gcd 2)
    ((4, 30), 6, 10, "INT8"),     # neither divides, wide -> wider
    ((3, 12), 6, 4, "INT4"),      # neither divides, narrowing
])
def test_dwc_schedule(shape, ie, oe, dt):
    dwc_case(shape, ie, oe, dt)


@pytest.mark.full
@given(rows=st.integers(1, 5), c=st.sampled_from([1, 2, 6, 12, 15, 20, 30]), i=st.integers(0, 20),
       o=st.integers(0, 20), dt=st.sampled_from(sorted(DWC_BITS)), seed=st.integers(0, 2 ** 16))
@settings(max_examples=40, **SWEEP)
def test_dwc_schedule_sweep(rows, c, i, o, dt, seed):
    dwc_case((rows, c), divisor(c, i), divisor(c, o), dt, seed, seeds(seed))


# ------------------------------------------------------------------ AddStreams

def add_case(niv, c, pe, dt0, dt1, seed=0, gaps=((0.0, 1), (0.3, 2))):
    m, inputs = add_model(niv, c, pe, dt0, dt1, 3)
    check(m, inputs(seed), gaps)


@pytest.mark.parametrize("niv,c,pe,dt0,dt1", [
    ([1, 7, 5], 13, 1, "INT4", "INT4"),
    ([1, 3, 3], 6, 3, "UINT3", "INT5"),
    ([1, 5], 4, 4, "BIPOLAR", "UINT2"),
])
def test_addstreams_schedule(niv, c, pe, dt0, dt1):
    add_case(niv, c, pe, dt0, dt1)


@pytest.mark.full
@given(**ADD_SWEEP)
@settings(max_examples=30, **SWEEP)
def test_addstreams_schedule_sweep(h, w, c, pe_i, dt0, dt1, seed):
    add_case([1, h, w], c, divisor(c, pe_i), dt0, dt1, seed, seeds(seed))


# ------------------------------------------------------------------ DuplicateStreams

def dup_case(niv, c, pe, dt, nout, seed=0, gaps=((0.0, 1), (0.3, 2))):
    m = dup_model(niv, c, pe, dt, nout, 3)
    x = rand_values(np.random.default_rng(seed), dt, (3,) + tuple(niv[1:]) + (c,))
    check(m, {"x": x}, gaps)


@pytest.mark.parametrize("niv,c,pe,dt,nout", [
    ([1, 7, 5], 13, 1, "INT4", 2),
    ([1, 3], 6, 3, "BIPOLAR", 3),
    ([1, 4, 3], 10, 10, "UINT8", 4),
])
def test_dup_schedule(niv, c, pe, dt, nout):
    dup_case(niv, c, pe, dt, nout)


@pytest.mark.full
@given(h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 13), pe_i=st.integers(0, 12),
       dt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8"]), nout=st.integers(2, 5), seed=st.integers(0, 2 ** 16))
@settings(max_examples=30, **SWEEP)
def test_dup_schedule_sweep(h, w, c, pe_i, dt, nout, seed):
    dup_case([1, h, w], c, divisor(c, pe_i), dt, nout, seed, seeds(seed))


# ------------------------------------------------------------------ StreamingConcat

def cat_case(niv, chans, simd, dt, seed=0, gaps=((0.0, 1), (0.3, 2))):
    m, ins = cat_model(niv, chans, simd, [dt] * len(chans), 3)
    rng = np.random.default_rng(seed)
    check(m, {name: rand_values(rng, dt, shape) for name, shape, _ in ins}, gaps)


@pytest.mark.parametrize("niv,chans,simd,dt", [
    ([1, 7, 5], [13, 5], 1, "INT4"),
    ([1, 3, 3], [6, 3, 9], 3, "UINT3"),
    ([1, 4], [2, 2, 2, 4], 2, "BIPOLAR"),
    ([1, 2], [7], 7, "INT8"),        # one input
])
def test_concat_schedule(niv, chans, simd, dt):
    cat_case(niv, chans, simd, dt)


@pytest.mark.full
@given(**CONCAT_SWEEP)
@settings(max_examples=30, **SWEEP)
def test_concat_schedule_sweep(h, w, nin, simd, mult, dt, seed):
    cat_case([1, h, w], [simd * m for m in mult[:nin]], simd, dt, seed, seeds(seed))


# ------------------------------------------------------------------ LabelSelect

def ls_case(labels, pe, k, dt, rows, seed=0, gaps=((0.0, 1), (0.3, 2))):
    # As test_rtl_labelselect.py builds it.
    lead = (rows,) if rows > 1 else ()
    m = node_model("LabelSelect", [("x", (3,) + lead + (labels,), dt)], [("y", (3,) + lead + (k,))], Labels=labels,
                   PE=pe, K=k, inputDataType=dt, numInputVectors=[1, rows] if rows > 1 else [1])
    check(m, {"x": rand_values(np.random.default_rng(seed), dt, (3,) + lead + (labels,))}, gaps)


@pytest.mark.parametrize("labels,pe,k,dt,rows", [
    (10, 1, 3, "INT4", 1),       # Labels/PE > K: the input sets the pace
    (12, 4, 12, "INT3", 3),      # K > Labels/PE: rows K cycles apart
    (7, 7, 2, "BIPOLAR", 2),     # one beat per row
])
def test_labelselect_schedule(labels, pe, k, dt, rows):
    ls_case(labels, pe, k, dt, rows)


@pytest.mark.full
@given(labels=st.integers(1, 20), pe_i=st.integers(0, 20), k_i=st.integers(0, 20), rows=st.integers(1, 3),
       dt=st.sampled_from(["INT4", "UINT2", "BIPOLAR", "INT8", "UINT1", "INT2"]), seed=st.integers(0, 2 ** 16))
@settings(max_examples=30, **SWEEP)
def test_labelselect_schedule_sweep(labels, pe_i, k_i, rows, dt, seed):
    ls_case(labels, divisor(labels, pe_i), 1 + k_i % labels, dt, rows, seed, seeds(seed))


# ------------------------------------------------------------------ GlobalAccPool

def gap_case(h, w, c, pe, dt, seed=0, gaps=((0.0, 1), (0.3, 2))):
    # As test_rtl_globalaccpool.py builds it.
    m = node_model("GlobalAccPool", [("x", (3, h, w, c), dt)], [("y", (3, 1, 1, c))], NumChannels=c, PE=pe,
                   numInputVectors=[1, h, w], inputDataType=dt)
    check(m, {"x": rand_values(np.random.default_rng(seed), dt, (3, h, w, c))}, gaps)


@pytest.mark.parametrize("h,w,c,pe,dt", [
    (7, 5, 13, 1, "INT4"),
    (3, 3, 6, 3, "UINT8"),
    (1, 1, 4, 4, "INT3"),        # one pixel, one beat: every beat is the last pixel's
])
def test_gap_schedule(h, w, c, pe, dt):
    gap_case(h, w, c, pe, dt)


@pytest.mark.full
@given(h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 13), pe_i=st.integers(0, 12),
       dt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8", "UINT1"]), seed=st.integers(0, 2 ** 16))
@settings(max_examples=30, **SWEEP)
def test_gap_schedule_sweep(h, w, c, pe_i, dt, seed):
    gap_case(h, w, c, divisor(c, pe_i), dt, seed, seeds(seed))
