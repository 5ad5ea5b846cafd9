"""Convert musicnn's MSD_musicnn TensorFlow checkpoint into mer/resources/musicnn/msd_musicnn.pt.

TensorFlow never enters mer: it runs in a throwaway venv, called by this script
(run with mer's own Python) as a subprocess::

    pip download --no-deps musicnn==0.1.0 -d /tmp/musicnn
    python -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu==2.21.0 tf-keras==2.21.0
    python benchmarks/convert_musicnn.py --wheel-dir /tmp/musicnn --tf-python /tmp/tfvenv/bin/python [--fixture]

The script unpacks the wheel (musicnn-0.1.0-py3-none-any.whl, ISC licence) into
a temporary folder and, in the TensorFlow venv (``TF_USE_LEGACY_KERAS=1``; the
wheel is put on ``sys.path``, not installed, as its metadata pins an old numpy):

1. reads every variable of the ``MSD_musicnn`` checkpoint (the Adam slots aside);
2. builds musicnn's own graph (``models.define_model``, as its ``extractor.py``
   does), restores the checkpoint and runs it on three 187-frame log-mel patches
   of a deterministic synthetic signal (quiet tones, drums and noise, a loud
   clipped chord), keeping the taggram, the penultimate layer and the max- and
   mean-pool layers.

Back in mer's Python it maps the variables onto :class:`mer.audio.musicnn.MusiCNN`
(TF kernels (h, w, in, out) become torch's (out, in, h, w)), writes a plain dict
of tensors with ``torch.save`` (readable with ``weights_only=True``), loads it
back with :func:`mer.audio.musicnn.load_musicnn`, and prints the port's largest
absolute difference from TensorFlow per layer; it fails if one exceeds 1e-4 of
the layer's largest magnitude (at least 1), the bound tests/test_musicnn.py holds.
With ``--fixture`` it also rewrites tests/fixtures/musicnn_parity.npz (the
patches and TensorFlow's outputs). It prints the weights file's size and sha256
(copy them into mer/resources/musicnn/README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WHEEL = "musicnn-0.1.0-py3-none-any.whl"
MODEL = "MSD_musicnn"
DEFAULT_OUT = ROOT / "mer" / "resources" / "musicnn" / "msd_musicnn.pt"
FIXTURE = ROOT / "tests" / "fixtures" / "musicnn_parity.npz"
LAYERS = ("tags", "penultimate", "max_pool", "mean_pool")
TOLERANCE = 1e-4


# ---------------------------------------------------------------------------------------------------------------
# TensorFlow side (runs in the throwaway venv: numpy and tensorflow only, no mer, no torch)


def tf_stage(package_dir: Path, inputs: Path, out: Path) -> None:
    """Checkpoint variables and musicnn's own outputs on the patches in ``inputs``, saved to ``out``."""
    sys.path.insert(0, str(package_dir))
    import tensorflow as tf
    from musicnn import configuration, models

    prefix = str(package_dir / "musicnn" / MODEL) + "/"  # the wheel's checkpoint files are named '.index', '.data-…'
    reader = tf.compat.v1.train.NewCheckpointReader(prefix)
    names = [n for n in reader.get_variable_to_shape_map() if "Adam" not in n and not n.endswith("_power")]
    result = {f"var/{n}": reader.get_tensor(n) for n in names}

    patches = np.load(inputs)["patches"]
    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):  # as extractor.py builds it
        x = tf.compat.v1.placeholder(tf.float32, [None, patches.shape[1], configuration.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        y, _timbral, _temporal, _cnn1, _cnn2, _cnn3, mean_pool, max_pool, penultimate = models.define_model(
            x, is_training, MODEL, len(configuration.MSD_LABELS))
        tags = tf.nn.sigmoid(y)
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        tf.compat.v1.train.Saver().restore(sess, prefix)
        values = sess.run([tags, penultimate, max_pool, mean_pool], feed_dict={x: patches, is_training: False})
    result.update({f"out/{name}": np.asarray(v, dtype=np.float32) for name, v in zip(LAYERS, values)})
    result["labels"] = np.asarray(configuration.MSD_LABELS)
    np.savez(out, **result)


# ---------------------------------------------------------------------------------------------------------------
# mer side


def synthetic_signal(seconds: float = 9.5, sr: int = 16_000) -> np.ndarray:
    """Three 3 s scenes, deterministic: quiet tones, drums over noise, a loud clipped chord."""
    rng = np.random.default_rng(20190101)
    t = np.arange(int(seconds * sr)) / sr
    scene = (t // 3.0).astype(int)
    tones = 0.05 * (np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 330 * t * (1 + 0.02 * np.sin(t))))
    beat = np.exp(-30 * (t % 0.5)) * np.sin(2 * np.pi * 60 * t) + 0.3 * np.exp(-60 * ((t + 0.25) % 0.5)) * (
        rng.standard_normal(len(t)))
    drums = 0.4 * beat + 0.02 * rng.standard_normal(len(t))
    chord = sum(np.sign(np.sin(2 * np.pi * f * t)) for f in (110.0, 138.6, 164.8))
    loud = np.clip(0.9 * chord, -1, 1)
    y = np.select([scene == 0, scene == 1], [tones, drums], loud)
    return y.astype(np.float32)


def fixture_patches() -> np.ndarray:
    from mer.audio.musicnn import logmel, patches

    return patches(logmel(synthetic_signal()), n_patches=3)


def _bn(state: dict, prefix: str, tf_vars: dict, tf_name: str) -> None:
    for torch_key, tf_key in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"),
                              ("running_var", "moving_variance")):
        state[f"{prefix}.{torch_key}"] = tf_vars[f"{tf_name}/{tf_key}"]
    state[f"{prefix}.num_batches_tracked"] = np.zeros((), dtype=np.int64)


def to_state_dict(tf_vars: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """TensorFlow variable names (numbered in the order models.py creates the layers) → MusiCNN's keys."""
    state: dict[str, np.ndarray] = {}
    _bn(state, "frontend.input_bn", tf_vars, "batch_normalization")
    convs = [f"frontend.timbral.{i}" for i in range(2)] + [f"frontend.temporal.{i}" for i in range(3)]
    for i, prefix in enumerate(convs):  # conv2d … conv2d_4, each followed by its batch norm
        kernel = tf_vars[f"conv2d{'_' + str(i) if i else ''}/kernel"]
        state[f"{prefix}.conv.weight"] = kernel.transpose(3, 2, 0, 1)  # (h, w, in, out) → (out, in, h, w)
        state[f"{prefix}.conv.bias"] = tf_vars[f"conv2d{'_' + str(i) if i else ''}/bias"]
        _bn(state, f"{prefix}.bn", tf_vars, f"batch_normalization_{i + 1}")
    for i in range(3):  # conv2d_5 … conv2d_7: (7, channels, 1, 64) over (time, channels) → Conv1d (64, channels, 7)
        state[f"midend.convs.{i}.weight"] = tf_vars[f"conv2d_{5 + i}/kernel"][:, :, 0, :].transpose(2, 1, 0)
        state[f"midend.convs.{i}.bias"] = tf_vars[f"conv2d_{5 + i}/bias"]
        _bn(state, f"midend.bns.{i}", tf_vars, f"batch_normalization_{6 + i}")
    _bn(state, "backend.pool_bn", tf_vars, "batch_normalization_9")
    state["backend.dense.weight"] = tf_vars["dense/kernel"].T
    state["backend.dense.bias"] = tf_vars["dense/bias"]
    _bn(state, "backend.dense_bn", tf_vars, "batch_normalization_10")
    state["backend.tags.weight"] = tf_vars["dense_1/kernel"].T
    state["backend.tags.bias"] = tf_vars["dense_1/bias"]
    return state


def run_tf(wheel: Path, tf_python: str, patches: np.ndarray, work: Path) -> dict[str, np.ndarray]:
    """Unpack the wheel and run :func:`tf_stage` in the TensorFlow venv."""
    package_dir = work / "wheel"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(package_dir)
    np.savez(work / "in.npz", patches=patches)
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    subprocess.run([tf_python, __file__, "--tf-stage", str(package_dir), str(work / "in.npz"), str(work / "tf.npz")],
                   check=True, env=env)
    with np.load(work / "tf.npz") as f:
        return {k: f[k] for k in f.files}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel-dir", type=Path, required=True, help=f"folder holding {WHEEL} (pip download)")
    parser.add_argument("--tf-python", required=True, help="python of a venv with tensorflow-cpu and tf-keras")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--fixture", action="store_true", help=f"also rewrite {FIXTURE.relative_to(ROOT)}")
    args = parser.parse_args()
    wheel = args.wheel_dir / WHEEL
    if not wheel.is_file():
        parser.error(f"{wheel} not found: fetch it with `pip download --no-deps musicnn==0.1.0 -d {args.wheel_dir}`")

    sys.path.insert(0, str(ROOT))
    import torch

    from mer.audio.musicnn import TAGS, load_musicnn

    patches = fixture_patches()
    with tempfile.TemporaryDirectory() as tmp:
        tf_out = run_tf(wheel, args.tf_python, patches, Path(tmp))
    if tuple(tf_out["labels"]) != TAGS:
        raise SystemExit("the wheel's MSD_LABELS differ from mer.audio.musicnn.TAGS")
    state = to_state_dict({k[4:]: v for k, v in tf_out.items() if k.startswith("var/")})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: torch.from_numpy(np.array(v, order="C")) for k, v in state.items()}, args.out)

    net = load_musicnn(args.out)
    with torch.no_grad():
        port = net(torch.from_numpy(patches))
    failed = []
    for name in LAYERS:
        theirs = tf_out[f"out/{name}"]
        error = float(np.abs(getattr(port, name).numpy() - theirs).max())
        scale = max(1.0, float(np.abs(theirs).max()))
        print(f"{name:12s} max |port - TF| = {error:.2e} (largest |TF| {scale:.3g})")
        if error > TOLERANCE * scale:
            failed.append(name)
    data = args.out.read_bytes()
    print(f"{args.out}: {len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
    if args.fixture:
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(FIXTURE, patches=patches, **{name: tf_out[f"out/{name}"] for name in LAYERS})
        print(f"{FIXTURE}: {FIXTURE.stat().st_size:,} bytes")
    if failed:
        raise SystemExit(f"the port differs from TensorFlow by more than {TOLERANCE} of the layer's scale: {failed}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--tf-stage":
        tf_stage(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        sys.exit(main())
