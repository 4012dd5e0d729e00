"""The relaxed DARTS cell space supernet: alphas per edge and cell type, DARTS / GDAS steps, DARTS's
derivation rule (two inputs per node), DARTS-PT, and the single-path mode it shares its weights with."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from nasforge.cli import main  # noqa: E402
from nasforge.models import create_model  # noqa: E402
from nasforge.oneshot import (OneShotConfig, build_supernet, derive_argmax, perturbation_select,  # noqa: E402
                              progressive_search, train_supernet)
from nasforge.oneshot.darts import EDGES, RELAXED_OPS, edge_decision  # noqa: E402
from nasforge.oneshot.trainer import gumbel_weights, option_masks, relaxed_weights  # noqa: E402
from nasforge.spaces import get_space  # noqa: E402
from nasforge.spaces.darts import CELL_TYPES  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")
SPACE = get_space("darts")
GENOTYPE = SPACE.parse(
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")  # DARTS V2


@pytest.fixture(scope="module")
def data(toy_images):
    return toy_images


def _net(C: int = 2):
    torch.manual_seed(0)
    return build_supernet("darts", 4, 1, C=C, N=1)


def _set_alphas(net, arch, strong: float = 5.0) -> None:
    """Logits that favour ``arch``: its op on each of its edges, uniform elsewhere."""
    with torch.no_grad():
        for a in net.arch_parameters():
            a.zero_()
        index = {name: d for d, (name, _) in enumerate(net.arch_decisions())}
        for ct, cell in zip(CELL_TYPES, arch.genotype):
            for k, (op, src) in enumerate(cell):
                net.arch_parameters()[index[edge_decision(ct, src, 2 + k // 2)]][RELAXED_OPS.index(op)] = strong


def test_relaxed_decisions_are_edges_of_both_cell_types():
    net = _net()
    names = [name for name, _ in net.arch_decisions()]
    assert len(names) == len(net.arch_parameters()) == 2 * len(EDGES) == 28
    assert all(len(a) == len(RELAXED_OPS) == 8 for a in net.arch_parameters())
    assert names[0] == "normal_edge_0_2" and names[14] == "reduce_edge_0_2"


def test_gradients_reach_the_alphas_of_both_cell_types(data):
    net = _net()
    net.activate_weights(relaxed_weights(net.arch_parameters(), option_masks(net, None)))
    torch.nn.functional.cross_entropy(net(data.x_train[:16]), data.y_train[:16]).backward()
    grads = [a.grad for a in net.arch_parameters()]
    assert all(g is not None and float(g.abs().sum()) > 0 for g in grads)  # all 14 normal and 14 reduce edges


@pytest.mark.parametrize("order", [1, 2])
def test_a_darts_step_changes_the_alphas(data, order):
    net = _net()
    before = [a.detach().clone() for a in net.arch_parameters()]
    rec = train_supernet(net, data, OneShotConfig(method="darts", order=order, epochs=1, batch_size=48, arch_lr=0.05))
    moved = [not torch.equal(b, a) for b, a in zip(before, net.arch_parameters())]
    assert all(moved[:14]) and all(moved[14:])
    assert len(rec.alphas) == 28 and f"darts order: {order}" in rec.tricks
    SPACE.validate(derive_argmax(net))


def test_gdas_forward_is_hard_yet_differentiable(data):
    net = _net()
    calls: dict[str, int] = {}
    for name, module in net.named_modules():
        if name.count(".ops.") == 1 and name.endswith(tuple(RELAXED_OPS)):
            edge = name.split(".ops.")[0]
            module.register_forward_hook(lambda *_, edge=edge: calls.__setitem__(edge, calls.get(edge, 0) + 1))
    alphas = net.arch_parameters()
    mix = gumbel_weights(alphas, option_masks(net, None), tau=1.0, generator=torch.Generator().manual_seed(0))
    assert all(int((w != 0).sum()) == 1 for w in mix)
    net.activate_weights(mix)
    torch.nn.functional.cross_entropy(net(data.x_train[:8]), data.y_train[:8]).backward()
    assert calls and max(calls.values()) == 1  # at most one op computed per edge of every cell
    sampled_real = [d for d, w in enumerate(mix) if RELAXED_OPS[int(w.argmax())] != "none"]
    assert any(d < 14 for d in sampled_real) and any(d >= 14 for d in sampled_real)
    assert all(float(alphas[d].grad.abs().sum()) > 0 for d in sampled_real)


def test_all_none_edges_give_zero_nodes_not_errors():
    net = _net()
    none = torch.nn.functional.one_hot(torch.tensor(0), len(RELAXED_OPS)).float()
    net.activate_weights([none] * 28)
    assert net.eval()(torch.randn(2, 1, 8, 8)).shape == (2, 4)


def test_derivation_keeps_two_inputs_per_node_and_honours_the_alphas():
    net = _net()
    _set_alphas(net, GENOTYPE)
    assert SPACE.canonical(derive_argmax(net)) == SPACE.canonical(GENOTYPE)
    # 'none' dominating an edge makes it weak: node 2's (0, 1) has no other choice, node 3 then takes input 2
    index = {name: d for d, (name, _) in enumerate(net.arch_decisions())}
    with torch.no_grad():
        net.arch_parameters()[index["normal_edge_0_3"]][0] = 20.0
    normal = derive_argmax(net).genotype[0]
    assert sorted(src for _, src in normal[2:4]) == [1, 2]
    assert [src for _, src in normal[0:2]] in ([0, 1], [1, 0])
    # allowed options restrict the op of an edge (P-DARTS pruning)
    arch = derive_argmax(net, allowed={"normal_edge_0_2": ["none", "max_pool_3x3"]})
    assert ("max_pool_3x3", 0) in arch.genotype[0][:2]


def test_darts_pt_respects_two_inputs_per_node(data):
    net = _net()
    allowed = {name: ["none", "skip_connect", "max_pool_3x3"] for name, _ in net.arch_decisions()}  # fewer evals
    arch, log = perturbation_select(net, data, allowed=allowed, seed=0)
    SPACE.validate(arch)
    assert len(log) == 28 and all(set(entry["drop"]) == set(allowed["normal_edge_0_2"]) for entry in log)
    for cell in arch.genotype:
        for k in range(0, 8, 2):
            assert cell[k][1] != cell[k + 1][1] and "none" not in (cell[k][0], cell[k + 1][0])


def test_tricks_and_progressive_search_run_on_the_darts_space(data):
    rec = train_supernet(_net(), data, OneShotConfig(method="gdas", epochs=2, batch_size=48, warmup_epochs=1))
    assert len(rec.history) == 2 and any("warm-up" in t for t in rec.tricks)
    net = _net()
    with torch.no_grad():  # a collapsed supernet: skip_connect is the strongest op of every edge
        for (_, options), alpha in zip(net.arch_decisions(), net.arch_parameters()):
            alpha[options.index("skip_connect")] += 5.0
    rec = train_supernet(net, data, OneShotConfig(method="darts", epochs=3, batch_size=48, sdarts="random",
                                                  early_stop_skips=16, path_dropout=0.3))
    assert any("path dropout" in t for t in rec.tricks) and rec.stopped_early_at == 0 and rec.history[0]["skips"] == 16  # skips of the derived genotype's 16 edges
    arch, records = progressive_search(lambda n: build_supernet("darts", 4, 1, C=2, N=n), data,
                                       OneShotConfig(method="darts", epochs=1, batch_size=48), depths=(1, 1),
                                       keep=(3, 2))
    SPACE.validate(arch)
    assert all(len(v) == 3 for v in records[1].allowed.values()) and len(records[1].allowed) == 28


def test_single_path_is_the_standalone_network_with_shared_weights(data):
    net = _net(C=3).eval()
    ptrs = {k: p.data_ptr() for k, p in net.named_parameters()}
    net.activate(GENOTYPE)
    assert {k: p.data_ptr() for k, p in net.named_parameters()} == ptrs  # nothing copied
    standalone = create_model("darts", GENOTYPE, num_classes=4, in_channels=1, C=3, N=1).eval()
    mine = net.state_dict()
    state = {}
    for key in standalone.state_dict():
        parts = key.split(".")
        if parts[0] == "cells" and parts[2] == "ops":
            cell = GENOTYPE.genotype[1 if net.cells[int(parts[1])].reduction else 0]
            op, src = cell[int(parts[3])]
            parts[2:4] = ["edges", f"{src}_{2 + int(parts[3]) // 2}", "ops", op]
        state[key] = mine[".".join(parts)]
    standalone.load_state_dict(state)
    x = data.x_val[:8]
    assert torch.equal(net(x), standalone(x))
    net.train()
    net(x).sum().backward()
    used = {f"{src}_{2 + k // 2}.ops.{op}" for cell in GENOTYPE.genotype for k, (op, src) in enumerate(cell)}
    for name, p in net.named_parameters():
        if ".edges." in name and not any(u in name for u in used):
            assert p.grad is None, name  # switched-off ops do not run


def test_checkpoints_without_alphas_still_load():
    net = _net()
    state = {k: v for k, v in net.state_dict().items() if not k.startswith("alphas.")}
    _net().load_state_dict(state)


def test_cli_trains_and_derives_on_the_darts_space(tmp_path, capsys):
    assert main(["oneshot", "train", "--space", "darts", "--data", "digits", "--method", "gdas", "--epochs", "1",
                 "--C", "2", "--batch-size", "256", "--out", str(tmp_path / "g")]) == 0
    out = capsys.readouterr().out
    derived = out.split("derived (argmax): ")[1].splitlines()[0]
    SPACE.validate(SPACE.parse(derived))


def test_a_decision_with_one_option_is_not_split_on(tmp_path, capsys, data):
    from nasforge.exceptions import UsageError
    from nasforge.oneshot import gradient_similarity, split_supernet
    from nasforge.oneshot.study import RankingConfig

    message = "normal_node2_inputs has one option (0,1): splitting on it would make one part"
    with pytest.raises(UsageError, match=r"split_supernet: normal_node2_inputs has one option \(0,1\)"):
        split_supernet(_net(), ["normal_node2_inputs"])
    with pytest.raises(UsageError, match="gradient_similarity: normal_node2_inputs has one option"):
        gradient_similarity(_net(), data, "normal_node2_inputs", batches=1)
    with pytest.raises(UsageError, match="split_on: normal_node2_inputs has one option"):
        RankingConfig(space="darts", split_on=("normal_node2_inputs",)).validate()
    assert main(["oneshot", "train", "--space", "darts", "--data", "digits", "--epochs", "1", "--C", "2",
                 "--few-shot-split", "normal_node2_inputs", "--out", str(tmp_path / "ck")]) == 2
    out, err = capsys.readouterr()
    assert f"--few-shot-split: {message}" in err and len(err.strip().splitlines()) == 1 and "trained" not in out
    assert not (tmp_path / "ck").exists()
