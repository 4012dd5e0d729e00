"""Structural checks of saved XGBoost JSON and LightGBM text models before the native library parses them.

Both libraries trust the trees they read: a child index out of range or a split on a column the input
does not have reads outside memory (a crash), a child cycle loops forever at prediction, and LightGBM
aborts the process on a tree it cannot parse. These checks refuse such files with an ``UnsafeFileError``:
every tree must be a tree (each node reached once from the root, children in range), split on one of the
``n_features`` encoded columns, without categorical or linear parts (nasforge never writes them), and, for
LightGBM, lie where the header's ``tree_sizes`` says. They are no proof of safety against a crafted file:
the checksum in ``predictor.json`` is what tells a saved model from a changed one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..exceptions import UnsafeFileError

# LightGBM tree fields with one entry per internal node (required / may be there) or per leaf (may be there;
# leaf_value, required, is checked before them)
_LGB_NODE_FIELDS = ("split_feature", "threshold", "decision_type", "left_child", "right_child")
_LGB_OPTIONAL_NODE_FIELDS = ("split_gain", "internal_value", "internal_weight", "internal_count")
_LGB_OPTIONAL_LEAF_FIELDS = ("leaf_weight", "leaf_count")
_XGB_NODE_FIELDS = ("left_children", "right_children", "parents", "split_indices", "split_conditions",
                    "default_left", "split_type", "base_weights", "loss_changes", "sum_hessian")


class _Damaged(ValueError):
    """What is wrong with a model file (turned into an UnsafeFileError naming the file)."""


def read_model_text(path: Path, kind: str) -> str:
    """The text of a saved ``kind`` ("XGBoost JSON", "LightGBM text") model file; one that is not UTF-8 text (binary,
    such as pickle bytes) is an ``UnsafeFileError`` saying so."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UnsafeFileError(f"{path} is not a {kind} model file (it holds bytes that are not text: replaced?)") \
            from None


def check_xgboost_json(path: Path, text: str, n_features: int) -> None:
    """Refuse an XGBoost JSON model (``text``, read from ``path``) that is not a regression forest on
    ``n_features`` columns."""
    try:
        try:
            model = json.loads(text)
        except ValueError:
            raise _Damaged("it is not JSON (truncated or replaced)") from None
        columns = _whole(model, "learner.learner_model_param.num_feature")
        _expect(columns == n_features, f"it is fitted on {columns} columns, not {n_features}")
        name = _field(model, "learner.gradient_booster.name")
        _expect(name == "gbtree", f"booster {name!r} is not the 'gbtree' nasforge saves")
        trees = _field(model, "learner.gradient_booster.model.trees")
        _expect(isinstance(trees, list), "field 'learner.gradient_booster.model.trees' is not a list")
        for i, tree in enumerate(trees):
            _check_xgb_tree(tree, n_features, f"tree {i}")
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise UnsafeFileError(f"{path} is not a valid XGBoost model of this predictor: {_reason(exc)}") from None


def _check_xgb_tree(tree: Any, n_features: int, where: str) -> None:
    _expect(isinstance(tree, dict), f"{where} is not an object")
    size = _whole(tree, "tree_param.num_nodes", where)
    _expect(size >= 1, f"{where} has no nodes")
    for field in _XGB_NODE_FIELDS:
        value = _field(tree, field, where)
        _expect(isinstance(value, list) and len(value) == size, f"{where}: field {field!r} does not have its {size} "
                                                                "nodes")
    _expect(not any(tree["split_type"]) and not tree.get("categories_nodes"), f"{where} has categorical splits")
    left, right, feature = (tree[k] for k in ("left_children", "right_children", "split_indices"))
    for field, values in (("left_children", left), ("right_children", right), ("split_indices", feature)):
        _expect(all(type(v) is int for v in values), f"{where}: field {field!r} holds a value that is not a whole "
                                                     "number")
    _walk(lambda n: () if left[n] == -1 and right[n] == -1 else (left[n], right[n]),
          lambda n: 0 <= feature[n] < n_features, size, where)


def _field(data: Any, path: str, where: str = "") -> Any:
    """The value at the dotted ``path`` of nested JSON objects; a ``_Damaged`` naming the first field that is
    missing or not an object (``where``: the part of the file, e.g. "tree 3")."""
    value, walked, prefix = data, "", f"{where}: " if where else ""
    for key in path.split("."):
        if not isinstance(value, dict):
            raise _Damaged(f"{prefix}field {walked!r} is not an object" if walked else
                           f"{where or 'the file'} is not a JSON object")
        walked = f"{walked}.{key}" if walked else key
        if key not in value:
            raise _Damaged(f"{prefix}field {walked!r} is missing")
        value = value[key]
    return value


def _whole(data: Any, path: str, where: str = "") -> int:
    """The field at ``path`` (as :func:`_field`) as a whole number (XGBoost writes some as text, e.g. "58")."""
    value = _field(data, path, where)
    try:
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            return int(value)
    except ValueError:
        pass
    raise _Damaged(f"{where + ': ' if where else ''}field {path!r} is not a whole number: {value!r:.40}")


def check_lightgbm_text(path: Path, text: str, n_features: int) -> None:
    """Refuse a LightGBM text model (``text``, read from ``path``) that is cut short, whose trees are not where
    ``tree_sizes`` puts them, or that is not a regression forest on ``n_features`` columns."""
    if "\nend of trees\n" not in text or "\nend of parameters\n" not in text:
        raise UnsafeFileError(f"{path} is not a complete LightGBM model file (truncated or replaced)")
    try:
        raw = text.encode("utf-8")
        header, _, body = raw.partition(b"\n\nTree=")
        fields = _key_values(header.decode().splitlines()[1:], "the header")
        _expect(int(fields["max_feature_idx"]) + 1 == n_features,
                f"it is fitted on {int(fields['max_feature_idx']) + 1} columns, not {n_features}")
        _expect(fields["num_class"] == "1" and fields["num_tree_per_iteration"] == "1", "it is not a regression")
        start = len(header) + 2  # LightGBM reads tree i at this offset + the sizes of the trees before it
        for i, size in enumerate(int(s) for s in fields["tree_sizes"].split()):
            block = raw[start:start + size].decode()
            _expect(block.startswith(f"Tree={i}\n"), f"tree {i} is not where the header's tree_sizes puts it")
            _check_lgb_tree(block, n_features, f"tree {i}")
            start += size
        _expect(raw[start:].startswith(b"end of trees\n"), "its trees do not end where the header's tree_sizes says")
    except (ValueError, KeyError, IndexError) as exc:
        raise UnsafeFileError(f"{path} is not a valid LightGBM model of this predictor: {_reason(exc)}") from None


def _check_lgb_tree(block: str, n_features: int, where: str) -> None:
    fields = _key_values(block.splitlines()[1:], where)
    leaves = int(fields["num_leaves"])
    _expect(leaves >= 1, f"{where} has no leaves")
    _expect(fields["num_cat"] == "0" and fields.get("is_linear", "0") == "0",
            f"{where} has categorical or linear parts")
    _numbers(fields, "leaf_value", leaves, where)
    if leaves == 1:  # LightGBM reads nothing more of a single leaf
        return
    for name in _LGB_NODE_FIELDS:
        _numbers(fields, name, leaves - 1, where)
    optional = dict.fromkeys(_LGB_OPTIONAL_NODE_FIELDS, leaves - 1) | dict.fromkeys(_LGB_OPTIONAL_LEAF_FIELDS, leaves)
    for name, count in optional.items():
        if name in fields:
            _numbers(fields, name, count, where)
    left, right, feature, kind = ([int(v) for v in fields[k].split()]
                                  for k in ("left_child", "right_child", "split_feature", "decision_type"))
    _expect(not any(k & 1 for k in kind), f"{where} has categorical splits")

    def node(child: int) -> int:
        """Splits are nodes 0..leaves-2, leaf j (written ~j, a negative number) is node leaves-1+j; -1: invalid."""
        if child < 0:
            return leaves - 1 + ~child
        elif child < leaves - 1:
            return child
        return -1

    _walk(lambda n: () if n >= leaves - 1 else (node(left[n]), node(right[n])),
          lambda n: 0 <= feature[n] < n_features, 2 * leaves - 1, where, complete=True)


def _walk(children: Callable[[int], Sequence[int]], splits_ok: Callable[[int], bool], size: int, where: str,
          complete: bool = False) -> None:
    """Walk a tree of ``size`` nodes from node 0: each child in range and reached once (no cycle, no shared
    node), each split on a valid column; ``complete``: every node reached."""
    seen, stack = {0}, [0]
    while stack:
        node = stack.pop()
        below = children(node)
        if not below:
            continue
        _expect(splits_ok(node), f"{where}: node {node} splits on a column the encoding does not have")
        for child in below:
            _expect(0 < child < size and child not in seen, f"{where}: node {node} has a child out of range or "
                                                            "reached twice (a cycle)")
            seen.add(child)
            stack.append(child)
    _expect(not complete or len(seen) == size, f"{where}: {size - len(seen)} node(s) are not reached from the root")


def _key_values(lines: list[str], where: str) -> dict[str, str]:
    """The ``key=value`` lines of a LightGBM header or tree (blank lines skipped)."""
    bad = next((line for line in lines if line and "=" not in line), None)
    _expect(bad is None, f"{where} has a line that is not key=value: {bad!r:.60}")
    return dict(line.split("=", 1) for line in lines if line)


def _numbers(fields: dict[str, str], name: str, count: int, where: str) -> None:
    """Field ``name`` must hold ``count`` numbers (a ValueError names a bad one)."""
    values = fields[name].split()
    _expect(len(values) == count, f"{where}: field {name!r} does not have {count} entries")
    for value in values:
        float(value)


def _expect(condition: bool, problem: str) -> None:
    if not condition:
        raise _Damaged(problem)


def _reason(exc: Exception) -> str:
    if isinstance(exc, _Damaged):
        return str(exc)
    if isinstance(exc, KeyError):
        return f"field {exc} is missing"
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
