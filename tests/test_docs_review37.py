"""Review 37 (docs run literally): messages name what a user types, doc-facing outputs carry what a user needs."""

from __future__ import annotations

import json

import pytest

from nasforge.cli import main
from nasforge.exceptions import UsageError


def _err_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_surrogate_fit_refusing_an_existing_artifact_names_overwrite(tmp_path, capsys):
    """Would fail: the refusal said only "choose a new folder for a new version", though --overwrite exists."""
    out = tmp_path / "s"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    assert main(["surrogate", "fit", "--model", "lgb", "--out", str(out)]) == 2
    line = _err_line(capsys)
    assert "--out:" in line and "already holds a surrogate" in line and "pass --overwrite to replace it" in line


def test_surrogate_save_refusing_an_existing_artifact_names_overwrite_true(tmp_path):
    from nasforge.benchmarks.surrogate import check_new_folder

    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(UsageError, match=r"already holds a surrogate; .*pass overwrite=True to replace it"):
        check_new_folder(tmp_path)


def _finished_run(out) -> None:
    out.mkdir()
    (out / "summary.json").write_text(json.dumps({"name": "earlier", "resume_command": "nasforge resume earlier"}))


def test_search_refusing_a_finished_run_folder_names_the_out_option(tmp_path, capsys):
    """Would fail: the CLI printed "error: out: ..." (the SearchConfig field), not the option --out."""
    out = tmp_path / "demo"
    _finished_run(out)
    assert main(["search", "--out", str(out), "--trials", "2", "--no-progress"]) == 2
    line = _err_line(capsys)
    assert line.startswith("nasforge search: error: --out: ") and "pick another --out for a new run" in line



def test_search_refusing_a_users_own_trials_csv_names_the_out_option(tmp_path, capsys):
    """Would fail: the check of the run folder's output files still named the SearchConfig field ``out``."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "trials.csv").write_text("my,own\n1,2\n")
    assert main(["search", "--out", str(out), "--trials", "2", "--no-progress"]) == 2
    line = _err_line(capsys)
    assert line.startswith("nasforge search: error: --out '") and "trials.csv" in line

def test_run_search_refusing_a_finished_run_folder_names_the_out_field(tmp_path):
    from nasforge.pipelines.search import SearchConfig, run_search

    out = tmp_path / "demo"
    _finished_run(out)
    with pytest.raises(UsageError, match=r"^out: .*already holds the finished run of study 'earlier'.*"
                                         r"pick another out for a new run"):
        run_search(SearchConfig(trials=2, out=str(out)))


@pytest.mark.parametrize("n_retrained", [1, 2])
def test_the_retrained_size_spread_is_printed_only_for_more_than_one_network(tmp_path, n_retrained):
    """Would fail for 1: "retrained networks span 1.0x in parameters" was printed for a single network."""
    from types import SimpleNamespace

    from rich.console import Console

    from nasforge.pipelines.search import _print_front

    rows = [{"trial": i, "arch": f"arch{i}", "test_acc": 90.0, "retrain_trial": 10 + i,
             "model_dir": str(tmp_path / "models" / str(i))} for i in range(n_retrained)]
    study = SimpleNamespace(name="s", strategy=None, objectives=["val_acc", "params"],
                            space=SimpleNamespace(builds_only_reachable=True),
                            trials=[SimpleNamespace(number=i, metrics={"val_acc": 0.9, "params": 1e3 * (i + 1)})
                                    for i in range(n_retrained)])
    summary = {"constraints": [], "front_size": n_retrained, "n_complete": 4, "n_retrained": n_retrained,
               "best_selected_by": "search val_acc", "best_test_acc": 90.0, "best_trial": 0,
               "best_model_dir": rows[0]["model_dir"], "retrained_param_range": float(n_retrained),
               "search_seconds": 1.0, "retrain_seconds": 1.0}
    console = Console(record=True, width=200)
    _print_front(console, study, rows, summary, tmp_path)
    said = console.export_text()
    assert "best retrained network" in said and "saved in" in said
    assert ("span 2.0x in parameters" in said) == (n_retrained == 2) and ("span 1.0x" not in said)


def test_cli_md_quotes_the_bad_inputs_counts_of_its_results_file():
    """Would fail: docs/cli.md said 386 / 304 while benchmarks/results/bad_inputs.json holds 388 / 306."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    results = json.loads((root / "benchmarks/results/bad_inputs.json").read_text())
    text = " ".join((root / "docs/cli.md").read_text().split())
    said = re.search(r"tries (\d+) bad inputs, each in a fresh process: (\d+) on the command line .*? and (\d+) "
                     r"through the Python API\. On [\d-]+ all (\d+) were refused", text)
    assert said is not None
    assert [int(n) for n in said.groups()] == [results["cases"], results["cli"], results["api"], results["cases"]]
    assert results["counts"]["clear"] == results["cases"]


def test_the_predictors_page_python_and_cli_surrogates_go_to_different_folders():
    """Would fail: the Python block saved nb201-lgb-v1.0, so the next block's `surrogate fit --out nb201-lgb-v1.0`
    was refused in the same folder and `surrogate info/eval` read the Python-made artifact."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs/predictors.md").read_text()
    saved = set(re.findall(r'surrogate\.save\("([^"]+)"', text))
    fitted = set(re.findall(r"nasforge surrogate fit [^\n]*--out (\S+)", text))
    assert saved and fitted and not saved & fitted


@pytest.mark.parametrize(("scale", "expected"), [(1 / 16, 16.0), (1 / 255, 255.0), (1 / 65535, 65535.0), (1.0, None)])
def test_an_export_sidecar_records_the_training_pixels_full_intensity(tmp_path, scale, expected):
    """Would fail: the sidecar had only ``scale``, so the docs' recipe fed an 8-bit image's 0..255 to a digits
    network trained on 0..16."""
    import torch

    from nasforge.export import export_model, save_model
    from nasforge.models import create_model
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["conv3", "conv5"], ["skip", "conv3"]], name="mine")
    arch = space.parse("conv3|skip")
    torch.manual_seed(0)
    net = create_model("chain", arch, num_classes=3, in_channels=1, C=4).eval()
    save_model(tmp_path / "net", net, model_name="chain", arch=arch, model_kwargs={"C": 4}, num_classes=3,
               in_channels=1, preprocessing={"input_shape": [1, 8, 8], "scale": scale, "mean": [0.5], "std": [2.0],
                                             "class_names": ["a", "b", "c"]})
    out = export_model(tmp_path / "net", "safetensors", tmp_path / "model.safetensors")
    pre = json.loads(out.with_name(out.name + ".json").read_text())["preprocessing"]
    assert pre["pixel_max"] == expected and pre["scale"] == scale
    assert "pixel_max" not in json.loads((tmp_path / "net" / "model.json").read_text())["preprocessing"]


def test_the_export_page_onnx_recipe_gives_an_8_bit_image_the_training_inputs(tmp_path, monkeypatch):
    """Would fail: the recipe computed ``raw * scale`` on 0..255 pixels, 16x outside a digits network's inputs."""
    import re
    from pathlib import Path

    import numpy as np
    import torch
    from PIL import Image

    from nasforge.export import export_model, save_model
    from nasforge.models import create_model
    from nasforge.spaces import ChainSpace

    text = (Path(__file__).resolve().parents[1] / "docs/export.md").read_text()
    recipe = re.search(r"## Running an export without nasforge.*?```text\n(.*?)```", text, re.S)[1]
    space = ChainSpace([["conv3", "conv5"], ["skip", "conv3"]], name="mine")
    arch = space.parse("conv3|skip")
    torch.manual_seed(0)
    net = create_model("chain", arch, num_classes=3, in_channels=1, C=4).eval()
    mean, std = 0.3, 0.4
    save_model(tmp_path / "net", net, model_name="chain", arch=arch, model_kwargs={"C": 4}, num_classes=3,
               in_channels=1, preprocessing={"input_shape": [1, 8, 8], "scale": 1 / 16, "mean": [mean], "std": [std],
                                             "class_names": ["a", "b", "c"]})
    monkeypatch.chdir(tmp_path)
    export_model(tmp_path / "net", "onnx", tmp_path / "model.onnx")
    digits = np.arange(64).reshape(8, 8) % 17  # training pixels, 0..16
    Image.fromarray(np.round(digits * 255 / 16).astype(np.uint8), mode="L").save("image.png")  # as an 8-bit image
    namespace: dict = {}
    exec(compile(recipe, "docs/export.md", "exec"), namespace)  # noqa: S102 - the page's own recipe
    assert np.allclose(namespace["x"][0], (digits / 16 - mean) / std, atol=0.5 / 255 / std)


def _free_names(code: str) -> list[str]:
    """Names a Python block reads but neither imports nor assigns (nor are builtins)."""
    import ast
    import builtins

    tree = ast.parse(code)
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return sorted(used - bound)


def test_every_python_block_of_the_docs_runs_alone_or_says_which_example_it_continues():
    """Would fail: engine.md, spaces-nb101.md, model-spaces.md, strategies.md and README.md had blocks that raise
    NameError when copied alone (``table``, ``Study``, ``space``...) without saying they continue another."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    undeclared = []
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = page.read_text()
        for block in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
            code = block[1]
            if code.startswith("# continues "):
                continue
            free = _free_names(code)
            if free:
                undeclared.append(f"{page.name}:{text[:block.start()].count(chr(10)) + 1} {free}")
    assert not undeclared


def test_bench_quick_start_lines_give_a_time_and_rerun_prone_snippets_say_what_a_second_run_meets():
    """Would fail: README's bench lines gave no time (the default takes minutes on 2 cores), and the export,
    report and engine snippets did not say that a second run in the same folder is refused."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    bench = [line for line in readme.splitlines() if line.startswith("nasforge bench ") and "--seeds" in line]
    assert bench and all(re.search(r"# .*\d+(-\d+)? (min|s)\b", line) for line in bench), bench
    assert "optuna_tpe" in (root / "docs/cli.md").read_text().split("Plain `nasforge bench`")[1][:400]
    docs = root / "docs"
    assert "rerun: overwrite=True" in (docs / "export.md").read_text()
    assert "a stored study is never replaced" in (docs / "report.md").read_text()
    assert "load_if_exists=True to continue the stored study" in (docs / "engine.md").read_text()
