"""Review pred41: saves never write into another artifact, a study's trials are pooled only within one stage and
fidelity, and the messages and outputs the review found wanting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_lines import error_line
from predictor_data import sample

from nasforge.benchmarks import SurrogateBenchmark
from nasforge.benchmarks.surrogate import search_trials
from nasforge.cli import main
from nasforge.exceptions import UnsafeFileError, UsageError
from nasforge.predictors import get_predictor, load_predictor

FAST = {"n_estimators": 10}


@pytest.fixture(scope="module")
def data():
    return sample(60)


@pytest.fixture(scope="module")
def table(tmp_path_factory, data):
    space, archs, y = data
    path = tmp_path_factory.mktemp("t") / "t.csv"
    pd.DataFrame({"arch": [space.format(a) for a in archs], "val_acc": y, "test_acc": y - 1}).to_csv(path,
                                                                                                  index=False)
    return path


@pytest.fixture(scope="module")
def artifact(tmp_path_factory, data):
    space, archs, y = data
    frame = pd.DataFrame({"arch": [space.format(a) for a in archs], "val_acc": y})
    folder = tmp_path_factory.mktemp("a") / "art"
    SurrogateBenchmark.fit(space, frame, model="lgb", model_params=FAST).save(folder)
    return folder


def _fitted(data, name="lgb", **params):
    space, archs, y = data
    return get_predictor(name, space, **(FAST if name == "lgb" and not params else params)).fit(archs, y)


def test_a_save_into_a_surrogate_model_folder_is_refused_and_the_surrogate_still_loads(data, artifact):
    """Would fail: overwrite=True replaced val_acc/'s model, and the surrogate no longer loaded, for good."""
    before = (artifact / "val_acc" / "model.txt").read_bytes()
    with pytest.raises(UsageError, match=f"lies inside the surrogate artifact {artifact.resolve()}"):
        _fitted(data).save(artifact / "val_acc", overwrite=True)
    with pytest.raises(UsageError, match="lies inside the surrogate artifact"):
        _fitted(data).save(artifact / "new")
    assert (artifact / "val_acc" / "model.txt").read_bytes() == before and not (artifact / "new").exists()
    SurrogateBenchmark.load(artifact)


def test_a_save_into_an_ensemble_member_or_a_saved_network_is_refused(data, tmp_path):
    ensemble = _fitted(data, "ensemble", members=["knn", "knn"]).save(tmp_path / "ens")
    with pytest.raises(UsageError, match=f"lies inside the saved predictor {ensemble.resolve()}"):
        _fitted(data, "knn").save(ensemble / "member_0", overwrite=True)
    network = tmp_path / "net"
    network.mkdir()
    (network / "model.json").write_text("{}")
    (network / "model.safetensors").write_bytes(b"")
    with pytest.raises(UsageError, match="lies inside the saved network"):
        _fitted(data, "knn").save(network / "p")
    with pytest.raises(UsageError, match="lies inside the saved network"):
        SurrogateBenchmark.fit(data[0], pd.DataFrame({"arch": [data[0].format(a) for a in data[1]],
                                                      "val_acc": data[2]}), model="knn").save(network / "s")
    # an ensemble still replaces itself: its members are written inside its own staging folder
    _fitted(data, "ensemble", members=["knn", "knn"]).save(ensemble, overwrite=True)
    assert load_predictor(ensemble, data[0]).predict(data[1][:3]).shape == (3,)


def test_a_file_the_record_does_not_list_is_refused_at_load(data, tmp_path):
    """Would fail: docs/predictors.md promised it, but a stray file loaded silently."""
    folder = _fitted(data).save(tmp_path / "p")
    load_predictor(folder, data[0])
    (folder / "extra.txt").write_text("hi")
    with pytest.raises(UnsafeFileError, match="has no checksum of extra.txt"):
        load_predictor(folder, data[0])
    ensemble = _fitted(data, "ensemble", members=["knn", "lgb"]).save(tmp_path / "e")
    load_predictor(ensemble, data[0])
    (ensemble / "member_1" / "stray.json").write_text("{}")
    with pytest.raises(UnsafeFileError, match="stray.json"):
        load_predictor(ensemble, data[0])


def test_eval_out_into_an_artifact_is_refused(artifact, table, tmp_path, capsys):
    """Would fail: the results went into the artifact, which then could no longer be replaced."""
    line = error_line(capsys, ["predictors", "eval", "--table", str(table), "--space", "nb201", "--predictors", "knn",
                               "--train-sizes", "20", "--test-size", "20", "--seeds", "1", "--out", str(artifact)])
    assert line.endswith(f"--out {artifact} is the surrogate artifact {artifact.resolve()}; write the results into a "
                         "folder of their own")
    line = error_line(capsys, ["surrogate", "eval", str(artifact), "--table", str(table), "--seeds", "1", "--trials",
                               "5", "--out", str(artifact / "val_acc" / "r")])
    assert f"--out {artifact / 'val_acc' / 'r'} lies inside the saved predictor" in line
    assert sorted(p.name for p in artifact.iterdir()) == ["holdout.json", "manifest.json", "val_acc"]


def test_info_of_a_file_says_what_to_pass(artifact, table, capsys):
    line = error_line(capsys, ["surrogate", "info", str(table)])
    assert line.endswith(f"{table} is a file, not a surrogate folder")
    line = error_line(capsys, ["surrogate", "info", str(artifact / "manifest.json")])
    assert line.endswith(f"is a surrogate's manifest.json: pass its folder, {artifact}")


def test_a_metric_named_twice_is_refused(data, table, tmp_path, capsys):
    """Would fail: it was fitted twice, without a note."""
    line = error_line(capsys, ["surrogate", "fit", "--table", str(table), "--space", "nb201", "--metrics",
                               "val_acc,test_acc,val_acc", "--out", str(tmp_path / "s")])
    assert line.endswith("--metrics names val_acc twice; name each metric once")
    with pytest.raises(UsageError, match="metrics names 'val_acc' twice"):
        SurrogateBenchmark.fit(data[0], table, metrics=["val_acc", "val_acc"])
    assert not (tmp_path / "s").exists()


def _trials(data, stages, fidelities):
    space, archs, y = data
    n = len(stages)
    return pd.DataFrame({"number": range(n), "state": "COMPLETE", "arch": [space.format(a) for a in archs[:n]],
                         "val_acc": y[:n], "fidelity": fidelities, "user_attrs_stage": stages})


def test_trials_of_other_stages_are_left_out_with_a_note(data, tmp_path, capsys):
    """Would fail: a retrain (another training of a search trial's network) was pooled with the search trials."""
    frame = _trials(data, [None] * 20 + ["retrain"] * 2, [None] * 22)
    kept, note = search_trials(frame)
    assert len(kept) == 20 and note == "used the 20 search-stage trials, left out 2 of other stages (2 retrain)"
    path = tmp_path / "trials.csv"
    frame.to_csv(path, index=False)
    assert main(["surrogate", "fit", "--table", str(path), "--space", "nb201", "--model", "knn", "--holdout", "0",
                 "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "note: used the 20 search-stage trials, left out 2 of other stages (2 retrain)" in out
    assert "on 20 rows" in out
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["training_data"]["selected"].startswith("used the 20 search-stage trials")
    assert search_trials(_trials(data, [None] * 5, [None] * 5))[1] is None
    plain = frame.rename(columns={"user_attrs_stage": "stage"})  # a CSV with the visible stage column only
    assert search_trials(plain)[1] == "used the 20 search-stage trials, left out 2 of other stages (2 retrain)"


def test_trials_at_several_fidelities_use_the_highest(data):
    """Would fail: a multi-fidelity study's budgets were pooled into one surrogate."""
    fidelities = ['{"epochs": 4}'] * 10 + ['{"epochs": 12}'] * 6 + ['{"epochs": 36}'] * 3
    kept, note = search_trials(_trials(data, [None] * 19, fidelities))
    assert list(kept["number"]) == [16, 17, 18]
    assert note == ('used the 3 trials at the highest fidelity, {"epochs": 36}, left out 16 measured at the 2 lower '
                    'one(s) (a surrogate mixes no fidelities)')
    kept, _ = search_trials(_trials(data, [None] * 4, ['{"epochs": 4}', None, None, '{"epochs": 4}']))
    assert list(kept["number"]) == [1, 2]  # no fidelity: the full budget
    with pytest.raises(UsageError, match='2 fidelities that have no order .*"epochs": 4.*"width": 8'):
        search_trials(_trials(data, [None] * 2, ['{"epochs": 4}', '{"width": 8}']))
    assert len(search_trials(_trials(data, [None] * 3, ['{"epochs": 4}'] * 3))[0]) == 3


def test_eval_json_and_csv_rows_carry_the_spread_over_seeds(table, tmp_path, capsys):
    """Would fail: the rows had no seeds and no *_std; the table no "±"."""
    args = ["predictors", "eval", "--table", str(table), "--space", "nb201", "--predictors", "knn",
            "--train-sizes", "20", "--test-size", "20", "--seeds", "2"]
    assert main([*args, "--format", "json", "--out", str(tmp_path / "j")]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["seeds"] == 2 and np.isfinite(row["kendall_tau_std"]) and "mae_std" in row
    assert main([*args, "--out", str(tmp_path / "t")]) == 0
    header = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("predictor"))
    assert header.split()[:6] == ["predictor", "n", "KT", "±", "sKT", "rho"]


def test_export_of_a_study_db_names_its_folder(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "study.db").write_bytes(b"")
    line = error_line(capsys, ["export", str(run / "study.db"), "--out", str(tmp_path / "x.onnx")])
    assert line.endswith(f"{run / 'study.db'} is a run's study database: pass its folder, {run}, or --storage "
                         f"sqlite:///{run / 'study.db'} with the study name")


def test_a_bad_export_target_is_refused_before_torch_is_imported(tmp_path):
    """Would fail: export_model imported torch (seconds) before it looked at the target."""
    network = tmp_path / "net"
    network.mkdir()
    (network / "model.json").write_text("{}")
    (network / "model.safetensors").write_bytes(b"")
    code = ("import sys\nfrom nasforge.exceptions import UsageError\nfrom nasforge.export import export_model\n"
            f"try:\n    export_model({str(network)!r}, 'onnx', {str(tmp_path / 'm.pt')!r})\n"
            "except UsageError as exc:\n    print(exc)\nprint('torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).parent)
    assert result.stdout.splitlines() == [f"export to {tmp_path / 'm.pt'} refused: .pt is the suffix of torchscript "
                                          "files; name the onnx file *.onnx", "False"]
