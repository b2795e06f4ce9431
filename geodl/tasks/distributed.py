"""Data-parallel training on ``torch.distributed``: what :func:`~geodl.tasks.fit` does when it
runs under ``torchrun`` (PyTorch DDP, Li et al. 2020, https://arxiv.org/abs/2006.15704).

``torchrun --nproc_per_node=K script.py`` (add ``--nnodes`` and a rendezvous endpoint for several
hosts) starts K processes with ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE`` and ``MASTER_ADDR`` /
``MASTER_PORT`` set. :func:`setup` reads them and, when ``WORLD_SIZE > 1``:

1. joins the process group: gloo for a model on the CPU, nccl for one on a GPU (the model is
   moved to ``cuda:LOCAL_RANK``); a collective that waits longer than ``GEODL_DIST_TIMEOUT``
   seconds (default 120) raises instead of hanging, so a dead rank stops the others;
2. wraps the model in ``DistributedDataParallel`` (gradients averaged over the ranks in
   ``backward``; the wrapped model is only used for training steps); a task with manual
   optimisation (``configure_optimizers``: a GAN's critic and generator) keeps the bare model,
   whose submodules it calls, and its optimizers average the gradients over the ranks before
   each step instead (:meth:`Distributed.sync_optimizers`);
3. shards every epoch's batches, keeping the **global** batch the task was built with:
   ``GraphPrediction`` lists of graphs get a ``DistributedSampler`` with ``batch_size / K``
   graphs per rank, seeded from the RNG state :func:`fit` sets per epoch, so that the K shards
   of a step are exactly the batch a single process draws; a task with a
   :class:`~geodl.graph.NeighborLoader` (``task.loader``) shards its seed nodes; any other
   task's batches (tensors, tuples of tensors, PyG batches) are split K ways along dim 0;
4. averages the validation metrics over the ranks (every rank evaluates the full split with
   identical weights; the all-reduce keeps early stopping and schedules in lock-step);
5. lets rank 0 alone write checkpoints and show progress bars (:attr:`Distributed.is_main`),
   the others waiting at a barrier until the file is complete.

With equal per-rank batches the averaged gradient is the gradient of the global batch's mean
loss, so K processes follow the single-process run (to float round-off), as the tests check.
Layers whose output depends on the whole batch (batch norm) see only their rank's share.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

__all__ = ["Distributed", "setup", "world_from_env", "shard_batch"]


def world_from_env() -> tuple[int, int, int]:
    """``(rank, local_rank, world_size)`` from torchrun's environment; ``(0, 0, 1)`` outside."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError as err:
        raise ValueError(f"RANK={os.environ.get('RANK')!r}, WORLD_SIZE="
                         f"{os.environ.get('WORLD_SIZE')!r}: torchrun sets them to integers; "
                         "unset them to train in one process.") from err
    if not 0 <= rank < world:
        raise ValueError(f"RANK={rank} with WORLD_SIZE={world}: need 0 <= RANK < WORLD_SIZE.")
    return rank, local, world


def shard_batch(batch: Any, rank: int, world_size: int) -> Any:
    """This rank's share of one global batch: ``world_size`` near-equal parts along dim 0 of a
    tensor, of every tensor in a tuple / list, or of the graphs of a PyG ``Batch``.

    >>> shard_batch((torch.arange(6), torch.arange(6) * 10), 1, 2)
    (tensor([3, 4, 5]), tensor([30, 40, 50]))
    """
    from torch_geometric.data import Batch, Data

    if isinstance(batch, Tensor):
        return batch.tensor_split(world_size)[rank]
    if isinstance(batch, (tuple, list)):
        return type(batch)(shard_batch(b, rank, world_size) for b in batch)
    if isinstance(batch, Batch):
        ids = torch.arange(batch.num_graphs).tensor_split(world_size)[rank]
        return Batch.from_data_list(batch.index_select(ids))
    if isinstance(batch, Data):  # one whole graph (transductive): every rank trains on it
        return batch
    raise TypeError(f"cannot split a training batch of type {type(batch).__name__} across "
                    f"{world_size} processes; give the task a shard(rank, world_size) method "
                    "or yield tensors, tuples of tensors or PyG batches.")


class _ShardedTask:
    """A task whose ``train_batches`` are this rank's shards and whose ``evaluate`` is
    all-reduced; every other attribute is the wrapped task's."""

    def __init__(self, task: Any, world: Distributed):
        self.task, self.world = task, world

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)

    def train_batches(self) -> Iterable[Any]:
        task, w = self.task, self.world
        if hasattr(task, "shard"):
            return task.shard(w.rank, w.world_size)
        loader = getattr(task, "loader", None)
        if loader is not None and hasattr(loader, "world_size"):  # NeighborLoader: seed nodes
            loader.rank, loader.world_size = w.rank, w.world_size
            return task.train_batches()
        if hasattr(task, "splits") and hasattr(task, "batch_size") and \
                isinstance(task.splits.get("train"), list):
            return self._graph_loader()
        return (shard_batch(b, w.rank, w.world_size) for b in task.train_batches())

    def _graph_loader(self) -> Iterator[Any]:
        from torch.utils.data import DistributedSampler
        from torch_geometric.loader import DataLoader

        task, w = self.task, self.world
        if task.batch_size % w.world_size:
            raise ValueError(f"batch_size={task.batch_size} is the global batch and must be a "
                             f"multiple of the {w.world_size} processes; pass batch_size="
                             f"{w.world_size * max(1, task.batch_size // w.world_size)}.")
        # draw what DataLoader(shuffle=True) draws from the global RNG (its base seed, then
        # its sampler's seed), so the shards tile the batches one process would train on
        torch.empty((), dtype=torch.int64).random_()
        seed = int(torch.empty((), dtype=torch.int64).random_().item())
        sampler = DistributedSampler(task.splits["train"], num_replicas=w.world_size,
                                     rank=w.rank, shuffle=True, seed=seed)
        own = torch.Generator().manual_seed(seed)  # keeps the global RNG where one process has it
        return iter(DataLoader(task.splits["train"], batch_size=task.batch_size // w.world_size,
                               sampler=sampler, generator=own))

    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        return self.world.all_reduce_mean(self.task.evaluate(model, split))


@dataclass
class Distributed:
    """This process's place in the process group (see the module docstring)."""

    rank: int
    local_rank: int
    world_size: int
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        """``DistributedDataParallel(model)`` (parameters broadcast from rank 0)."""
        from torch.nn.parallel import DistributedDataParallel

        device = next(model.parameters()).device
        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def shard(self, task: Any) -> Any:
        return _ShardedTask(task, self)

    def sync_optimizers(self, model: nn.Module, optimizers: dict[str, Any]) -> list[Any]:
        """Data parallelism for manual optimisation, where the task steps its own optimizers
        and calls the networks inside ``model`` directly (a GAN's ``model.critic`` and
        ``model.generator``), which a ``DistributedDataParallel`` wrapper would hide.

        Broadcasts ``model``'s parameters and buffers from rank 0 (what DDP does when it
        wraps), then makes every optimizer average its parameters' gradients over the ranks
        just before it steps (a step pre-hook): the same update as DDP's averaged
        ``backward``. Returns the hook handles (``handle.remove()`` detaches them).
        """
        with torch.no_grad():
            for tensor in [*model.parameters(), *model.buffers()]:
                dist.broadcast(tensor, src=0)

        def average(optimizer, args, kwargs):  # the grads this step is about to use
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        dist.all_reduce(p.grad)
                        p.grad.div_(self.world_size)

        return [opt.register_step_pre_hook(average) for opt in optimizers.values()]

    def all_reduce_mean(self, metrics: dict[str, float]) -> dict[str, float]:
        """The mean over the ranks of each metric (same keys on every rank)."""
        keys = sorted(metrics)
        device = torch.device("cuda", self.local_rank) if self.backend == "nccl" else "cpu"
        values = torch.tensor([float(metrics[k]) for k in keys], dtype=torch.float64,
                              device=device)
        dist.all_reduce(values)
        return {k: float(v) / self.world_size for k, v in zip(keys, values.tolist())}

    def barrier(self) -> None:
        dist.barrier()


def setup(model: nn.Module) -> Distributed | None:
    """Join torchrun's process group for ``model`` (``None`` in a single process).

    Moves a CUDA model to ``cuda:LOCAL_RANK`` and uses nccl; a CPU model uses gloo. A process
    group the caller initialised already is reused as it is.
    """
    rank, local, world = world_from_env()
    if world == 1 and not dist.is_initialized():
        return None
    if not dist.is_available():
        raise RuntimeError(f"WORLD_SIZE={world} but this torch build has no torch.distributed; "
                           "install a build with distributed support or run one process.")
    cuda = any(p.is_cuda for p in model.parameters())
    if cuda:
        torch.cuda.set_device(local)
        model.to(torch.device("cuda", local))
    if not dist.is_initialized():
        seconds = float(os.environ.get("GEODL_DIST_TIMEOUT", "120"))
        dist.init_process_group("nccl" if cuda else "gloo",
                                timeout=datetime.timedelta(seconds=seconds))
    return Distributed(dist.get_rank(), local, dist.get_world_size(), dist.get_backend())
