"""Rebuild mer/resources/emotify/segment-features.npz from an Emotify folder.

    python benchmarks/bundle_features.py --root ../shared/emotify [--out PATH]

Per segment of every track: the mean and standard deviation over time of the
64 log-mel bands (mer.audio.features, default configs), float16, with Emotify's
official track ids. Prints the shape, the file size and the time taken.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mer.data.compact import BUNDLED_FEATURES, build_compact_features, save_compact_features  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="Emotify-layout folder with its audio")
    parser.add_argument("--out", type=Path, default=BUNDLED_FEATURES)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    t0 = time.perf_counter()
    features = build_compact_features(
        args.root, workers=args.workers,
        on_progress=lambda d, t, m: print(f"\r[{d}/{t}] {m}", end="" if d < t else "\n", file=sys.stderr))
    path = save_compact_features(features, args.out)
    print(f"{len(features)} tracks x {features.n_segments} segments x {features.X.shape[2]} values "
          f"(float16) -> {path} ({path.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
