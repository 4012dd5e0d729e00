"""--space / --space-config / inferred chain spaces for bench, predictors and surrogate."""

import argparse
import json

import pytest

from nasforge.cli import main
from nasforge.cli.options import add_space_arguments, infer_chain_space, load_space, read_config_file
from nasforge.exceptions import UsageError
from nasforge.spaces import ChainSpace, get_space

LAYERS = [["conv3", "conv5", "skip"], ["conv3", "conv5", "skip"], ["conv3", "conv5"]]


def parse(*argv):
    p = argparse.ArgumentParser()
    add_space_arguments(p)
    return p.parse_args(list(argv))


def chain_table(path, layers=LAYERS):
    """Every architecture of a small chain space with a synthetic accuracy (conv5 > conv3 > skip)."""
    space = ChainSpace(layers)
    score = {"conv3": 3.0, "conv5": 5.0, "skip": 0.0}
    lines = ["arch,acc,params"]
    for arch in space.enumerate():
        acc = 50 + sum(score[c] * (i + 1) for i, c in enumerate(arch.genotype))
        lines.append(f"{space.format(arch)},{acc},{sum(c != 'skip' for c in arch.genotype)}")
    path.write_text("\n".join(lines) + "\n")
    return space


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_chain_space_from_config_file(tmp_path, suffix):
    path = tmp_path / f"layers{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps({"layers": LAYERS, "name": "mine"}))
    else:
        path.write_text("layers:\n" + "".join(f"  - [{', '.join(layer)}]\n" for layer in LAYERS))
    space = load_space(parse("--space", "chain", "--space-config", str(path)))
    assert isinstance(space, ChainSpace) and [list(layer) for layer in space.layers] == LAYERS
    assert space.name == ("mine" if suffix == ".json" else "chain")


def test_chain_space_inferred_from_table_archs(capsys):
    archs = ["conv3|conv5|conv3", "skip|conv3|conv5", "conv5|skip|conv3"]
    space = load_space(parse("--space", "chain"), table_archs=archs)
    assert [list(layer) for layer in space.layers] == LAYERS
    err = capsys.readouterr().err
    assert "inferred a chain space" in err and "--space-config layers.json" in err
    assert json.dumps({"layers": LAYERS}) in err  # the printed JSON pins exactly this space


def test_inferring_a_chain_names_the_odd_row_as_the_table_errors_do():
    with pytest.raises(UsageError, match=r"data row 3 of --table has 2 .*data row 1 has 3 .*1 = the first row after"):
        load_space(parse("--space", "chain"), table_archs=["a|b|c", "a|b|b", "a|b"])


@pytest.mark.parametrize("argv, table, message", [
    (["--space", "chain"], None, "--space chain needs --space-config"),
    (["--space", "nope"], None, "--space: unknown search space 'nope'"),
    (["--space", "chain", "--space-config", "missing.json"], None, "--space-config: file not found: missing.json"),
    (["--space", "chain"], ["a|b", "a|b|c"], "data row 2 of --table has 3"),
    (["--space", "chain"], ["a|b", "a|b"], "not a valid chain space"),
])
def test_space_errors_name_the_option(argv, table, message):
    with pytest.raises(UsageError) as info:
        load_space(parse(*argv), table_archs=table)
    assert message in str(info.value) and "__init__" not in str(info.value)


def test_bad_config_contents_are_named(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"layers": [["a"], ["b", "b"]]}')
    with pytest.raises(UsageError, match=r"--space-config .*bad.json: layer 1 lists choice\(s\) \['b'\]"):
        load_space(parse("--space", "chain", "--space-config", str(bad)))
    bad.write_text("{not json")
    with pytest.raises(UsageError, match="is not valid JSON"):
        load_space(parse("--space", "chain", "--space-config", str(bad)))
    opts = tmp_path / "nb.json"
    opts.write_text('{"colour": 1}')
    with pytest.raises(UsageError, match=r"unknown option\(s\) \['colour'\]"):
        load_space(parse("--space", "nb201", "--space-config", str(opts)))



def test_a_yaml_alias_bomb_or_a_deeply_nested_config_is_one_line(tmp_path):
    """A 330-byte YAML file of nested aliases expanded to gigabytes (and nb201 put the whole repr in its error);
    a 100,000-deep config file raised RecursionError. Aliases are refused and both are one UsageError."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(20)) + "canonical_rule: *u\n")
    with pytest.raises(UsageError, match=r"bomb.yaml uses a YAML alias \(\*a\) at line 2; write the value out"):
        load_space(parse("--space", "nb201", "--space-config", str(bomb)))
    for name, text in (("deep.json", "[" * 100_000 + "]" * 100_000), ("deep.yaml", "[" * 100_000 + "]" * 100_000)):
        (tmp_path / name).write_text(text)
        with pytest.raises(UsageError, match=f"--space-config: .*{name} nests too deeply \\(over 100 levels\\)"):
            load_space(parse("--space", "nb201", "--space-config", str(tmp_path / name)))
    with pytest.raises(UsageError, match=r"unknown canonical_rule \[+\.\.\.\]+; choose"):
        get_space("nb201", canonical_rule=[[[[[[[[1]]]]]]]])  # a nested value's repr is cut short


def test_space_module(tmp_path):
    module = tmp_path / "myspace.py"
    module.write_text("from nasforge.spaces import ChainSpace\n"
                      "def build(width=2):\n    return ChainSpace([['a', 'b']] * width, name='mine')\n")
    config = tmp_path / "c.json"
    config.write_text('{"width": 3}')
    space = load_space(parse("--space-module", f"{module}:build", "--space-config", str(config)))
    assert space.name == "mine" and len(space.layers) == 3
    with pytest.raises(UsageError, match="myspace.py.*'nope'"):
        load_space(parse("--space-module", f"{module}:nope"))


def test_space_module_needing_arguments_or_with_space_is_one_clear_error(tmp_path, capsys):
    module = tmp_path / "needs.py"
    module.write_text("from nasforge.spaces import ChainSpace\n"
                      "def build(width):\n    return ChainSpace([['a', 'b']] * width, name='mine')\n")
    with pytest.raises(UsageError, match=r"needs.py:build: cannot be called with the options \[\] "
                                         r"\(missing a required argument: 'width'\); give its arguments with "
                                         "--space-config FILE"):
        load_space(parse("--space-module", f"{module}:build"))
    with pytest.raises(UsageError, match="--space nb101 and --space-module .* both name the search space"):
        load_space(parse("--space-module", f"{module}:build", "--space", "nb101"))
    assert main(["search", "--space-module", f"{module}:build", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "missing a required argument: 'width'" in err and len(err.strip().splitlines()) == 1


def test_bench_cli_on_an_inferred_chain_table(tmp_path, capsys):
    table = tmp_path / "chain.csv"
    chain_table(table)
    code = main(["bench", "--table", str(table), "--space", "chain", "--objective", "acc", "--secondary", "params",
                 "--strategies", "random,evolution", "--seeds", "2", "--trials", "12", "--workers", "1",
                 "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "inferred a chain space" in captured.err
    data = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert data["optimum"] == pytest.approx(50 + 5 * 1 + 5 * 2 + 5 * 3)


def test_bench_cli_chain_with_config(tmp_path, capsys):
    table, config = tmp_path / "chain.csv", tmp_path / "layers.yaml"
    chain_table(table)
    config.write_text("- [skip, conv5, conv3]\n- [conv3, conv5, skip]\n- [conv3, conv5]\n")
    argv = ["bench", "--table", str(table), "--space", "chain", "--space-config", str(config), "--objective", "acc",
            "--strategies", "random", "--seeds", "1", "--trials", "5", "--workers", "1", "--out", str(tmp_path / "o")]
    assert main(argv) == 0 and "inferred" not in capsys.readouterr().err
    # a config with a choice the table lacks: the table no longer covers the space, said before any run
    config.write_text("- [conv3, conv5, skip]\n- [conv3, conv5, skip]\n- [conv3, conv5, conv7]\n")
    assert main(argv) == 2
    assert "chain.csv holds 18 of the 27 distinct architectures of space 'chain'" in capsys.readouterr().err
    config.write_text("- [skip, conv5, conv3]\n- [conv3, conv5, skip]\n- [conv3, conv5]\n")
    argv[argv.index("--trials") + 1] = "19"
    assert main(argv) == 2 and "--trials 19 exceeds the 18 distinct architectures" in capsys.readouterr().err


def test_inferred_layers_list_choices_sorted():
    space = infer_chain_space(["x|y", "z|y", "x|w"], announce=False)
    assert space.layers == (("x", "z"), ("w", "y"))


def test_nb201_options_from_space_config(tmp_path):
    from nasforge.cli.options import add_table_arguments, load_table

    config = tmp_path / "nb.yaml"
    config.write_text("canonical_rule: nb201\n")
    p = argparse.ArgumentParser()
    add_table_arguments(p)
    a = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
    table = tmp_path / "my.csv"
    table.write_text(f"arch,acc\n{a},90\n")
    bench = load_table(p.parse_args(["--table", str(table), "--space-config", str(config)]))
    assert bench.space.canonical_rule == "nb201" and bench.metrics == ["acc"]


def test_out_dir_creates_the_folder_and_names_the_option_when_it_cannot(tmp_path):
    from nasforge.cli.options import out_dir
    assert out_dir(str(tmp_path / "a" / "b")).is_dir()
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match=r"^--out .*/f/sub: .*/f is a file, not a folder"):
        out_dir(str(tmp_path / "f" / "sub"))
    with pytest.raises(UsageError, match=r"^--results /proc/nasforge-x: cannot create '/proc/nasforge-x'"):
        out_dir("/proc/nasforge-x", "--results")


def test_json_and_yaml_configs_share_one_depth_limit(tmp_path):
    """101 levels are refused in both formats (JSON parsed them, YAML did not); 100 levels are read."""
    for suffix in (".json", ".yaml"):
        ok, deep = tmp_path / f"ok{suffix}", tmp_path / f"deep{suffix}"
        ok.write_text("[" * 100 + "]" * 100)
        deep.write_text("[" * 101 + "]" * 101)
        assert isinstance(read_config_file(ok), list)  # read, not refused
        with pytest.raises(UsageError, match=f"deep{suffix} nests too deeply \\(over 100 levels\\)"):
            read_config_file(deep)
