"""A real browser: `streamlit run app.py` driven by Playwright in Debian's headless Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from mer.emotions import EMOTIONS, emotion_label

from .helpers import encode, tone

CHROMIUM = "/usr/bin/chromium"
PAGE_TITLES = ["Analyze", "Dataset", "Train", "Model", "Library"]
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-artifacts" / "screenshots"
#: The pages as a desktop shows them, without the transitions a software-rendered headless Chromium pays for in
#: CPU (a fifth of its time; the tests check what is shown, not how it fades in).
VIEW = dict(viewport={"width": 1400, "height": 1800}, reduced_motion="reduce")

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium for this test")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Each test server's data folder (the Library page reads music from it).
_SERVER_DATA: dict[str, Path] = {}


@contextlib.contextmanager
def _streamlit(tmp: Path, tiny_models: Path, tiny_corpus: Path):
    """`streamlit run app.py` on a free local port, on the tiny model, with the tiny corpus as its demo corpus."""
    models, data = tmp / "models", tmp / "data"
    shutil.copytree(tiny_models, models)
    shutil.copytree(tiny_corpus, data / "demo")
    port = _free_port()
    env = {**os.environ, "MER_MODELS_DIR": str(models), "MER_DATA_DIR": str(data)}
    log = open(tmp / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],  # a test server never reloads its code
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    _SERVER_DATA[url] = data
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError(f"streamlit did not start; see {tmp / 'streamlit.log'}")
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


#: Servers no page has visited yet: the shared-link test needs a fresh one, and takes the module's if it can.
_UNVISITED: set[str] = set()


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_models, tiny_corpus):
    with _streamlit(tmp_path_factory.mktemp("browser"), tiny_models, tiny_corpus) as url:
        _UNVISITED.add(url)
        yield url


def _open(page, url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    _UNVISITED.discard(f"{parts.scheme}://{parts.netloc}")
    page.goto(url)


def _settled(page) -> None:
    """Wait until the script run is over and every plotly chart on the page has drawn its SVG."""
    page.wait_for_selector("[data-testid=stStatusWidget]", state="detached", timeout=120_000)
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')]"
                           ".every(p => p.querySelector('.main-svg'))", timeout=60_000)


@pytest.fixture(scope="module")
def playwright():
    """One Playwright per file: its sync API refuses a second one while the first runs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def page(server, playwright, tmp_path_factory):
    """One browser for the file, whose microphone (Chromium's fake one, allowed) plays a 30 s tone."""
    wav = tmp_path_factory.mktemp("microphone") / "microphone.wav"
    wav.write_bytes(encode(tone(30.0, sr=48_000, freq=392.0), 48_000, "WAV", "PCM_16"))
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={wav}"])
    pg = browser.new_context(**VIEW, permissions=["microphone"]).new_page()
    yield pg
    browser.close()


def _nav_link(page, title: str):
    """The sidebar's link to the page titled ``title`` (ui.start_page draws them with st.page_link)."""
    return page.locator("[data-testid=stSidebar]").get_by_role("link", name=title, exact=True)


def _sidebar_links(page) -> list[str]:
    links = page.locator("[data-testid=stSidebar] [data-testid=stPageLink]")
    links.nth(len(PAGE_TITLES) - 1).wait_for(timeout=60_000)
    assert page.locator("[data-testid=stSidebarNav]").count() == 0  # Streamlit's own, from the file names
    return [t.strip().splitlines()[-1].strip() for t in links.all_inner_texts()]  # the title after the icon


def test_a_shared_link_to_a_page_opens_the_titled_sidebar(server, tmp_path_factory, tiny_models, tiny_corpus, page):
    """A fresh server whose first visitor comes straight to /model sees the app's pages, not its files."""
    with contextlib.ExitStack() as stack:
        url = server if server in _UNVISITED else stack.enter_context(  # run after other tests: a server of its own
            _streamlit(tmp_path_factory.mktemp("fresh"), tiny_models, tiny_corpus))
        _open(page, f"{url}/model")
        links = _sidebar_links(page)  # the first links the page shows, and no file-name navigation
        page.wait_for_selector("text=Active model", timeout=120_000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "0-shared-link-sidebar.png"))
    assert links == PAGE_TITLES, links
    assert page.locator("[data-testid=stSidebarNav]").count() == 0


# the only chart on the Analyze page that is a heatmap with emotions on its y axis
TIMELINE = ".js-plotly-plot:has(.heatmaplayer):has(.ytick:has-text('joyful activation'))"


def _timeline_columns(page) -> int:
    """The timeline's segments: its clickable layer (the last scatter trace) has a cell for each of 9 emotions."""
    return page.locator(f"{TIMELINE} .scatterlayer .trace").last.locator(".point").count() // 9


def _time_ticks(page) -> list[str]:
    return [t.strip() for t in page.locator(f"{TIMELINE} .xtick").all_text_contents()]  # SVG: no innerText


def test_upload_shows_the_twenty_segment_timeline(server, page, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots in {SHOTS}")
    t0 = time.monotonic()
    _open(page, server)
    page.wait_for_selector(TIMELINE, timeout=120_000)  # the demo track, on first load
    cold = time.monotonic() - t0
    page.screenshot(path=str(SHOTS / "1-analyze-demo.png"), full_page=True)

    page.get_by_text("Upload a file").click()
    audio = tmp_path / "upload.wav"
    audio.write_bytes(encode(tone(24.0, freq=523.0), 22_050, "WAV"))
    page.locator("input[type=file]").set_input_files(str(audio))
    page.wait_for_selector("text=24.0 s", timeout=120_000)
    page.wait_for_selector(TIMELINE, timeout=60_000)
    assert _timeline_columns(page) == 20
    assert _time_ticks(page) == ["0:00", "0:05", "0:10", "0:15", "0:20"]  # a few round times, not 20 labels
    overall = page.locator("[data-testid=stMetric]", has_text="Overall emotion").inner_text()
    assert any(emotion_label(e) in overall for e in EMOTIONS)
    assert page.locator("[data-testid=stException]").count() == 0
    page.screenshot(path=str(SHOTS / "2-analyze-upload.png"), full_page=True)
    print(f"cold load to first timeline: {cold:.1f} s")


def test_the_three_downloads_work_in_a_row_and_a_timeline_click_picks_a_segment(server, page, tmp_path):
    if "upload.wav" not in page.content():
        pytest.skip("needs the upload of test_upload_shows_the_twenty_segment_timeline on this page")
    got = {}
    for label, name in (("Results (JSON)", "upload-emotions.json"), ("Results (CSV)", "upload-emotions.csv"),
                        ("Report (HTML)", "upload-report.html")):  # the report after the others once failed
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name=label).click()
        assert download.value.suggested_filename == name and download.value.failure() is None, label
        got[label] = Path(download.value.path()).read_text()
        _settled(page)
    assert '"valence"' in got["Results (JSON)"] and got["Results (CSV)"].splitlines()[0].endswith("valence,arousal")
    report = got["Report (HTML)"]
    assert "Music emotion report: upload.wav" in report and report.count("<svg") == 3 and "<script" not in report  # no head, no tags: 3
    assert "How sure is this?" in report and "for a guess" in report  # the page's caveats travel with it

    box = page.locator(f"{TIMELINE} .nsewdrag").first.bounding_box()  # the plot area: 20 columns
    page.mouse.click(box["x"] + box["width"] * 6.5 / 20, box["y"] + box["height"] * 0.5)  # a cell of column 7
    page.wait_for_selector("text=Segment 7:", timeout=60_000)
    _settled(page)
    assert page.locator("[data-testid=stSliderThumbValue]").first.inner_text() == "7"
    page.screenshot(path=str(SHOTS / "2b-analyze-clicked-segment-7.png"), full_page=True)


def test_bad_upload_shows_an_error_in_the_browser(server, page, tmp_path):
    bad = tmp_path / "notes.mp3"
    bad.write_text("not music at all\n" * 30)
    page.locator("input[type=file]").set_input_files(str(bad))
    err = page.locator("[data-testid=stAlertContentError]")
    err.wait_for(timeout=60_000)
    assert "not an audio file" in err.inner_text()
    assert page.locator("[data-testid=stException]").count() == 0
    page.screenshot(path=str(SHOTS / "3-analyze-bad-file.png"), full_page=True)


def test_a_microphone_recording_is_analysed(server, page):
    """Chromium's fake microphone plays a tone into st.audio_input; 11 s of it (10 s is the shortest track mer
    analyses) are recorded and analysed. After the upload tests the Analyze page is open already."""
    source = page.locator("[data-testid=stRadio]", has_text="Record with the microphone")
    if not page.url.startswith(server) or source.count() == 0:  # run on its own
        _open(page, server)
    page.get_by_text("Record with the microphone").click()
    record = page.locator("[data-testid=stAudioInputActionButton]").first
    record.wait_for(timeout=60_000)
    record.click()
    time.sleep(11)
    page.get_by_role("button", name="Stop recording").click()
    page.wait_for_selector(TIMELINE, timeout=120_000)
    _settled(page)
    duration = page.locator("[data-testid=stMetric]", has_text="Duration").inner_text()
    assert page.locator("[data-testid=stException]").count() == 0
    seconds = float(duration.split()[-2])
    assert 10.0 <= seconds <= 20.0, duration
    assert _timeline_columns(page) == 20
    page.screenshot(path=str(SHOTS / "2c-analyze-microphone.png"), full_page=True)


@pytest.mark.parametrize("title,marker", [("Dataset", "Imbalance ratio before"), ("Train", "Start training"),
                                          ("Model", "Active model")])
def test_every_page_renders(server, page, title, marker):
    if not page.url.startswith(server):  # run on its own, not after the upload test
        _open(page, server)
    _nav_link(page, title).click()
    page.wait_for_selector(f"text={marker}", timeout=120_000)
    _settled(page)
    assert page.locator("[data-testid=stException]").count() == 0
    page.screenshot(path=str(SHOTS / f"4-{title.lower()}.png"), full_page=True)




def test_the_library_page_starts_shows_and_cancels_a_batch(server, page):
    """A fresh Library page shows the sample; a folder typed there is analysed in the background, with a bar,
    and cancelled from the page."""
    import soundfile as sf

    data = _SERVER_DATA[server]
    (data / "long").mkdir(exist_ok=True)
    # 24 eight-minute files, about two seconds each: still running when cancelled, even on a loaded machine whose
    # page polls slowly (8 four-minute files once finished before the click); one encoded, the others copies
    sf.write(data / "long" / "t00.flac", tone(480.0, sr=8_000, freq=150.0), 8_000)
    for i in range(1, 24):
        shutil.copyfile(data / "long" / "t00.flac", data / "long" / f"t{i:02d}.flac")
    _open(page, f"{server}/library")
    page.wait_for_selector("text=A sample: the five freely licensed excerpts", timeout=120_000)
    page.wait_for_selector(TIMELINE, timeout=60_000)  # a track of the sample, segment by segment
    _settled(page)
    page.screenshot(path=str(SHOTS / "5-library-sample.png"), full_page=True)
    page.get_by_role("textbox", name="Folder", exact=True).fill("long")
    page.get_by_role("button", name="Analyse").click()
    bar = page.locator("[data-testid=stProgress]", has_text="of 24 files")
    bar.wait_for(timeout=60_000)
    page.wait_for_selector("text=/files\\/s · ETA \\d+:\\d\\d/", timeout=60_000)
    page.screenshot(path=str(SHOTS / "6-library-running.png"), full_page=True)
    page.get_by_role("button", name="Cancel").click()
    warning = page.locator("[data-testid=stAlertContentWarning]", has_text="Cancelled after")
    warning.wait_for(timeout=60_000)
    assert "The results are kept" in warning.inner_text()
    assert page.get_by_role("button", name="Resume").count() == 1
    assert page.locator("[data-testid=stException]").count() == 0
    page.screenshot(path=str(SHOTS / "7-library-cancelled.png"), full_page=True)
