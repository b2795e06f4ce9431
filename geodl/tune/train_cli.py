"""``geodl train TASK --model M``: train one configuration of a model on a task with
:func:`~geodl.tasks.fit` and print its validation and test metrics.

The configuration is the model's paper default, or ``--config FILE``: the ``best.json`` that
``geodl tune`` writes, or a JSON object of :class:`~geodl.models.gnn.GNNConfig` fields plus
``lr`` and ``weight_decay`` (the fields it leaves out keep their default). The tasks and the
training budget are those of ``geodl tune`` (:data:`geodl.tune.study.TASKS`).

Under ``torchrun`` the same command trains data-parallel (:mod:`geodl.tasks.distributed`), with
the batch size of one process as the global batch::

    torchrun --nproc_per_node=2 -m geodl train mutag --model gin --checkpoint gin.pt

(several hosts: ``--nnodes=H --rdzv-backend=c10d --rdzv-endpoint=HOST:PORT`` on every host).
Rank 0 alone prints and writes ``--checkpoint``, ``--save`` and ``--metrics``, each atomically.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

__all__ = ["register", "load_config"]


def load_config(model: str, path: str | Path, base):
    """The :class:`~geodl.tune.spaces.TrialConfig` of ``model`` that the JSON file ``path``
    describes, on the task whose fixed fields are ``base`` (a ``GNNConfig``).

    The file holds ``geodl tune``'s ``best.json`` (its ``"config"``) or a flat object of
    ``GNNConfig`` fields, ``lr`` and ``weight_decay``; fields it leaves out keep the model's
    default. An unknown field, or a width that does not fit the task, is a ``ValueError``.
    """
    from geodl.tune.spaces import TrialConfig, config_from_params, default_params

    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"--config {path} is not JSON ({err}); give geodl tune's best.json or "
                         "an object such as {\"hidden_channels\": 32, \"lr\": 0.01}.") from None
    if isinstance(data, dict) and isinstance(data.get("config"), dict):
        data = data["config"]  # geodl tune's best.json
    if not isinstance(data, dict):
        raise ValueError(f"--config {path} holds a {type(data).__name__}; it must hold a JSON "
                         "object of model fields, lr and weight_decay.")
    point = config_from_params(model, default_params(model, base), base)
    fields = {f.name for f in dataclasses.fields(point.model)}
    unknown = sorted(set(data) - fields - {"lr", "weight_decay"})
    if unknown:
        raise ValueError(f"--config {path} has unknown fields {unknown}; valid ones are "
                         f"{sorted(fields | {'lr', 'weight_decay'})}.")
    for name in ("in_channels", "out_channels"):  # fixed by the task
        if name in data and data[name] != getattr(base, name):
            raise ValueError(f"--config {path} has {name}={data[name]}, but this task's "
                             f"graphs give {name}={getattr(base, name)}: the file was written "
                             "for another task; drop the field or use that task.")
    model_fields = {k: v for k, v in data.items() if k in fields}
    return TrialConfig(dataclasses.replace(point.model, **model_fields),
                       lr=float(data.get("lr", point.lr)),
                       weight_decay=float(data.get("weight_decay", point.weight_decay)))


def register(sub) -> None:
    """Add ``geodl train`` to the sub-parsers of ``geodl``'s command line."""
    from geodl.tune.cli import int_at_least
    from geodl.tune.spaces import SPACES
    from geodl.tune.study import TASKS

    positive = int_at_least(1)
    p = sub.add_parser("train", help="train one configuration of a model on a task (torchrun: "
                       "data-parallel)", description=__doc__.split("\n\n")[0],
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="data-parallel: torchrun --nproc_per_node=K -m geodl train ...")
    p.add_argument("task", type=str.lower, choices=sorted(TASKS), metavar="TASK",
                   help=f"one of {', '.join(sorted(TASKS))}")
    p.add_argument("--model", required=True, type=str.lower, choices=sorted(SPACES))
    p.add_argument("--config", metavar="FILE", help="geodl tune's best.json, or a JSON object "
                   "of model fields, lr and weight_decay (default: the paper configuration)")
    p.add_argument("--epochs", type=positive, metavar="N",
                   help="most epochs (default: the task's budget in geodl tune)")
    p.add_argument("--patience", type=positive, metavar="N",
                   help="early-stopping patience (default: the task's)")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--checkpoint", metavar="FILE", help="checkpoint every epoch (rank 0)")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    p.add_argument("--save", metavar="FILE", help="write the trained weights (a state_dict)")
    p.add_argument("--metrics", metavar="FILE", help="write the val/test metrics as JSON")
    p.add_argument("--data-root", metavar="DIR", help="raw datasets folder (default $GEODL_DATA "
                   "or ~/.cache/geodl)")
    p.add_argument("--threads", type=positive, metavar="N", help="torch threads per process")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    import torch

    from geodl._io import atomic_write
    from geodl._paths import check_file_path
    from geodl.models.gnn import count_parameters
    from geodl.tasks import fit
    from geodl.tasks.distributed import world_from_env
    from geodl.tune.spaces import MODELS, config_from_params, default_params
    from geodl.tune.study import load_task

    if args.resume and not args.checkpoint:
        print("geodl train: error: --resume needs --checkpoint FILE.", file=sys.stderr)
        return 2
    main = world_from_env()[0] == 0
    tic = time.perf_counter()
    try:
        for flag in ("checkpoint", "save", "metrics"):
            if getattr(args, flag):
                check_file_path(getattr(args, flag), f"--{flag}")
        if args.threads:
            torch.set_num_threads(args.threads)
        spec = load_task(args.task, args.data_root)
        point = (load_config(args.model, args.config, spec.base) if args.config else
                 config_from_params(args.model, default_params(args.model, spec.base),
                                    spec.base))
        torch.manual_seed(args.seed)
        net = MODELS[args.model](point.model)
        history = fit(net, spec.task, epochs=args.epochs or spec.epochs, lr=point.lr,
                      weight_decay=point.weight_decay, patience=args.patience or spec.patience,
                      seed=args.seed, progress=not args.no_progress, checkpoint=args.checkpoint,
                      resume=args.resume)
    except (OSError, ValueError, RuntimeError) as err:
        print(f"geodl train: error: {err}", file=sys.stderr)
        return 2
    net.eval()
    metrics = {f"{split}_{k}": float(v) for split in ("val", "test")
               if spec.task.has_split(split) for k, v in spec.task.evaluate(net, split).items()}
    if not main:
        return 0
    print(f"{args.model} on {args.task}: {count_parameters(net):,} parameters, "
          f"{history.epochs} epochs (best {history.best_epoch}) in "
          f"{time.perf_counter() - tic:.1f} s")
    print("  " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    if args.save:
        atomic_write(args.save, lambda tmp: torch.save(net.state_dict(), tmp))
        print(f"  weights: {args.save}")
    if args.metrics:
        text = json.dumps({"config": point.to_dict(), "metrics": metrics}, indent=2)
        atomic_write(args.metrics, lambda tmp: Path(tmp).write_text(text + "\n"))
        print(f"  metrics: {args.metrics}")
    return 0
