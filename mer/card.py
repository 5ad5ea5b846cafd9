"""What a model directory says about its model: its ``card.md``, the JSON of ``python -m mer card --json``.

Every accuracy names its protocol and its data: the headline is the
track-grouped cross-validation; segment-level numbers of the study's and the
segment protocol are labelled as leaky.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .choices import DatasetKind, Family, Protocol, Ship, Target
from .config import DatasetInfo, ModelConfig, TrainConfig
from .data.fourq import CITATION as FOURQ_CITATION
from .emotions import EMOTIONS, emotion_label
from .frontend import front_end
from .kernels import kernel_choice, run_kernel, run_precision
from .record import ModelRecord
from .results import CVReport, LadderReport, ModelMetrics, VAMetrics
from .settings import PRECISION
from .text import escape_markdown
from .yardstick import EMOTIFY_CEILING, reference

__all__ = ["model_metrics", "model_card", "card_paragraph", "card_summary", "precision_note", "va_lines",
           "CITATION"]

CITATION = ("A. Aljanaki, F. Wiering, R. C. Veltkamp. Studying emotion induced by music through a crowdsourcing "
            "game. Information Processing & Management, 2016. doi:10.1016/j.ipm.2015.03.004")


def model_metrics(model: Any) -> ModelMetrics:
    """Metrics of a :class:`mer.training.train.TrainedModel`."""
    return ModelMetrics(cv=model.cv, ladder=model.ladder, history=model.history, best_epoch=model.best_epoch,
                        seconds=model.seconds)


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _cv_lines(cv: CVReport) -> list[str]:
    mean, std = cv.fold_accuracy
    lines = [f"Cross-validated on {escape_markdown(cv.data)}: {cv.n_folds} folds grouped by track and stratified by dominant "
             f"emotion (seed {cv.seed}); every track's prediction comes from the fold model that never saw it.", "",
             "| model | track accuracy | macro-F1 | top-3 | listener agreement |", "|---|---|---|---|---|",
             f"| **this CNN-LSTM** | **{cv.pooled.accuracy:.3f}** (folds {mean:.3f} ± {std:.3f}) | "
             f"{cv.pooled.macro_f1:.3f} | {_fmt(cv.pooled.top3)} | {_fmt(cv.pooled.agreement)} |"]
    for name, m in cv.baselines.items():
        lines.append(f"| {name} | {m.accuracy:.3f} | {m.macro_f1:.3f} | {_fmt(m.top3)} | {_fmt(m.agreement)} |")
    recall = ", ".join(f"{emotion_label(e)} {s.recall:.2f}" for e, s in cv.pooled.per_class.items() if s.support)
    lines += ["", f"Per-class recall (tracks): {recall}.", ""]
    return lines


#: What the card says about the pretrained front-end: its network, its training data, its licence.
#: How much each track's loss counts (``TrainConfig.track_weights``), in the card's words.
TRACK_WEIGHT_WORDS = {"none": "every track weighs the same",
                      "sqrt_responses": "each track weighted by the square root of its listeners",
                      "responses": "each track weighted by its number of listeners"}
#: How the segment head is trained (``TrainConfig.segment_target``), in the card's words.
SEGMENT_HEADS = {"shares": "each segment learns its track's target",
                 "dominant": "each segment learns its track's dominant emotion",
                 "pooled": "the mean of the segments' distributions learns the track's target, so segments may "
                           "differ"}


#: What hears a track's segments, for people (:func:`card_paragraph`), by front-end.
_HEARS = {"musicnn": "MusiCNN, a network pretrained on a million songs, hears each of a track's 20 segments",
          "logmel": "a small network trained with it hears each of a track's 20 segments in their log-mel images"}
#: The card's limits in one sentence, by the kind of corpus.
_LIMITS = {"emotify": "Its limits: Emotify's listeners disagree often enough that even a perfect model would match "
                      f"their top emotion only about {EMOTIFY_CEILING * 100:.0f} % of the time; the rarest emotions "
                      "(amazement, 3 of 400 tracks) "
                      "are seldom predicted; and it learnt from one-minute excerpts of four genres, so other music may "
                      "fare worse.",
           "demo": "It learnt from mer's synthetic demo corpus, music made from emotion archetypes with simulated "
                   "listeners: its numbers show that the pipeline works, not how people hear emotion in music.",
           "other": "It learnt from a corpus mer knows nothing about, so how noisy its labels are, and so the best "
                    "accuracy possible, is unknown."}


def card_paragraph(name: str, dataset: DatasetInfo, model_config: ModelConfig, metrics: ModelMetrics | None,
                   quote: Callable[[str], str] = str) -> str:
    """The card in one paragraph of plain text, for people: what the model is, what it learnt from, how good it is
    (:func:`mer.yardstick.reference`'s sentence, word for word) and its limits. The HTML report quotes it.

    ``quote`` is applied to what comes from files (the name, the data's description): ``escape_markdown`` for
    the card, ``html.escape`` for the report.
    """
    hears = _HEARS.get(str(model_config.front_end), "a network hears each of a track's 20 segments")
    return (f"The model '{quote(name)}' is a CNN-LSTM: {hears}, and an LSTM reads the 20 in order to give each "
            f"segment, and the whole track, a probability for each of the nine GEMS emotions. It learnt from "
            f"{quote(dataset.description)}. {reference(metrics.cv if metrics else None, quote).sentence} "
            f"{_LIMITS.get(dataset.kind, _LIMITS['other'])}")


def model_card(name: str, dataset: DatasetInfo, config: TrainConfig, model_config: ModelConfig,
               metrics: ModelMetrics) -> str:
    """The Markdown card written beside the weights: :func:`card_paragraph` first, then the details."""
    cnn = front_end(model_config).card_sentence()
    lines = [f"# Model card: {escape_markdown(name)}", "",
             card_paragraph(name, dataset, model_config, metrics, quote=escape_markdown), "",
             f"A hybrid CNN-LSTM: {cnn}; a bidirectional LSTM runs across the 20 embeddings, and two heads give each "
             "segment's emotion distribution (the timeline) and the track's (attention-pooled), trained against the "
             f"listeners' {'vote shares' if config.target == Target.SHARES else 'dominant emotion'}: "
             f"{SEGMENT_HEADS[config.segment_target]} (weight {config.segment_weight:g}).", "",
             "## Data", f"- {escape_markdown(dataset.description)}, fingerprint `{dataset.fingerprint}`."]
    if dataset.kind == DatasetKind.DEMO:
        lines.append("- **The demo corpus is synthetic music with simulated listeners; this model is not a model "
                     "of human emotion.**")
    else:
        lines.append(f"- Emotify (induced emotion, GEMS-9). Cite: {CITATION}")
    lines += ["", "## Honest numbers"]
    lines += _cv_lines(metrics.cv) if metrics.cv else ["No cross-validation was run for this model.", ""]
    lines += va_lines(metrics.valence_arousal)
    if metrics.ladder:
        lines += ["## The leakage ladder (same network, same data)", "", "| protocol | accuracy | unit |", "|---|---|---|"]
        lines += [f"| {r.description} | {r.accuracy:.3f} | {r.unit} |" for r in metrics.ladder.values()]
        lines += [""]
    shipped = (f"the average of the {metrics.cv.n_folds} cross-validation fold models (each scored above on the "
               "tracks it never saw; their average has not been scored on unseen tracks here)"
               if config.ship == Ship.FOLDS and metrics.cv else "one network trained on all tracks")
    lines += ["## Training", f"- The shipped model is {shipped}.",
              f"- AdamW lr {config.lr:g}, weight decay {config.weight_decay:g}, ReduceLROnPlateau "
              f"(×{config.lr_factor:g} after {config.lr_patience} epochs), dropout {model_config.dropout:g}, "
              f"{config.batch_size} tracks a batch, up to {config.epochs} epochs, early stopping after "
              f"{config.patience} on {config.val_fraction:.0%} of the training tracks; {_best_epochs(config, metrics)}; "
              f"oversampling: {config.sampler}; {TRACK_WEIGHT_WORDS[config.track_weights]}; seed {config.seed}.",
              f"- Whole training command: {metrics.seconds / 60:.1f} min.", "",
              "## Limits", *_limits(dataset), ""]
    return "\n".join(lines)


#: The valence–arousal baselines' names on the card.
VA_BASELINES = {"pooled_logistic": "logistic regression on each clip's pooled MusiCNN embedding",
                "gems_projection": "the nine GEMS probabilities projected onto fixed circumplex places (mer's old plane)"}


def va_lines(va: VAMetrics | None) -> list[str]:
    """The card's valence–arousal section: the head, its grouped cross-validation and its baselines (Markdown)."""
    if va is None:
        return ["## Valence and arousal", "", "This model has no valence–arousal head.", ""]
    h = va.head
    spread = [a for a in va.fold_quadrant if a == a]
    lines = ["## Valence and arousal", "",
             f"A head of two logistic regressions reads MusiCNN's view of each segment, trained on "
             f"{escape_markdown(va.data)}. Cite: {FOURQ_CITATION}", "",
             f"Evaluated by {escape_markdown(va.protocol)}; each clip's value is the mean of its segments' logits.",
             "", "| model | valence acc. | valence AUC | arousal acc. | arousal AUC | quadrant acc. |",
             "|---|---|---|---|---|---|",
             f"| **this head** | **{h.valence_accuracy:.3f}** | {h.valence_auc:.3f} | **{h.arousal_accuracy:.3f}** | "
             f"{h.arousal_auc:.3f} | **{h.quadrant_accuracy:.3f}** (folds {min(spread):.2f}–{max(spread):.2f}) |"]
    for key, b in va.baselines.items():
        lines.append(f"| {VA_BASELINES.get(key, key)} | {b.valence_accuracy:.3f} | {b.valence_auc:.3f} | "
                     f"{b.arousal_accuracy:.3f} | {b.arousal_auc:.3f} | {b.quadrant_accuracy:.3f} |")
    lines += ["", f"Single segments (about 1.5 s of a 30 s clip, against its clip's label; valence averages the logits "
              f"of a segment's neighbours, arousal reads the segment alone): valence "
              f"{va.segments[0]:.3f}, arousal {va.segments[1]:.3f}. Brier score of the clips' probabilities: valence "
              f"{va.brier[0]:.3f}, arousal {va.brier[1]:.3f} (a coin: 0.25). Chance is 0.5 on each side and 0.25 "
              "for the quadrant.", ""]
    return lines


def _best_epochs(config: TrainConfig, metrics: ModelMetrics) -> str:
    """The shipped networks' best epochs: each fold model's when the folds are averaged, else the one fit's."""
    if config.ship == Ship.FOLDS and metrics.cv:
        return "best epochs of the fold models " + ", ".join(str(f.best_epoch) for f in metrics.cv.folds)
    return f"best epoch {metrics.best_epoch}"


def _limits(dataset: DatasetInfo) -> list[str]:
    """What the card warns about: Emotify's noise and thin classes, or that a synthetic corpus says nothing about
    listeners."""
    if dataset.kind == DatasetKind.DEMO:
        return ["- Trained on mer's synthetic demo corpus (music synthesised from emotion archetypes, simulated "
                "listeners): its numbers show the pipeline works, not how people hear emotion in music."]
    if dataset.kind != DatasetKind.EMOTIFY:
        return ["- Trained on a corpus mer knows nothing about: its labels' noise, and so the ceiling of its "
                "accuracy, are unknown here."]
    return ["- Emotify's labels are noisy: a perfect model of its listeners would match a fresh panel's dominant "
            f"emotion about {EMOTIFY_CEILING * 100:.0f} % of the time, so that, not 100 %, is the ceiling of track "
            "accuracy.",
            f"- Few tracks of some emotions ({emotion_label(EMOTIONS[0])} has 3 of 400): those are rarely "
            "predicted.",
            "- Trained on one-minute excerpts of four genres; other music may fare worse."]


def precision_note(recorded: str | None) -> str | None:
    """One line for a MusiCNN model: the precision MusiCNN runs in on this machine and why, beside the one its
    training embeddings were computed in (None for a log-mel model, ``recorded`` None)."""
    if recorded is None:
        return None
    ran, choice = run_precision(), kernel_choice()
    why = choice.reason if ran == choice.precision else f"set by {PRECISION}"
    how = f" through the {run_kernel()} kernel" if ran == "float32" else ""
    return (f"MusiCNN runs here in {ran}{how} ({why}); this model's training embeddings were computed in {recorded}"
            + (", the same arithmetic." if ran == recorded else ": the two agree within a few thousandths."))


def card_summary(name: str, record: ModelRecord, metrics: ModelMetrics,
                 ladder: LadderReport | None = None) -> dict[str, Any]:
    """The JSON printed by ``python -m mer card --json``; ``ladder``: the models folder's saved leakage ladder."""
    written = record.to_dict()
    out: dict[str, Any] = {"name": name, **{k: written[k] for k in ("created", "dataset", "train", "model")}}
    if record.front_end is not None:  # the pretrained network, its weights' hash and its precision
        out["front_end"] = written["front_end"]
        out["runs_here"] = {"precision": run_precision(), "cpu_capability": kernel_choice().capability,
                            "float32_kernel": run_kernel(), "choice_basis": kernel_choice().basis,
                            "note": precision_note(record.precision)}
    if metrics.valence_arousal is not None:
        out["valence_arousal"] = metrics.valence_arousal.to_dict()
    out["protocols"] = {k: {"accuracy": r.accuracy, "unit": r.unit, "n_test": r.n_test, "description": r.description}
                        for k, r in metrics.ladder.items()}
    if metrics.cv:
        cv = metrics.cv
        mean, std = cv.fold_accuracy
        out["cross_validation"] = {
            "data": cv.data, "folds": cv.n_folds, "accuracy": cv.pooled.accuracy, "fold_mean": mean, "fold_std": std,
            "macro_f1": cv.pooled.macro_f1, "top3": cv.pooled.top3, "listener_agreement": cv.pooled.agreement,
            "baselines": {k: {"accuracy": m.accuracy, "macro_f1": m.macro_f1, "listener_agreement": m.agreement}
                          for k, m in cv.baselines.items()},
        }
        out["protocols"].setdefault(Protocol.TRACK, {"accuracy": cv.pooled.accuracy, "unit": "track", "n_test": cv.pooled.n})
    saved = ladder
    if saved is not None and Family.STUDY in saved.families:
        fam = saved.families[Family.STUDY]
        out["study_recipe"] = {
            "data": saved.data, "seed": saved.seed, "seconds": fam.seconds,
            "protocols": {k: {"accuracy": r.accuracy, "unit": r.unit, "n_test": r.n_test, "description": r.description}
                          for k, r in fam.rungs.items()}}
    return out
