"""cs231n.core.distributed, and every PyTorch training run under it: 2 processes (gloo, on
127.0.0.1, a free port per test) x batch B/2 against 1 process x batch B.

The reference values are the one-process runs themselves (this package's GAN, ViT and captioning
Transformer trainers, computed in the test's process). Tolerance: the two runs sum the same
numbers in another order (each rank's loss is a mean over B/2, then the gradients are summed
and halved), so float32 rounding differs by ~1e-7 per step; Adam divides by sqrt(v) and turns
that into ~1e-6 per step where a gradient is near zero; after 8 steps, 1e-4 absolute bounds it
with room. Dropout is off (masks are drawn per rank), and so is the diffusion U-Net's condition
dropping; the models compared number for number have no batch norm (on CPUs each rank
normalises with its own half: no SyncBatchNorm there), so SimCLR's exact check swaps its ResNet
for a network without it, and its ResNet run is checked for loading, resuming and a loss within
5% of one process's."""

import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest
import torch

from cs231n.core import distributed

TIMEOUT = 240  # seconds for a 2-process run on a busy 2-core machine (a hang fails the test)
TOL = {"rtol": 1e-4, "atol": 1e-4, "equal_nan": True}  # WGAN-GP: no G loss on critic steps


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_processes(code, n=2, timeout=TIMEOUT):
    """``python -c CODE`` in ``n`` processes with the environment torchrun sets (ranks 0..n-1,
    127.0.0.1 and a free port); every process must exit 0 within ``timeout``."""
    port, procs = free_port(), []
    for rank in range(n):
        env = dict(
            os.environ, RANK=str(rank), WORLD_SIZE=str(n), LOCAL_RANK=str(rank),
            LOCAL_WORLD_SIZE=str(n), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
            OMP_NUM_THREADS="1",
        )  # fmt: skip
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", textwrap.dedent(code)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            outputs.append((p.returncode, out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for rank, (rc, out, err) in enumerate(outputs):
        assert rc == 0, f"rank {rank} exited {rc}:\n{out}\n{err}"
    return outputs


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], **TOL, msg=lambda m, k=k: f"{k}: {m}")


# ---- one process: the context does nothing --------------------------------------------------


def test_one_process_context_is_the_identity(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ctx = distributed.setup("cpu")
    x = torch.arange(6.0)
    assert not ctx.distributed and ctx.is_main and ctx.shard(x) is x
    assert ctx.mean(2.5) == 2.5 and ctx.means([1.0, 2.0]) == [1.0, 2.0]
    assert ctx.local_batch_size(7, "t") == 7 and ctx.sampler(x) is None
    model = torch.nn.Linear(2, 2)
    assert ctx.wrap(model) is model and ctx.sync_batchnorm(model) is model
    assert ctx.all_gather_with_grad(x) is x


def test_batch_must_split_evenly():
    ctx = distributed.Context(rank=1, world_size=2)
    assert ctx.local_batch_size(16, "gan train") == 8
    with pytest.raises(ValueError, match="batch size 15 does not split evenly across 2"):
        ctx.local_batch_size(15, "gan train")
    assert ctx.shard(torch.arange(8)).tolist() == [4, 5, 6, 7]  # rank 1's contiguous half


def test_seeds_differ_by_rank_and_agree_within_one():
    a, b = distributed.Context(rank=0, world_size=2), distributed.Context(rank=1, world_size=2)
    assert a.seed(0, "dropout", 3) == distributed.Context().seed(0, "dropout", 3)
    assert a.seed(0, "dropout", 3) != b.seed(0, "dropout", 3)
    assert a.seed(0, "dropout", 3) != a.seed(0, "dropout", 4)


def test_global_order_sampler_deals_out_the_one_process_order():
    data = list(range(12))
    one = list(torch.utils.data.RandomSampler(data, generator=torch.Generator().manual_seed(5)))
    parts = [
        list(distributed.GlobalOrderSampler(data, 2, r, torch.Generator().manual_seed(5)))
        for r in range(2)
    ]
    assert isinstance(
        distributed.GlobalOrderSampler(data, 2, 0), torch.utils.data.DistributedSampler
    )
    assert parts == [one[0::2], one[1::2]]
    # A per-rank batch of 2 from each: together the one-process batch of 4, in every batch.
    for k in range(3):
        assert sorted(parts[0][2 * k : 2 * k + 2] + parts[1][2 * k : 2 * k + 2]) == sorted(
            one[4 * k : 4 * k + 4]
        )


def test_setup_refuses_a_partial_environment(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(ValueError, match="MASTER_ADDR.*launch with torchrun"):
        distributed.setup("cpu")
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ValueError, match="RANK must be an integer"):
        distributed.env_rank()


def test_torchrun_command():
    cmd = distributed.torchrun_command(2, ["gan", "train", "-o", "r"], python="py")
    assert cmd == [
        "py", "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
        "-m", "cs231n", "gan", "train", "-o", "r",
    ]  # fmt: skip


# ---- two processes ---------------------------------------------------------------------------


def test_gradients_and_gathers_match_one_process(tmp_path):
    """average_gradients (sum, then divide) and all_gather_with_grad (SimCLR's global
    negatives) against autograd over the whole batch in one process."""
    run_processes(
        """
        import torch
        from cs231n.core import distributed
        ctx = distributed.setup("cpu")
        torch.manual_seed(0)
        w, x = torch.randn(3, requires_grad=True), torch.randn(8, 3)
        # A loss that reads every rank's rows (as SimCLR's): the gathered batch's Gram matrix.
        z = ctx.all_gather_with_grad(ctx.shard(x) * w)
        local = (z[ctx.rank * 4 : ctx.rank * 4 + 4] @ z.T).exp().mean()
        local.backward()
        ctx.average_gradients([w])
        w2 = w.detach().clone().requires_grad_(True)
        z2 = x * w2
        ((z2 @ z2.T).exp().mean()).backward()
        torch.testing.assert_close(w.grad, w2.grad, rtol=1e-5, atol=1e-6)
        assert ctx.mean(ctx.rank) == 0.5
        ctx.agree("same", "a value")
        try:
            ctx.agree(ctx.rank, "the rank")
        except ValueError as e:
            assert "rank 0: 0, rank 1: 1" in str(e)
        else:
            raise AssertionError("agree accepted different values")
        """
    )


GAN_WORKER = """
    import sys, torch
    from cs231n.gan.training import train
    images = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for loss in ("gan", "wgan-gp"):
        train(f"{out}/{loss}", images, loss=loss, epochs=2, batch_size=16, sample_every=1000)
"""


def _gan_run(out, loss, epochs, images, resume=True):
    from cs231n.gan.training import train

    train(out, images, loss=loss, epochs=epochs, batch_size=16, sample_every=1000, resume=resume)
    return torch.load(out / "checkpoint.pt", weights_only=False)


def test_gan_two_processes_train_the_one_process_model(tmp_path):
    import json

    run_processes(GAN_WORKER.replace("{out}", str(tmp_path / "two")))
    images = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for loss in ("gan", "wgan-gp"):
        two = tmp_path / "two" / loss
        assert json.loads((two / "config.json").read_text())["world_size"] == 2
        saved = torch.load(two / "checkpoint.pt", weights_only=False)
        one = _gan_run(tmp_path / "one" / loss, loss, 2, images)
        for net in ("D", "G"):
            assert_same_state(saved[net], one[net])
        torch.testing.assert_close(
            torch.tensor(saved["state"]["history"]), torch.tensor(one["state"]["history"]), **TOL
        )
    # The 2-process checkpoint resumes in one process (world size 2 -> 1): a third epoch gives
    # the uninterrupted one-process run's model (every draw is global: exact across sizes).
    resumed = _gan_run(tmp_path / "two" / "gan", "gan", 3, images)
    straight = _gan_run(tmp_path / "straight", "gan", 3, images)
    assert resumed["config"]["world_size"] == 1 and resumed["state"]["epoch"] == 3
    for net in ("D", "G"):
        assert_same_state(resumed[net], straight[net])


VIT_WORKER = """
    import torch
    from cs231n.vit.training import train_vit
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(48, 1, 28, 28, generator=g), torch.randint(0, 10, (48,), generator=g)
    data = torch.utils.data.TensorDataset(x, y)
    cfg = dict(embed_dim=16, num_layers=1, num_heads=2, dim_feedforward=32, dropout=0.0)
    train_vit(data, data, cfg, checkpoint="{out}", seed=0, device="cpu", verbose=False,
              num_epochs=2, batch_size=16, learning_rate=1e-3)
"""


def test_vit_two_processes_train_the_one_process_model(tmp_path):
    from cs231n.vit.training import load_vit_checkpoint

    run_processes(VIT_WORKER.replace("{out}", str(tmp_path / "two")))
    one_out = tmp_path / "one"
    code = textwrap.dedent(VIT_WORKER.replace("{out}", str(one_out)))
    exec(compile(code, "vit_worker", "exec"), {})
    two, one = load_vit_checkpoint(tmp_path / "two"), load_vit_checkpoint(one_out)
    assert two["world_size"] == 2 and one["world_size"] == 1
    assert_same_state(two["model_state"], one["model_state"])
    for key in ("train_loss", "train_acc@1", "test_loss", "test_acc@1"):
        torch.testing.assert_close(
            torch.tensor(two["results"][key]), torch.tensor(one["results"][key]), **TOL
        )
    # World size 2 -> 1: a third epoch from the 2-process checkpoint is the uninterrupted
    # one-process run's third (the data order comes from the saved generator; dropout is off).
    third = VIT_WORKER.replace("num_epochs=2", "num_epochs=3")
    for out in (tmp_path / "two", tmp_path / "straight"):
        code = textwrap.dedent(third.replace("{out}", str(out))).replace(
            "learning_rate=1e-3)", "learning_rate=1e-3, resume=True)"
        )
        exec(compile(code, "vit_worker", "exec"), {})
    resumed, straight = (
        load_vit_checkpoint(tmp_path / "two"),
        load_vit_checkpoint(tmp_path / "straight"),
    )
    assert resumed["epoch"] == 3 and resumed["world_size"] == 1
    assert_same_state(resumed["model_state"], straight["model_state"])


CAPTION_WORKER = """
    import torch
    from cs231n.captioning.training import CaptioningTransformerTrainer, TRANSFORMER_TRAIN_DEFAULTS
    from cs231n.coco_utils import random_caption_data
    data = random_caption_data(num_train=32, num_val=4, feature_dim=16, max_words=6, seed=0)
    hp = {**TRANSFORMER_TRAIN_DEFAULTS, "num_epochs": 2, "batch_size": 8, "wordvec_dim": 16,
          "num_heads": 2, "num_layers": 1, "max_length": 10}
    run = CaptioningTransformerTrainer(
        data, "{out}", True, 0, hp, {}, 100, False, False, print, "cpu")
    for m in run.model.modules():  # dropout off: its masks are drawn per process
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    run.train()
"""


def test_caption_transformer_two_processes_train_the_one_process_model(tmp_path):
    from cs231n.captioning.checkpoint import load_transformer_checkpoint

    run_processes(CAPTION_WORKER.replace("{out}", str(tmp_path / "two")))
    one_out = tmp_path / "one"
    code = textwrap.dedent(CAPTION_WORKER.replace("{out}", str(one_out)))
    exec(compile(code, "caption_worker", "exec"), {})
    (two, two_meta, two_training) = load_transformer_checkpoint(tmp_path / "two.pt")
    (one, _, one_training) = load_transformer_checkpoint(one_out.with_suffix(".pt"))
    assert two_meta["extra"]["world_size"] == 2
    assert_same_state(two.state_dict(), one.state_dict())
    torch.testing.assert_close(
        torch.tensor(two_training["loss_history"]),
        torch.tensor(one_training["loss_history"]),
        **TOL,
    )
    # World size 2 -> 1: a third epoch from the 2-process checkpoint draws the minibatches the
    # uninterrupted one-process run draws (NumPy's saved state) and gives its model.
    third = CAPTION_WORKER.replace('"num_epochs": 2', '"num_epochs": 3')
    for out in (tmp_path / "two", tmp_path / "straight"):
        exec(
            compile(textwrap.dedent(third.replace("{out}", str(out))), "caption_worker", "exec"), {}
        )
    resumed, _, resumed_training = load_transformer_checkpoint(tmp_path / "two.pt")
    straight, _, _ = load_transformer_checkpoint(tmp_path / "straight.pt")
    assert resumed_training["epoch"] == 3
    assert_same_state(resumed.state_dict(), straight.state_dict())


FAILING_WORKER = """
    import os, signal, torch
    from cs231n.gan.training import train
    def fail(iteration, d, g):
        if os.environ["RANK"] == "1" and iteration == 1:
            if {kill}:
                os.kill(os.getpid(), signal.SIGKILL)
            raise ValueError("rank 1 cannot go on: a clear reason")
    images = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    train("{out}", images, epochs=50, batch_size=16, sample_every=1000, callback=fail)
"""


@pytest.mark.parametrize("kill", [False, True], ids=["raises", "killed"])
def test_a_failing_rank_ends_the_run(tmp_path, kill):
    """Under torchrun (--standalone: its own free port), rank 1 fails at its second step while
    rank 0 waits for it in the gradients' all-reduce: the whole run ends (no hang), non-zero,
    naming the failure."""
    script = tmp_path / "worker.py"
    script.write_text(
        textwrap.dedent(FAILING_WORKER.replace("{out}", str(tmp_path / "run"))).replace(
            "{kill}", str(kill)
        )
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
         str(script)],
        capture_output=True, text=True, timeout=TIMEOUT, env=env,
    )  # fmt: skip
    assert result.returncode != 0
    if kill:
        assert "Signal 9 (SIGKILL)" in result.stderr or f"-{int(signal.SIGKILL)}" in result.stderr
    else:
        assert "rank 1 cannot go on: a clear reason" in result.stderr
    # Rank 0 wrote nothing past its first epoch (it never finished one).
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


# Any command: rank 1 is killed at its third all-reduce (a training step's gradients), wherever
# in the command that falls. torch.distributed.all_reduce is looked up when called, so wrapping
# it reaches every collective the command makes through cs231n.core.distributed.
KILLED_COMMAND = """
    import os, signal, sys
    import torch.distributed as dist
    original, calls = dist.all_reduce, [0]
    def all_reduce(*args, **kwargs):
        calls[0] += 1
        if os.environ["RANK"] == "1" and calls[0] == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)
    dist.all_reduce = all_reduce
    from cs231n.cli import main
    sys.exit(main({argv!r}))
"""

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
KILLED_COMMANDS = {
    "vit": ["vit", "train", "--epochs", "1", "--max-images", "256", "-q"],
    "caption": ["caption", "train", "--model", "transformer", "--epochs", "1", "--max-train",
                "400", "-q"],
    "ssl": ["ssl", "train", "--quick", "-q"],
    "diffusion": ["diffusion", "train", "--data", "fashion-mnist", "--quick", "-q"],
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(KILLED_COMMANDS))
def test_a_killed_rank_ends_every_command(tmp_path, command):
    """The GAN's test above, for the other training commands as the user runs them: a rank
    killed mid-training ends the whole run, non-zero and without a hang (the timeout)."""
    argv = [*KILLED_COMMANDS[command], "-o", str(tmp_path / "run")]
    if command != "caption" and not os.path.isdir(FASHION_MNIST):
        if not os.path.isdir(os.path.join(os.environ.get("CS231N_DATA", ""), "fashion-mnist")):
            pytest.skip("needs Fashion-MNIST (Debian's dataset-fashion-mnist)")
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(KILLED_COMMAND.format(argv=argv)))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
         str(script)],
        capture_output=True, text=True, timeout=TIMEOUT, env=env,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Signal 9 (SIGKILL)" in result.stderr or f"-{int(signal.SIGKILL)}" in result.stderr


# ---- the command line ------------------------------------------------------------------------


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.tobytes())


def test_cli_nproc_trains_in_two_processes_and_resumes_in_one(tmp_path):
    """``cs231n gan train --nproc 2`` (torchrun --standalone): one run folder written by the
    main process (world size 2 recorded), one set of lines on stdout; a second run on the folder
    is refused while it is held; a one-process run continues it."""
    import json

    import numpy as np

    from cs231n.cli import main
    from cs231n.core.files import output_lock

    rng = np.random.default_rng(0)
    data = tmp_path / "idx"
    data.mkdir()
    _write_idx(data / "train-images-idx3-ubyte", rng.integers(0, 256, (32, 28, 28), np.uint8))
    _write_idx(data / "train-labels-idx1-ubyte", rng.integers(0, 10, 32).astype(np.uint8))
    out = tmp_path / "run"
    argv = ["gan", "train", "--dataset", str(data), "--batch-size", "8", "--epochs", "1",
            "-q", "-o", str(out)]  # fmt: skip
    command = [sys.executable, "-m", "cs231n", *argv, "--nproc", "2"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with output_lock(out):  # another run holds the folder: refused, no hang
        refused = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert refused.returncode != 0
    assert "cs231n: error" in refused.stderr and str(out) in refused.stderr
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Done in") == 1  # the main process speaks; the other is quiet
    assert json.loads((out / "config.json").read_text())["world_size"] == 2
    assert main([*argv[:6], "--epochs", "2", "-q", "-o", str(out)]) == 0  # 2 -> 1 process
    saved = torch.load(out / "checkpoint.pt", weights_only=False)
    assert saved["state"]["epoch"] == 2 and saved["config"]["world_size"] == 1


# ---- SimCLR (ssl train) ----------------------------------------------------------------------

SSL_WORKER = """
    import numpy as np, torch
    import torch.nn.functional as F
    from cs231n.core import distributed
    from cs231n.simclr.contrastive_loss import simclr_loss_vectorized
    from cs231n.ssl import training

    ctx = distributed.setup("cpu")
    # Exact: the loss over gathered projections is the one-process loss of the same rows, and
    # the gather's gradient (divided by W, as the optimiser hook does) is its gradient.
    g = torch.Generator().manual_seed(0)
    left, right = F.normalize(torch.randn(8, 5, generator=g)), F.normalize(torch.randn(8, 5, generator=g))
    mine = [l.clone().requires_grad_(True) for l in (ctx.shard(left), ctx.shard(right))]
    loss = simclr_loss_vectorized(*(ctx.all_gather_with_grad(t) for t in mine), 0.5)
    loss.backward()
    whole = [left.clone().requires_grad_(True), right.clone().requires_grad_(True)]
    expected = simclr_loss_vectorized(*whole, 0.5)
    expected.backward()
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-6)
    for t, w in zip(mine, whole):
        torch.testing.assert_close(t.grad / 2, ctx.shard(w.grad), rtol=1e-5, atol=1e-7)

    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (16, 28, 28), dtype=np.uint8)
    data = ((images, np.zeros(16, np.int64)), (images, np.zeros(16, np.int64)), {"channels": 1})
    base = {"max_images": None, "width": 4, "feature_dim": 8, "epochs": 2, "batch_size": 8}
    training.train_ssl("{out}/bn", {**base, "epochs": 1}, seed=1, data=data)
    training.build_model = build_without_batchnorm
    training.train_ssl("{out}/nobn", base, seed=1, data=data)
"""

# A SimCLR network without batch norm (the CPU has no SyncBatchNorm): what W processes must
# train exactly like one.
SSL_NO_BN = """
def build_without_batchnorm(config, in_channels, seed=None):
    import torch
    import torch.nn.functional as F
    if seed is not None:
        torch.manual_seed(seed)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.f = torch.nn.Sequential(torch.nn.AvgPool2d(4), torch.nn.Flatten(),
                                         torch.nn.Linear(64 * in_channels, 16), torch.nn.Tanh())
            self.g = torch.nn.Linear(16, config["feature_dim"])

        def forward(self, x):
            h = self.f(x)
            return F.normalize(h, dim=-1), F.normalize(self.g(h), dim=-1)

    return Net()
"""


def _ssl_worker(out):
    return SSL_NO_BN + textwrap.dedent(SSL_WORKER).replace("{out}", str(out))


def test_ssl_two_processes_gather_the_global_batch(tmp_path, monkeypatch):
    """SimCLR in 2 processes x B/2 against 1 x B: the gathered loss and its gradient exactly;
    without batch norm the trained model and losses (1e-4); with the ResNet's batch norms
    (per process on CPUs) a checkpoint that loads and resumes in one process (2 -> 1)."""
    import json

    import numpy as np

    from cs231n.ssl import training

    run_processes(_ssl_worker(tmp_path / "two"))
    namespace = {}
    exec(compile(SSL_NO_BN, "ssl_no_bn", "exec"), namespace)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (16, 28, 28), dtype=np.uint8)
    data = ((images, np.zeros(16, np.int64)), (images, np.zeros(16, np.int64)), {"channels": 1})
    base = {"max_images": None, "width": 4, "feature_dim": 8, "epochs": 2, "batch_size": 8}
    with monkeypatch.context() as m:
        m.setattr(training, "build_model", namespace["build_without_batchnorm"])
        one = training.train_ssl(tmp_path / "one" / "nobn", base, seed=1, data=data)
        two = training.load_checkpoint(tmp_path / "two" / "nobn" / "checkpoint.pt")
    assert json.loads((tmp_path / "two" / "nobn" / "config.json").read_text())["world_size"] == 2
    assert two["world_size"] == 2
    torch.testing.assert_close(torch.tensor(two["losses"]), torch.tensor(one.losses), **TOL)
    assert_same_state(two["model_state"], one.model.state_dict())

    # With batch norm: rank 0's checkpoint loads in one process, which resumes it (world size
    # 2 -> 1) for a second epoch; the losses stay those of the same task (each process's batch
    # norm sees 4 of the 8 pairs: not the one-process numbers, see cs231n.ssl.training).
    bn = tmp_path / "two" / "bn"
    saved = training.load_checkpoint(bn / "checkpoint.pt")
    assert saved["world_size"] == 2 and saved["epoch"] == 1
    resumed = training.train_ssl(bn, {**base, "epochs": 2}, seed=1, data=data, resume=True)
    assert resumed.losses[0] == saved["losses"][0] and len(resumed.losses) == 2
    assert json.loads((bn / "config.json").read_text())["world_size"] == 1
    straight = training.train_ssl(tmp_path / "one" / "bn", base, seed=1, data=data)
    print("ssl with batch norm: losses", resumed.losses, "one process", straight.losses)
    torch.testing.assert_close(
        torch.tensor(resumed.losses), torch.tensor(straight.losses), rtol=0.05, atol=0
    )


# ---- DDPM (diffusion train) ------------------------------------------------------------------

DIFFUSION_WORKER = """
    import torch
    from cs231n.ddpm_trainer import Trainer
    from cs231n.diffusion.training import ConditionalImages
    from cs231n.gaussian_diffusion import GaussianDiffusion
    from cs231n.unet import Unet

    def run(folder, steps, resume=False):
        g = torch.Generator().manual_seed(1)
        data = ConditionalImages(torch.rand(11, 3, 8, 8, generator=g),
                                 torch.randn(11, 3, generator=g), [str(i) for i in range(11)])
        torch.manual_seed(0)
        # The model's own draws off (condition dropping, dropout): they differ by process.
        unet = Unet(dim=4, condition_dim=3, dim_mults=(1, 2), uncond_prob=0.0)
        for m in unet.modules():
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
        diffusion = GaussianDiffusion(unet, image_size=8, timesteps=10)
        trainer = Trainer(diffusion, data, "cpu", train_batch_size=4, train_num_steps=steps,
                          sample_every=3, save_every=2, results_folder=folder, num_samples=4,
                          resume=resume)
        trainer.train()
        return trainer

    if __name__ == "__main__":
        run("{out}", 4)
"""


def test_diffusion_two_processes_train_the_one_process_model(tmp_path):
    """DDPM in 2 processes x B/2 against 1 x B (4 steps of 4 of 11 images: the pass's last
    batch of 3 splits 1 + 2), then the 2-process run resumed in one process (2 -> 1) against
    the uninterrupted one-process run."""
    import json

    code = textwrap.dedent(DIFFUSION_WORKER)
    run_processes(code.replace("{out}", str(tmp_path / "two")))
    namespace = {"__name__": "diffusion_worker"}
    exec(compile(code, "diffusion_worker", "exec"), namespace)
    one = namespace["run"](tmp_path / "one", 4)
    two = torch.load(tmp_path / "two" / "model.pt", weights_only=False)
    assert two["config"]["world_size"] == 2 and two["step"] == 4
    assert json.loads((tmp_path / "two" / "config.json").read_text())["world_size"] == 2
    assert {"model-2.pt", "model-4.pt", "sample-3.png", "losses.json"} <= {
        p.name for p in (tmp_path / "two").iterdir()
    }
    assert_same_state(two["model"], one.diffusion_model.state_dict())
    torch.testing.assert_close(torch.tensor(two["history"]), torch.tensor(one.history), **TOL)
    resumed = namespace["run"](tmp_path / "two", 6, resume=True)
    straight = namespace["run"](tmp_path / "straight", 6)
    assert resumed.config["world_size"] == 1 and resumed.step == 6
    assert_same_state(resumed.diffusion_model.state_dict(), straight.diffusion_model.state_dict())
