"""Rebuild mer/resources/emotify/segment-embeddings.npz from an Emotify folder.

    python benchmarks/bundle_embeddings.py --root ../shared/emotify [--out PATH] [--all-layers FILE]

Per segment of every track: MusiCNN's embedding (mer.audio.embeddings.LAYERS) and its
50 tag probabilities, float16, with Emotify's official track ids and the
front-end's record (weights hash, layers, version), which mer checks when it
reads them. ``--all-layers FILE`` also keeps every layer in float32 (for
choosing the layers; not shipped). Prints the shape, the file size and the time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mer.audio import embeddings  # noqa: E402
from mer.audio.decode import load_audio  # noqa: E402
from mer.data.compact import _official_ids  # noqa: E402
from mer.data.embedded import BUNDLED_EMBEDDINGS, save_embeddings  # noqa: E402
from mer.data.emotify import load_corpus  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="Emotify-layout folder with its audio")
    parser.add_argument("--out", type=Path, default=BUNDLED_EMBEDDINGS)
    parser.add_argument("--all-layers", type=Path, default=None, help="also write every layer here (float32)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    corpus = load_corpus(args.root)
    sizes = {"penultimate": 200, "max_pool": 753, "mean_pool": 753}
    rows, tags = [], []
    for i, path in enumerate(corpus.tracks["path"], 1):
        emb = embeddings.embed_audio(load_audio(path), layers=tuple(sizes))
        rows.append(emb.vectors)
        tags.append(emb.tags)
        print(f"\r[{i}/{len(corpus)}] MusiCNN: embedding segments", end="", file=sys.stderr)
    print(file=sys.stderr)
    edges = np.cumsum([0, *sizes.values()])
    layers = {name: np.stack(rows)[..., a:b] for name, a, b in zip(sizes, edges[:-1], edges[1:])}
    chosen = np.concatenate([layers[name] for name in embeddings.LAYERS], axis=2)
    ids = _official_ids(args.root, corpus.tracks["track_id"].to_numpy())
    if args.all_layers:
        np.savez(args.all_layers, track_id=ids, tags=np.stack(tags), **layers)
    path = save_embeddings(args.out, chosen, np.stack(tags), ids)
    print(f"{len(ids)} tracks x {chosen.shape[1]} segments x {chosen.shape[2]} values "
          f"(float16) -> {path} ({path.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
