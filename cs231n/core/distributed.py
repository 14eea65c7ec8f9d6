"""Training in several processes: the one distributed context every PyTorch training run here
stands on (GAN, Vision Transformer, captioning Transformer, SimCLR, diffusion).

A run launched by ``torchrun`` (``torchrun --standalone --nproc_per_node=N -m cs231n ...``, or
``cs231n ... train --nproc N``, which runs that command) finds ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` in its environment. :func:`setup` reads
them and joins the process group: gloo on CPUs, NCCL on CUDA (one GPU per process,
``cuda:LOCAL_RANK``). Without them (or with ``WORLD_SIZE=1``) it returns a one-process
:class:`Context` whose methods do nothing, so a training loop is written once::

    ctx = distributed.setup(device)               # device: "cpu", "cuda", ...
    local = ctx.local_batch_size(batch_size, "gan train")  # the global batch, split evenly
    ctx.sync_optimizer(optimizer)                 # every step() averages the gradients first
    ctx.broadcast(model)                          # rank 0's weights everywhere
    for batch in batches:                         # the global batch, drawn alike everywhere
        loss = loss_fn(model(ctx.shard(batch)))   # this rank's contiguous part
        optimizer.zero_grad(); loss.backward(); optimizer.step()
        history.append(ctx.mean(loss.item()))     # the global batch's loss

The rules every run follows (and the tests check):

- The batch size a user gives is the global batch: each of W ranks trains on B / W examples of
  it (B must divide evenly, checked before any work). Runs that draw their batches from a
  random state (the GAN's noise, the captioner's minibatches) draw the whole global batch on
  every rank with the same seed and keep their contiguous part (:meth:`Context.shard`); a
  DataLoader takes :class:`GlobalOrderSampler`, a ``DistributedSampler`` whose epoch order is
  the one-process order, dealt out in turn (rank r: positions r, r + W, ...).
- Gradients are averaged by sum-then-divide (``all_reduce(SUM)`` then ``/ W``; gloo's
  ``ReduceOp.AVG`` has an open correctness report), in one flat buffer per step, before each
  optimiser step (:meth:`Context.sync_optimizer`; :meth:`Context.average_gradients` by hand).
  The loss on each rank is the mean over its B / W examples, so the average of the ranks'
  gradients is the gradient of the global batch's mean loss: W processes x B / W give the
  model one process x B gives, up to float rounding (the sums run in another order: about
  1e-5 after 8 Adam steps in float32; the tests allow 1e-4). A run with several optimisers
  (the GAN's discriminator and generator) synchronises each step. Why a hook on the optimiser
  rather than the ``DistributedDataParallel`` wrapper: the course's solvers own their loops
  and their ``model`` attribute, the GAN's discriminator runs twice before one backward, and
  WGAN-GP's penalty differentiates twice, all of which the wrapper's bucketed hooks dislike;
  the hook costs one all-reduce per step and changes no checkpoint key.
- Seeds: equal on every rank where draws must agree (weights at construction, the data order,
  the GAN's noise, drawn globally); per rank where they must differ (dropout masks:
  :meth:`Context.seed` mixes in the rank). Dropout therefore masks differently than in one
  process: with dropout the runs agree in distribution, not number for number.
- Batch normalisation: on CUDA, :meth:`Context.sync_batchnorm` makes it ``SyncBatchNorm`` (the
  statistics of the global batch: exact). PyTorch has no ``SyncBatchNorm`` on CPUs: there
  each rank normalises with its own B / W examples' statistics and keeps its own running
  averages; rank 0's are the ones saved. Models with batch norm then differ from a one-process
  run (like a smaller batch), and only those.
- Only the main process (rank 0) writes (:class:`cs231n.core.run.Trainer` asks
  :func:`is_main_process`): the run folder, checkpoints, samples, losses, the lock, progress
  bars. The others train, load and resume like it and stay quiet unless they fail.
- A failing rank ends the run: ``torchrun`` stops the others when one exits with an error;
  collectives give up after :data:`TIMEOUT` where a peer vanished without it.

:meth:`Context.wrap` wraps a model in ``DistributedDataParallel`` (no ``device_ids`` on CPUs),
for a model with one forward and one backward per step, and
:meth:`Context.all_gather_with_grad` gathers every rank's tensors with their gradient (SimCLR's
negatives from the global batch: every rank computes the course's loss on the whole gathered
batch, the one-process loss of the same embeddings; the gather's backward sums every rank's
gradient into each rank's rows, and the optimiser hook's divide by W makes it that loss's
gradient).

A new run plugs in as the GAN, ViT and captioning runs do: in its ``Trainer`` subclass's
``__init__``, ``self.dist = distributed.setup(device)`` (the device to use is
``self.dist.device``), ``self.dist.local_batch_size(...)`` before any work, the world size in
its recorded settings with ``"world_size"`` in ``may_change`` (a resume may change it),
``self.dist.sync_optimizer(...)`` for each optimiser, ``self.dist.broadcast(model)`` once the
start (and any resume) is done, ``self.dist.shard`` / ``sampler`` for the data,
``self.dist.seed_torch(seed, "dropout", epoch)`` where draws must differ, ``self.dist.mean``
for what it records; ``progress=... and self.dist.is_main`` for its bars. ``Trainer`` already
writes only on rank 0 and checks that every rank resumed the same epoch.

Nothing here imports PyTorch at import time: :func:`env_rank` and :func:`is_main_process` answer
from the environment, so a CLI can decide who holds a lock before loading torch.
"""

from __future__ import annotations

import atexit
import datetime
import hashlib
import os
import sys
from dataclasses import dataclass

# How long a collective waits for a missing peer before the run fails (instead of hanging).
TIMEOUT = datetime.timedelta(minutes=5)


def _env_int(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {value!r}") from None
    if number < 0:
        raise ValueError(f"environment variable {name} must be 0 or more, got {number}")
    return number


def env_rank() -> int:
    """This process's rank as torchrun set it (``RANK``), 0 when not launched by it."""
    return _env_int("RANK", 0)


def env_world_size() -> int:
    """The number of processes torchrun started (``WORLD_SIZE``), 1 when not launched by it."""
    return max(_env_int("WORLD_SIZE", 1), 1)


def launched() -> bool:
    """Whether this process is one of several started by torchrun (``WORLD_SIZE`` > 1)."""
    return env_world_size() > 1


def is_main_process() -> bool:
    """Rank 0 of an initialised process group, else the environment's rank 0 (or no launch)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank() == 0
    return env_rank() == 0


@dataclass(frozen=True)
class Context:
    """Where this process stands in a run: ``rank`` of ``world_size`` (``local_rank`` on its
    machine), the ``backend`` ("gloo", "nccl", or None in one process) and the torch device it
    trains on. Every method is a no-op (or the identity) in one process."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    device: str = "cpu"

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ---- the batch -----------------------------------------------------------------------

    def local_batch_size(self, batch_size, what) -> int:
        """``batch_size`` (the global batch) / world size; ValueError naming ``what`` when the
        batch does not split evenly across the processes."""
        if batch_size % self.world_size:
            raise ValueError(
                f"{what}: batch size {batch_size} does not split evenly across "
                f"{self.world_size} processes (the batch size is the global batch; use a "
                f"multiple of {self.world_size})"
            )
        return batch_size // self.world_size

    def shard(self, batch):
        """This rank's contiguous part of a global batch (dim 0, which the world size divides):
        rows ``[rank * B / W, (rank + 1) * B / W)``."""
        if not self.distributed:
            return batch
        size = len(batch) // self.world_size
        return batch[self.rank * size : (self.rank + 1) * size]

    def sampler(self, dataset, generator=None, seed=0):
        """A ``GlobalOrderSampler`` for ``dataset`` (None in one process: the DataLoader's
        own shuffling is the same order)."""
        if not self.distributed:
            return None
        return __getattr__("GlobalOrderSampler")(
            dataset, self.world_size, self.rank, generator, seed
        )

    # ---- gradients and values --------------------------------------------------------------

    def average_gradients(self, params):
        """Average the gradients of ``params`` across the ranks in place: one flat buffer
        all-reduced with SUM, then divided by the world size. Parameters without a gradient
        are left out (every rank runs the same graph, so they lack it everywhere)."""
        if self.distributed:
            self.average_tensors([p.grad for p in params if p.grad is not None])

    def average_tensors(self, tensors):
        """Average ``tensors`` (one dtype) across the ranks in place: one flat buffer
        all-reduced with SUM, then divided by the world size (gloo's AVG has an open
        correctness report). Gradients, and SimCLR's batch-norm running statistics."""
        if not self.distributed or not tensors:
            return
        import torch
        import torch.distributed as dist

        flat = torch.cat([t.reshape(-1) for t in tensors])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= self.world_size
        offset = 0
        for t in tensors:
            t.copy_(flat[offset : offset + t.numel()].view_as(t))
            offset += t.numel()

    def sync_optimizer(self, optimizer):
        """Make every ``optimizer.step()`` average its parameters' gradients first (a step
        pre-hook): the course's solvers step as they do, synchronised. Returns the hook's
        handle (None in one process)."""
        if not self.distributed:
            return None
        params = [p for group in optimizer.param_groups for p in group["params"]]
        return optimizer.register_step_pre_hook(lambda *_: self.average_gradients(params))

    def broadcast(self, module):
        """Rank 0's parameters and buffers in ``module`` on every rank."""
        if not self.distributed:
            return
        import torch
        import torch.distributed as dist

        with torch.no_grad():
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, src=0)

    def mean(self, value: float) -> float:
        """The mean of a number over the ranks (a loss of the global batch)."""
        if not self.distributed:
            return value
        import torch
        import torch.distributed as dist

        total = torch.tensor([float(value)], dtype=torch.float64, device=self._comm_device)
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total.item() / self.world_size

    def means(self, values):
        """:meth:`mean` of each number of a sequence, in one collective."""
        if not self.distributed:
            return list(values)
        import torch
        import torch.distributed as dist

        total = torch.tensor(
            [float(v) for v in values], dtype=torch.float64, device=self._comm_device
        )
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return [x / self.world_size for x in total.tolist()]

    def agree(self, value, what):
        """Check that every rank holds the same ``value`` (plain data): ValueError naming
        ``what`` and the ranks' values otherwise (e.g. a checkpoint one node cannot see)."""
        if not self.distributed:
            return
        import torch.distributed as dist

        values = [None] * self.world_size
        dist.all_gather_object(values, value)
        if any(v != values[0] for v in values):
            listed = ", ".join(f"rank {r}: {v!r}" for r, v in enumerate(values))
            raise ValueError(
                f"the processes disagree on {what} ({listed}); every process must see the "
                "same run folder and data"
            )

    def barrier(self):
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()

    @property
    def _comm_device(self):
        return self.device if self.backend == "nccl" else "cpu"

    # ---- random draws ------------------------------------------------------------------------

    def seed(self, seed, stream, step=0) -> int:
        """A seed for draws that must differ across ranks (dropout): from the run's ``seed``,
        the name of the ``stream`` and a ``step`` (the epoch), and the rank. Rank 0 of a
        one-process run gets the same as rank 0 of several."""
        text = f"{seed}/{stream}/{step}/{self.rank}".encode()
        return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") >> 1

    def seed_torch(self, seed, stream, step=0):
        """Seed torch's global generators with :meth:`seed` (several processes only: one
        process keeps its own, restorable, random state)."""
        if self.distributed:
            import torch

            torch.manual_seed(self.seed(seed, stream, step))

    # ---- models ------------------------------------------------------------------------------

    def sync_batchnorm(self, model):
        """``model`` with ``SyncBatchNorm`` in place of its batch norms on CUDA (the global
        batch's statistics). On CPUs PyTorch has none: the model is returned as it is, each
        rank normalising with its own examples (see the module's notes)."""
        if not self.distributed or self.backend != "nccl":
            return model
        import torch

        return torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)

    def wrap(self, model, **kwargs):
        """``model`` in ``DistributedDataParallel`` (``device_ids`` only on CUDA); the model
        itself in one process. For a model with one forward and one backward per step; a
        checkpoint saves ``wrapped.module``."""
        if not self.distributed:
            return model
        from torch.nn.parallel import DistributedDataParallel

        if self.backend == "nccl":
            kwargs.setdefault("device_ids", [self.local_rank])
            kwargs.setdefault("output_device", self.local_rank)
        return DistributedDataParallel(model, **kwargs)

    def all_gather_with_grad(self, tensor):
        """Every rank's ``tensor`` concatenated along dim 0, rank by rank, with the gradient
        flowing back to each rank's own part (the others' parts' gradients are summed into
        it): SimCLR's negatives from the global batch. Equal shapes on every rank."""
        if not self.distributed:
            return tensor
        return __getattr__("AllGatherWithGrad").apply(tensor, self.world_size, self.rank)


def _all_gather_class():
    import torch
    import torch.distributed as dist

    class AllGatherWithGrad(torch.autograd.Function):
        """all_gather whose backward sums every rank's gradient and keeps this rank's rows."""

        @staticmethod
        def forward(ctx, tensor, world_size, rank):
            ctx.rank, ctx.size = rank, tensor.shape[0]
            parts = [torch.empty_like(tensor) for _ in range(world_size)]
            dist.all_gather(parts, tensor.contiguous())
            return torch.cat(parts)

        @staticmethod
        def backward(ctx, grad):
            # Every rank's loss reads every rank's part: sum the gradients (all_reduce, which
            # gloo has, where reduce_scatter it has not), keep this rank's rows.
            grad = grad.contiguous().clone()
            dist.all_reduce(grad, op=dist.ReduceOp.SUM)
            return grad[ctx.rank * ctx.size : (ctx.rank + 1) * ctx.size], None, None

    return AllGatherWithGrad


def _global_order_sampler_class():
    import torch
    from torch.utils.data import DistributedSampler, RandomSampler

    class GlobalOrderSampler(DistributedSampler):
        """A ``DistributedSampler`` (``set_epoch`` included) whose epoch order is the one a
        one-process DataLoader shuffles with ``generator`` (its ``RandomSampler``, drawn alike on
        every rank), padded with its first indices to a multiple of the world size and dealt
        out in turn: rank r takes positions r, r + W, r + 2W, ... With a per-rank batch of
        B / W, the ranks' k-th batches together are the one-process k-th batch of B, so
        training matches one process exactly when the dataset's size is a multiple of W (else
        W - n mod W examples are seen twice an epoch). Without ``generator``, the order is
        seeded by ``seed + epoch`` (``set_epoch``)."""

        def __init__(self, dataset, num_replicas, rank, generator=None, seed=0):
            super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed)
            self.generator = generator

        def __iter__(self):
            generator = self.generator
            if generator is None:
                generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = list(RandomSampler(self.dataset, generator=generator))
            order += order[: self.total_size - len(order)]
            return iter(order[self.rank : self.total_size : self.num_replicas])

    return GlobalOrderSampler


# Classes that derive from torch's, made on first use (this module loads without torch).
_LAZY = {"AllGatherWithGrad": _all_gather_class, "GlobalOrderSampler": _global_order_sampler_class}


def __getattr__(name):
    if name in _LAZY:
        if name in globals():  # made already (a direct call)
            return globals()[name]
        cls = globals()[name] = _LAZY[name]()
        cls.__module__ = __name__
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_CONTEXT: Context | None = None


def backend_for(device) -> str:
    """The collective backend for a device: NCCL for CUDA, gloo otherwise."""
    return "nccl" if str(device).startswith("cuda") else "gloo"


def setup(device="cpu") -> Context:
    """The distributed context of this process: with torchrun's environment (``WORLD_SIZE``
    > 1), join the process group (once; later calls return the same context) with the backend
    of ``device`` and bind CUDA to ``cuda:LOCAL_RANK``; else a one-process context on
    ``device``. ValueError for a malformed environment or CUDA asked without enough GPUs."""
    global _CONTEXT
    world = env_world_size()
    if world <= 1:
        return Context(device=str(device))
    if _CONTEXT is not None:
        return _CONTEXT
    rank, local_rank = env_rank(), _env_int("LOCAL_RANK", 0)
    if rank >= world:
        raise ValueError(f"RANK {rank} is not below WORLD_SIZE {world}")
    missing = [v for v in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(v)]
    if missing:
        raise ValueError(
            f"WORLD_SIZE is {world} but {', '.join(missing)} is not set: launch with torchrun"
        )
    import torch
    import torch.distributed as dist

    backend = backend_for(device)
    if backend == "nccl":
        if local_rank >= torch.cuda.device_count():
            raise ValueError(
                f"process {rank} (local rank {local_rank}) has no GPU: this machine has "
                f"{torch.cuda.device_count()}; start at most that many processes per node"
            )
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
    if not dist.is_initialized():
        dist.init_process_group(backend, rank=rank, world_size=world, timeout=TIMEOUT)
        atexit.register(teardown)
    _CONTEXT = Context(rank, world, local_rank, backend, str(device))
    return _CONTEXT


def teardown():
    """Leave the process group (at exit; harmless when there is none)."""
    global _CONTEXT
    _CONTEXT = None
    torch = sys.modules.get("torch")
    if (
        torch is not None
        and torch.distributed.is_available()
        and torch.distributed.is_initialized()
    ):
        torch.distributed.destroy_process_group()


def torchrun_command(nproc, argv, python=None) -> list[str]:
    """The command that runs ``python -m cs231n ARGV`` in ``nproc`` processes on this machine:
    ``python -m torch.distributed.run --standalone --nproc-per-node N -m cs231n ARGV``
    (``--standalone``: a free port of its own on 127.0.0.1)."""
    return [
        python or sys.executable, "-m", "torch.distributed.run", "--standalone",
        f"--nproc-per-node={int(nproc)}", "-m", "cs231n", *argv,
    ]  # fmt: skip
