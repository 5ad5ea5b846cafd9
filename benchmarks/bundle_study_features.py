"""Rebuild mer/resources/emotify/study-features.npz from an Emotify folder.

    python benchmarks/bundle_study_features.py --root ../shared/emotify [--out PATH] [--workers N]

Per segment of every track: the study's 28 librosa means (mer.training.study.segment_features),
float32, with Emotify's official track ids and the features' version, which
mer checks when it reads them. Prints the shape, the file size and the time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mer.data.compact import _official_ids  # noqa: E402
from mer.data.emotify import load_corpus  # noqa: E402
from mer.progress import ProgressPrinter  # noqa: E402
from mer.training import study  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="Emotify-layout folder with its audio")
    parser.add_argument("--out", type=Path, default=study.BUNDLED_STUDY_FEATURES)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: one per core)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    corpus = load_corpus(args.root)
    X = study.corpus_study_features(corpus, workers=args.workers, on_progress=ProgressPrinter())
    ids = _official_ids(args.root, corpus.tracks["track_id"].to_numpy())
    path = study.save_study_features(args.out, study.StudyFeatures(X=X, track_id=ids))
    print(f"{len(ids)} tracks x {X.shape[1]} segments x {X.shape[2]} features (float32) -> {path} "
          f"({path.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
