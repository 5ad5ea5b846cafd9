"""The official Emotify download from a local server: fetched and checked, offline, unsafe archives refused, a broken
download never offered, a folder of someone else's never written into."""

from __future__ import annotations

import socket
import zipfile
from pathlib import Path

import pytest

from mer.data.fetch import fetch_emotify, safe_extract
from mer.errors import DownloadError

from .helpers import ROWS
from .helpers import emotify_root as make_root


def publish_emotify(site: Path, tmp_path: Path) -> None:
    """Put a small Emotify (data.csv and emotifymusic.zip, the official names) where a local server serves it."""
    src = make_root(tmp_path, ROWS)
    (site / "data.csv").write_bytes((src / "data.csv").read_bytes())
    with zipfile.ZipFile(site / "emotifymusic.zip", "w") as zf:
        for p in (src / "emotifymusic").rglob("*.mp3"):
            zf.write(p, p.relative_to(src).as_posix())


def test_fetch_emotify_from_a_local_server(tmp_path, local_server):
    site, url = local_server
    publish_emotify(site, tmp_path)
    seen = []
    corpus = fetch_emotify(tmp_path / "out", base_url=url, on_progress=lambda d, t, m: seen.append((d, t)))
    assert len(corpus) == 3
    assert seen and seen[-1][0] == seen[-1][1]
    assert not list((tmp_path / "out").glob(".*part"))


def test_fetch_offline_gives_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: connection refused
    with pytest.raises(DownloadError, match="Could not download.*internet connection"):
        fetch_emotify(tmp_path / "out", base_url=f"http://127.0.0.1:{port}/", timeout=2)
    assert not (tmp_path / "out" / "data.csv").exists()


@pytest.mark.parametrize("entry", ["../evil.txt", "/abs/evil.txt", "emotifymusic/../../evil.txt"])
def test_unzip_refuses_entries_that_escape(tmp_path, entry):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("emotifymusic/rock/1.mp3", b"x")
        zf.writestr(entry, b"evil")
    with pytest.raises(DownloadError, match="outside the target folder"):
        safe_extract(archive, tmp_path / "target")
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "target" / "emotifymusic").exists()  # nothing written before the check


def test_an_archive_that_expands_like_a_bomb_is_refused_and_leaves_nothing(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("emotifymusic/rock/1.mp3", b"x" * 1000)
        zf.writestr("emotifymusic/rock/2.mp3", bytes(4_000_000))  # 4 MB of zeros in about 4 KB
    with pytest.raises(DownloadError, match="expands"):
        safe_extract(archive, tmp_path / "target")
    with zipfile.ZipFile(archive, "w") as zf:  # stored, not compressed: only the caps can stop it
        for i in range(30):
            zf.writestr(f"emotifymusic/rock/{i}.mp3", bytes(1000))
    with pytest.raises(DownloadError, match="30 entries"):
        safe_extract(archive, tmp_path / "target", max_entries=20)
    with pytest.raises(DownloadError, match="would unpack to"):
        safe_extract(archive, tmp_path / "target", max_bytes=20_000)
    assert not (tmp_path / "target").exists() or not any((tmp_path / "target").rglob("*"))


def test_a_broken_download_is_removed_and_never_offered(tmp_path, local_server, monkeypatch, capsys):
    from mer.cli import main
    from mer.data.fetch import emotify_ready

    site, url = local_server
    publish_emotify(site, tmp_path)
    with zipfile.ZipFile(site / "emotifymusic.zip", "w") as zf:  # one file short
        zf.writestr("emotifymusic/rock/1.mp3", b"x")
    monkeypatch.setenv("MER_EMOTIFY_URL", url)  # the command honours the setting, like the Train page
    assert main(["data", "fetch-emotify", "--out", str(tmp_path / "out")]) == 2
    assert "not a complete Emotify (2 audio file(s) listed in data.csv are missing)" in capsys.readouterr().err
    assert not (tmp_path / "out" / "emotifymusic").exists() and not emotify_ready(tmp_path / "out")
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".unpack")]
    (tmp_path / "again").mkdir()
    publish_emotify(site, tmp_path / "again")
    assert main(["data", "fetch-emotify", "--out", str(tmp_path / "out")]) == 0
    assert emotify_ready(tmp_path / "out")


def test_fetch_never_writes_into_a_folder_of_someone_elses(tmp_path, local_server):
    site, url = local_server
    publish_emotify(site, tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "data.csv").write_text("my own survey")
    with pytest.raises(DownloadError, match="did not write"):
        fetch_emotify(mine, base_url=url)
    assert (mine / "data.csv").read_text() == "my own survey"
    assert len(fetch_emotify(tmp_path / "new", base_url=url)) == 3
    assert len(fetch_emotify(tmp_path / "new", base_url=url)) == 3  # its own folder: fetched again


def test_reachability_says_why_the_server_cannot_give_data_csv(tmp_path, local_server):
    from mer.data.fetch import emotify_reachable

    site, url = local_server
    assert emotify_reachable(url) == f"{url}data.csv answered HTTP 404"  # the server is up, the file is not there
    (site / "data.csv").write_text("track id, genre\n")
    assert emotify_reachable(url) is None and emotify_reachable(url.rstrip("/")) is None  # with or without the slash
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: connection refused
    assert emotify_reachable(f"http://127.0.0.1:{port}/", timeout=2).startswith(f"http://127.0.0.1:{port}/data.csv cannot be reached")
