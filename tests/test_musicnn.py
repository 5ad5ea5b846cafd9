"""The PyTorch port of MusiCNN: parity with musicnn's TensorFlow outputs, its input, its weights file."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from mer.audio.musicnn import (
    N_MELS,
    PATCH_FRAMES,
    SAMPLE_RATE,
    TAGS,
    WEIGHTS_PATH,
    MusiCNN,
    load_musicnn,
    logmel,
    patches,
    weights_hash,
)
from mer.errors import ModelError

FIXTURE = Path(__file__).parent / "fixtures" / "musicnn_parity.npz"
LAYERS = {"tags": 50, "penultimate": 200, "max_pool": 753, "mean_pool": 753}


def _signal(seconds: float, peak: float = 0.8) -> np.ndarray:
    """Deterministic: a gliding tone, a plucked pulse train and some noise."""
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    y = np.sin(2 * np.pi * (200 * t + 150 * t**2)) + np.exp(-20 * (t % 0.25)) * np.sin(2 * np.pi * 90 * t)
    y += 0.1 * rng.standard_normal(len(t))
    return (peak * y / np.abs(y).max()).astype(np.float32)


@pytest.fixture(scope="module")
def net() -> MusiCNN:
    return load_musicnn()


@pytest.fixture(scope="module")
def parity() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as f:
        return {k: f[k] for k in f.files}


def test_port_reproduces_musicnn_tensorflow_outputs(net, parity):
    with torch.no_grad():
        out = net(torch.from_numpy(parity["patches"]))
    for layer, size in LAYERS.items():
        ours, theirs = getattr(out, layer).numpy(), parity[layer]
        assert ours.shape == theirs.shape == (len(parity["patches"]), size)
        # float32 noise grows with a layer's magnitude (max_pool reaches ~120; batch norms scale by up to ~120),
        # so the bound is 1e-4 of it: TensorFlow's own float32 max_pool is 2.7e-4 from a float64 evaluation.
        bound = 1e-4 * max(1.0, float(np.abs(theirs).max()))
        assert np.abs(ours - theirs).max() <= bound, layer


def test_pooling_first_equals_musicnns_order_of_operations(net, parity):
    # The port takes the max over frequency straight after each front-end convolution; musicnn applies the bias,
    # ReLU and batch norm first (most filters' batch-norm scales are negative, so the min is taken for them).
    x = net.frontend.input_bn(torch.from_numpy(parity["patches"]).unsqueeze(1))
    with torch.no_grad():
        for block in (*net.frontend.timbral, *net.frontend.temporal):
            frames = block.conv.kernel_size[0]
            padded = torch.nn.functional.pad(x, (0, 0, (frames - 1) // 2, frames // 2))  # TensorFlow's "same"
            musicnn_order = block.bn(torch.relu(block.conv(padded))).amax(dim=3)
            # the same sums in another order (bit-identical with AVX-512's kernels, 6e-5 apart with AVX2's)
            scale = max(1.0, float(musicnn_order.abs().max()))
            torch.testing.assert_close(block(x), musicnn_order, rtol=0, atol=1e-5 * scale)


def test_int8_peaks_are_the_float_convolution_of_the_quantised_patch_and_weights(net, parity):
    # The integer path's bookkeeping (zero point, scales, max on integer sums) is exact: it equals a float64
    # convolution of the dequantised 8-bit patch and filters, so its only error is the 8-bit rounding itself.
    from mer.audio.musicnn import _Int8Filters

    x = net.frontend.input_bn(torch.from_numpy(parity["patches"][:1]).unsqueeze(1))
    patch = torch.nn.functional.pad(x, (0, 0, 3, 3)).detach()
    weight = net.frontend.timbral[0].conv.weight.detach()
    w_scale = weight.abs().amax(dim=(1, 2, 3)) / 127
    w_deq = torch.round(weight / w_scale[:, None, None, None]) * w_scale[:, None, None, None]
    lo, hi = min(float(patch.min()), 0.0), max(float(patch.max()), 0.0)
    x_scale = (hi - lo) / 255
    zero = round(-lo / x_scale) - 128
    x_deq = (torch.clamp(torch.round(patch / x_scale) + zero, -128, 127) - zero) * x_scale
    expected = torch.nn.functional.conv2d(x_deq.double(), w_deq.double()).amax(dim=3)
    got = _Int8Filters.of(weight).peak(patch)
    assert got.shape == expected.shape == (1, 204, PATCH_FRAMES)
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-5)


def test_int8_musicnn_stays_within_about_one_percent_of_float32(net, parity):
    fast = load_musicnn(precision="int8")
    assert fast is load_musicnn(precision="int8") and fast is not net and fast.precision == "int8"
    with torch.no_grad():
        exact, quick = net(torch.from_numpy(parity["patches"])), fast(torch.from_numpy(parity["patches"]))
    ref, got = exact.mean_pool.numpy(), quick.mean_pool.numpy()
    relative = np.abs(got - ref).mean() / np.abs(ref).mean()
    assert 1e-4 < relative < 0.03  # quantised, and close (1.2 % on the 320 Emotify tracks)
    assert np.abs(quick.tags.numpy() - exact.tags.numpy()).max() < 0.05
    with pytest.raises(ModelError, match="float32, int8"):
        load_musicnn(precision="bfloat16")


def test_logmel_equals_librosas_float32_recipe():
    librosa = pytest.importorskip("librosa")
    y = _signal(4.0)[:-77]  # not a whole number of hops
    mel = librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, hop_length=256, n_fft=512, n_mels=N_MELS).T
    expected = np.log10(np.float32(10000) * mel + np.float32(1))
    ours = logmel(y)
    assert ours.dtype == np.float32 and ours.shape == expected.shape == (1 + len(y) // 256, N_MELS)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)  # bit-identical where numpy's BLAS is librosa's


def test_patches_are_consecutive_and_short_input_repeats():
    mel = np.arange(3751 * N_MELS, dtype=np.float32).reshape(3751, N_MELS)  # a 60 s track at 16 kHz
    p = patches(mel)
    assert p.shape == (20, PATCH_FRAMES, N_MELS)
    np.testing.assert_array_equal(p[1, 0], mel[PATCH_FRAMES])
    short = patches(mel[:100], n_patches=2)
    np.testing.assert_array_equal(short[0, 100], mel[0])  # repeated end to end
    np.testing.assert_array_equal(short[1, 0], mel[PATCH_FRAMES % 100])


def test_loud_input_gives_finite_outputs(net):
    y = np.sign(_signal(3.5))  # full-scale square-ish wave
    mel = logmel(y)
    loudest = (10 ** float(mel.max()) - 1) / 10000  # the mel power of the loudest bin
    assert 10000 * loudest > float(np.finfo(np.float16).max)  # where musicnn's float16 cast gives inf
    assert np.isfinite(mel).all()
    with torch.no_grad():
        out = net(torch.from_numpy(patches(mel)))
    for layer in LAYERS:
        assert torch.isfinite(getattr(out, layer)).all(), layer


def test_tags_are_musicnns_msd_labels():
    assert len(TAGS) == 50 and TAGS[:3] == ("rock", "pop", "alternative") and TAGS[-1] == "happy"


def test_bundled_weights_load_once_in_eval_mode(net):
    assert load_musicnn() is net and load_musicnn(WEIGHTS_PATH) is net
    assert not net.training


def test_weights_hash_is_the_files_sha256_and_the_readme_states_it():
    full = hashlib.sha256(WEIGHTS_PATH.read_bytes()).hexdigest()
    assert weights_hash() == full[:16]
    readme = (WEIGHTS_PATH.parent / "README.md").read_text()
    assert full in readme


def _assert_remedy(error: pytest.ExceptionInfo, path: Path) -> None:
    message = str(error.value)
    assert str(path) in message
    assert re.search(r"python benchmarks/convert_musicnn\.py --wheel-dir \S+ --tf-python \S+", message)


def test_missing_weights_file_is_rejected_with_remedy(tmp_path):
    path = tmp_path / "msd_musicnn.pt"
    with pytest.raises(ModelError, match="missing") as e:
        load_musicnn(path)
    _assert_remedy(e, path)
    with pytest.raises(ModelError) as e:
        weights_hash(path)
    _assert_remedy(e, path)


def test_truncated_weights_file_is_rejected_with_remedy(tmp_path):
    path = tmp_path / "msd_musicnn.pt"
    path.write_bytes(WEIGHTS_PATH.read_bytes()[:100_000])
    with pytest.raises(ModelError, match="damaged") as e:
        load_musicnn(path)
    _assert_remedy(e, path)


@pytest.mark.parametrize("state", [
    MusiCNN(n_tags=10).state_dict(),  # MusiCNN with another tag set
    torch.nn.Linear(3, 2).state_dict(),  # another network
    {"weights": [1, 2, 3]},  # not tensors
], ids=["other-tags", "other-network", "not-tensors"])
def test_weights_of_another_network_are_rejected_with_remedy(tmp_path, state):
    path = tmp_path / "other.pt"
    torch.save(state, path)
    with pytest.raises(ModelError) as e:
        load_musicnn(path)
    _assert_remedy(e, path)


def test_the_dft_kernel_gives_the_direct_convolutions_numbers(net, parity):
    # mer.audio.bandconv: the timbral layers as a DFT along the bands, chosen by mer.kernels where it is faster
    from mer.audio.bandconv import DftFilters, direct_peak

    x = net.frontend.input_bn(torch.from_numpy(parity["patches"][:2]).unsqueeze(1))
    patch = torch.nn.functional.pad(x, (0, 0, 3, 3)).detach()
    for block in net.frontend.timbral:  # 38 bands (even/odd split) and 67 bands (one inverse)
        weight = block.conv.weight.detach()
        ref = torch.nn.functional.conv2d(patch.double(), weight.double()).amax(dim=3)
        tables = DftFilters.of(weight)
        got = torch.cat([tables.peak(p) for p in patch.split(1)])
        assert got.shape == ref.shape == (2, 204, PATCH_FRAMES)
        assert float((got.double() - ref).abs().max() / ref.abs().max()) < 1e-5
        assert float((direct_peak(patch[:1], weight).double() - ref[:1]).abs().max() / ref.abs().max()) < 1e-5
    dft = load_musicnn(kernel="dft")
    assert dft is load_musicnn(kernel="dft") and dft.kernel == "dft" and dft is not net
    with torch.no_grad():
        a, b = net(torch.from_numpy(parity["patches"])), dft(torch.from_numpy(parity["patches"]))
    for layer in LAYERS:
        ours, theirs, direct = getattr(b, layer).numpy(), parity[layer], getattr(a, layer).numpy()
        assert np.abs(ours - theirs).max() <= 1e-4 * max(1.0, float(np.abs(theirs).max())), layer
        assert np.abs(ours - direct).max() <= 1e-5 * max(1.0, float(np.abs(direct).max())), layer
    with pytest.raises(ModelError, match="direct, dft"):
        load_musicnn(kernel="winograd")
