"""The corpora the app offers to train on and to look at, as typed choices: the bundled Emotify (no audio), an
Emotify with audio where the server has one, and the synthetic demo corpus.

Users never type a path: an Emotify folder is the one ``MER_EMOTIFY_DIR`` names (:func:`mer.settings.emotify_dir`)
or the one the Train page downloaded into the data folder (:func:`mer.settings.emotify_download_dir`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ..settings import demo_dir, emotify_dir, emotify_download_dir
from .emotify import has_emotify_layout
from .fetch import emotify_ready

__all__ = ["CorpusKind", "CorpusChoice", "corpus_choices", "DEMO_LABEL"]

#: The demo corpus's label in the app.
DEMO_LABEL = "Demo corpus (synthetic)"


class CorpusKind(StrEnum):
    """What a corpus is: the Emotify bundled with mer (annotations and features, no audio), an Emotify with its
    audio, or mer's synthetic demo corpus (music made from emotion archetypes, simulated listeners)."""

    BUNDLED = "bundled"
    EMOTIFY = "emotify"
    DEMO = "demo"


@dataclass(frozen=True)
class CorpusChoice:
    """One corpus the app offers: its label, its folder (None for the bundled one) and its kind."""

    label: str
    root: Path | None
    kind: CorpusKind

    @property
    def synthetic(self) -> bool:
        """Whether its music and listeners are made up (the demo corpus)."""
        return self.kind == CorpusKind.DEMO

    @property
    def to_generate(self) -> bool:
        """Whether it is the demo corpus and not yet generated (:func:`~mer.data.demo.ensure_demo_corpus` makes
        it, about a minute)."""
        return self.synthetic and self.root is not None and not (self.root / "data.csv").is_file()


def corpus_choices(bundled: str | None = None) -> dict[str, CorpusChoice]:
    """The corpora the app may use, by label, in the order offered: the bundled Emotify first when ``bundled``
    gives its label, an Emotify with audio (``MER_EMOTIFY_DIR``, laid out as Emotify; a download that finished
    and was checked), then the demo corpus."""
    found = [CorpusChoice(bundled, None, CorpusKind.BUNDLED)] if bundled else []
    root = emotify_dir()
    if root and has_emotify_layout(root):
        found.append(CorpusChoice(f"Emotify ({root})", root, CorpusKind.EMOTIFY))
    if emotify_ready(emotify_download_dir()):
        found.append(CorpusChoice(f"Emotify ({emotify_download_dir()})", emotify_download_dir(), CorpusKind.EMOTIFY))
    found.append(CorpusChoice(DEMO_LABEL, demo_dir(), CorpusKind.DEMO))
    return {c.label: c for c in found}
