"""FINN's last two build steps: step_make_pynq_driver (the driver files) and
step_deployment_package (what goes onto the board), laid out as FINN does:

  <output_dir>/driver/{driver.py, driver_base.py, validate.py, runtime_weights/}
  <output_dir>/deploy/bitfile/finn-accel.{bit,hwh}   (when Vivado made them)
  <output_dir>/deploy/driver/                         (a copy of driver/)
  <output_dir>/deploy/sim/                            (the board-less system simulation)

The driver's default --bitfile is ../bitfile/finn-accel.bit relative to its
own folder, i.e. the bitfile the package ships (FINN's template defaults to
resizer.bit in the working directory, which its package does not contain).
"""
from __future__ import annotations

import os
import shutil
import tempfile

from ..errors import StreamfoldError

DRIVER_OUTPUTS = {"pynq_driver", "deployment_package"}


def _wanted(cfg, outputs):
    if cfg is None or cfg.steps is not None:  # called directly, or steps listed explicitly
        return True
    return bool(outputs & set(cfg.generate_outputs or []))


def _out_dir(cfg, prefix):
    if cfg is None:
        return tempfile.mkdtemp(prefix=prefix)
    return os.path.abspath(os.fspath(cfg.output_dir))


def _replace_dir(tmp, final):
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)


def _host_pixel_table(parent, child, n_check=50):
    """validate.py feeds Fashion-MNIST bytes. When host-side nodes sit in
    front of the accelerator (e.g. the input quantizer of a binarized TFC), it
    needs what they make of each pixel: a table pixel byte -> accelerator
    input value, shape (256,) or (256, elements) (per position), with the
    model's input taken as pixel / 255 (torchvision's ToTensor, what the
    bundled models were trained on). Tabulated by running the host part on
    256 constant images, then checked against the executor on n_check real
    test images. Returns (table or None, why not)."""
    import numpy as np

    from ..core.onnx_exec import execute_onnx
    from ..data import DatasetNotFoundError, load_fashion_mnist
    from .build import _with_child

    if parent is None:
        return None, "no host-side nodes: the accelerator takes the images' bytes"
    ins = child._model.runtime_input_names()
    gin = parent.graph.input
    if len(ins) != 1 or len(gin) != 1:
        return None, "validate.py handles one input only"
    if ins[0] == gin[0].name:
        return None, "no host-side nodes: the accelerator takes the images' bytes"
    shape = parent.get_tensor_shape(gin[0].name)
    if int(np.prod(shape[1:])) != 784 or int(np.prod(child.get_tensor_shape(ins[0])[1:])) != 784:
        return None, "not a 28x28 grayscale model"
    full = _with_child(parent, child)

    def host(img_bytes):
        x = (img_bytes.astype(np.float32) / 255.0).reshape([1] + list(shape[1:]))
        return execute_onnx(full, {gin[0].name: x}, return_full_exec_context=True)[ins[0]].reshape(-1)

    table = np.stack([host(np.full(784, v, np.uint8)) for v in range(256)]).astype(np.float32)
    if (table == table[:, :1]).all():
        table = table[:, 0].copy()
    try:
        imgs, _ = load_fashion_mnist("test", limit=n_check)
    except DatasetNotFoundError as e:
        return None, f"cannot check the pixel table: {e}"
    for im in imgs:
        flat = im.reshape(-1)
        got = table[flat] if table.ndim == 1 else table[flat, np.arange(784)]
        if not np.array_equal(got, host(flat)):
            return None, "the host-side nodes are not pixel-wise: validate.py cannot tabulate them"
    return table, f"host-side pixel table ({table.shape[0]} values{'' if table.ndim == 1 else ' per position'})"


def step_make_pynq_driver(model, cfg=None, verify_inputs=None):
    """driver.py (io_shape_dict, command line), driver_base.py
    (FINNExampleOverlay, packer inlined), validate.py (Fashion-MNIST) and
    runtime_weights/<dma>.npy for external weights, in <output_dir>/driver;
    recorded in the model's pynq_driver_dir metadata, as in FINN."""
    from ..driver.make import write_driver
    from .hw_steps import stitched_dir
    from .system import dma_plan

    if not _wanted(cfg, DRIVER_OUTPUTS):
        model._step_note = "skipped: generate_outputs asks for neither pynq_driver nor deployment_package"
        return model
    d = stitched_dir(model)
    if d is None:
        raise StreamfoldError("the model has no stitched design to write a driver for",
                              hint="run step_create_stitched_ip first (generate_outputs: stitched_ip)")
    plan = dma_plan(model, d)
    root = _out_dir(cfg, "streamfold_driver_")
    out = os.path.join(root, "driver")
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    clk = cfg.synth_clk_period_ns if cfg is not None else float(model.get_metadata_prop("clk_ns") or 10.0)
    name = model.graph.name or "accelerator"
    shapes = write_driver(tmp, plan, model_name=name, fclk_mhz=1000.0 / clk, base_dir=d)
    table, why = _host_pixel_table(getattr(cfg, "_dataflow_parent", None), model)
    if table is not None:
        import numpy as np
        np.save(os.path.join(tmp, "preprocess.npy"), table)
    _replace_dir(tmp, out)
    model.set_metadata_prop("pynq_driver_dir", out)
    ins = ", ".join(f"{n} {dt} {s}" for n, dt, s in zip(shapes["input_dma_name"], shapes["idt"],
                                                        shapes["ishape_normal"]))
    outs = ", ".join(f"{n} {dt} {s}" for n, dt, s in zip(shapes["output_dma_name"], shapes["odt"],
                                                         shapes["oshape_normal"]))
    note = f"{out}: in {ins}; out {outs}; validate.py: {why}"
    if shapes["number_of_external_weights"]:
        note += f"; {shapes['number_of_external_weights']} external weight DMA(s) in runtime_weights/"
    model._step_note = note
    return model


def step_deployment_package(model, cfg=None, verify_inputs=None):
    """<output_dir>/deploy with bitfile/ (finn-accel.bit and .hwh, when
    step_synthesize_bitfile ran Vivado) and driver/ (the driver files)."""
    if not _wanted(cfg, {"deployment_package"}):
        model._step_note = "skipped: generate_outputs does not ask for deployment_package"
        return model
    drv = model.get_metadata_prop("pynq_driver_dir")
    if not drv or not os.path.isfile(os.path.join(drv, "driver.py")):
        raise StreamfoldError("the model has no PYNQ driver to package",
                              hint="run step_make_pynq_driver first (generate_outputs: pynq_driver)")
    root = _out_dir(cfg, "streamfold_deploy_")
    deploy = os.path.join(root, "deploy")
    os.makedirs(deploy, exist_ok=True)
    # bitfile/: what Vivado made (FINN copies the bitfile folder's .bit and .hwh)
    src_bit = os.path.join(root, "bitfile")
    bit_tmp = os.path.join(deploy, "bitfile.tmp")
    shutil.rmtree(bit_tmp, ignore_errors=True)
    os.makedirs(bit_tmp)
    have = []
    for f in ("finn-accel.bit", "finn-accel.hwh"):
        if os.path.isfile(os.path.join(src_bit, f)):
            shutil.copy2(os.path.join(src_bit, f), os.path.join(bit_tmp, f))
            have.append(f)
    _replace_dir(bit_tmp, os.path.join(deploy, "bitfile"))
    drv_tmp = os.path.join(deploy, "driver.tmp")
    shutil.rmtree(drv_tmp, ignore_errors=True)
    shutil.copytree(drv, drv_tmp, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "nw_metrics.txt"))
    _replace_dir(drv_tmp, os.path.join(deploy, "driver"))
    # sim/: the board-less system simulation of exactly this package (the
    # IODMAs of dma_plan around the stitched design), which the driver uses
    # with --platform sim; written whole into a fresh folder and swapped in.
    from ..rtlsim.system import write_system
    from .hw_steps import stitched_dir

    sd = stitched_dir(model)
    if sd is not None:
        clk = cfg.synth_clk_period_ns if cfg is not None else float(model.get_metadata_prop("clk_ns") or 10.0)
        write_system(model, sd, os.path.join(deploy, "sim"), clk_ns=clk)
    model.set_metadata_prop("deployment_dir", deploy)
    if len(have) == 2:
        note = f"{deploy}: bitfile/finn-accel.bit + .hwh, driver/, sim/"
    else:
        script = os.path.join(src_bit, "make_bitfile.sh")
        note = (f"{deploy}: driver/ and sim/, no bitfile (Vivado did not run"
                + (f"; {script} makes it, then run this step again)" if os.path.isfile(script) else ")")
                + "; the driver runs without a board: python driver.py --platform sim")
    model._step_note = note
    return model


__all__ = ["step_make_pynq_driver", "step_deployment_package"]
