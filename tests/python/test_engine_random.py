"""The fast engine on random Brevitas networks (streamfold.zoo.random_net):
odd channel counts, non-square inputs, 1..8-bit activations and weights
mixed per layer, bipolar / ternary / multi-bit weights, residual adds,
depthwise convs and max / average pooling -- the corners no zoo model hits.
Each net is exported, run through step_qonnx_to_finn / step_tidy_up /
step_streamline, and the engine, forced onto every kernel path this CPU has,
must equal the reference executor (run image by image) bit for bit at batch
1 and 7.

Nets that do not reach canonical streamlined form are kept (check=False):
the engine runs what it cannot specialize on the reference ops, and must
still be exact. No shrinking: every shrink step re-exports a Brevitas model
(seconds each), and the failing spec is printed in full anyway
(``random_net.build_from_spec(spec)`` rebuilds it). SF_HYPOTHESIS_EXAMPLES
sets the number of examples (default 12); the CI profile in conftest.py
makes them deterministic."""
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings

import streamfold as sf
from streamfold import _core

pytest.importorskip("torch")
pytest.importorskip("brevitas")

from streamfold import zoo  # noqa: E402
from streamfold.builder import steps  # noqa: E402
from streamfold.zoo import random_net  # noqa: E402

ISAS = list(_core.engine_isas())
BATCHES = (1, 7)


def streamline(path):
    m = sf.ModelWrapper(path)
    return steps.step_streamline(steps.step_tidy_up(steps.step_qonnx_to_finn(m)), check=False)


def reference(m, x):
    inp = m._model.runtime_input_names()[0]
    outs = [sf.execute_onnx(m, {inp: x[i:i + 1]}) for i in range(len(x))]
    return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}


@settings(max_examples=int(os.environ.get("SF_HYPOTHESIS_EXAMPLES", 12)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(net=random_net.random_qnn())
def test_engine_equals_reference_on_random_networks(net):
    module, shape = net
    note(f"spec = {module.spec!r}")
    with tempfile.TemporaryDirectory() as d:
        path = zoo.export_module(module, shape, os.path.join(d, "net.onnx"))
        m = streamline(path)
    x = random_net.example_input(shape, n=max(BATCHES), seed=module.spec["seed"] % 1000)
    ref = reference(m, x)
    fallbacks = None
    for isa in ISAS:
        # streamline=False: the model is streamlined already (with check=False).
        eng = sf.Engine(m, isa=isa, warn=False, streamline=False)
        assert eng.isa == isa
        # What the engine cannot specialize does not depend on the kernel path.
        if fallbacks is None:
            fallbacks = eng.fallback_nodes
            note(f"fallback nodes: {fallbacks}")
            note("plan:\n  " + "\n  ".join(eng.plan()))
        assert eng.fallback_nodes == fallbacks
        for b in BATCHES:
            out = eng.run({eng.input_names[0]: x[:b]})
            assert set(out) == set(ref)
            for k, v in ref.items():
                assert out[k].dtype == v.dtype
                np.testing.assert_array_equal(out[k], v[:b], err_msg=f"{isa} batch {b} output {k}")
