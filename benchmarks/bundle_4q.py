"""Rebuild mer/resources/4q/ (annotations and per-segment MusiCNN embeddings) from a 4Q folder.

    python benchmarks/bundle_4q.py --root ../shared/4q

Reads ``annotations.csv`` and ``Q1/`` … ``Q4/<Song>.ogg`` (or ``.mp3``), embeds every clip's 20 segments with
MusiCNN (the bundled weights, int8 like the Emotify bundle), and writes float16 bundles of the layers mer uses
(``mean_pool``: the GEMS head's input; ``penultimate``: the valence–arousal head's) with their front-end record,
plus the four annotation columns mer needs. Never the audio. Prints sizes and the time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mer.audio import embeddings  # noqa: E402
from mer.audio.decode import load_audio  # noqa: E402
from mer.data.embedded import save_embeddings  # noqa: E402
from mer.data.fourq import ANNOTATIONS, LAYER_FILES, song_number  # noqa: E402
from mer.files import write_atomic  # noqa: E402


def _clip(root: Path, song: str, quadrant: str) -> Path:
    for ext in ("ogg", "mp3"):
        if (path := root / quadrant / f"{song}.{ext}").is_file():
            return path
    raise SystemExit(f"error: no audio for {song} under {root / quadrant}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="4Q folder: annotations.csv and Q1/ … Q4/")
    args = parser.parse_args()
    t0 = time.perf_counter()
    table = pd.read_csv(args.root / "annotations.csv", dtype=str)
    layers = tuple(LAYER_FILES)
    rows: dict[str, list[np.ndarray]] = {name: [] for name in layers}
    tags = []
    for i, r in enumerate(table.itertuples(), 1):
        emb = embeddings.embed_audio(load_audio(_clip(args.root, r.Song, r.Quadrant)), layers=layers[:1],
                                     extra_layers=layers[1:], precision=embeddings.BUNDLED_PRECISION)
        rows[layers[0]].append(emb.vectors)
        rows[layers[1]].append(emb.extra)
        tags.append(emb.tags)
        print(f"\r[{i}/{len(table)}] MusiCNN: embedding 4Q's clips", end="", file=sys.stderr)
    print(file=sys.stderr)
    ids = np.array([song_number(s) for s in table["Song"]])
    for name in layers:
        path = save_embeddings(LAYER_FILES[name], np.stack(rows[name]), np.stack(tags), ids, layers=(name,))
        print(f"{name}: {path} ({path.stat().st_size / 1e6:.2f} MB)")
    write_atomic(ANNOTATIONS, table[["Song", "Artist", "Quadrant", "PQuad"]].to_csv(index=False))
    print(f"{len(ids)} clips in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
