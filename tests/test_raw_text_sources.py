"""benchmarks/raw_text_sources.py: the cleaning and extraction that rebuild the extra raw text, on tiny inputs."""

from __future__ import annotations

import subprocess

import pytest

from conftest import benchmark_module

sources = benchmark_module("raw_text_sources")


def test_clean_strips_markup_entities_controls_and_spaces():
    assert (
        sources.clean(" <b>O  Sr.</b>&nbsp;Presidente\x07 disse: cafe\u0301\u200b ") == "O Sr. Presidente disse: café"
    )


@pytest.mark.parametrize(
    "text,portuguese",
    [
        ("O deputado falou sobre a lei de meios.", True),
        ("Sim.", False),
        ("The minister said that the law is in force.", False),
        ("El ministro y los diputados con una ley para el pueblo.", False),
        ("Artigo 12 parágrafo único inciso terceiro alínea quarta redação dada pela lei", True),
        ("Artigo doze parágrafo único inciso terceiro alínea quarta redação final votada ontem", False),
    ],
)
def test_is_portuguese_by_stopwords(text, portuguese):
    assert sources.is_portuguese(text) is portuguese


def test_writer_keeps_cleaned_portuguese_lines_once(tmp_path, capsys):
    writer = sources.Writer(tmp_path / "out.txt")
    for text in ["O <i>Sr.</i> Presidente abriu a sessão.", "O Sr. Presidente  abriu a sessão.", "Ok.", ""]:
        writer.add(text)
    writer.close()
    assert (tmp_path / "out.txt").read_text(encoding="utf8") == "O Sr. Presidente abriu a sessão.\n"
    assert "kept=1 dropped_nonpt=1 dup=1" in capsys.readouterr().err


def test_tei_paragraphs_of_the_text_without_notes():
    tei = (
        '<TEI xmlns="http://www.tei-c.org/ns/1.0"><teiHeader><p>cabeçalho</p></teiHeader><text><body>'
        "<head>Capítulo I</head><p>Era uma vez<note>nota</note> um rei.</p><div><l>verso</l><pb/></div>"
        "</body></text></TEI>"
    ).encode()
    assert sources.tei_paragraphs(tei) == ["Capítulo I", "Era uma vez um rei.", "verso"]


def test_camara_summaries_are_repaired_and_short_ones_dropped():
    page = '<td class="Sumario">Discussão da reforma da Previdência Social.</td><td class="Sumario">Breve.</td>'
    double_encoded = page.encode("utf8").decode("latin-1").encode("utf8")
    assert list(sources.camara_paragraphs(double_encoded)) == ["Discussão da reforma da Previdência Social."]


def test_po_messages_and_rst_markup():
    po = (
        'msgid ""\nmsgstr ""\n"Language: pt_BR\\n"\n\n'
        '#: ../../x.rst:1\nmsgid "The :func:`len` function"\nmsgstr ""\n"A função :func:`len` devolve o "\n'
        '"**tamanho** de um `objeto <https://x>`_."\n\nmsgid "x"\nmsgstr ""\n'
    )
    assert sources.po_messages(po) == [
        "Language: pt_BR\n",
        "A função :func:`len` devolve o **tamanho** de um `objeto <https://x>`_.",
        "",
    ]
    assert list(sources.pydocs_paragraphs(po.encode())) == ["A função len devolve o tamanho de um objeto."]


def test_blobs_are_read_at_the_commit_in_path_order(tmp_path):
    repo = tmp_path / "repo"
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    (repo / "d").mkdir(parents=True)
    (repo / "d" / "b.txt").write_text("segundo\n")
    (repo / "d" / "a.txt").write_text("primeiro\n")
    (repo / "d" / "c.md").write_text("ignorado\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    (repo / "d" / "a.txt").write_text("mudado depois\n")
    subprocess.run([*git, "commit", "-qam", "y"], check=True)
    assert list(sources.blobs(repo / ".git", commit, "d", ".txt")) == [b"primeiro\n", b"segundo\n"]
