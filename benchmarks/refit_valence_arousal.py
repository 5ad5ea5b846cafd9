"""Fit (or refit) the valence–arousal head of an existing MusiCNN model, leaving its GEMS network as it is.

    python benchmarks/refit_valence_arousal.py --model models/default

Runs the same step ``python -m mer train`` ends with (:func:`mer.training.valence.train_head`: artist-grouped
nested cross-validation on the bundled 4Q clips, the baselines with this model's GEMS head, the head on all
clips, Emotify's anchors), then rewrites the model folder atomically with the head, its config and its metrics
and card. For a model trained before the head existed, or after the head's recipe changed, without repeating
the GEMS training. Prints the figures and the time.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mer.card import model_card, va_lines  # noqa: E402
from mer.config import VAConfig
from mer.model import predict_tracks  # noqa: E402
from mer.model_files import load_metrics, load_model, save_model  # noqa: E402
from mer.progress import ProgressPrinter  # noqa: E402
from mer.training.valence import train_head  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="a MusiCNN model folder")
    args = parser.parse_args()
    t0 = time.perf_counter()
    model = load_model(args.model)
    metrics = load_metrics(args.model)
    if metrics is None or model.model_config.front_end != "musicnn":
        raise SystemExit(f"error: '{args.model}' is not a MusiCNN model with metrics.json.")
    config = VAConfig()
    head, va = train_head(config, gems=lambda X: predict_tracks(model.net, X)[0],
                          on_progress=ProgressPrinter(stream=sys.stderr))
    metrics = dataclasses.replace(metrics, valence_arousal=va)
    card = model_card(model.name, model.dataset, model.train_config, model.model_config, metrics)
    save_model(model.net, name=model.name, root=args.model.resolve().parent, audio_config=model.audio_config,
               feature_config=model.feature_config, model_config=model.model_config,
               train_config=model.train_config, dataset=model.dataset, metrics=metrics.to_dict(), card=card,
               replace=True, precision=model.record.precision, va=(head, config))
    print("\n".join(va_lines(va)))
    print(f"C chosen: valence {va.c[0]:g}, arousal {va.c[1]:g}; {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
