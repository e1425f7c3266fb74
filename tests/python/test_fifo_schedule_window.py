"""Stream schedule models (OpDef::schedule, FIFO sizing) of the window ops
against their RTL, beat by beat: ConvolutionInputGenerator (sf_swg: line
buffer of RB rows, the writer's row hold and the reader's row need),
StreamingMaxPool, Pool and FMPadding. Each layer runs alone in Verilator with random input gaps
and an always-ready sink over several frames back to back; the model, given
the same input offer cycles, must put every input take and output handshake
at the same cycle (FMPadding's leading border waits on an input *offer*:
need_offer). Also: the model's steady-state frame
interval equals estimate().cycles (an SWG with one- or two-beat rows
alternates between two intervals; see check_interval)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedule_test_util import rtl_trace
from streamfold import _core
from test_rtl_fmpadding import DESIGNS as PAD_DESIGNS
from test_rtl_fmpadding import pad_model
from test_rtl_maxpool import DESIGNS as SMP_DESIGNS, MAXPOOL_SWEEP
from test_rtl_maxpool import smp_model
from test_rtl_pool import DESIGNS as POOL_DESIGNS, POOL_SWEEP
from test_rtl_pool import pool_model
from test_rtl_swg import DESIGNS as SWG_DESIGNS
from test_rtl_swg import estimate, rand_values, swg_model

# (gap, seed) runs: back-to-back input (the line buffer and row holds bind),
# some gaps, and a starved input (the reader's row needs bind).
GAPS = ((0.0, 1), (0.3, 2))
GAPS_SWG = ((0.0, 1), (0.3, 2), (0.7, 3))
FRAMES = 3


def _raw(m):
    return m._model if hasattr(m, "_model") else m


def model_intervals(m, name, frames=16):
    """The model's frame intervals with every input beat offered at cycle 0
    (the input never limits): differences of consecutive frames' last beats."""
    raw = _raw(m)
    s = _core.hw_schedule(raw, name)
    t = _core.hw_schedule_times(raw, name, frames, [[0] * (frames * b) for b in s["in_beats"]])
    ob = s["out_beats"][0]
    return np.diff(np.asarray(t["out_take"][0], np.int64)[ob - 1::ob])


def check_interval(m, name):
    """The steady-state interval (second half of 16 frames) against
    estimate().cycles. Where it is one number, they are equal. An SWG whose
    rows are one or two beats long does not settle to one interval: the
    line-buffer round trip (write -> avail -> issue -> free -> occ, about
    three cycles a row) alternates frame to frame (e.g. 4, 5, 4, 5 cycles for
    a 3-pixel column), and the estimate's row replay reports one frame
    difference of that cycle; then the estimate lies within the cycle."""
    d = model_intervals(m, name)
    settled = d[len(d) // 2:]
    est = estimate(m, name)["cycles"]
    if (settled == settled[0]).all():
        assert settled[0] == est, (settled.tolist(), est)
    else:
        assert m.graph.node[0].op_type == "ConvolutionInputGenerator", settled.tolist()
        assert settled.min() <= est <= settled.max(), (settled.tolist(), est)


def schedule_diff(m, x, gap, seed):
    """(model, RTL) handshake cycles of every input take and output beat.
    The harness stops 64 cycles after the last output beat, so input beats
    that no output waits for (the last frame's dropped rows/columns of a
    floor-mode max pool, rows past an SWG's last window) may never be offered:
    the model then gets them offered one per cycle after the trace's last
    offer, and only the input beats the RTL took are compared."""
    name = m.graph.node[0].name
    raw = _raw(m)
    offer, take, out = rtl_trace(m, name, [x], gap, seed)
    s = _core.hw_schedule(raw, name)
    arrivals = []
    for p, o in enumerate(offer):
        o = list(map(int, o))
        total = FRAMES * s["in_beats"][p]
        nxt = max(o[-1:] + list(map(int, take[p][-1:])) + [0]) + 1
        arrivals.append(o + list(range(nxt, nxt + total - len(o))))
    t = _core.hw_schedule_times(raw, name, FRAMES, arrivals)
    ins = [(np.asarray(g[:len(w)], np.int64), np.asarray(w, np.int64)) for g, w in zip(t["in_take"], take)]
    outs = [(np.asarray(g, np.int64), np.asarray(w, np.int64)) for g, w in zip(t["out_take"], out)]
    for g, w in outs:
        assert g.shape == w.shape, f"model has {g.shape[0]} output beats, RTL {w.shape[0]}"
    return ins, outs


def first_mismatch(pairs, kind):
    for p, (g, w) in enumerate(pairs):
        bad = np.flatnonzero(g != w)
        if bad.size:
            k = bad[0]
            return f"{kind}{p} beat {k}: model {g[k]}, RTL {w[k]}"
    return None


def check_model(m, x, gaps=GAPS, interval=True):
    """Every input take and output beat exactly as the RTL, for each (gap,
    seed); the model's steady-state interval = estimate().cycles."""
    name = m.graph.node[0].name
    for gap, seed in gaps:
        ins, outs = schedule_diff(m, x, gap, seed)
        bad = first_mismatch(ins, "in") or first_mismatch(outs, "out")
        assert bad is None, f"{name} gap={gap} seed={seed}: {bad}"
    if interval:
        check_interval(m, name)


# ---------------------------------------------------------------------------- SWG

# The RTL tests' designs (their Verilator builds are shared) plus line-buffer
# corners: RB < IFH with back-to-back input (the writer waits for freed rows),
# stride 2 and stride = kernel, dilation, 1x1 kernel, 1-D along the height, and
# RB = IFH (the next frame waits for the previous one's rows).
SWG_EXTRA = [
    # ifm,    kernel,  stride, dilation, C, SIMD, dtype, depthwise, ram_style
    ([9, 4], [2, 2], [2, 2], [1, 1], 4, 2, "INT2", 0, "auto"),
    ([11, 3], [3, 2], [1, 1], [2, 1], 2, 1, "UINT4", 1, "auto"),
    ([10, 2], [1, 1], [3, 1], [1, 1], 6, 6, "UINT4", 0, "auto"),
    ([9, 1], [3, 1], [2, 1], [1, 1], 3, 1, "INT4", 0, "auto"),
    ([4, 6], [4, 3], [1, 2], [1, 1], 4, 2, "UINT4", 0, "auto"),
]


@pytest.mark.parametrize("ifm,k,s,d,c,simd,dt,dw,rs", SWG_DESIGNS + SWG_EXTRA)
def test_swg_schedule(ifm, k, s, d, c, simd, dt, dw, rs):
    m = swg_model(ifm, k, s, d, c, simd, dt, dw, rs, n=FRAMES)
    x = rand_values(np.random.default_rng(0), dt, (FRAMES, ifm[0], ifm[1], c))
    check_model(m, x, GAPS_SWG)


@st.composite
def swg_geometries(draw):
    """A legal window geometry, every draw usable: 2-D, 1-D along either axis
    (a 1-pixel axis gets a 1-wide window), any stride and dilation that fit."""
    h, w = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    k, s, d = [1, 1], [1, 1], [1, 1]
    for i, n in enumerate((h, w)):
        if n == 1:
            continue
        d[i] = draw(st.integers(1, 2))
        k[i] = draw(st.integers(1, min(5, (n - 1) // d[i] + 1)))
        s[i] = draw(st.integers(1, 3))
    return [h, w], k, s, d


@pytest.mark.full
@given(geom=swg_geometries(), c=st.integers(1, 13), simd_i=st.integers(0, 12), depthwise=st.integers(0, 1),
       dt=st.sampled_from(["UINT4", "INT2", "BIPOLAR", "INT8"]),
       rs=st.sampled_from(["auto", "distributed", "block"]), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=100, derandomize=True, suppress_health_check=list(HealthCheck))
def test_swg_schedule_sweep(geom, c, simd_i, depthwise, dt, rs, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    m = swg_model(*geom, c, divs[simd_i % len(divs)], dt, depthwise, rs, n=FRAMES)
    x = rand_values(np.random.default_rng(seed), dt, (FRAMES, geom[0][0], geom[0][1], c))
    check_model(m, x, ((0.0, seed), (0.3, seed + 1), (0.7, seed + 2)))


# ---------------------------------------------------------------------------- StreamingMaxPool


@pytest.mark.parametrize("img,k,c,pe,dt,ceil_mode", SMP_DESIGNS)
def test_maxpool_schedule(img, k, c, pe, dt, ceil_mode):
    m = smp_model(img, k, c, pe, dt, ceil_mode, n=FRAMES)
    x = rand_values(np.random.default_rng(0), dt, (FRAMES, img[0], img[1], c))
    check_model(m, x)


@pytest.mark.full
@given(**MAXPOOL_SWEEP)
@settings(deadline=None, max_examples=40, derandomize=True, suppress_health_check=list(HealthCheck))
def test_maxpool_schedule_sweep(h, w, kh, kw, c, pe_i, ceil_mode, dt, seed):
    kh, kw = min(kh, h), min(kw, w)
    divs = [v for v in range(1, c + 1) if c % v == 0]
    m = smp_model([h, w], [kh, kw], c, divs[pe_i % len(divs)], dt, ceil_mode, n=FRAMES)
    x = rand_values(np.random.default_rng(seed), dt, (FRAMES, h, w, c))
    check_model(m, x, ((0.0, seed), (0.3, seed + 1)))


# ---------------------------------------------------------------------------- Pool


@pytest.mark.parametrize("od,k,c,pe,func,idt,odt", POOL_DESIGNS)
def test_pool_schedule(od, k, c, pe, func, idt, odt):
    m = pool_model(od, k, c, pe, func, idt, odt, n=FRAMES)
    x = rand_values(np.random.default_rng(0), idt, (FRAMES, od[0], od[1], k[0] * k[1] * c))
    check_model(m, x)


@pytest.mark.full
@given(**POOL_SWEEP)
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_pool_schedule_sweep(oh, ow, kh, kw, c, pe_i, func, idt, obits, seed):
    odt = None
    if func == "QuantAvgPool":
        if idt == "BIPOLAR":
            return
        odt = f"{'INT' if idt.startswith('INT') else 'UINT'}{obits}"
    divs = [v for v in range(1, c + 1) if c % v == 0]
    m = pool_model([oh, ow], [kh, kw], c, divs[pe_i % len(divs)], func, idt, odt, n=FRAMES)
    x = rand_values(np.random.default_rng(seed), idt, (FRAMES, oh, ow, kh * kw * c))
    check_model(m, x, ((0.0, seed), (0.3, seed + 1)))


# ---------------------------------------------------------------------------- FMPadding


def check_fmpadding(m, x, img, pad, c, simd, gaps=GAPS):
    """Every input take and output beat exact, the leading border (which
    starts on the first beat's offer, k0 cycles before its take) included."""
    name = m.graph.node[0].name
    in_beats = img[0] * img[1] * (c // simd)
    for gap, seed in gaps:
        ins, outs = schedule_diff(m, x, gap, seed)
        assert ins[0][1].shape[0] == FRAMES * in_beats
        bad = first_mismatch(outs, "out") or first_mismatch(ins, "in")
        assert bad is None, f"{name} gap={gap} seed={seed}: {bad}"
    check_interval(m, name)


PAD_EXTRA = [
    # img,   pad [t, l, b, r], C, SIMD, dtype, pad value
    ([4, 3], [0, 2, 1, 0], 4, 2, "INT4", 0),   # left pad only on top
    ([3, 4], [1, 0, 0, 0], 3, 1, "UINT3", 5),  # no trailing border
]


@pytest.mark.parametrize("img,pad,c,simd,dt,pv", PAD_DESIGNS + PAD_EXTRA)
def test_fmpadding_schedule(img, pad, c, simd, dt, pv):
    m = pad_model(img, pad, c, simd, dt, pv, n=FRAMES)
    x = rand_values(np.random.default_rng(0), dt, (FRAMES, img[0], img[1], c))
    check_fmpadding(m, x, img, pad, c, simd, ((0.0, 1), (0.3, 2), (0.7, 3)))


@pytest.mark.full
@given(h=st.integers(1, 8), w=st.integers(1, 8), pad=st.lists(st.integers(0, 3), min_size=4, max_size=4),
       c=st.integers(1, 13), simd_i=st.integers(0, 12), dt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8"]),
       seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=40, derandomize=True, suppress_health_check=list(HealthCheck))
def test_fmpadding_schedule_sweep(h, w, pad, c, simd_i, dt, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    simd = divs[simd_i % len(divs)]
    m = pad_model([h, w], pad, c, simd, dt, 0 if dt != "BIPOLAR" else -1, n=FRAMES)
    x = rand_values(np.random.default_rng(seed), dt, (FRAMES, h, w, c))
    check_fmpadding(m, x, [h, w], pad, c, simd, ((0.0, seed), (0.3, seed + 1), (0.7, seed + 2)))
