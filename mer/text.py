"""Names, tags and paths from files are data: the rules that keep them from becoming markup or formulas.

A file name, a folder, a genre tag or a model name can hold anything its author typed. Shown in Markdown it
could fetch an image (``![x](https://host/x.png``), in a Plotly label it could become a link
(``<a href=...>``), in a spreadsheet it could run a formula (``=HYPERLINK(...)``), and a path that is not
UTF-8 (``b\\xff.wav``) cannot be written into a Parquet or JSON string at all. One function per rule,
used by every page, chart and export:

- :func:`display_text`: any ``str`` (surrogate-escaped bytes included) as valid UTF-8, bytes shown as ``\\xff``;
- :func:`escape_markdown` and :func:`md_code`: text shown literally by ``st.markdown``, ``st.caption`` and labels;
- :func:`escape_html`: text shown literally in Plotly labels, ticks, legends and hover text;
- :func:`neutralise_cell`, :func:`csv_safe`, :func:`csv_text` and :func:`write_csv_batches` (mer's CSV writers,
  in memory and streamed): text cells a spreadsheet will not read as a formula, each kept in its cell whatever line
  breaks it holds, rows ending in CRLF.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, BinaryIO, Iterable

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["display_text", "MARKDOWN_SPECIAL", "escape_markdown", "md_code", "escape_html", "FORMULA_STARTS", "neutralise_cell",
           "csv_safe", "CSV_LINE_END", "csv_text", "write_csv_batches"]

#: Characters with a meaning in Streamlit's Markdown: emphasis, code, links and images, list and heading
#: markers, tables, strikethrough, LaTeX (``$``), directives and icons (``:red[...]``, ``:material/...:``),
#: HTML and autolinks (``<``, ``&``, ``https://``, ``www.``). Commas, quotes and the like stay as they are.
MARKDOWN_SPECIAL = "\\`*_[]()#+-.!|<>~$:&"
_MD_SPECIAL = re.compile("([" + re.escape(MARKDOWN_SPECIAL) + "])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
#: What a spreadsheet reads as the start of a formula (OWASP's list): such a text cell gets a leading ``'``.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def display_text(text: str | bytes | os.PathLike) -> str:
    """``text`` as a valid UTF-8 string: bytes that are not UTF-8 are shown as ``\\xff``, nothing else changes.

    Parameters
    ----------
    text : str, bytes or path-like
        A name as Python holds it: file names that are not UTF-8 arrive as ``str`` with surrogate escapes
        (``os.fsdecode(b"b\\xff.wav") == "b\\udcff.wav"``), which no UTF-8 encoder (Parquet, JSON, a browser) accepts.

    Returns
    -------
    str
        ``"b\\\\xff.wav"`` for the example above; a valid UTF-8 string is returned unchanged. The mapping is
        for showing a name; keep ``os.fsencode(path)`` beside it where the file must be found again.
    """
    if isinstance(text, bytes):
        return text.decode("utf-8", "backslashreplace")
    text = os.fspath(text)
    if isinstance(text, bytes):
        return text.decode("utf-8", "backslashreplace")
    try:
        raw = text.encode("utf-8", "surrogateescape")  # how os.fsencode gives back a file name's bytes
    except UnicodeEncodeError:  # a lone surrogate no file name can hold: shown by its code point
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def escape_markdown(text: Any) -> str:
    """``text`` escaped so that Streamlit's Markdown shows it literally (no links, images, emphasis, headings).

    Each of :data:`MARKDOWN_SPECIAL` gets a backslash (CommonMark's escape, valid for every ASCII punctuation
    character); line breaks become spaces, so a name cannot start a new block. Non-UTF-8 bytes are shown as by :func:`display_text`.

    Parameters
    ----------
    text : object
        A name, path, tag or message; converted with ``str`` (paths with :func:`display_text`).

    Returns
    -------
    str
        E.g. ``"![x](https://host/x.png"`` → ``"\\!\\[x\\]\\(https\\:\\/\\/host\\/x\\.png"``.
    """
    s = display_text(text) if isinstance(text, (str, bytes, os.PathLike)) else str(text)
    return _MD_SPECIAL.sub(r"\\\1", _LINE_BREAKS.sub(" ", s))


def md_code(text: Any) -> str:
    """``text`` as a Markdown code span (shown literally, in a fixed-width font), whatever backticks it holds.

    Returns
    -------
    str
        ``text`` between runs of backticks one longer than its longest run, padded with spaces.
    """
    s = _LINE_BREAKS.sub(" ", display_text(text) if isinstance(text, (str, bytes, os.PathLike)) else str(text))
    fence = "`" * (max((len(m) for m in re.findall("`+", s)), default=0) + 1)
    return f"{fence} {s} {fence}"


def escape_html(text: Any) -> str:
    """``text`` escaped for Plotly's label markup: ``&``, ``<`` and ``>`` as entities, which Plotly shows as
    the characters themselves (so ``<a href=...>`` is shown, never made a link).

    Parameters
    ----------
    text : object
        A category, tick, legend or hover label built from a name; converted with ``str``.

    Returns
    -------
    str
        E.g. ``'<a href="x">Click</a>'`` → ``'&lt;a href="x"&gt;Click&lt;/a&gt;'``.
    """
    s = display_text(text) if isinstance(text, (str, bytes, os.PathLike)) else str(text)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def neutralise_cell(value: Any) -> Any:
    """A text cell a spreadsheet will not evaluate: ``'`` before text that starts with ``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return (OWASP's CSV injection advice). Anything that is not a ``str`` (numbers,
    missing values) is returned as it is: a negative number is a number, not a formula.

    Parameters
    ----------
    value : object
        One cell.

    Returns
    -------
    object
        ``"'=HYPERLINK(...)"`` for ``"=HYPERLINK(...)"``; ``value`` itself otherwise.
    """
    if isinstance(value, str):
        value = display_text(value)
        if value.startswith(FORMULA_STARTS):
            return "'" + value
    return value


def csv_safe(frame: "pd.DataFrame") -> "pd.DataFrame":
    """A copy of ``frame`` whose text cells went through :func:`neutralise_cell`; numeric columns are untouched.

    Every CSV mer writes passes its table through this before ``to_csv`` (or, streamed, its text columns
    through :func:`neutralise_cell`).
    """
    import pandas as pd

    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if col.dtype == object or isinstance(col.dtype, pd.StringDtype):
            out[name] = col.map(neutralise_cell)
    return out


#: How every CSV row mer writes ends (RFC 4180's CRLF): the writer then quotes a cell holding a lone carriage
#: return, which a reader would otherwise take for the end of the row.
CSV_LINE_END = "\r\n"


def csv_text(frame: "pd.DataFrame") -> str:
    """``frame`` as CSV text, rows ending in :data:`CSV_LINE_END`, its text cells neutralised (:func:`csv_safe`).

    For the tables of one analysis, the Library page's downloads and other tables that fit in memory; a batch's
    tables of millions of rows are streamed by :func:`write_csv_batches`, under the same rules.
    """
    return csv_safe(frame).to_csv(index=False, lineterminator=CSV_LINE_END)


def _neutralised(batch: "pa.RecordBatch") -> "pa.RecordBatch":
    """``batch`` with every text cell through :func:`neutralise_cell` (numbers stay numbers)."""
    import pyarrow as pa

    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
    columns = [pa.array([neutralise_cell(v) for v in column.to_pylist()], column.type)
               if any(is_text(column.type) for is_text in text) else column for column in batch.columns]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def write_csv_batches(f: BinaryIO, schema: "pa.Schema", batches: Iterable["pa.RecordBatch"]) -> None:
    """Stream Arrow record batches into the binary file ``f`` as CSV, under :func:`csv_text`'s rules: rows end in
    :data:`CSV_LINE_END`, text cells are neutralised.

    Arrow's writer quotes every text cell and the header's names (pandas quotes only where needed); it writes a
    table of millions of rows about ten times faster than pandas, and never holds more than one batch.
    """
    import pyarrow.csv as pacsv

    with pacsv.CSVWriter(f, schema, write_options=pacsv.WriteOptions(eol=CSV_LINE_END)) as writer:
        for batch in batches:
            writer.write_batch(_neutralised(batch))
