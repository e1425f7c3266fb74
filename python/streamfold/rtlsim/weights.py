"""Weights streamed from DDR (MVAU / VVAU ``mem_mode="external"``).

Such a layer has no weight memory: its weights arrive as a second AXI-Stream
``in1_V`` that a DMA reads from DDR (FINN: an IODMA in "wrap" mode, one
``runtime_weights/<idma>.npy`` per weight DMA in the driver package). One
beat is one weight-memory word, PE*SIMD*wbits bits with element (pe, simd) at
bits ``(pe*SIMD + simd)*wbits`` (BIPOLAR as {0,1}), TDATA padded to whole
bytes, byte 0 least significant -- the bytes ``streamfold.driver.pack`` makes
of the folded weights. One *pass* is the whole weight memory in the order the
layer consumes it; it repeats ``repeat`` times per frame (MVAU: once per input
vector, numInputVectors; VVAU: once per output pixel).

The beats come from the C++ definition the RTL emitters use for their ROMs
(cpp/ops/hw/ext_weights.h), so the stitched design's ``<node>_wstream.npy``,
the simulations and the driver package cannot disagree.

    from streamfold.rtlsim.weights import weight_stream
    ws = weight_stream(model, "MVAU_2")
    ws.beats            # uint8 (pass_beats, tdata_width // 8): one pass
    ws.repeat           # passes per frame
    ws.frames(n)        # the beats for n frames (what the DMA streams)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _core
from ..core.modelwrapper import ModelWrapper

__all__ = ["WeightStream", "weight_stream", "external_weight_nodes", "uses_external_weights"]

_OPS = ("MVAU", "VVAU")


@dataclass
class WeightStream:
    node: str
    width: int          # payload bits per beat (PE*SIMD*wbits)
    tdata_width: int    # width padded to whole bytes
    pass_beats: int     # beats per pass
    repeat: int         # passes per frame
    beats: np.ndarray   # uint8 (pass_beats, tdata_width // 8): one pass

    def frames(self, n=1):
        """The beats of n frames: the pass, repeat * n times."""
        return np.tile(self.beats, (self.repeat * int(n), 1))

    @property
    def bytes_per_frame(self):
        return self.repeat * self.beats.size


def _raw(model):
    return (model if isinstance(model, ModelWrapper) else ModelWrapper(model))._model


def _attr(node, key, default=None):
    v = node.get_attr(key)
    if isinstance(v, bytes):
        v = v.decode()
    return default if v is None else v


def uses_external_weights(node):
    """An MVAU/VVAU (any _hls/_rtl variant) with mem_mode="external"."""
    base = node.op_type.split("_")[0]
    return base in _OPS and _attr(node, "mem_mode") == "external"


def external_weight_nodes(model):
    """Names of the nodes that stream their weights, in graph order (the order
    the stitcher numbers their s_axis_<k> ports in is the topological one;
    sf_design.json records it)."""
    return [n.name for n in _raw(model).graph.node if uses_external_weights(n)]


def weight_stream(model, node_name):
    """The packed weight stream of one external-weight node (see the module
    doc). ModelError naming the node if it does not stream its weights."""
    d = _core.rtl_external_weights(_raw(model), node_name)
    nb = d["tdata_width"] // 8
    beats = np.frombuffer(d["data"], dtype=np.uint8).reshape(d["pass_beats"], nb).copy()
    return WeightStream(node=d["node"], width=int(d["width"]), tdata_width=int(d["tdata_width"]),
                        pass_beats=int(d["pass_beats"]), repeat=int(d["repeat"]), beats=beats)
