"""streamfold.quantize's calibration modes against scales computed by hand
(numpy) on a known tensor: 1000 evenly spaced values in [0, 1] and one
outlier at 10, so the three statistics give three different scales."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("brevitas")

from streamfold.errors import ConfigError  # noqa: E402
from streamfold.quantize import act_quantizer, calibrate, weight_quantizer  # noqa: E402

BITS = 4
X = np.concatenate([np.linspace(0, 1, 1000, dtype=np.float32), np.float32([10.0])])


def known(signed):
    # The signed case adds negative values (and so changes the statistics).
    return np.concatenate([X, -0.5 * X]) if signed else X


def qrange(signed, bits=BITS):
    """Brevitas' activation quantizers: unsigned [0, 2^b-1] with scale
    threshold/(2^b-1); signed (not narrow) [-2^(b-1), 2^(b-1)-1] with scale
    threshold/2^(b-1)."""
    if signed:
        return -2 ** (bits - 1), 2 ** (bits - 1) - 1, 2 ** (bits - 1)
    return 0, 2 ** bits - 1, 2 ** bits - 1


def brevitas_scale(signed, calibration, x, percentile=99.0):
    import brevitas.nn as qnn
    m = qnn.QuantIdentity(act_quant=act_quantizer(signed, calibration, percentile), bit_width=BITS,
                          return_quant_tensor=True)
    t = torch.from_numpy(x).reshape(1, -1)
    calibrate(m, [t])
    with torch.no_grad():
        return float(m(t).scale)


@pytest.mark.parametrize("signed", [False, True])
def test_minmax(signed):
    x = known(signed)
    lo, hi, div = qrange(signed)
    expect = np.abs(x).max() / div
    assert brevitas_scale(signed, "minmax", x) == pytest.approx(expect, rel=1e-6)
    assert expect == pytest.approx(10 / 15 if not signed else 10 / 8)


@pytest.mark.parametrize("signed", [False, True])
def test_percentile(signed):
    x = known(signed)
    lo, hi, div = qrange(signed)
    a = np.sort(np.abs(x))
    k = int(np.floor(0.01 * 99.0 * a.size + 0.5))  # 1-based rank of the 99th percentile
    expect = a[k - 1] / div
    assert brevitas_scale(signed, "percentile", x, 99.0) == pytest.approx(expect, rel=1e-6)
    assert expect < np.abs(x).max() / div / 5  # the outlier is clipped


@pytest.mark.parametrize("signed", [False, True])
def test_mse(signed):
    """The scale minimizing sum((x - Q(x))^2) over Brevitas' grid of clipping
    thresholds max|x|*j/20, j = 1..20 (round half to even, clamp)."""
    x = known(signed).astype(np.float64)
    lo, hi, div = qrange(signed)
    best, best_loss = None, np.inf
    for j in range(1, 21):
        scale = np.abs(x).max() * j / 20 / div
        q = np.clip(np.round(x / scale), lo, hi) * scale
        loss = np.sum((x - q) ** 2)
        if best is None or loss < best_loss:
            best, best_loss = scale, loss
    got = brevitas_scale(signed, "mse", known(signed))
    assert got == pytest.approx(best, rel=1e-5)
    # ... and it is neither of the other two statistics.
    assert got != pytest.approx(np.abs(x).max() / div, rel=1e-3)


def test_calibration_averages_batches():
    """Over several batches Brevitas averages the per-batch statistic."""
    import brevitas.nn as qnn
    m = qnn.QuantIdentity(act_quant=act_quantizer(False, "minmax"), bit_width=BITS, return_quant_tensor=True)
    a, b = torch.full((1, 8), 3.0), torch.full((1, 8), 6.0)
    calibrate(m, [a, b])
    with torch.no_grad():
        assert float(m(a).scale) == pytest.approx(4.5 / 15, rel=1e-6)


@pytest.mark.parametrize("per_channel", [False, True])
def test_weight_scales_abs_max(per_channel):
    """Weights: signed narrow [-(2^(b-1)-1), 2^(b-1)-1], scale max|w|/(2^(b-1)-1),
    per output channel or per tensor."""
    import brevitas.nn as qnn
    lin = qnn.QuantLinear(4, 3, bias=False, weight_quant=weight_quantizer(per_channel, "minmax"),
                          weight_bit_width=BITS)
    w = torch.tensor([[1.0, -2.0, 0.5, 0.0], [0.1, 0.2, -0.3, 0.05], [7.0, 1.0, 1.0, -1.0]])
    with torch.no_grad():
        lin.weight.copy_(w)
    s = lin.quant_weight().scale.detach().numpy().reshape(-1)
    amax = np.abs(w.numpy()).max(axis=1) if per_channel else np.abs(w.numpy()).max(keepdims=True)
    np.testing.assert_allclose(s, amax.reshape(-1) / (2 ** (BITS - 1) - 1), rtol=1e-6)


def test_unknown_calibration_is_a_config_error():
    with pytest.raises(ConfigError) as e:
        act_quantizer(False, "kl")
    assert e.value.key == "calibration"
