"""fetch_assets: downloads from a local HTTP server, checksum mismatches and missing files fail."""

from __future__ import annotations

import hashlib
import http.server
import re
import shutil
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import pytest
import srsly

from conftest import ROOT
from scripts.fetch_assets import corpus_assets, verify

DATA = b"1\tCasa\tcasa\tNOUN\t_\t_\t0\troot\t_\t_\n\n"
MD5 = hashlib.md5(DATA).hexdigest()


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1 (a free port) for the duration of a test."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "train.conllu").write_bytes(DATA)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def make_project(project: Path, assets: list[dict]) -> Path:
    project.mkdir(parents=True, exist_ok=True)
    srsly.write_yaml(project / "project.yml", {"title": "t", "assets": assets, "commands": []})
    return project


def test_assets_are_chosen_by_corpus_folder():
    assets = [{"dest": "assets/a/x.conllu"}, {"dest": "assets/b/y.conllu"}, {"dest": "assets/a"}]
    chosen = corpus_assets(assets, [Path("assets/a")])
    assert [a["dest"] for a in chosen] == ["assets/a/x.conllu", "assets/a"]


def test_downloads_missing_asset_and_verifies_it(tmp_path, server):
    project = make_project(
        tmp_path / "p",
        [
            {"dest": "assets/c/train.conllu", "url": f"{server}/train.conllu", "checksum": MD5},
            {"dest": "assets/other/big.conllu", "url": f"{server}/absent", "checksum": MD5},
        ],
    )
    assert verify(project, [Path("assets/c")]) == []
    assert (project / "assets/c/train.conllu").read_bytes() == DATA
    assert not (project / "assets/other").exists(), "assets of other corpora are not fetched"


def test_unreachable_url_says_where_to_put_the_file(tmp_path, server):
    project = make_project(
        tmp_path / "p", [{"dest": "assets/c/train.conllu", "url": f"{server}/gone.conllu", "checksum": MD5}]
    )
    (problem,) = verify(project, [Path("assets/c")])
    assert f"could not download {server}/gone.conllu" in problem
    assert str(project / "assets/c/train.conllu") in problem


def test_altered_file_fails_with_both_checksums(tmp_path):
    project = make_project(tmp_path / "p", [{"dest": "assets/c/train.conllu", "checksum": MD5}])
    (project / "assets/c").mkdir(parents=True)
    (project / "assets/c/train.conllu").write_bytes(DATA + b"# edited\n")
    (problem,) = verify(project, [Path("assets/c")])
    assert f"project.yml expects {MD5}" in problem
    result = subprocess.run(
        [sys.executable, "-m", "scripts.fetch_assets", "assets/c"], cwd=project, capture_output=True, text=True
    )
    assert result.returncode == 1 and "✘ assets/c/train.conllu: md5 is" in result.stderr
    assert "Traceback" not in result.stderr and "checksum in project.yml" not in result.stderr


def test_an_edited_sample_is_run_as_the_users_own_corpus_by_the_command_the_message_gives(tmp_path):
    """The message's one command (cp + run) works: its corpus is the edited copy, which no checksum pins."""
    import shlex

    from conftest import GENERATED

    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*GENERATED, "results", "docs", "tests", ".git"))
    edited = project / "assets/sample/pt_sample-ud-dev.conllu"
    edited.write_text(edited.read_text(encoding="utf8") + "\n", encoding="utf8")
    (problem,) = verify(project, [Path("assets/sample")])
    command = re.search(r"run it as your own corpus: (.*) \(then git checkout assets/sample/pt_sample-ud-dev.conllu", problem)
    assert command and "checksum in project.yml" not in problem, problem
    copy, run = command.group(1).split(" && ")
    assert shlex.split(copy) == ["cp", "-r", "assets/sample", "assets/mysample"]
    subprocess.run(shlex.split(copy), cwd=project, check=True)
    args = shlex.split(run.replace(" run all . ", " run assets . "))  # the workflow's first step: what checks
    result = subprocess.run([sys.executable, *args[1:]], cwd=project, capture_output=True, text=True)
    assert result.returncode == 0 and "✘" not in result.stderr, result.stdout + result.stderr
    assert "mysample" in result.stdout and (project / "assets/mysample/pt_sample-ud-dev.conllu").read_text() == edited.read_text()


def test_missing_local_asset_and_missing_input(tmp_path):
    project = make_project(tmp_path / "p", [{"dest": "assets/c/train.conllu", "checksum": MD5}])
    problems = verify(project, [Path("assets/c"), Path("my/dev.conllu")])
    assert any("assets/c/train.conllu: missing. Put the file at" in p for p in problems)
    assert any("my/dev.conllu: corpus input does not exist" in p for p in problems)


def test_mirror_folder_stands_in_for_the_download(tmp_path):
    mirror = tmp_path / "mirror" / "some" / "folder"
    mirror.mkdir(parents=True)
    (mirror / "train.conllu").write_bytes(DATA)
    (tmp_path / "mirror" / "dev.conllu").write_bytes(b"other bytes")
    project = make_project(
        tmp_path / "p",
        [
            {"dest": "assets/c/train.conllu", "url": "http://127.0.0.1:9/x/train.conllu", "checksum": MD5},
            {"dest": "assets/c/dev.conllu", "url": "http://127.0.0.1:9/x/dev.conllu", "checksum": MD5},
        ],
    )
    problems = verify(project, [Path("assets/c")], mirror=tmp_path / "mirror")
    assert (project / "assets/c/train.conllu").read_bytes() == DATA
    (problem,) = problems  # dev.conllu in the mirror has other bytes: not taken, and the download fails
    assert "assets/c/dev.conllu: could not download http://127.0.0.1:9/x/dev.conllu" in problem


def test_real_corpora_are_pinned_to_commits_with_checksums():
    from weasel.util import load_project_config

    assets = [a for a in load_project_config(ROOT)["assets"] if a.get("url")]
    corpora = {a["dest"].split("/")[1] for a in assets}
    assert corpora == {"bosque", "bosque-r2.8", "harem-selective", "harem-total", "lener", "ud-pt-extra"}
    for asset in assets:
        assert re.search(r"/[0-9a-f]{40}/", asset["url"]), f"{asset['url']} is not pinned to a commit"
        assert re.fullmatch(r"[0-9a-f]{32}", asset["checksum"]), asset["dest"]
    for corpus in corpora - {"ud-pt-extra"}:  # extra training data: not a corpus of its own
        names = [a["dest"].rsplit("/", 1)[1] for a in assets if a["dest"].split("/")[1] == corpus]
        assert [any(split in n for n in names) for split in ("train", "dev", "test")] == [True] * 3, corpus
