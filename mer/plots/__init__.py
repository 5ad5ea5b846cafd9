"""Plotly figures of the app's pages, one module per page (no streamlit here): :mod:`~mer.plots.analyze`,
:mod:`~mer.plots.dataset`, :mod:`~mer.plots.model` (the Model and Train pages), :mod:`~mer.plots.library`; the
figures of one track that the Analyze and Library pages share in :mod:`~mer.plots.track`; colours, layout and
time ticks in :mod:`~mer.plots.common` (the HTML report's too).

Every chart colours an emotion the same way (:data:`~mer.plots.common.EMOTION_COLORS`) and names it in readable
form ("joyful activation").
"""
