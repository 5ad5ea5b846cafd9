"""Names, tags and paths from files are data: the rules that keep them from becoming markup or formulas.

A file name, a folder, a genre tag or a model name can hold anything its author typed. Shown in Markdown it
could fetch an image (``![x](https://host/x.png``), in a Plotly label it could become a link
(``<a href=...>``), in a spreadsheet it could run a formula (``=HYPERLINK(...)``), and a path that is not
UTF-8 (``b\\xff.wav``) cannot be written into a Parquet or JSON string at all. One function per rule,
used by every page, chart and export:

- :func:`display_text`: any ``str`` (surrogate-escaped bytes included) as valid UTF-8, bytes shown as ``\\xff``;
- :func:`escape_markdown` and :func:`md_code`: text shown literally by ``st.markdown``, ``st.caption`` and labels;
- :func:`escape_html`: text shown literally in Plotly labels, ticks, legends and hover text;
- :func:`neutralise_cell`, :func:`csv_safe` and :func:`csv_text`: text cells a spreadsheet will not read as a
  formula, each kept in its cell whatever line breaks it holds.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["display_text", "MARKDOWN_SPECIAL", "escape_markdown", "md_code", "escape_html", "FORMULA_STARTS", "neutralise_cell",
           "csv_safe", "csv_text"]

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


def csv_text(frame: "pd.DataFrame") -> str:
    """``frame`` as CSV text (RFC 4180: rows end in CRLF), its text cells neutralised (:func:`csv_safe`).

    The CRLF terminator is what keeps a lone carriage return inside its cell: the writer quotes the cells that
    hold a character of the terminator, and with pandas' default (``\\n``) a ``\\r`` went out bare, so a
    reader split the row there.
    """
    return csv_safe(frame).to_csv(index=False, lineterminator="\r\n")
