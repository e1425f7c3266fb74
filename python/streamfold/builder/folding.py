"""Folding: how much parallelism (PE, SIMD) each HW layer gets.

- ApplyConfig: FINN's folding JSON, checked key by key before anything is set.
- SetFolding: pick legal PE/SIMD to reach a target frame rate on a board.
- MinimizeWeightBitWidth / MinimizeAccumulatorWidth: exact datatypes from
  the weights, thresholds and input ranges.

Every cost number comes from `_core.hw_estimate` (the op's own C++ cost model),
so calibrating an op never touches this file. The legality rules here mirror
the ops' validate() (PE | channels, SIMD | MW, …); after every change the
node is re-validated by the C++ op, so a divergence fails loudly.
"""
from __future__ import annotations

import difflib
import json
import math
import os
from dataclasses import dataclass, field

import numpy as np

from .. import _core
from ..errors import ConfigError, ModelError
from ..transformation.base import Transformation
from .boards import get_board

HW_DOMAIN_PREFIX = "finn.custom_op.fpgadataflow"


def _raw(model):
    return model._model if hasattr(model, "_model") else model


def base_op(op_type):
    """MVAU_hls -> MVAU: specialized variants share the folding rules."""
    for suffix in ("_hls", "_rtl"):
        if op_type.endswith(suffix):
            return op_type[: -len(suffix)]
    return op_type


def is_hw(node):
    return node.domain.startswith(HW_DOMAIN_PREFIX)


def hw_nodes(model):
    """[(index, node)] of the HW layers, in graph order."""
    return [(i, n) for i, n in enumerate(_raw(model).graph.node) if is_hw(n)]


def _attr(node, name, default=None):
    v = node.get_attr(name)
    if isinstance(v, bytes):  # string attributes come back as bytes
        v = v.decode()
    return default if v is None else v


def _divisors(n):
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def _join(values, cap=16):
    s = ", ".join(str(v) for v in values[:cap])
    return s + (", …" if len(values) > cap else "")


# Folding knobs per op: parameter -> (what it must divide, the dims). The same
# rules the C++ ops' validate() enforce (cpp/ops/*/ check_fold calls).
def fold_dims(node):
    op = base_op(node.op_type)
    a = lambda k, d=None: _attr(node, k, d)  # noqa: E731
    if op == "MVAU":
        return {"SIMD": ("MW", [a("MW")]), "PE": ("MH", [a("MH")])}
    if op == "VVAU":
        k = a("Kernel", [1, 1])
        return {"PE": ("Channels", [a("Channels")]), "SIMD": ("Kernel h*w", [k[0] * k[1]])}
    if op in ("Thresholding", "StreamingMaxPool", "AddStreams", "DuplicateStreams", "ChannelwiseOp",
              "GlobalAccPool"):
        return {"PE": ("NumChannels", [a("NumChannels")])}
    if op == "Pool":
        return {"PE": ("Channels", [a("Channels")])}
    if op == "LabelSelect":
        return {"PE": ("Labels", [a("Labels")])}
    if op == "ConvolutionInputGenerator":
        return {"SIMD": ("IFMChannels", [a("IFMChannels")])}
    if op == "FMPadding":
        return {"SIMD": ("NumChannels", [a("NumChannels")])}
    if op == "StreamingConcat":
        return {"SIMD": ("ChannelsPerStream entry", list(a("ChannelsPerStream", [1])))}
    return {}


def legal_values(node, param):
    dim_name, dims = fold_dims(node)[param]
    return _divisors(math.gcd(*[int(d) for d in dims]))


# Non-folding attributes a folding config may set, by op; value kind for parsing.
_COMMON_KEYS = {"inFIFODepths": "ints", "outFIFODepths": "ints", "preferred_impl_style": "str"}
_EXTRA_KEYS = {
    "MVAU": {"mem_mode": "str", "ram_style": "str", "resType": "str", "runtime_writeable_weights": "int",
             "ram_style_thresholds": "str"},
    "VVAU": {"mem_mode": "str", "ram_style": "str", "resType": "str", "runtime_writeable_weights": "int",
             "ram_style_thresholds": "str"},
    "Thresholding": {"mem_mode": "str", "ram_style": "str", "runtime_writeable_weights": "int"},
    "ConvolutionInputGenerator": {"ram_style": "str", "parallel_window": "int"},
    "StreamingFIFO": {"depth": "int", "ram_style": "str", "impl_style": "str"},
}
KNOWN_KEYS = {"PE", "SIMD"} | set(_COMMON_KEYS) | {k for d in _EXTRA_KEYS.values() for k in d}


def config_keys(node):
    """{key: kind} a folding config may set on this node."""
    keys = {p: "int" for p in fold_dims(node)}
    keys.update(_COMMON_KEYS)
    keys.update(_EXTRA_KEYS.get(base_op(node.op_type), {}))
    return keys


def _set(node, key, kind, value, where):
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ConfigError(f"{where} = {value!r} must be an integer", hint="write e.g. 4, not \"4\"", key=where)
        node.set_int(key, int(value))
    elif kind == "ints":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) for v in value):
            raise ConfigError(f"{where} = {value!r} must be a list of integers", hint="write e.g. [32]", key=where)
        node.set_ints(key, [int(v) for v in value])
    else:
        if not isinstance(value, str):
            raise ConfigError(f"{where} = {value!r} must be a string", hint="e.g. \"block\"", key=where)
        node.set_string(key, value)


def check_fold_value(node, param, value):
    """ConfigError 'MVAU_2: SIMD=24 does not divide MW=800; legal SIMD: 1, 2, …' unless legal."""
    legal = legal_values(node, param)
    if value not in legal:
        dim_name, dims = fold_dims(node)[param]
        bad = next((d for d in dims if value < 1 or d % value), dims[0])
        raise ConfigError(f"{node.name}: {param}={value} does not divide {dim_name}={bad}; "
                          f"legal {param}: {_join(legal)}",
                          hint=f"pick one of the legal {param} values", key=f"{node.name}.{param}",
                          legal=legal)


def load_folding_config(cfg):
    """A folding config from a dict or a JSON file path."""
    if isinstance(cfg, (str, os.PathLike)):
        try:
            with open(cfg) as f:
                cfg = json.load(f)
        except OSError as e:
            raise ConfigError(f"cannot read folding config {os.fspath(cfg)!r}: {e}", hint="check the path",
                              key="folding_config_file")
        except json.JSONDecodeError as e:
            raise ConfigError(f"folding config is not valid JSON: {e}", hint="FINN's format: "
                              "{\"Defaults\": {}, \"MVAU_0\": {\"PE\": 2, \"SIMD\": 4}}", key="folding_config_file")
    if not isinstance(cfg, dict):
        raise ConfigError("a folding config must be a JSON object", hint="{\"MVAU_0\": {\"PE\": 2}}",
                          key="folding_config_file")
    return cfg


def apply_folding_config(model, cfg):
    """Apply FINN's folding JSON in place on a copy and return it. Every node
    name, key and value is checked first; the first problem is a ConfigError
    naming it (and listing legal values for PE/SIMD)."""
    cfg = load_folding_config(cfg)
    m = model.copy()  # edits go to the copy; the caller's model is untouched on error
    raw = _raw(m)
    nodes = list(raw.graph.node)
    by_name = {n.name: i for i, n in enumerate(nodes)}
    touched = set()
    defaults = cfg.get("Defaults", {}) or {}
    if not isinstance(defaults, dict):
        raise ConfigError("'Defaults' must be an object", hint="{\"Defaults\": {\"ram_style\": \"block\"}}",
                          key="Defaults")
    for key, value in defaults.items():
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1)
            raise ConfigError(f"Defaults: unknown key {key!r}", key=f"Defaults.{key}",
                              hint=(f"did you mean {close[0]!r}? " if close else "") +
                              f"known keys: {', '.join(sorted(KNOWN_KEYS))}")
        # FINN form: [value, ["all"] or [op types]]; a bare value means all.
        ops = ["all"]
        if isinstance(value, list) and len(value) == 2 and isinstance(value[1], list):
            value, ops = value
        for i, n in enumerate(nodes):
            if not is_hw(n) or key not in config_keys(n):
                continue
            if ops != ["all"] and n.op_type not in ops and base_op(n.op_type) not in ops:
                continue
            if key in ("PE", "SIMD") and value not in legal_values(n, key):
                continue  # a default only applies where it is legal; explicit entries are strict
            _set(n, key, config_keys(n)[key], value, f"Defaults.{key}")
            touched.add(i)
    for name, entry in cfg.items():
        if name == "Defaults":
            continue
        if name not in by_name:
            close = difflib.get_close_matches(name, list(by_name), n=1)
            raise ConfigError(f"folding config names node {name!r}, which is not in the graph", key=name,
                              hint=(f"did you mean {close[0]!r}? " if close else "") +
                              "node names come from the HW graph (see final_hw_config.json)")
        n = nodes[by_name[name]]
        if not is_hw(n):
            raise ConfigError(f"folding config entry {name!r} is a {n.op_type}, not a HW layer", key=name,
                              hint="only finn.custom_op.fpgadataflow nodes take folding attributes")
        if not isinstance(entry, dict):
            raise ConfigError(f"{name}: entry must be an object of attributes", key=name,
                              hint="{\"PE\": 2, \"SIMD\": 4}")
        keys = config_keys(n)
        for key, value in entry.items():
            where = f"{name}.{key}"
            if key not in keys:
                close = difflib.get_close_matches(key, list(keys), n=1)
                raise ConfigError(f"{name} ({n.op_type}) has no folding key {key!r}", key=where,
                                  hint=(f"did you mean {close[0]!r}? " if close else "") +
                                  f"its keys: {', '.join(keys)}")
            _set(n, key, keys[key], value, where)
            if key in ("PE", "SIMD"):
                check_fold_value(n, key, int(value))
        touched.add(by_name[name])
    # `nodes` are live references into m's graph: the edits above are already in place.
    for i in sorted(touched):
        try:
            _core.hw_validate(raw, nodes[i].name)
        except ModelError as e:  # e.g. ram_style="bram": the op lists the legal choices
            raise ConfigError(f"folding config: {e.message}", hint=e.hint, key=nodes[i].name) from None
    return m


def folding_dict(model):
    """FINN's final_hw_config.json: {node: {PE/SIMD/ram_style/…}} for the HW layers."""
    out = {"Defaults": {}}
    for _, n in hw_nodes(model):
        entry = {}
        for k in config_keys(n):
            v = _attr(n, k)
            if v is not None:
                entry[k] = v
        out[n.name] = entry
    return out


# ---------------------------------------------------------------- SetFolding
RES_KEYS = {"lut": "LUT", "ff": "FF", "bram18": "BRAM_18K", "uram": "URAM", "dsp": "DSP"}


def node_estimate(model, name):
    """The op's own cost model, as a dict(cycles, lut, ff, bram18, uram, dsp)."""
    return _core.hw_estimate(_raw(model), name)


@dataclass
class FoldingResult:
    target_fps: float
    clock_ns: float
    board: str
    achieved_fps: float
    met: bool
    max_cycles: int
    limiting_node: str
    reason: str
    resources: dict = field(default_factory=dict)
    budget: dict = field(default_factory=dict)
    over_budget: list = field(default_factory=list)  # resources the design exceeds even so
    diagnosis: list = field(default_factory=list)  # per over-budget resource: which layer, what would fix it
    # Layers SetFolding switched to mem_mode="external" (weights streamed from
    # DDR) because the weights did not fit the BRAM budget: dicts with node,
    # weight_bits, bram18 (what its weight memory would have used).
    external_weights: list = field(default_factory=list)
    bram18_internal: float = 0.0  # BRAM18 of the minimal design with every weight memory on chip
    ddr_cycles: float = 0.0  # cycles per frame the external weights need on the HP port

    def external_note(self):
        """Which layers stream their weights from DDR and why ('' if none)."""
        if not self.external_weights:
            return ""
        lay = ", ".join(f"{e['node']} ({e['weight_bits'] / 1e6:.2f} Mbit, {e['ddr_bytes']:,} bytes per frame)"
                        for e in self.external_weights)
        return (f"weights streamed from DDR (mem_mode=\"external\", one extra DMA each, FINN's "
                f"number_of_external_weights = {len(self.external_weights)}): {lay}; because with all weights on "
                f"chip the design needs {self.bram18_internal:,.0f} BRAM18 at the minimal folding, over "
                f"{self.board}'s budget of {self.budget.get('BRAM_18K', 0):,.0f} (the layers freeing the most BRAM per byte of DDR traffic moved first, "
                f"until the rest fits); each streams at most {EXT_WEIGHT_BITS} weight bits per cycle (the 64-bit "
                f"HP port), which caps its PE*SIMD*wbits, and together they need {self.ddr_cycles:,.0f} cycles "
                f"per frame of the port's {DDR_BYTES_PER_CYCLE} bytes per cycle")

    def message(self):
        note = self.external_note()
        return self._message() + ("\n  " + note if note else "")

    def _message(self):
        if self.over_budget:
            return (f"the design does not fit {self.board} even at the chosen folding: "
                    f"{', '.join(self.over_budget)} over budget ({self.resources} vs {self.budget}); "
                    f"estimated {self.achieved_fps:,.0f} fps, slowest layer {self.limiting_node}"
                    + "".join("\n  " + d for d in self.diagnosis))
        if self.met:
            return (f"target {self.target_fps:g} fps met: estimated {self.achieved_fps:,.0f} fps "
                    f"(slowest layer {self.limiting_node}, {self.max_cycles} cycles)")
        return (f"target {self.target_fps:g} fps not reachable on {self.board}: best reachable "
                f"{self.achieved_fps:,.0f} fps, limited by {self.limiting_node} ({self.max_cycles} cycles): "
                f"{self.reason}")


# A layer whose weights stream from DDR (mem_mode external) reads one weight
# word per cycle through its DMA on the Zynq's 64-bit HP port: wider words
# would make the DMA the bottleneck, so SetFolding keeps PE*SIMD*wbits within it.
EXT_WEIGHT_BITS = 64
# All DMAs share that port (HP0): at most one 64-bit beat per cycle in all, so
# the external layers' weight traffic per frame bounds the frame rate.
DDR_BYTES_PER_CYCLE = 8


def ddr_bytes_per_frame(node):
    """Bytes the weight DMA of an MVAU/VVAU reads per frame if its weights
    stream from DDR: one pass (weight-memory words, each padded to whole
    bytes) per input vector (MVAU) / output pixel (VVAU), at its folding."""
    op = base_op(node.op_type)
    pe, simd = int(_attr(node, "PE", 1)), int(_attr(node, "SIMD", 1))
    beat = (pe * simd * _core.DataType.from_name(_attr(node, "weightDataType")).bitwidth() + 7) // 8
    if op == "MVAU":
        words = int(_attr(node, "MW")) * int(_attr(node, "MH")) // (pe * simd)
        repeat = int(np.prod(_attr(node, "numInputVectors", [1])))
    else:
        k = _attr(node, "Kernel", [1, 1])
        words = int(_attr(node, "Channels")) * int(k[0]) * int(k[1]) // (pe * simd)
        repeat = int(np.prod(_attr(node, "Dim", [1, 1])))
    return words * beat * repeat


def weight_bits(node):
    """Bits of an MVAU's / VVAU's weights (0 for other layers)."""
    op = base_op(node.op_type)
    wdt = _attr(node, "weightDataType")
    if op not in ("MVAU", "VVAU") or not wdt:
        return 0
    wb = _core.DataType.from_name(wdt).bitwidth()
    if op == "MVAU":
        return int(_attr(node, "MW")) * int(_attr(node, "MH")) * wb
    k = _attr(node, "Kernel", [1, 1])
    return int(_attr(node, "Channels")) * int(k[0]) * int(k[1]) * wb


def _is_external(node):
    return base_op(node.op_type) in ("MVAU", "VVAU") and _attr(node, "mem_mode") == "external"


def _streamable(raw, node):
    """An MVAU/VVAU with its weights in an on-chip memory that could stream
    them instead. Only the RTL layers take a weight stream, so a layer
    specialized to HLS keeps its weights on chip."""
    return (base_op(node.op_type) in ("MVAU", "VVAU") and not _is_external(node) and len(node.input) > 1
            and raw.get_initializer(node.input[1]) is not None and _attr(node, "preferred_impl_style") != "hls")


def _ext_width(node, changes=None):
    """PE*SIMD*wbits of a layer, with `changes` to PE/SIMD applied."""
    changes = changes or {}
    pe = int(changes.get("PE", _attr(node, "PE", 1)))
    simd = int(changes.get("SIMD", _attr(node, "SIMD", 1)))
    return pe * simd * _core.DataType.from_name(_attr(node, "weightDataType")).bitwidth()


def set_folding(model, target_fps, clock_ns=10.0, board="Pynq-Z2", mvau_wwidth_max=1024,
                resource_fraction=0.85, external_weights=True):
    """Returns (model, FoldingResult). Resets every knob to 1, then repeatedly
    raises the slowest layer's parallelism to its next legal value (the
    candidate with the fewest cycles, then fewest LUTs) while the whole design
    stays within resource_fraction of the board (the rest is left for the
    shell, FIFOs and width converters) and MVAU SIMD·wbits ≤ mvau_wwidth_max
    (FINN's per-PE weight stream limit).
    Stops when every layer meets clock_hz/target_fps or the slowest layer
    cannot be sped up any more; the result says which and why.

    external_weights: when the design does not fit the board's BRAM budget,
    MVAU/VVAU layers are switched to mem_mode="external" (weights streamed
    from DDR by a DMA) one by one until the rest fits, those that free the
    most BRAM per byte of DDR traffic per frame first (a fully connected
    layer reads its weights once per frame, a convolution once per output
    pixel; at equal traffic the largest first); then thresholds move to
    LUTRAM where the LUTs allow. The result lists them and says why
    (FoldingResult.external_weights, message()). Such layers keep
    PE*SIMD*wbits <= EXT_WEIGHT_BITS, and the frame rate is bounded by their
    DDR traffic at DDR_BYTES_PER_CYCLE. False: never switch (over budget is
    then reported as such)."""
    m, res = _set_folding(model, target_fps, clock_ns, board, mvau_wwidth_max, resource_fraction, False)
    if external_weights and "BRAM_18K" in res.over_budget:
        # Only when the on-chip design cannot fit (so designs that fit are
        # folded exactly as without this option): again, with the BRAM users
        # re-styled and the biggest weight memories streamed from DDR.
        m, res = _set_folding(model, target_fps, clock_ns, board, mvau_wwidth_max, resource_fraction, True)
    return m, res


def _set_folding(model, target_fps, clock_ns, board, mvau_wwidth_max, resource_fraction, stream_weights):
    if not target_fps or target_fps <= 0:
        raise ConfigError(f"target_fps = {target_fps!r} must be > 0", hint="e.g. target_fps: 1000",
                          key="target_fps")
    b = get_board(board)
    budget = b.budget(resource_fraction)
    m = model.copy()
    raw = _raw(m)
    nodes = list(raw.graph.node)
    hw = [i for i, n in enumerate(nodes) if is_hw(n)]
    for i in hw:
        for p in fold_dims(nodes[i]):
            nodes[i].set_int(p, 1)
    est = {}
    for i in hw:  # the cheapest implementation style of each layer, at the minimal folding
        opts = [(_estimate_with(raw, nodes[i], st)[0], st) for st in style_options(nodes[i])]
        st = min(opts, key=lambda o: (o[1].get("resType") != "dsp", _norm_cost(o[0], budget)))[1]
        for k, v in st.items():
            nodes[i].set_string(k, v)
        est[i] = node_estimate(raw, nodes[i].name)
    bram18_internal = sum(e["bram18"] for e in est.values())
    ext_chosen = []
    if stream_weights and sum(e["bram18"] for e in est.values()) > budget["BRAM_18K"]:
        # Most BRAM freed per byte of DDR traffic first: a fully connected
        # layer reads its weights once per frame, a convolution once per
        # output pixel; among equal traffic per weight bit, largest first.
        def gain(i):
            n = nodes[i]
            freed = est[i]["bram18"] - _estimate_with(raw, n, {"mem_mode": "external"})[0]["bram18"]
            return (-freed / max(1, ddr_bytes_per_frame(n)), -weight_bits(n))

        for i in sorted((i for i in hw if _streamable(raw, nodes[i])), key=gain):
            if sum(e["bram18"] for e in est.values()) <= budget["BRAM_18K"]:
                break
            n = nodes[i]
            old_mode = _attr(n, "mem_mode")
            n.set_string("mem_mode", "external")  # its other styles stay as chosen
            e = node_estimate(raw, n.name)
            if e["bram18"] >= est[i]["bram18"]:  # its weights were not in BRAM: streaming them frees none
                if old_mode is None:
                    n.remove_attr("mem_mode")
                else:
                    n.set_string("mem_mode", old_mode)
                continue
            if base_op(n.op_type) == "MVAU" and _attr(n, "ram_style") in ("block", "distributed"):
                n.set_string("ram_style", "auto")  # (the weights' memory style; there is none now)
            ext_chosen.append({"node": n.name, "weight_bits": weight_bits(n), "bram18": est[i]["bram18"] - e["bram18"]})
            est[i] = node_estimate(raw, n.name)
    if stream_weights:  # what still does not fit (e.g. thresholds): LUTRAM where the LUTs allow
        _fit_styles(raw, nodes, hw, est, budget, "bram18")
    target_cycles = 1e9 / (clock_ns * target_fps)
    frozen = {}  # node index -> why it cannot be sped up

    def total():
        return {k: sum(e[k] for e in est.values()) for k in RES_KEYS}

    def ddr_cycles():
        return sum(ddr_bytes_per_frame(nodes[i]) for i in hw if _is_external(nodes[i])) / DDR_BYTES_PER_CYCLE

    while True:
        slowest = max(hw, key=lambda i: est[i]["cycles"], default=None)
        # (no layer needs to be faster than the weights arrive from DDR)
        if slowest is None or est[slowest]["cycles"] <= max(target_cycles, ddr_cycles()) or slowest in frozen:
            break
        i = slowest
        n = nodes[i]
        tot = total()
        best = None
        why = "fully parallel (every folding knob at its maximum)"
        for p in fold_dims(n):
            cur = int(_attr(n, p, 1))
            nxt = [v for v in legal_values(n, p) if v > cur]
            if not nxt:
                continue
            if base_op(n.op_type) == "MVAU" and p == "SIMD":
                # FINN's rule: the weight stream of one PE, SIMD·wbits, stays
                # within mvau_wwidth_max; PE is not limited by it.
                wbits = _core.DataType.from_name(_attr(n, "weightDataType")).bitwidth()
                if nxt[0] * wbits > mvau_wwidth_max:
                    why = f"SIMD·wbits would exceed mvau_wwidth_max={mvau_wwidth_max}"
                    continue
            if _is_external(n) and _ext_width(n, {p: nxt[0]}) > EXT_WEIGHT_BITS:
                why = (f"its weights stream from DDR (mem_mode=external) and PE*SIMD*wbits would exceed the "
                       f"{EXT_WEIGHT_BITS} bits per cycle of the HP port")
                continue
            # Each style (DSP or LUT multipliers, thresholds in BRAM or
            # LUTRAM) may be re-chosen with the new folding: DSPs first while
            # the chip has them, then LUTs.
            for st in style_options(n):
                e = _estimate_with(raw, n, dict(st, **{p: nxt[0]}))[0]
                over = [RES_KEYS[k] for k in RES_KEYS
                        if tot[k] - est[i][k] + e[k] > budget[RES_KEYS[k]] and e[k] > est[i][k]]
                if over:
                    why = f"the next step would exceed the board's {', '.join(over)} budget"
                    continue
                # The cheapest speed-up first: the share of the board each
                # cycle saved costs (raising SIMD adds multipliers, raising PE
                # also a threshold unit per PE); then DSPs while they last,
                # they sit idle otherwise.
                saved = est[i]["cycles"] - e["cycles"]
                if saved <= 0:
                    continue
                extra = max(0.0, _norm_cost(e, budget) - _norm_cost(est[i], budget))
                key = (st.get("resType") != "dsp", extra / saved, e["cycles"])
                if best is None or key < best[0]:
                    best = (key, dict(st, **{p: nxt[0]}), e)
        if best is None:
            frozen[i] = why
            continue
        for k, v in best[1].items():
            n.set_int(k, v) if isinstance(v, int) else n.set_string(k, v)
        est[i] = best[2]
    slowest = max(hw, key=lambda i: est[i]["cycles"], default=None)
    max_cycles = est[slowest]["cycles"] if slowest is not None else 0
    limiting = nodes[slowest].name if slowest is not None else ""
    reason = frozen.get(slowest, "")
    ddr = ddr_cycles()
    if ddr > 0 and ddr >= max_cycles and (ddr > target_cycles or not reason):
        ext_bytes = int(ddr * DDR_BYTES_PER_CYCLE)
        max_cycles, limiting = ddr, "the external weights' DDR traffic"
        reason = (f"the layers with mem_mode=external read {ext_bytes:,} bytes of weights per frame through the "
                  f"64-bit HP port ({DDR_BYTES_PER_CYCLE} bytes per cycle for all DMAs)")
    fps = 1e9 / (clock_ns * max_cycles) if max_cycles else float("inf")
    by_name = {n.name: n for n in nodes}
    for e in ext_chosen:  # at the final folding
        e["ddr_bytes"] = ddr_bytes_per_frame(by_name[e["node"]])
    tot = total()
    over_budget = [RES_KEYS[k] for k in RES_KEYS if tot[k] > budget[RES_KEYS[k]]]
    res = FoldingResult(target_fps=target_fps, clock_ns=clock_ns, board=b.name, achieved_fps=fps,
                        met=max_cycles <= target_cycles, max_cycles=int(max_cycles),
                        limiting_node=limiting,
                        reason=reason, resources={RES_KEYS[k]: v for k, v in tot.items()},
                        budget=budget, over_budget=over_budget,
                        diagnosis=[_diagnose(raw, nodes, est, k, tot, budget) for k in RES_KEYS
                                   if RES_KEYS[k] in over_budget],
                        external_weights=ext_chosen, bram18_internal=bram18_internal, ddr_cycles=ddr)
    return m, res


# Multipliers of at least this many bits (weights and inputs) go to DSP48s
# when the chip has them left: a 4x4 multiply in LUTs already costs ~50 LUT,
# an 8x8 one ~80 (DESIGN §5's mult term), one DSP either way.
DSP_MIN_BITS = 4
# Thresholds are compared by binary search, in memories per stage; from this
# many output bits on (2^B-1 thresholds per channel) where those memories go
# (LUTRAM or BRAM) is worth choosing per layer.
THR_MEM_MIN_BITS = 4


def style_options(node):
    """The implementation styles SetFolding may choose for a layer: a list of
    {attribute: value} (one empty dict when there is no choice)."""
    if base_op(node.op_type) != "MVAU" or int(_attr(node, "binaryXnorMode", 0)):
        return [{}]
    wb = _core.DataType.from_name(_attr(node, "weightDataType")).bitwidth()
    ib = _core.DataType.from_name(_attr(node, "inputDataType")).bitwidth()
    res = ["dsp", "lut"] if min(wb, ib) >= DSP_MIN_BITS else [None]
    # Weights: BRAM, or LUTRAM where the memory is shallow and wide (high
    # folding), which BRAM18s hold badly. Only for the decoupled memory,
    # where ram_style applies; a config's explicit choice is left alone.
    ram = [None]
    if _attr(node, "mem_mode", "internal_decoupled") in ("internal_decoupled", "decoupled") and \
            _attr(node, "ram_style", "auto") in ("auto", "block", "distributed"):
        ram = ["block", "distributed"]
    thr = [None]
    if not int(_attr(node, "noActivation", 0)):
        ob = _core.DataType.from_name(_attr(node, "outputDataType")).bitwidth()
        if ob >= THR_MEM_MIN_BITS:
            thr = [None, "distributed", "block"]  # None: the RTL's default (BRAM from 256 words)
    out = []
    for r in res:
        for w in ram:
            for t in thr:
                d = {k: v for k, v in (("resType", r), ("ram_style", w), ("ram_style_thresholds", t)) if v}
                out.append(d)
    return out


def _fit_styles(raw, nodes, hw, est, budget, k):
    """Where resource k is over budget at the minimal folding, re-choose the
    implementation styles of its largest users (e.g. thresholds from BRAM to
    LUTRAM) while that keeps every other resource within budget. Updates the
    nodes and est in place."""
    keys = list(RES_KEYS)
    tot = {r: sum(e[r] for e in est.values()) for r in keys}
    if tot[k] > budget[RES_KEYS[k]]:
        for i in sorted(hw, key=lambda i: -est[i][k]):
            if tot[k] <= budget[RES_KEYS[k]] or est[i][k] <= 0:
                break
            n = nodes[i]
            best = None
            for st in style_options(n):
                e = _estimate_with(raw, n, st)[0]
                if e[k] >= est[i][k]:
                    continue
                if any(tot[r] - est[i][r] + e[r] > budget[RES_KEYS[r]] and e[r] > est[i][r] for r in keys if r != k):
                    continue
                if best is None or (e[k], _norm_cost(e, budget)) < (best[0][k], _norm_cost(best[0], budget)):
                    best = (e, st)
            if best is None:
                continue
            for kk, v in best[1].items():
                n.set_string(kk, v)
            for r in keys:
                tot[r] += best[0][r] - est[i][r]
            est[i] = best[0]


def _estimate_with(raw, n, changes):
    """(estimate, ) with `changes` applied to live node n, then undone."""
    old = {k: n.get_attr(k) for k in changes}
    try:
        for k, v in changes.items():
            n.set_int(k, v) if isinstance(v, int) else n.set_string(k, v)
        return (node_estimate(raw, n.name),)
    finally:
        for k, v in old.items():
            if v is None:
                n.remove_attr(k)
            elif isinstance(v, int):
                n.set_int(k, v)
            else:
                n.set_string(k, v.decode() if isinstance(v, bytes) else v)


def _norm_cost(e, budget):
    """A layer's resources as shares of the budget, added up: what a style
    costs the chip, whichever resource it uses."""
    return sum(e[k] / budget[RES_KEYS[k]] for k in RES_KEYS if k != "cycles" and budget.get(RES_KEYS[k]))


_FIXES = {
    "lut": "fewer activation bits (each output bit doubles the threshold steps), fewer weight/input bits "
           "(smaller multipliers), or a bigger board",
    "bram18": "fewer weight bits, mem_mode=\"external\" for the big weight layers (weights streamed from "
              "DRAM), ram_style=\"ultra\" on boards with URAM, or a bigger board",
    "dsp": "resType=\"lut\" on some layers, fewer bits (under 4 the multipliers stay in LUTs), or a bigger board",
    "ff": "less parallelism or a bigger board",
    "uram": "ram_style=\"block\" or mem_mode=\"external\"",
}


def _diagnose(raw, nodes, est, k, tot, budget):
    """'LUT 68,046 > 45,220: largest MVAU_4 with 15,020 (22%) at PE=1, SIMD=1; fix: ...'"""
    worst = max(est, key=lambda i: est[i][k])
    n = nodes[worst]
    fold = ", ".join(f"{p}={_attr(n, p)}" for p in fold_dims(n))
    detail = ""
    if base_op(n.op_type) == "MVAU":
        wb = _core.DataType.from_name(_attr(n, "weightDataType")).bitwidth()
        ib = _core.DataType.from_name(_attr(n, "inputDataType")).bitwidth()
        detail = f" ({_attr(n, 'MW')}x{_attr(n, 'MH')} weights of {wb} bits, {ib}-bit inputs"
        if not int(_attr(n, "noActivation", 0)):
            ob = _core.DataType.from_name(_attr(n, "outputDataType")).bitwidth()
            detail += f", {2 ** ob - 1} threshold steps"
        detail += f", mem_mode {_attr(n, 'mem_mode')})"
    fix = _FIXES[k]
    if k == "bram18" and _is_external(n):
        # Its weights already stream from DDR: what is left in BRAM is the
        # threshold memories of the activation.
        fix = ("its weights already stream from DDR, the rest is its thresholds (2^B-1 per channel for B "
               "output bits): fewer activation bits, or a bigger board")
    return (f"{RES_KEYS[k]} {tot[k]:,.0f} > budget {budget[RES_KEYS[k]]:,.0f} even at the minimal folding: the "
            f"largest user is {n.name} with {est[worst][k]:,.0f} ({est[worst][k] / max(tot[k], 1e-9):.0%}) at "
            f"{fold}{detail}; what would fix it: {fix}")


# ------------------------------------------------------ bit-width minimization
def smallest_int_type(lo, hi):
    """Smallest INTn/UINTn holding [lo, hi] (unsigned preferred, DESIGN §5)."""
    lo, hi = int(math.floor(lo)), int(math.ceil(hi))
    if lo >= 0:
        return f"UINT{max(1, hi.bit_length())}"
    bits = max((-lo - 1).bit_length(), hi.bit_length()) + 1
    return f"INT{max(2, bits)}"


def _weights_2d(raw, n):
    """(K, C): K dot-product terms for each of C outputs (MVAU: (MW, MH);
    VVAU: (C,1,kh,kw) -> (kh·kw, C))."""
    w = raw.get_initializer(n.input[1])
    if w is None:
        return None
    w = np.asarray(w, dtype=np.float64)
    if base_op(n.op_type) == "VVAU":
        w = w.reshape(w.shape[0], -1).T
    return w


def _minimize_weights(model):
    raw = _raw(model)
    changed = False
    for i, n in hw_nodes(model):
        if base_op(n.op_type) not in ("MVAU", "VVAU") or int(_attr(n, "binaryXnorMode", 0)):
            continue
        if int(_attr(n, "runtime_writeable_weights", 0)):
            continue  # weights may change at run time: keep the declared width
        w = _weights_2d(raw, n)
        old = _core.DataType.from_name(_attr(n, "weightDataType"))
        if w is None or w.size == 0 or old.bitwidth() <= 1 or not np.all(w == np.round(w)):
            continue
        new = _core.DataType.from_name(smallest_int_type(w.min(), w.max()))
        if new.bitwidth() < old.bitwidth():
            n.set_string("weightDataType", new.name)
            raw.set_datatype(n.input[1], new)
            changed = True
    return changed


def _minimize_accumulators(model):
    raw = _raw(model)
    changed = False
    for i, n in hw_nodes(model):
        op = base_op(n.op_type)
        if op not in ("MVAU", "VVAU"):
            continue
        w = _weights_2d(raw, n)
        if w is None:
            continue
        if int(_attr(n, "binaryXnorMode", 0)):
            lo, hi = 0.0, float(w.shape[0])  # popcount of matching bits
        else:
            idt = _core.DataType.from_name(_attr(n, "inputDataType"))
            a, b = w * idt.min(), w * idt.max()
            lo = float(np.minimum(a, b).sum(axis=0).min())
            hi = float(np.maximum(a, b).sum(axis=0).max())
        no_act = int(_attr(n, "noActivation", 0))
        if not no_act and len(n.input) > 2 and n.input[2]:
            t = raw.get_initializer(n.input[2])
            if t is not None and np.asarray(t).size:
                # Thresholds are stored in the accumulator type: it must hold them too.
                lo, hi = min(lo, float(np.min(t))), max(hi, float(np.max(t)))
        adt = smallest_int_type(lo, hi)
        if _attr(n, "accDataType") == adt:
            continue
        n.set_string("accDataType", adt)
        if no_act:  # the accumulator is the output
            n.set_string("outputDataType", adt)
            raw.set_datatype(n.output[0], _core.DataType.from_name(adt))
        changed = True
    return changed


# ----------------------------------------------------------- Transformations
class ApplyConfig(Transformation):
    """FINN's ApplyConfig: set node attributes from a folding JSON (dict or path)."""

    def __init__(self, config):
        self.config = config

    def apply(self, model):
        return apply_folding_config(model, self.config), False


class SetFolding(Transformation):
    """FINN's SetFolding with a board budget; the outcome is in `.result`."""

    def __init__(self, target_fps, clock_ns=10.0, board="Pynq-Z2", mvau_wwidth_max=1024, resource_fraction=0.85,
                 external_weights=True):
        self.kw = dict(target_fps=target_fps, clock_ns=clock_ns, board=board, mvau_wwidth_max=mvau_wwidth_max,
                       resource_fraction=resource_fraction, external_weights=external_weights)
        self.result = None

    def apply(self, model):
        m, self.result = set_folding(model, **self.kw)
        return m, False


class MinimizeWeightBitWidth(Transformation):
    """Narrow MVAU/VVAU weightDataType to the smallest type holding the actual weights."""

    def apply(self, model):
        _minimize_weights(model)
        return model, False


class MinimizeAccumulatorWidth(Transformation):
    """accDataType from the exact range of weights · input type (and thresholds)."""

    def apply(self, model):
        _minimize_accumulators(model)
        return model, False


__all__ = ["ApplyConfig", "SetFolding", "MinimizeWeightBitWidth", "MinimizeAccumulatorWidth", "FoldingResult",
           "apply_folding_config", "set_folding", "folding_dict", "legal_values", "fold_dims", "node_estimate",
           "smallest_int_type", "hw_nodes", "weight_bits", "EXT_WEIGHT_BITS", "DDR_BYTES_PER_CYCLE",
           "ddr_bytes_per_frame"]
