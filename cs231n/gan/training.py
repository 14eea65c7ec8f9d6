"""Training GANs from the command line: run folders with checkpoints, sample grids and losses.

A run folder holds ``config.json``, ``checkpoint.pt`` (models, optimisers, progress and random
state; written atomically after every epoch, so an interrupted run resumes), ``losses.json``
and ``samples/iter_NNNNNN.png`` grids of a fixed noise batch. Losses: "gan" (vanilla,
non-saturating), "lsgan" (least squares) and "wgan-gp" (Wasserstein with gradient penalty,
five critic steps per generator step); architectures "fc" and "dc" (the assignment's);
``spectral_norm`` wraps the discriminator's layers.

:func:`train_tensorflow` trains the course's TensorFlow models (:mod:`cs231n.gan_tf`) into the
same layout, with Keras weights (``D.weights.h5``, ``G.weights.h5``) and ``state.json`` in place
of ``checkpoint.pt`` and ``"framework": "tensorflow"`` in ``config.json``;
:func:`load_run_generator` and :func:`generate` work for runs of either framework.

The run itself (the folder's lock, the resume check, atomic checkpoints, only the main process
writing) is :class:`cs231n.core.run.Trainer`'s; :class:`GANTrainer` and :class:`TFGANTrainer`
supply the networks, and :func:`train` and :func:`train_tensorflow` run them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .. import gan_pytorch as gan
from ..core import distributed
from ..core.checkpoints import (
    check_keras_model,
    check_keras_weights,
    check_optimizer_state,
    check_state,
    check_torch_rng,
)
from ..core.checks import whole_number
from ..core.files import save_figure
from ..core.run import Trainer

LOSSES = {
    "gan": (gan.discriminator_loss, gan.generator_loss),
    "lsgan": (gan.ls_discriminator_loss, gan.ls_generator_loss),
}


def build_models(arch, spectral_norm=False, seed=0):
    torch.manual_seed(seed)
    if arch == "fc":
        D, G = gan.discriminator(), gan.generator()
    elif arch == "dc":
        D, G = gan.build_dc_classifier(None), gan.build_dc_generator()
    else:
        raise ValueError(f'arch must be "fc" or "dc", got {arch!r}')
    D.apply(gan.initialize_weights)
    G.apply(gan.initialize_weights)
    if spectral_norm:
        for name, module in list(D.named_modules()):
            if isinstance(module, torch.nn.Linear | torch.nn.Conv2d):
                parent = D.get_submodule(name.rsplit(".", 1)[0]) if "." in name else D
                setattr(
                    parent,
                    name.rsplit(".", 1)[-1],
                    torch.nn.utils.parametrizations.spectral_norm(module),
                )
    return D, G


def gradient_penalty(D, real, fake, eps=None):
    """WGAN-GP's ``E[(||grad D(x_hat)|| - 1)^2]`` on random interpolates; the norm is
    ``sqrt(sum g^2 + 1e-12)``, whose gradient stays finite where g = 0. ``eps``: the (N, 1)
    interpolation weights (None: drawn here, uniform in [0, 1))."""
    if eps is None:
        eps = torch.rand(real.shape[0], 1, device=real.device)
    x_hat = (
        eps * real.reshape(len(real), -1) + (1 - eps) * fake.reshape(len(fake), -1)
    ).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    norm = torch.sqrt(grad.pow(2).sum(dim=1) + 1e-12)
    return ((norm - 1) ** 2).mean()


def tile_images(images, cols=8, pad=2):
    """(N, H, W) images in [0, 1] as one (rows*(H+pad)+pad, cols*(W+pad)+pad) array, row by
    row, on a white background (so a grid is drawn with one imshow, not N subplots)."""
    n, h, w = images.shape
    rows = max(1, int(np.ceil(n / cols)))
    canvas = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad), dtype=np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        canvas[top : top + h, left : left + w] = img
    return canvas


def save_grid(images, path, title=None, cols=8):
    """A grid of (N, 784) images in [-1, 1] saved as a PNG."""
    from matplotlib.figure import Figure

    images = gan.deprocess_img(np.asarray(images)).reshape(-1, 28, 28).clip(0, 1)
    rows = int(np.ceil(len(images) / cols))
    fig = Figure(figsize=(cols * 0.8, rows * 0.8 + (0.3 if title else 0)), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1 if not title else 1 - 0.3 / (rows * 0.8 + 0.3)))
    ax.axis("off")
    ax.imshow(tile_images(images, cols), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


class BaseGANTrainer(Trainer):
    """What the GAN runs of both frameworks share (:class:`cs231n.core.run.Trainer` does the
    rest): a run folder with ``samples/``, epochs of full batches in order (the partial last
    one dropped) with ``callback(iteration, d_loss, g_loss)`` after each batch, a grid of the
    fixed noise batch every ``sample_every`` iterations and at the end (``final.png``),
    ``losses.json``, and progress (``epoch``, ``iteration``, ``history``) in the checkpoint.

    A subclass supplies the networks: ``step(batch)`` -> (d_loss, g_loss) as floats, and
    ``draw_samples(path, title)``."""

    def __init__(self, run_dir, config, data, sample_every, callback, resume):
        super().__init__(run_dir, config, config["epochs"], resume=resume)
        self.data, self.sample_every, self.callback = data, sample_every, callback
        self.batch_size = config["batch_size"]
        self.iteration, self.history = 0, []

    restart_hint = "use --restart to start over, or choose another -o"

    def start(self):
        if self.writes:
            self.samples_folder.mkdir(parents=True, exist_ok=True)
        super().start()

    def train_epoch(self):
        size = self.batch_size
        for b in range(len(self.data) // size):
            d_loss, g_loss = self.step(self.data[b * size : (b + 1) * size])
            it = self.iteration
            self.history.append((d_loss, g_loss))
            if self.callback is not None:
                self.callback(it, d_loss, g_loss)
            if it % self.sample_every == 0:
                self.write_samples(it, f"iteration {it}")
            self.iteration += 1

    def finish(self):
        self.write_samples("final", f"after {self.epoch} epochs")
        self.write_losses(self.history)

    def write_samples(self, label, title):
        if self.writes:
            self.draw_samples(self.sample_path(label), title)

    def progress(self) -> dict:
        return {"epoch": self.epoch, "iteration": self.iteration, "history": self.history}

    def set_progress(self, state):
        self.epoch = state["epoch"]
        self.iteration = state["iteration"]
        self.history = state["history"]


class GANTrainer(BaseGANTrainer):
    """:func:`train`'s run: the PyTorch networks, and ``checkpoint.pt`` (networks, optimisers,
    progress and random state) after every epoch, so that a resumed run continues exactly.

    Under torchrun (:mod:`cs231n.core.distributed`) ``batch_size`` is the global batch: every
    rank draws the whole batch's noise (and WGAN-GP's interpolation weights) from the same
    random state, trains on its contiguous B / W part of the images and of the noise, and
    averages the gradients (sum, then divide) before each of the discriminator's and the
    generator's steps; the losses recorded are the global batch's. Everything drawn is drawn
    globally, so W processes give the one-process model up to float rounding, and a resume
    after a change of world size continues exactly as well (``world_size`` is recorded in
    ``config.json`` and may change). "dc" (batch norm in G): ``SyncBatchNorm`` on CUDA; on CPUs
    each rank normalises with its own B / W examples (not the one-process model)."""

    may_change = ("epochs", "world_size")

    def __init__(
        self,
        run_dir,
        images,
        loss="gan",
        arch="fc",
        epochs=10,
        batch_size=128,
        seed=0,
        sample_every=250,
        spectral_norm=False,
        device="cpu",
        callback=None,
        resume=True,
    ):
        if loss not in (*LOSSES, "wgan-gp"):
            raise ValueError(f'loss must be "gan", "lsgan" or "wgan-gp", got {loss!r}')
        epochs, batch_size, sample_every = _check_run(images, epochs, batch_size, sample_every)
        ctx = distributed.setup(device)
        local_batch = ctx.local_batch_size(batch_size, "gan train")
        config = {
            "loss": loss,
            "arch": arch,
            "epochs": epochs,
            "batch_size": batch_size,
            "seed": seed,
            "spectral_norm": spectral_norm,
            "num_images": len(images),
            "world_size": ctx.world_size,
        }
        super().__init__(run_dir, config, images, sample_every, callback, resume)
        self.dist, device = ctx, ctx.device
        D, G = build_models(arch, spectral_norm, seed)
        if local_batch < 2 and any(isinstance(m, torch.nn.BatchNorm1d) for m in G.modules()):
            raise ValueError(
                f'gan train: the "{arch}" generator has batch normalisation, which needs at '
                "least 2 images per batch and process; use a batch size of "
                f"{2 * ctx.world_size} or more"
            )
        self.loss, self.device = loss, device
        self.D, self.G = ctx.sync_batchnorm(D).to(device), ctx.sync_batchnorm(G).to(device)
        if loss == "wgan-gp":
            self.D_opt = torch.optim.Adam(self.D.parameters(), lr=1e-4, betas=(0.0, 0.9))
            self.G_opt = torch.optim.Adam(self.G.parameters(), lr=1e-4, betas=(0.0, 0.9))
        else:
            self.D_opt, self.G_opt = gan.get_optimizer(self.D), gan.get_optimizer(self.G)
        ctx.sync_optimizer(self.D_opt)  # each step averages its gradients across the ranks
        ctx.sync_optimizer(self.G_opt)
        self.d_loss_fn, self.g_loss_fn = LOSSES.get(loss, (None, None))
        self.fixed_noise = gan.sample_noise(64, gan.NOISE_DIM, seed=seed + 1).to(device)
        torch.manual_seed(seed)  # the training's noise; a resumed run restores its own state

    def start(self):
        super().start()
        self.dist.broadcast(self.D)  # rank 0's networks everywhere (built or resumed alike)
        self.dist.broadcast(self.G)

    def step(self, images):
        D, G, size, device, ctx = self.D, self.G, self.batch_size, self.device, self.dist
        # The global batch's draws on every rank (the same random state), this rank's part.
        real = gan.preprocess_img(ctx.shard(images).to(device))
        noise = ctx.shard(gan.sample_noise(size, gan.NOISE_DIM))
        fake = G(noise.to(device)).detach()
        if self.loss == "wgan-gp":
            eps = ctx.shard(torch.rand(size, 1, device=device))
            d_loss = D(fake).mean() - D(real).mean() + 10 * gradient_penalty(D, real, fake, eps)
        else:
            d_loss = self.d_loss_fn(D(real), D(fake.view(len(fake), 1, 28, 28)))
        self.D_opt.zero_grad()
        d_loss.backward()
        self.D_opt.step()
        g_loss = None
        if self.loss != "wgan-gp" or self.iteration % 5 == 0:  # WGAN-GP: 5 critic steps each
            scores = D(G(ctx.shard(gan.sample_noise(size, gan.NOISE_DIM)).to(device)))
            g_loss = -scores.mean() if self.loss == "wgan-gp" else self.g_loss_fn(scores)
            self.G_opt.zero_grad()
            g_loss.backward()
            self.G_opt.step()
        d, g = d_loss.item(), g_loss.item() if g_loss is not None else float("nan")
        return tuple(ctx.means((d, g))) if ctx.distributed else (d, g)

    def draw_samples(self, path, title):
        write_samples(self.G, self.fixed_noise, path, title)

    def checkpoint(self):
        return {
            "config": self.config,
            "D": self.D.state_dict(),
            "G": self.G.state_dict(),
            "D_opt": self.D_opt.state_dict(),
            "G_opt": self.G_opt.state_dict(),
            "state": self.progress(),
            "rng": torch.get_rng_state(),
        }

    def read_checkpoint(self, path):
        return read_checkpoint(path, self.device)  # the module's checked reader

    def restore(self, saved, path):
        # read_checkpoint checked every part against the networks of the saved settings, which
        # the resume check found equal to this run's.
        _load_models(path, saved, self.D, self.G)
        try:
            self.D_opt.load_state_dict(saved["D_opt"])
            self.G_opt.load_state_dict(saved["G_opt"])
        except (ValueError, KeyError, RuntimeError, TypeError) as e:
            raise ValueError(f"{path}: optimiser state does not fit ({e})") from None
        self.set_progress(saved["state"])
        torch.set_rng_state(saved["rng"])


def train(
    run_dir,
    images,
    loss="gan",
    arch="fc",
    epochs=10,
    batch_size=128,
    seed=0,
    sample_every=250,
    spectral_norm=False,
    device="cpu",
    callback=None,
    resume=True,
):
    """Train on ``images`` (N, 1, 28, 28) in [0, 1] into ``run_dir`` (:class:`GANTrainer`);
    returns the run's loss history.

    callback(iteration, d_loss, g_loss) is called every iteration (progress bars).
    """
    run = GANTrainer(
        run_dir, images, loss, arch, epochs, batch_size, seed, sample_every, spectral_norm,
        device, callback, resume,
    )  # fmt: skip
    run.train()
    return run.history


@torch.no_grad()
def write_samples(G, noise, path, title):
    was_training = G.training
    G.eval()
    save_grid(G(noise).cpu().numpy(), path, title)
    G.train(was_training)


def _check_run(images, epochs, batch_size, sample_every):
    """A run's settings and images, checked before any work (both frameworks); returns
    ``(epochs, batch_size, sample_every)`` as ints."""
    epochs = whole_number("gan train", "epochs", epochs, 1)
    batch_size = whole_number("gan train", "batch_size", batch_size, 1)
    sample_every = whole_number("gan train", "sample_every", sample_every, 1)
    _check_images(images)
    if len(images) < batch_size:
        # The course's loop drops the partial last batch: fewer images than one batch would
        # train nothing and save an untrained checkpoint.
        raise ValueError(
            f"gan train: {len(images)} images make no full batch of {batch_size}; use a batch "
            f"size of at most {len(images)} or more images"
        )
    return epochs, batch_size, sample_every


def _check_images(images):
    if not torch.is_tensor(images) or images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        shape = tuple(images.shape) if torch.is_tensor(images) else type(images).__name__
        raise ValueError(f"gan train: images must be an (N, 1, 28, 28) tensor, got {shape}")
    if not images.is_floating_point():
        raise ValueError(f"gan train: images must be floats in [0, 1], got {images.dtype}")
    if len(images) and not (
        torch.isfinite(images).all() and images.min() >= 0 and images.max() <= 1
    ):
        raise ValueError("gan train: images must be finite values in [0, 1]")


CHECKPOINT_KEYS = ("config", "D", "G", "D_opt", "G_opt", "state", "rng")


def read_checkpoint(path, device="cpu") -> dict:
    """A run's ``checkpoint.pt``, checked (:mod:`cs231n.core.checkpoints`) against the
    networks its settings build, before anything is loaded into a model: every part present and
    well formed; the D and G weights of those networks' shapes, floats, finite; Adam's states
    for those weights (a step per iteration trained: every iteration for D, and for G every
    one, or every fifth with WGAN-GP), finite; the random state a valid one. Raises ValueError
    naming the file and what is wrong."""
    from ..core.torch_utils import torch_load

    saved = torch_load(path, "GAN checkpoint", map_location=device)
    if not isinstance(saved, dict) or any(k not in saved for k in CHECKPOINT_KEYS):
        found = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
        raise ValueError(
            f"{path}: not a GAN checkpoint (needs {list(CHECKPOINT_KEYS)}, found {found})"
        )
    config, state = saved["config"], saved["state"]
    if not isinstance(config, dict) or config.get("arch") not in ("fc", "dc"):
        raise ValueError(f"{path}: config has no known architecture: {config!r}")
    if config.get("loss", "gan") not in (*LOSSES, "wgan-gp") or not isinstance(
        config.get("spectral_norm", False), bool
    ):
        raise ValueError(
            f'{path}: config must name a loss "gan", "lsgan" or "wgan-gp" and spectral_norm '
            f"true or false: {config!r}"
        )
    _check_progress(path, state)
    with torch.random.fork_rng(devices=[]):  # building draws weights: not the caller's numbers
        D, G = build_models(config["arch"], config.get("spectral_norm", False))
    iterations = state["iteration"]
    g_steps = -(-iterations // 5) if config.get("loss") == "wgan-gp" else iterations
    for name, model, steps in (("D", D, iterations), ("G", G, g_steps)):
        check_state(path, saved[name], model.state_dict(), f"{name} weight")
        check_optimizer_state(
            path, saved[f"{name}_opt"], list(model.named_parameters()), steps, f"{name}_opt"
        )
    saved["rng"] = check_torch_rng(path, saved["rng"], "rng")
    return saved


def _check_progress(path, state):
    """A run's progress (both frameworks): epoch and iteration counts, and a history of one
    (d_loss, g_loss) pair per iteration."""
    if (
        not isinstance(state, dict)
        or not all(_is_count(state.get(k)) for k in ("epoch", "iteration"))
        or not isinstance(state.get("history"), list)
        or len(state["history"]) != state["iteration"]
        or not all(
            isinstance(h, list | tuple)
            and len(h) == 2
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in h)
            for h in state["history"]
        )
    ):
        raise ValueError(
            f"{path}: training state is malformed (needs epoch, iteration and a history of "
            f"one (d_loss, g_loss) pair per iteration): {str(state)[:80]}"
        )


def _is_count(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _load_models(path, saved, D, G):
    for name, model in (("D", D), ("G", G)):
        try:
            model.load_state_dict(saved[name])
        except RuntimeError as e:
            first = str(e).strip().splitlines()
            detail = first[1].strip() if len(first) > 1 else first[0]
            raise ValueError(
                f"{path}: its {name} weights do not fit the {saved['config'].get('arch')!r} "
                f"networks ({detail})"
            ) from None


def load_generator(run_dir, device="cpu"):
    """The trained generator of a run folder (eval mode) and its config."""
    checkpoint = Path(run_dir) / "checkpoint.pt"
    if not checkpoint.exists():
        raise FileNotFoundError(
            f"no checkpoint in {run_dir} (train first: cs231n gan train -o {run_dir})"
        )
    saved = read_checkpoint(checkpoint, device)
    config = saved["config"]
    D, G = build_models(config["arch"], bool(config.get("spectral_norm")))
    _load_models(checkpoint, saved, D, G)
    return G.to(device).eval(), config


@torch.no_grad()
def generate(G, n, seed=0, batch_size=1000):
    """n generated images (n, 784) in [-1, 1], a CPU tensor. ``G``: a PyTorch generator, or a
    Keras one (a TensorFlow run's, :func:`load_tf_generator`), fed the same noise."""
    if not isinstance(G, torch.nn.Module):
        noise = gan.sample_noise(n, gan.NOISE_DIM, seed=seed).numpy()
        parts = [G(noise[i : i + batch_size], training=False) for i in range(0, n, batch_size)]
        return torch.cat([torch.from_numpy(np.array(p)) for p in parts])
    device = next(G.parameters()).device
    noise = gan.sample_noise(n, gan.NOISE_DIM, seed=seed).to(device)
    return torch.cat([G(noise[i : i + batch_size]).cpu() for i in range(0, n, batch_size)])


# ----------------------------------------------------------------------------------------------
# TensorFlow runs: the course's TensorFlow models (cs231n.gan_tf) in the same run-folder layout

TF_WEIGHTS = {"D": "D.weights.h5", "G": "G.weights.h5"}
TF_STATE = "state.json"


def run_framework(run_dir) -> str:
    """ "pytorch" or "tensorflow": the framework a run folder was trained with (its
    ``config.json``; a folder without one, or a config without "framework", is PyTorch's)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        return "pytorch"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable run configuration ({e})") from None
    framework = config.get("framework", "pytorch") if isinstance(config, dict) else None
    if framework not in ("pytorch", "tensorflow"):
        raise ValueError(f"{path}: unknown framework {framework!r}")
    return framework


def build_tf_models(arch, seed=0):
    """The course's TensorFlow discriminator and generator for ``arch`` ("fc": ``discriminator``
    / ``generator``; "dc": ``dc_discriminator`` / ``dc_generator``), the same weights from the
    same ``seed``."""
    from .. import gan_tf

    gan_tf.tf.keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow (dc's initialisers)
    if arch == "fc":
        return gan_tf.discriminator(seed=seed), gan_tf.generator(seed=seed + 100)
    if arch == "dc":
        return gan_tf.dc_discriminator(), gan_tf.dc_generator()
    raise ValueError(f'arch must be "fc" or "dc", got {arch!r}')


def _tf_train_step(D, G, D_opt, G_opt, loss, batch_size, noise):
    """One iteration of the course's TensorFlow loop (``gan_tf.run_a_gan``) as a
    ``tf.function``: a discriminator step on real images (scaled to [-1, 1]) and ``batch_size``
    generated ones, then a generator step on fresh noise. Returns (d_loss, g_loss)."""
    from .. import gan_tf

    tf = gan_tf.tf
    d_loss_fn, g_loss_fn = {
        "gan": (gan_tf.discriminator_loss, gan_tf.generator_loss),
        "lsgan": (gan_tf.ls_discriminator_loss, gan_tf.ls_generator_loss),
    }[loss]

    @tf.function(input_signature=[tf.TensorSpec([batch_size, 784], tf.float32)])
    def step(real):
        with tf.GradientTape() as tape:
            logits_real = D(gan_tf.preprocess_img(real), training=True)
            logits_fake = D(G(noise(), training=True), training=True)
            d_loss = d_loss_fn(logits_real, logits_fake)
        grads = tape.gradient(d_loss, D.trainable_variables)
        D_opt.apply_gradients(zip(grads, D.trainable_variables, strict=True))
        with tf.GradientTape() as tape:
            g_loss = g_loss_fn(D(G(noise(), training=True), training=True))
        grads = tape.gradient(g_loss, G.trainable_variables)
        G_opt.apply_gradients(zip(grads, G.trainable_variables, strict=True))
        return d_loss, g_loss

    return step


def save_keras_weights(model, path):
    """``model.save_weights(path)`` written atomically: Keras wants a name ending in
    ``.weights.h5``, so the temporary file beside ``path`` is ``.NAME.PID-XXXXXXXX.weights.h5``,
    renamed over ``path`` once complete (removed on error)."""
    import os
    import tempfile
    import warnings

    path = Path(path)
    stem = path.name.removesuffix(".weights.h5")
    fd, tmp = tempfile.mkstemp(
        prefix=f".{stem}.{os.getpid()}-", suffix=".weights.h5", dir=path.parent
    )
    os.close(fd)
    try:
        with warnings.catch_warnings():  # Keras's own NumPy 2 deprecation, once per variable
            warnings.filterwarnings("ignore", "__array__ implementation", DeprecationWarning)
            model.save_weights(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_tf_state(path) -> dict:
    """A TensorFlow run's ``state.json`` ({"config", "epoch", "iteration", "history"}),
    checked; ValueError naming the file and what is wrong."""
    path = Path(path)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable training state ({e})") from None
    if not isinstance(state, dict) or not isinstance(state.get("config"), dict):
        raise ValueError(f"{path}: training state is malformed: {str(state)[:80]}")
    _check_progress(path, state)  # as a PyTorch run's
    return state


def _load_keras_weights(run_dir, models):
    for name, model in models.items():
        path = Path(run_dir) / TF_WEIGHTS[name]
        if not path.is_file():
            raise FileNotFoundError(
                f"no {path.name} in {run_dir} (train first: "
                f"cs231n gan train --framework tensorflow -o {run_dir})"
            )
        # Shapes against the model, floats, finite: before Keras reads a number of them.
        check_keras_weights(path, model, f"{name} weight")
        try:
            model.load_weights(str(path))
        except (ValueError, OSError) as e:
            detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ValueError(
                f"{path}: not {name} weights of this run's networks ({detail})"
            ) from None
        check_keras_model(path, model, f"{name} weight")


class TFGANTrainer(BaseGANTrainer):
    """:func:`train_tensorflow`'s run: the course's TensorFlow networks, and after every epoch
    the Keras weights ``D.weights.h5`` and ``G.weights.h5`` (each written atomically) then
    ``state.json`` (the settings and progress) as the checkpoint."""

    checkpoint_file = TF_STATE

    def __init__(
        self,
        run_dir,
        images,
        loss="gan",
        arch="fc",
        epochs=10,
        batch_size=128,
        seed=0,
        sample_every=250,
        callback=None,
        resume=True,
    ):
        if loss not in LOSSES:
            raise ValueError(
                f'loss must be "gan" or "lsgan" with TensorFlow, got {loss!r} (wgan-gp is PyTorch-only)'
            )
        if arch not in ("fc", "dc"):
            raise ValueError(f'arch must be "fc" or "dc", got {arch!r}')
        epochs, batch_size, sample_every = _check_run(images, epochs, batch_size, sample_every)
        if arch == "dc" and batch_size < 2:
            raise ValueError(
                'gan train: the "dc" generator has batch normalisation, which needs at least 2 '
                "images per batch; use a batch size of 2 or more"
            )
        from .. import gan_tf

        config = {
            "framework": "tensorflow",
            "loss": loss,
            "arch": arch,
            "epochs": epochs,
            "batch_size": batch_size,
            "seed": seed,
            "num_images": len(images),
        }
        x = images.reshape(len(images), 784).cpu().numpy().astype(np.float32)
        super().__init__(run_dir, config, x, sample_every, callback, resume)
        self.seed = seed
        self.D, self.G = build_tf_models(arch, seed)
        D_opt, G_opt = gan_tf.get_solvers()
        D_opt.build(self.D.trainable_variables)  # their variables made here: one trace of the step
        G_opt.build(self.G.trainable_variables)
        self.fixed_noise = gan.sample_noise(64, gan.NOISE_DIM, seed=seed + 1).numpy()  # PyTorch's
        self.noise_rng = gan_tf.tf.random.Generator.from_seed(seed)
        self._step = _tf_train_step(
            self.D, self.G, D_opt, G_opt, loss, batch_size,
            lambda: self.noise_rng.uniform([batch_size, gan_tf.NOISE_DIM], -1, 1),
        )  # fmt: skip

    def train_epoch(self):
        self.noise_rng.reset_from_seed(self.seed * 100_003 + self.epoch)  # each epoch's own noise
        super().train_epoch()

    def step(self, batch):
        d_loss, g_loss = self._step(batch)
        return float(d_loss), float(g_loss)

    def draw_samples(self, path, title):
        write_tf_samples(self.G, self.fixed_noise, path, title)

    def save(self, milestone=None):
        """The weights, then ``state.json``, last: whenever it is there, the weights beside it
        are its epoch's. One checkpoint per run (no milestones)."""
        if milestone is not None:
            raise ValueError("a TensorFlow GAN run keeps one checkpoint: no milestones")
        if not self.writes:
            return None
        for name, model in (("D", self.D), ("G", self.G)):
            save_keras_weights(model, self.path(TF_WEIGHTS[name]))
        return self.write_json(self.checkpoint_file, {"config": self.config, **self.progress()})

    def read_checkpoint(self, path):
        return read_tf_state(path)

    def restore(self, saved, path):
        _load_keras_weights(self.results_folder, {"D": self.D, "G": self.G})
        self.set_progress(saved)


def train_tensorflow(
    run_dir,
    images,
    loss="gan",
    arch="fc",
    epochs=10,
    batch_size=128,
    seed=0,
    sample_every=250,
    callback=None,
    resume=True,
):
    """:func:`train` with the course's TensorFlow models (:mod:`cs231n.gan_tf`) and Adam
    settings (``get_solvers``): the same images (N, 1, 28, 28) in [0, 1], the same batches (in
    order, the partial last one dropped), the same fixed noise for the sample grids, and the
    same run folder, but for the weights: ``config.json`` (with "framework": "tensorflow"),
    ``samples/iter_NNNNNN.png`` and ``final.png``, ``losses.json``, and after every epoch the
    Keras weights ``D.weights.h5`` and ``G.weights.h5`` (each written atomically) then
    ``state.json`` (epoch, iteration, loss history). Losses "gan" and "lsgan"; WGAN-GP and
    spectral normalisation are PyTorch-only (:class:`TFGANTrainer`).

    Resuming is simpler than PyTorch's bit-exact resume: the weights and the progress are
    restored and each epoch's noise comes from ``(seed, epoch)`` as in a straight run, but
    Adam's moment estimates start afresh, so a resumed run continues close to, not exactly
    as, an uninterrupted one. Returns the loss history [(d_loss, g_loss), ...].
    """
    run = TFGANTrainer(
        run_dir, images, loss, arch, epochs, batch_size, seed, sample_every, callback, resume
    )
    run.train()
    return run.history


def write_tf_samples(G, noise, path, title):
    """:func:`write_samples` for a Keras generator (batch norm in inference mode)."""
    save_grid(np.asarray(G(noise, training=False)), path, title)


def load_tf_generator(run_dir):
    """The trained Keras generator of a TensorFlow run folder and its config."""
    path = Path(run_dir) / TF_STATE
    if not path.exists():
        raise FileNotFoundError(
            f"no {TF_STATE} in {run_dir} (train first: "
            f"cs231n gan train --framework tensorflow -o {run_dir})"
        )
    config = read_tf_state(path)["config"]
    if config.get("arch") not in ("fc", "dc"):
        raise ValueError(f"{path}: config has no known architecture: {config!r}")
    _, G = build_tf_models(config["arch"], config.get("seed", 0))
    _load_keras_weights(run_dir, {"G": G})
    return G, config


def load_run_generator(run_dir, device="cpu"):
    """The trained generator of a run folder of either framework (the framework from its
    ``config.json``) and its config: a PyTorch module on ``device`` in eval mode, or a Keras
    model (``device`` unused). :func:`generate` takes either."""
    if run_framework(run_dir) == "tensorflow":
        return load_tf_generator(run_dir)
    return load_generator(run_dir, device)
