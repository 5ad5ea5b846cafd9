"""A batch's tables as CSV (mer.batch.export): every row and column a spreadsheet uses, formulas neutralised, rows
ended in CRLF. Through the CLI's --csv: test_batch.py and test_names.py."""

from __future__ import annotations

import csv

from mer.batch.export import write_csv
from mer.batch.inputs import HashSet, path_id
from mer.batch.store import locked, merge_parts, write_part

from .helpers import BATCH_MODEL, ok_result


def test_the_csv_files_hold_the_tables_rows_without_the_bytes_and_sound(tmp_path):
    paths = ["/m/a.wav", "/m/=SUM(A1).wav"]
    with locked(tmp_path):
        write_part(tmp_path, [ok_result(p, i) for i, p in enumerate(paths)], BATCH_MODEL)
        merge_parts(tmp_path, HashSet(path_id(p) for p in paths))
    assert write_csv(tmp_path) == [tmp_path / "tracks.csv", tmp_path / "segments.csv"]
    with open(tmp_path / "tracks.csv", newline="") as f:
        tracks = list(csv.DictReader(f))
    assert len(tracks) == 2 and "path_bytes" not in tracks[0] and "sound" not in tracks[0]
    assert sorted(r["file"] for r in tracks) == ["'=SUM(A1).wav", "a.wav"]
    with open(tmp_path / "segments.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 6  # 3 segments a track
    assert (tmp_path / "segments.csv").read_bytes().count(b"\r\n") == 7
