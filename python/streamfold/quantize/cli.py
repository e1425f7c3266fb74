"""`streamfold quantize`: run the optimizer on a float model from the command
line, with a progress display and a final table per stage.

    streamfold quantize digits-cnn --data digits --weight-bits 2 --act-bits 2 \\
        --calibration mse --max-drop 2 --output cnn_w2a2.onnx
    streamfold quantize mypkg.models:Net --weights net.pt --data fashion-mnist --target 0.88
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path

from ..errors import ConfigError

BUILTIN = {"digits-mlp": "mlp", "digits-cnn": "cnn"}


def add_parser(sub):
    p = sub.add_parser("quantize", help="quantize a float PyTorch model (PTQ -> partial -> QAT) for streamfold")
    p.add_argument("model", help="digits-mlp | digits-cnn (bundled float models), or module:attr / file.py:attr "
                                 "naming an nn.Module or a function returning one")
    p.add_argument("--weights", help="a state dict (.pt) to load into the model")
    p.add_argument("--data", default="digits", choices=["digits", "fashion-mnist"],
                   help="calibration / training / test data (built in, no download)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--target", type=float, help="target accuracy, absolute (0.97)")
    g.add_argument("--max-drop", type=float, default=1.0,
                   help="target = float accuracy minus this many points (default 1)")
    p.add_argument("--weight-bits", type=int, default=8)
    p.add_argument("--act-bits", type=int, default=8)
    p.add_argument("--input-bits", type=int, default=8)
    p.add_argument("--calibration", default="minmax", choices=["minmax", "percentile", "mse"])
    p.add_argument("--percentile", type=float, default=99.999)
    p.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor (default per channel)")
    p.add_argument("--stages", default="ptq,partial,qat", help="comma-separated subset of ptq,partial,qat")
    p.add_argument("--partial-rule", default="sensitivity", choices=["sensitivity", "skip_conv"])
    p.add_argument("--placement", default="ends", choices=["ends", "any"])
    p.add_argument("--qat-epochs", type=int, default=5)
    p.add_argument("--qat-lr", type=float, default=1e-3)
    p.add_argument("--calib-size", type=int, default=256, help="calibration images (from the training split)")
    p.add_argument("--limit", type=int, help="use only the first N training and test images")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: leave torch's default)")
    p.add_argument("--output", "-o", help="write the QONNX export here")
    p.add_argument("--json", help="write the history as JSON here")
    p.set_defaults(fn=run)
    return p


def _load_model(spec, weights):
    import torch
    from torch import nn

    from . import digits
    if spec in BUILTIN:
        model = digits.pretrained(BUILTIN[spec]) if not weights else digits.MODELS[BUILTIN[spec]]()
    else:
        mod_name, _, attr = spec.rpartition(":")
        if not mod_name or not attr:
            raise ConfigError(f"model {spec!r} is neither a built-in name nor module:attr",
                              hint=f"use one of {sorted(BUILTIN)} or e.g. mypkg.models:Net", key="model")
        if mod_name.endswith(".py"):
            s = importlib.util.spec_from_file_location(Path(mod_name).stem, mod_name)
            if s is None:
                raise ConfigError(f"cannot import {mod_name}", key="model")
            module = importlib.util.module_from_spec(s)
            s.loader.exec_module(module)
        else:
            module = importlib.import_module(mod_name)
        obj = getattr(module, attr, None)
        if obj is None:
            raise ConfigError(f"{mod_name} has no attribute {attr!r}", key="model")
        model = obj if isinstance(obj, nn.Module) else obj()
        if not isinstance(model, nn.Module):
            raise ConfigError(f"{spec} did not give a torch.nn.Module", key="model")
    if weights:
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.eval()


def _load_data(name, limit):
    import numpy as np
    import torch

    from . import digits
    if name == "digits":
        xtr, ytr, xte, yte = digits.split()
    else:
        from ..data import load_fashion_mnist
        a, b = load_fashion_mnist("train", limit=limit)
        c, d = load_fashion_mnist("test", limit=limit)
        xtr, xte = (torch.from_numpy((v.astype(np.float32) / 255.0)[:, None]) for v in (a, c))
        ytr, yte = (torch.from_numpy(v.astype(np.int64)) for v in (b, d))
    if limit:
        xtr, ytr, xte, yte = xtr[:limit], ytr[:limit], xte[:limit], yte[:limit]
    return xtr, ytr, xte, yte


def run(args):
    import torch
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from . import digits
    from .stages import optimize

    if args.threads:
        torch.set_num_threads(args.threads)
    console = Console()
    model = _load_model(args.model, args.weights)
    xtr, ytr, xte, yte = _load_data(args.data, args.limit)

    def eval_fn(m):
        with torch.no_grad():
            m.eval()
            return float(sum((m(xte[i:i + 500]).argmax(1) == yte[i:i + 500]).sum().item()
                             for i in range(0, len(xte), 500)) / len(xte))

    if args.target is not None:
        target = args.target
    else:
        with console.status("evaluating the float model"):
            target = eval_fn(model) - args.max_drop / 100.0
    stages = tuple(s.strip() for s in args.stages.split(",") if s.strip())
    console.print(f"[bold]streamfold quantize[/bold] {args.model}: W{args.weight_bits}/A{args.act_bits}, "
                  f"{args.calibration} calibration, {'per-tensor' if args.per_tensor else 'per-channel'} weights, "
                  f"target {target * 100:.2f} % on {len(xte)} {args.data} test images, stages {', '.join(stages)}")

    progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.fields[stage]:8}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total}"), TextColumn("{task.description}"),
                        TimeElapsedColumn(), console=console)
    tasks = {}

    def on_event(event, **kw):
        if event == "stage_start":
            tasks[kw["stage"]] = progress.add_task("", stage=kw["stage"], total=None)
        elif event == "step":
            t = tasks.get(kw["stage"])
            if t is not None:
                progress.update(t, description=kw["description"], completed=kw["i"], total=kw["n"])
        elif event == "stage_end":
            rec = kw["record"]
            t = tasks.get(rec["stage"])
            if t is not None:
                acc = rec["accuracy"]
                progress.update(t, completed=1, total=1, description=(
                    f"{acc * 100:.2f} % {'[green]meets' if rec['met'] else '[red]misses'} the target"
                    if acc == acc else rec["note"]))

    with progress:
        result = optimize(model, xtr[:args.calib_size], eval_fn, target, args.weight_bits, args.act_bits,
                          args.calibration, digits.batches(xtr, ytr) if "qat" in stages else None,
                          per_channel=not args.per_tensor, input_bits=args.input_bits,
                          percentile=args.percentile, stages=stages, partial_rule=args.partial_rule,
                          placement=args.placement, qat_epochs=args.qat_epochs, qat_lr=args.qat_lr,
                          progress=on_event)

    t = Table(title=f"stages (target {target * 100:.2f} %)")
    for col, j in (("stage", "left"), ("accuracy", "right"), ("size", "right"), ("time", "right"),
                   ("float layers", "left"), ("met", "center"), ("note", "left")):
        t.add_column(col, justify=j, overflow="fold")
    for row in result.table():
        t.add_row(*row)
    console.print(t)
    verdict = "[green]meets the target" if result.met else "[red]no stage met the target; kept the most accurate"
    console.print(f"result: stage [bold]{result.stage}[/bold], {result.accuracy * 100:.2f} % — {verdict}")
    if result.float_layers:
        h = Table(title="layers left in float: they run on the host")
        h.add_column("layer")
        h.add_column("why / where", overflow="fold")
        for name, why in result.host_layers():
            h.add_row(name, why)
        console.print(h)
    else:
        console.print("every layer is quantized: the whole network can go to the accelerator")

    if args.output:
        from .host import placement
        path = result.export_qonnx(args.output, xte[:1])
        with console.status("checking the build's dataflow partition"):
            p = placement(path)
        console.print(f"wrote {path}; streamfold's flow makes {p['partitions']} dataflow partition(s) of "
                      f"{p['hw_layers']} HW layers; host-side nodes:")
        for node, op, why in p["host"]:
            console.print(f"  {node} ({op}): {why}")
        if result.float_layers:
            console.print("build it with steps=streamfold.quantize.host.build_steps() (step_streamline that "
                          "leaves the float layers to the host)")
    if args.json:
        Path(args.json).write_text(json.dumps({"stage": result.stage, "met": result.met, "target": target,
                                               "history": result.history,
                                               "host_layers": result.host_layers()}, indent=2) + "\n")
    return 0 if result.met else 1


def main(argv=None):  # pragma: no cover - `python -m streamfold.quantize.cli`
    import argparse
    ap = argparse.ArgumentParser(prog="streamfold")
    sub = ap.add_subparsers(dest="cmd", required=True)
    add_parser(sub)
    args = ap.parse_args(["quantize"] + list(sys.argv[1:] if argv is None else argv))
    return args.fn(args)
