"""A batch's tables as CSV for spreadsheets: ``tracks.csv`` and ``segments.csv`` beside the Parquet tables."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..files import open_atomic
from ..text import write_csv_batches
from .rows import TABLES

__all__ = ["write_csv"]

#: Columns a spreadsheet gets no use of: the exact path's bytes (``path`` shows it) and the sound's 50 numbers.
_NOT_IN_CSV = ("path_bytes", "sound")


def write_csv(out: Path) -> list[Path]:
    """``tracks.csv`` and ``segments.csv`` beside the Parquet tables, streamed, each written atomically.

    Text cells that a spreadsheet would read as a formula (a file or genre tag starting with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return) start with ``'`` (:func:`mer.text.neutralise_cell`); rows end in CRLF
    (:func:`mer.text.write_csv_batches`).
    """
    written = []
    for name in TABLES:
        src, dest = out / name, out / name.replace(".parquet", ".csv")
        pf = pq.ParquetFile(src)
        names = [n for n in pf.schema_arrow.names if n not in _NOT_IN_CSV]
        with open_atomic(dest) as f:
            write_csv_batches(f, pa.schema([pf.schema_arrow.field(n) for n in names]),
                              (batch.select(names) for batch in pf.iter_batches(batch_size=65_536)))
        written.append(dest)
    return written
