"""Architecture diagrams as standalone SVG: NAS-Bench-201 and DARTS cells, NAS-Bench-101 cells and chains.

``architecture_svg(space, arch)`` picks the drawing from the architecture's space; every drawing is
a plain ``<svg>`` string (no external fonts, scripts or links), so it can be inlined in HTML or
saved as a ``.svg`` file. Operations label the edges of cell spaces (nb201, darts), the nodes of
NAS-Bench-101 cells and the boxes of chains.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from ..spaces import Architecture, SearchSpace
from ..spaces.nb101 import live_nodes

_FONT = "font-family:Helvetica,Arial,sans-serif"
_OP_COLORS = {  # one colour per operation family, so equal ops look equal across diagrams
    "none": "#bbbbbb", "zero": "#bbbbbb", "skip": "#7f7f7f", "identity": "#7f7f7f",
    "conv": "#1f77b4", "sep_conv": "#1f77b4", "dil_conv": "#17becf", "pool": "#2ca02c", "mbconv": "#9467bd",
}


def op_color(op: str) -> str:
    """Colour of an operation, by family (skip, convolution, pooling, ...)."""
    if op in _OP_COLORS:
        return _OP_COLORS[op]
    for key in ("skip", "dil_conv", "sep_conv", "mbconv", "pool", "conv"):
        if key in op:
            return _OP_COLORS[key]
    return "#d62728"


def architecture_svg(space: SearchSpace, arch: Architecture) -> str:
    """The diagram of ``arch``: nb201 and darts cells with op-labelled edges, nb101 cells with op-labelled
    nodes, chains as a row of layer boxes; any other space as a list of its categorical choices."""
    genotype = arch.genotype
    if arch.space == "nb201":
        from ..spaces.nb201 import NB201_EDGES

        return _cell_svg(["in", "1", "2", "out"], [(i, j, op) for (i, j), op in zip(NB201_EDGES, genotype)])
    if arch.space == "darts":
        return _darts_svg(genotype)
    if arch.space == "nb101":
        return _nb101_svg(genotype)
    if hasattr(space, "layers"):  # chain spaces (any name)
        return _chain_svg(list(genotype), getattr(space, "stages", ()))
    return _params_svg(space.to_params(arch))


# -- drawing primitives ------------------------------------------------------------------------
def _svg(width: float, height: float, body: list[str], title: str = "") -> str:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="nf-arch" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" style="{_FONT}">')
    defs = ('<defs><marker id="nf-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>')
    caption = f'<text x="6" y="14" font-size="12" font-weight="bold">{escape(title)}</text>' if title else ""
    return head + defs + caption + "".join(body) + "</svg>"


def _node(x: float, y: float, label: str, fill: str = "#ffffff", r: float = 16, faded: bool = False) -> str:
    opacity = ' opacity="0.35"' if faded else ""
    return (f'<g{opacity}><circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}" stroke="#333" stroke-width="1.5"/>'
            f'<text x="{x:.1f}" y="{y + 4:.1f}" font-size="11" text-anchor="middle">{escape(label)}</text></g>')


def _label(x: float, y: float, text: str, color: str) -> str:
    width = _label_width(text)
    return (f'<rect x="{x - width / 2:.1f}" y="{y - 8:.1f}" width="{width:.1f}" height="15" rx="3" fill="#ffffff" '
            f'stroke="{color}" stroke-width="0.8"/><text class="nf-op" x="{x:.1f}" y="{y + 3.5:.1f}" font-size="10.5" '
            f'text-anchor="middle" fill="{color}">{escape(text)}</text>')


def _label_width(text: str) -> float:
    return 6.2 * len(text) + 6


Point = Callable[[float], tuple[float, float]]


def _arc(x1: float, x2: float, y: float, lift: float, color: str, dashed: bool = False,
         r: float = 16) -> tuple[str, Point]:
    """A quadratic arc from node x1 to node x2 on the line ``y`` (``lift`` > 0 bends up); returns the
    path and the point at parameter t in [0, 1] along it."""
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    if lift == 0:
        a, b = x1 + r, x2 - r
        path = f'M{a:.1f},{y:.1f} L{b:.1f},{y:.1f}'

        def point(t: float) -> tuple[float, float]:
            return a + t * (b - a), y
    else:
        y0 = y - (r if lift > 0 else -r)
        cx, cy = (x1 + x2) / 2, y - 2 * lift
        path = f'M{x1:.1f},{y0:.1f} Q{cx:.1f},{cy:.1f} {x2:.1f},{y0:.1f}'

        def point(t: float) -> tuple[float, float]:
            u = 1 - t
            return u * u * x1 + 2 * u * t * cx + t * t * x2, u * u * y0 + 2 * u * t * cy + t * t * y0
    return (f'<path d="{path}" fill="none" stroke="{color}" stroke-width="1.6"{dash} '
            f'marker-end="url(#nf-arrow)"/>'), point


class _Labels:
    """Op labels placed along their edges where they overlap no label placed before (the middle first)."""

    SPOTS = (0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8)

    def __init__(self) -> None:
        self.boxes: list[tuple[float, float, float, float]] = []
        self.svg: list[str] = []

    def add(self, point: Point, text: str, color: str) -> None:
        half_w, half_h = _label_width(text) / 2 + 2, 9.5
        spots = [point(t) for t in self.SPOTS]
        x, y = next(((x, y) for x, y in spots if not any(
            abs(x - bx) < half_w + bw and abs(y - by) < half_h + bh for bx, by, bw, bh in self.boxes)), spots[0])
        self.boxes.append((x, y, half_w, half_h))
        self.svg.append(_label(x, y, text, color))


def _cell_svg(nodes: list[str], edges: list[tuple[int, int, str]], title: str = "") -> str:
    """Nodes on a line, an arc per edge labelled with its op (span 1 straight, even spans above, odd below)."""
    dx, margin = 150, 30
    n = len(nodes)
    spans = [j - i for i, j, _ in edges]
    up = max([s for s in spans if s > 1 and s % 2 == 0], default=0)
    down = max([s for s in spans if s > 1 and s % 2 == 1], default=0)
    y = 40 + 26 * up + (14 if title else 0)
    width, height = 2 * margin + dx * (n - 1), y + 26 * down + 40
    xs = [margin + dx * k for k in range(n)]
    lines, labels = [], _Labels()
    for i, j, op in edges:
        span = j - i
        lift = 0 if span == 1 else (13 * span if span % 2 == 0 else -13 * span)
        color = op_color(op)
        path, point = _arc(xs[i], xs[j], y, lift, color, dashed=op in ("none", "zero"))
        lines.append(path)
        labels.add(point, op, color)
    body = lines + [_node(xs[k], y, label) for k, label in enumerate(nodes)] + labels.svg
    return _svg(width, height, body, title)


# -- spaces --------------------------------------------------------------------------------------
def _darts_svg(genotype: tuple) -> str:
    """Both DARTS cells, one above the other: inputs c_{k-2}, c_{k-1}, nodes 2..5, their concat as output."""
    parts = []
    for title, cell in zip(("normal cell", "reduction cell"), genotype):
        edges = [(src, 2 + k // 2, op) for k, (op, src) in enumerate(cell)]
        parts.append(_darts_cell(title, edges))
    width = max(w for _, w, _ in parts)
    height = sum(h for _, _, h in parts)
    body, offset = [], 0.0
    for inner, _, h in parts:
        body.append(f'<g transform="translate(0,{offset:.0f})">{inner}</g>')
        offset += h
    return _svg(width, height, body)


def _darts_cell(title: str, edges: list[tuple[int, int, str]]) -> tuple[str, float, float]:
    dx, margin = 140, 34
    names = ["c_{k-2}", "c_{k-1}", "2", "3", "4", "5", "out"]
    xs = [margin + dx * k for k in range(len(names))]
    up = max([j - i for i, j, _ in edges], default=1)
    y = 48 + 22 * up
    lines, labels = [], _Labels()
    for k, (i, j, op) in enumerate(edges):
        span = j - i
        lift = (0 if span == 1 else 11 * span) * (1 if k % 2 == 0 else -1)
        if span == 1 and k % 2 == 1:
            lift = -14
        color = op_color(op)
        path, point = _arc(xs[i], xs[j], y, lift, color)
        lines.append(path)
        labels.add(point, op, color)
    bus = y + 22 * up + 16  # concat: every intermediate node feeds the output through a bus below
    lines.append(f'<path d="M{xs[2]:.1f},{bus:.1f} L{xs[-1]:.1f},{bus:.1f} L{xs[-1]:.1f},{y + 16:.1f}" fill="none" '
                 f'stroke="#999" stroke-width="1.2" marker-end="url(#nf-arrow)"/>')
    for node in range(2, 6):
        lines.append(f'<path d="M{xs[node]:.1f},{y + 16:.1f} L{xs[node]:.1f},{bus:.1f}" stroke="#999" '
                     f'stroke-width="1.2" stroke-dasharray="2 2"/>')
    fills = ["#f3f3f3", "#f3f3f3", "#ffffff", "#ffffff", "#ffffff", "#ffffff", "#fff7d6"]
    nodes = [_node(x, y, name, fill, r=20 if name.startswith("c_") else 16) for x, name, fill in zip(xs, names, fills)]
    caption = f'<text x="6" y="16" font-size="12" font-weight="bold">{escape(title)}</text>'
    width, height = 2 * margin + dx * (len(names) - 1), bus + 18
    return caption + "".join(lines + nodes + labels.svg), width, height


def _nb101_svg(genotype: tuple) -> str:
    """Nodes in order, labelled with their op; nodes off every input->output path are faded."""
    matrix, ops = genotype
    n = len(ops)
    edges = [(i, j) for i in range(n) for j in range(n) if matrix[i][j]]
    live = live_nodes(matrix)
    dx, margin = 110, 40
    spans = [j - i for i, j in edges]
    up = max([s for s in spans if s > 1 and s % 2 == 0], default=0)
    down = max([s for s in spans if s > 1 and s % 2 == 1], default=0)
    y = 40 + 22 * up
    xs = [margin + dx * k for k in range(n)]
    short = {"conv3x3-bn-relu": "conv3x3", "conv1x1-bn-relu": "conv1x1", "maxpool3x3": "maxpool"}
    lines = []
    for i, j in edges:
        span = j - i
        lift = 0 if span == 1 else (11 * span if span % 2 == 0 else -11 * span)
        path, _ = _arc(xs[i], xs[j], y, lift, "#555", dashed=not ({i, j} <= live), r=22)
        lines.append(path)
    nodes = []
    for k, op in enumerate(ops):
        label = short.get(op, op)
        nodes.append(_node(xs[k], y, label, "#ffffff" if op in ("input", "output") else "#e8f0fa", r=22,
                           faded=k not in live))
    return _svg(2 * margin + dx * (n - 1), y + 22 * down + 44, lines + nodes)


def _chain_svg(choices: list[str], stages: tuple[int, ...] = ()) -> str:
    """A row of layer boxes (skips dashed), wrapped every 8 layers; stage boundaries marked by a bar."""
    per_row, box_w, box_h, gap = 8, 112, 30, 18
    boundaries = set()
    position = 0
    for size in stages or ():
        position += size
        boundaries.add(position)
    rows = (len(choices) + per_row - 1) // per_row
    body = []
    for k, choice in enumerate(choices):
        row, col = divmod(k, per_row)
        x, y = 10 + col * (box_w + gap), 24 + row * (box_h + 34)
        color = op_color(choice)
        dash = ' stroke-dasharray="4 3"' if choice in ("skip", "identity") else ""
        body.append(f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="4" fill="#ffffff" stroke="{color}" '
                    f'stroke-width="1.6"{dash}/><text class="nf-op" x="{x + box_w / 2}" y="{y + 19}" font-size="10.5" '
                    f'text-anchor="middle" fill="{color}">{escape(choice)}</text>'
                    f'<text x="{x + 2}" y="{y - 3}" font-size="9" fill="#888">layer {k}</text>')
        if col < per_row - 1 and k + 1 < len(choices):
            body.append(f'<path d="M{x + box_w},{y + box_h / 2} L{x + box_w + gap},{y + box_h / 2}" stroke="#555" '
                        f'marker-end="url(#nf-arrow)"/>')
        if (k + 1) in boundaries and k + 1 < len(choices):  # a stage ends here
            edge = x + box_w + gap / 2
            body.append(f'<path d="M{edge},{y - 6} L{edge},{y + box_h + 6}" stroke="#333" stroke-width="2"/>')
    width = 20 + min(len(choices), per_row) * (box_w + gap)
    return _svg(width, 24 + rows * (box_h + 34), body)


def _params_svg(params: dict[str, str]) -> str:
    body = [f'<text x="8" y="{20 + 16 * k}" font-size="11">{escape(name)} = {escape(str(value))}</text>'
            for k, (name, value) in enumerate(params.items())]
    width = 16 + 7 * max((len(f"{n} = {v}") for n, v in params.items()), default=10)
    return _svg(width, 28 + 16 * len(params), body)
