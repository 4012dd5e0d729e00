"""Fixes of review 53 (user journeys): a comparison report of searches run on different data says so; the
parameter-budget recipe compares single-objective strategies; a 2-D NPZ feature array is refused with the (N, F, 1, 1)
form, and docs/training.md's CSV -> NPZ snippet writes a file that trains."""

from __future__ import annotations

import pytest

from nasforge import Study, get_space
from nasforge.analysis.studyreport import render_study

pytest.importorskip("plotly")


def _searched(name: str, data: str | None, data_dir: str | None = None, fingerprint: str | None = None) -> Study:
    """A tiny study recorded as a ``nasforge search`` run over ``data`` (its pipeline config, as a run stores it)."""
    study = Study(get_space("chain", layers=[["a", "b", "c"], ["x", "y"]]), "random", objectives="val_acc", seed=0,
                  name=name)
    study.optimize(lambda arch: {"val_acc": float(len(str(arch.genotype)))}, n_trials=3)
    if data is not None:
        study.set_user_attr("pipeline", "search")
        study.set_user_attr("pipeline_config", {"data": data, "data_dir": data_dir, "workers": 1})
    if fingerprint is not None:
        study.set_user_attr("data_fingerprint", fingerprint)
    return study


NOTE = "These studies searched different data"


def test_studies_searched_on_other_data_are_overlaid_with_their_data_and_a_note():
    """Would fail: the page overlaid a 3-class image NPZ and a 2-class tabular NPZ without a word (accuracy and
    parameters both depend on the data)."""
    page = render_study([_searched("images", "npz", "/d/images.npz"), _searched("tabular", "npz", "/d/tab.npz")])
    assert "<th>study</th><th>strategy</th><th>data</th><th>trials</th>" in page
    assert "<td>images</td><td>random</td><td>npz /d/images.npz</td>" in page
    assert "<td>tabular</td><td>random</td><td>npz /d/tab.npz</td>" in page
    assert (f"{NOTE} (images: npz /d/images.npz; tabular: npz /d/tab.npz): their values are not comparable as "
            "one.") in page


def test_one_data_set_gets_the_column_but_no_note_and_studies_without_a_record_keep_their_table():
    same = render_study([_searched("a", "digits"), _searched("b", "digits")])
    assert "<td>a</td><td>random</td><td>digits</td>" in same and NOTE not in same
    plain = render_study([_searched("a", None), _searched("b", None)])  # no search records: the page as before
    assert "<th>data</th>" not in plain and NOTE not in plain
    mixed = render_study([_searched("a", "digits"), _searched("b", None)])  # nothing to compare the other with
    assert "<td>b</td><td>random</td><td></td>" in mixed and NOTE not in mixed


def test_one_file_whose_content_changed_between_the_studies_is_told_apart_by_its_fingerprint():
    page = render_study([_searched("a", "npz", "/d/x.npz", "1234567890ab"), _searched("b", "npz", "/d/x.npz", "ffee")])
    assert "<td>npz /d/x.npz (content 12345678)</td>" in page and "<td>npz /d/x.npz (content ffee)</td>" in page
    assert NOTE in page
    alike = render_study([_searched("a", "npz", "/d/x.npz", "12ab"), _searched("b", "npz", "/d/x.npz", "12ab")])
    assert "<td>npz /d/x.npz</td>" in alike and NOTE not in alike



@pytest.mark.slow  # counts the 15,625 networks' parameters: about 50 s of CPU
def test_the_budget_recipes_enumeration_and_penalised_bench_give_what_docs_strategies_md_quotes(tmp_path,
                                                                                                monkeypatch, capsys):
    import json
    import re
    from pathlib import Path

    from nasforge.benchmarks import load_nb201
    from nasforge.cli import main

    try:
        load_nb201(dataset="cifar100")
    except Exception as exc:  # noqa: BLE001 - the table is data, not shipped with the code
        pytest.skip(f"no NAS-Bench-201 table: {exc}")
    docs = (Path(__file__).resolve().parents[1] / "docs" / "strategies.md").read_text()
    recipe, enumeration = re.findall(r"```python\n(.*?)```", docs[docs.index("**Recipe: the best accuracy under a "
                                                                            "parameter budget"):], re.S)[:2]
    setup = "\n".join(recipe.splitlines()[:9])  # its imports, table and params
    monkeypatch.chdir(tmp_path)
    exec(compile(setup + "\n" + enumeration, "docs/strategies.md", "exec"), {})
    assert capsys.readouterr().out == ("58.64 406196 |nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|"
                                       "nor_conv_1x1~1|nor_conv_1x1~2|\n")
    assert main(["bench", "--table", "c100_budget.csv", "--space", "nb201", "--objective", "acc", "--secondary",
                 "acc_test", "--strategies", "random,evolution,tpe", "--seeds", "10", "--trials", "100", "--out",
                 "bench-budget"]) == 0
    bench = json.loads((tmp_path / "bench-budget" / "bench.json").read_text())
    assert round(bench["optimum"], 3) == 58.64
    assert {row["strategy"]: round(row["mean@100"], 3) for row in bench["summary"]} == {
        "random": 2.186, "evolution": 1.196, "tpe": 1.034}


def test_a_2d_feature_array_is_refused_saying_how_tabular_features_go_in(tmp_path, capsys):
    """Would fail: the refusal said what was wrong, not the (N, F, 1, 1) form docs/training.md gives."""
    import numpy as np

    from nasforge.cli import main

    path = tmp_path / "tab2d.npz"
    np.savez(path, x=np.random.default_rng(0).random((300, 6), np.float32), y=np.arange(300) % 2)
    assert main(["search", "--no-progress", "--trials", "1", "--retrain", "0", "--workers", "1", "--data", "npz",
                 "--data-dir", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.rstrip().endswith(
        "got shape (300, 6); tabular features (N, F) go in as one-pixel-wide columns of shape (N, F, 1, 1): "
        "x.reshape(len(x), -1, 1, 1), trained with augment 'none'")


def test_the_csv_to_npz_snippet_of_docs_training_md_writes_a_file_that_trains(tmp_path, monkeypatch):
    import re
    import textwrap
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from nasforge.data import load_dataset
    from nasforge import get_space
    from nasforge.evaluators import TrainingEvaluator

    docs = (Path(__file__).resolve().parents[1] / "docs" / "training.md").read_text()
    snippet = re.search(r"A CSV table \(there is no `--data csv`\).*?```python csv_to_npz.py\n(.*?)```", docs,
                        re.S).group(1)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(120, 5))
    table = pd.DataFrame(features, columns=[f"f{k}" for k in range(5)])
    table["label"] = np.where(features[:, 0] > 0, "yes", "no")
    monkeypatch.chdir(tmp_path)
    table.to_csv("mydata.csv", index=False)
    exec(compile(textwrap.dedent(snippet), "docs/training.md", "exec"), {})  # the bullet's indent off
    data = load_dataset("npz", tmp_path / "mydata.npz", augment="none")
    assert tuple(data.x_train.shape[1:]) == (1, 5, 1) and data.num_classes == 2
    evaluator = TrainingEvaluator(data, C=2, N=1, train={"epochs": 1, "batch_size": 32}, latency_repeats=1)
    result = evaluator.evaluate(get_space("nb201").sample(np.random.default_rng(0)))
    assert np.isfinite(result.metrics["val_acc"])
