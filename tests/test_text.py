"""Names are data (mer.text): shown as they are, whatever bytes or markup they hold, and never run by a
spreadsheet. How pages, charts and batches use these helpers is in test_names.py."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mer.text import (
    MARKDOWN_SPECIAL,
    csv_text,
    display_text,
    escape_html,
    escape_markdown,
    md_code,
    neutralise_cell,
    write_csv_batches,
)

#: Formula payloads (OWASP) and what a spreadsheet must be given instead.
FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\t=1+1", "\r=1+1"]
LINK_TAG = '<a href="https://example.invalid/phish">Click me</a>'
IMAGE_FOLDER = "![x](x.png) **bold** [link](https:"  # a folder's name (no '/' fits in one)
ODD = b"b\xff.wav"  # a file name that is not UTF-8


def _unescaped(text: str) -> list[str]:
    """The Markdown-special characters of ``text`` that no backslash escapes."""
    return re.findall(r"(?<!\\)(?:\\\\)*([" + re.escape(MARKDOWN_SPECIAL.replace("\\", "")) + "])", text)


def test_display_text_shows_bytes_that_are_not_utf8_and_keeps_the_rest():
    assert display_text(os.fsdecode(ODD)) == "b\\xff.wav"
    assert display_text(ODD) == "b\\xff.wav"
    assert display_text("héllo ♪.flac") == "héllo ♪.flac"
    assert display_text(Path(os.fsdecode(b"/m/\xe9t\xe9/a.wav"))) == "/m/\\xe9t\\xe9/a.wav"
    display_text(os.fsdecode(ODD)).encode("utf-8")  # what Parquet, JSON and the browser need


def test_escape_markdown_leaves_no_markup_in_names():
    assert escape_markdown("![x](https://host/x.png") == "\\!\\[x\\]\\(https\\://host/x\\.png"
    for name in (IMAGE_FOLDER, "**bold** _it_ `code` ~~s~~ $x$ :red[r] <https://a.b> # h", "- item\n# heading",
                 "a\\*b", "&lt;b&gt;"):
        escaped = escape_markdown(name)
        assert not _unescaped(escaped), (name, escaped)
        assert "\n" not in escaped
        assert re.sub(r"\\(.)", r"\1", escaped) == name.replace("\n", " ")  # shown as typed
    assert escape_markdown("4 analysed, 0 skipped") == "4 analysed, 0 skipped"


def test_md_code_spans_a_name_with_backticks():
    assert md_code("/music/a") == "` /music/a `"
    assert md_code("a``b`c") == "``` a``b`c ```"


def test_escape_html_makes_a_link_tag_text():
    assert escape_html(LINK_TAG) == '&lt;a href="https://example.invalid/phish"&gt;Click me&lt;/a&gt;'
    assert escape_html("R&B <3") == "R&amp;B &lt;3"
    assert escape_html(os.fsdecode(ODD)) == "b\\xff.wav"


def test_formula_cells_get_a_quote_and_numbers_stay_numbers():
    for payload in FORMULAS:
        assert neutralise_cell(payload) == "'" + payload
    for fine in ("rock", "a=b", "", "'quoted"):
        assert neutralise_cell(fine) == fine
    assert neutralise_cell(-2.5) == -2.5 and neutralise_cell(None) is None
    cells = [*FORMULAS, "a\rb.wav", "two\nlines.wav"]  # a line break inside a name stays in its cell
    frame = pd.DataFrame({"file": cells, "p": np.linspace(-1, 1, len(cells))})
    text = csv_text(frame)
    assert list(csv.reader(io.StringIO(text, newline="")))[1:] == [
        [neutralise_cell(c), repr(p)] for c, p in zip(cells, frame["p"])]
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert list(back["file"]) == ["'" + f for f in FORMULAS] + cells[-2:]
    assert back["p"].dtype == np.float64 and back["p"].iloc[0] == -1.0
    assert list(frame["file"]) == cells  # the caller's table is not changed


def test_csv_rows_end_in_crlf_in_memory_and_streamed_and_a_lone_carriage_return_stays_in_its_cell():
    import pyarrow as pa

    frame = pd.DataFrame({"file": ["a.wav", "=1+1", "x\ry.wav"], "p": [0.5, -0.25, 1.0], "n": [1, 2, 3]})
    assert csv_text(frame).encode() == b'file,p,n\r\na.wav,0.5,1\r\n\'=1+1,-0.25,2\r\n"x\ry.wav",1.0,3\r\n'
    batch = pa.RecordBatch.from_pandas(frame, preserve_index=False)
    out = io.BytesIO()
    write_csv_batches(out, batch.schema, [batch.slice(0, 2), batch.slice(2)])  # streamed: one header
    assert out.getvalue() == (b'"file","p","n"\r\n"a.wav",0.5,1\r\n"\'=1+1",-0.25,2\r\n"x\ry.wav",1,3\r\n')
    for text in (csv_text(frame), out.getvalue().decode()):  # both read back to the same cells
        assert [r[0] for r in csv.reader(io.StringIO(text, newline=""))] == ["file", "a.wav", "'=1+1", "x\ry.wav"]
