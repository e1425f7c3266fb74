"""Checks an op's stream schedule model (ops/<op>/, OpDef::schedule) against
its RTL: the layer runs alone in Verilator with random input gaps and an
always-ready sink, the harness records every beat's handshake cycles, and the
model, given the same cycles at which each input beat was offered, must put
every input take and output offer at the same cycle (or within `tol`)."""
import numpy as np

from streamfold import _core, rtlsim


def rtl_trace(model, node_name, inputs, gap=0.0, seed=0, rate=1.0):
    """(in_offer, in_take, out_take) lists of the layer alone in Verilator."""
    r = rtlsim.simulate_node(model, node_name, inputs, in_gap=gap, out_stall=0.0, seed=seed, in_rate=rate,
                             trace=True)
    t = r.stats["trace"]
    return t["in_offer"], t["in_take"], t["out_take"]


def schedule_error(model, node_name, inputs, gap=0.0, seed=0, rate=1.0):
    """Largest |model - RTL| handshake-cycle difference over every beat of
    every port, and a description of the first mismatch (or None)."""
    raw = model._model if hasattr(model, "_model") else model
    offer, take, out = rtl_trace(model, node_name, inputs, gap, seed, rate)
    frames = int(np.asarray(inputs[0]).shape[0])
    m = _core.hw_schedule_times(raw, node_name, frames, [list(map(int, o)) for o in offer])
    worst, first = 0, None
    for kind, got, want in (("in", m["in_take"], take), ("out", m["out_take"], out)):
        for p, (g, w) in enumerate(zip(got, want)):
            g, w = np.asarray(g, np.int64), np.asarray(w, np.int64)
            assert g.shape == w.shape, f"{kind}{p}: model has {g.shape[0]} beats, RTL {w.shape[0]}"
            if g.size == 0:
                continue
            d = np.abs(g - w)
            if d.max() > worst:
                worst = int(d.max())
            if first is None and d.max() > 0:
                k = int(np.argmax(d > 0))
                first = f"{kind}{p} beat {k}: model {int(g[k])}, RTL {int(w[k])} (max diff {int(d.max())})"
    return worst, first


def check_schedule(model, node_name, inputs, gaps=((0.0, 1), (0.3, 2)), tol=0, rate=1.0):
    """Assert the model matches the RTL within tol cycles for each (gap, seed)."""
    for gap, seed in gaps:
        worst, first = schedule_error(model, node_name, inputs, gap, seed, rate)
        assert worst <= tol, f"{node_name} gap={gap} seed={seed}: {first}"
