"""mer.data.corpora: the corpora the app offers, typed by kind, in the order offered."""

from __future__ import annotations

from mer.data.corpora import DEMO_LABEL, CorpusKind, corpus_choices


def test_an_emotify_folder_is_offered_only_when_laid_out_as_emotify(tmp_path, monkeypatch):
    monkeypatch.setenv("MER_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "emotify"
    folder.mkdir()
    monkeypatch.setenv("MER_EMOTIFY_DIR", str(folder))
    choices = corpus_choices()
    assert list(choices) == [DEMO_LABEL]  # no data.csv, no emotifymusic/: not offered
    demo = choices[DEMO_LABEL]
    assert demo.kind == CorpusKind.DEMO and demo.synthetic and demo.to_generate
    assert demo.root == tmp_path / "data" / "demo"
    (folder / "data.csv").write_text("track id,genre\n")
    (folder / "emotifymusic").mkdir()
    choices = corpus_choices("the bundled one")
    assert [(c.label, c.kind, c.root) for c in choices.values()] == [
        ("the bundled one", CorpusKind.BUNDLED, None), (f"Emotify ({folder})", CorpusKind.EMOTIFY, folder),
        (DEMO_LABEL, CorpusKind.DEMO, tmp_path / "data" / "demo")]
    assert not any(c.synthetic for c in list(choices.values())[:2])
    (tmp_path / "data" / "demo").mkdir(parents=True)
    (tmp_path / "data" / "demo" / "data.csv").write_text("")
    assert not corpus_choices()[DEMO_LABEL].to_generate  # generated once
