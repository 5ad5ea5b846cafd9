"""The synthetic demo corpus, for tests and offline runs.

* :mod:`mer.data.demo.synth` — music synthesised from emotion archetypes (:func:`render_track`);
* :mod:`mer.data.demo.corpus` — simulated listeners and the corpus writer in Emotify's layout.

The Analyze page's examples are real, freely licensed music: see :mod:`mer.data.examples`.
"""

from .corpus import DemoConfig, demo_votes, ensure_demo_corpus, generate_demo_corpus
from .synth import ARCHETYPES, SR, Archetype, render_track

__all__ = ["DemoConfig", "demo_votes", "ensure_demo_corpus", "generate_demo_corpus",
           "ARCHETYPES", "SR", "Archetype", "render_track"]
