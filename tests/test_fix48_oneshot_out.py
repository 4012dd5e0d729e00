"""`oneshot study --overwrite` replaces only its own earlier report: a user's PNG of a report name and a symbolic
link there are refused in one line (it took any PNG for its own and wrote through a link, replacing a file outside
--out), and an earlier report is still replaced."""

from __future__ import annotations

import io
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from nasforge.cli import main  # noqa: E402
from nasforge.oneshot import study as study_mod  # noqa: E402


class Reached(Exception):
    pass


def _earlier_png() -> bytes:
    fig = plt.figure()
    image = io.BytesIO()
    fig.savefig(image, format="png")
    plt.close(fig)
    return image.getvalue()


@pytest.fixture
def argv(tmp_path, monkeypatch):
    def loaded(*args, **kwargs):
        raise Reached

    monkeypatch.setattr(study_mod, "study_data", loaded)
    return ["oneshot", "study", "--k", "10", "--out", str(tmp_path / "study"), "--overwrite"]


def _refused(argv, capsys, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_a_png_nasforge_did_not_draw_is_refused_even_with_overwrite(tmp_path, argv, capsys):
    out = tmp_path / "study"
    out.mkdir()
    photo = b"\x89PNG\r\n\x1a\n" + b"\0" * 64  # a PNG from elsewhere (no matplotlib mark)
    (out / "ranking_tau.png").write_bytes(photo)
    _refused(argv, capsys, "ranking_tau.png' exists and is not a file written by nasforge oneshot study")
    assert (out / "ranking_tau.png").read_bytes() == photo


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_a_symbolic_link_at_a_report_name_is_refused(tmp_path, argv, capsys):
    out = tmp_path / "study"
    out.mkdir()
    outside = tmp_path / "notes.md"
    outside.write_text("mine")
    (out / "ranking.md").symlink_to(outside)
    _refused(argv, capsys, "ranking.md")
    assert outside.read_text() == "mine" and (out / "ranking.md").is_symlink()


def test_an_earlier_report_is_still_replaced(tmp_path, argv):
    out = tmp_path / "study"
    out.mkdir()
    (out / "ranking.json").write_text('{\n "config": {}}')
    (out / "ranking.md").write_text("K=10 architectures ...\n")
    (out / "ranking_tau.png").write_bytes(_earlier_png())
    (out / "ranking_scatter.png").write_bytes(_earlier_png())
    with pytest.raises(Reached):  # checked and taken: the study goes on (to loading its data)
        main(argv)


def test_the_report_is_written_in_place_of_a_link_made_after_the_check(tmp_path):
    from types import SimpleNamespace

    outside = tmp_path / "outside.md"
    outside.write_text("mine")
    out = tmp_path / "study"
    out.mkdir()
    (out / "ranking.md").symlink_to(outside)
    result = SimpleNamespace(to_json=lambda: {"rows": []})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(study_mod, "format_table", lambda result: "K=10 table")
        patch.setattr(study_mod, "plot_study", lambda result, out: None)
        study_mod.write_report(result, out)
    assert outside.read_text() == "mine" and (out / "ranking.md").read_text() == "K=10 table\n"
    assert not (out / "ranking.md").is_symlink()
