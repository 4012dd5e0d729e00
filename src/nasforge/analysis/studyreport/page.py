"""Page assembly: the views in one HTML document, with plotly.js inlined (or served) and the page script.

The script draws every embedded figure, makes tables sortable and filterable, shows the diagram of
the trial clicked in a plot or a table, and, on a live (dashboard) page, polls a version URL and
swaps in the new views when trials change, keeping the selection, sort order and filter.
"""

from __future__ import annotations

import functools
import json
import time
from html import escape

CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#24323f;color:#fff;padding:10px 20px}header h1{font-size:20px;margin:0 0 4px}
header a{color:#cfe3ff;margin-right:12px;font-size:13px}header .nf-meta{font-size:12px;color:#c8d0d8}
main{padding:8px 20px 40px}section{background:#fff;border:1px solid #e2e2e2;border-radius:6px;margin:14px 0;padding:6px 16px 14px}
h2{font-size:17px;margin:10px 0 6px}h3{font-size:14px;margin:12px 0 6px}.nf-note{font-size:12.5px;color:#555;margin:2px 0 8px}
.nf-row{display:flex;flex-wrap:wrap;gap:8px}.nf-row>.nf-plot{flex:1 1 480px;min-width:380px}
table{border-collapse:collapse;font-size:12.5px}td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f7;position:sticky;top:0}.nf-sortable th{cursor:pointer;user-select:none}
.nf-sortable th.nf-asc:after{content:" \\25B2"}.nf-sortable th.nf-desc:after{content:" \\25BC"}
tr.nf-select{cursor:pointer}tr.nf-select:hover{background:#eef5ff}tr.nf-selected{background:#dcebff}
.nf-scroll{max-height:520px;overflow:auto;border:1px solid #eee}.nf-summary td:first-child{color:#555;white-space:nowrap}
td{max-width:620px;overflow-wrap:anywhere}#nf-filter{width:320px;padding:4px;margin:4px 0 8px}
.nf-diagram{overflow-x:auto;margin:6px 0}#nf-live{font-size:12px;color:#9fe29f}
"""

SCRIPT = r"""
(function(){
  var state = {sort: null, dir: 1, filter: "", selected: null};
  function draw(root){
    root.querySelectorAll("script.nf-fig").forEach(function(s){
      var div = document.getElementById(s.dataset.target); if(!div) return;
      var fig = JSON.parse(s.textContent), layout = fig.layout || {};
      layout.template = window.NF_TEMPLATE;
      Plotly.newPlot(div, fig.data, layout, {responsive: true, displaylogo: false});
      div.on("plotly_click", function(ev){
        var p = ev.points && ev.points[0];
        if(p && p.customdata && p.customdata.length) select(p.customdata[0]);
      });
    });
  }
  function select(number){
    var view = document.getElementById("nf-arch-view"); if(!view) return;
    var tpl = document.getElementById("nf-arch-" + number);
    view.innerHTML = "";
    var text = tpl ? null : textForm(number);
    if(tpl){ view.appendChild(tpl.content.cloneNode(true)); }
    else if(text){ view.appendChild(text); }
    else { view.textContent = "No diagram embedded for trial " + number + "."; }
    view.dataset.selected = String(number); state.selected = String(number);
    document.querySelectorAll("tr.nf-selected").forEach(function(r){ r.classList.remove("nf-selected"); });
    document.querySelectorAll('tr[data-number="' + number + '"]').forEach(function(r){ r.classList.add("nf-selected"); });
  }
  window.nfSelect = select;
  var forms = {source: null, data: null};
  function textForm(number){  // a trial without a diagram: its details table, from the page's one JSON of them
    var source = document.getElementById("nf-arch-text"); if(!source) return null;
    if(forms.source !== source){ forms = {source: source, data: JSON.parse(source.textContent)}; }
    var t = forms.data.trials[String(number)]; if(!t) return null;
    var out = document.createDocumentFragment(), p = document.createElement("p");
    p.textContent = "No diagram embedded for trial " + number + " (the page holds " + forms.data.holds +
      "); its text form:";
    var table = document.createElement("table"), head = table.createTHead().insertRow(), body = table.createTBody();
    table.className = "nf-summary";
    head.appendChild(document.createElement("th")); head.appendChild(document.createElement("th"));
    var rows = [["trial", String(number)], ["state", t[0]], ["architecture", t[1]]];
    if(t[2] !== null) rows.push(["budget", t[2]]);
    for(var i = 0; i < t[3].length; i += 2) rows.push([forms.data.keys[t[3][i]], String(t[3][i + 1])]);
    rows.forEach(function(r){
      var row = body.insertRow(); row.insertCell().textContent = r[0]; row.insertCell().textContent = r[1];
    });
    out.appendChild(p); out.appendChild(table); return out;
  }
  function cellValue(row, k){
    var text = row.children[k] ? row.children[k].textContent.trim() : "";
    var lead = text.replace(/ \([^()]*\)$/, "");  // a number with a note ("62.6 (at epochs=4 of 12)") sorts as one
    return {text: text, num: (lead !== "" && isFinite(lead)) ? parseFloat(lead) : null};
  }
  function textCompare(a, b){  // numbers inside text by value: {"fraction": 0.125} before 0.25, 1; a number glued to
    // a letter or a dot is a run of digits (k3e10, v1.10 after v1.9), only a standalone one a decimal or exponent
    var number = /((?<![\w.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])|\d+)/, pa = a.split(number), pb = b.split(number);
    for(var i = 0; i < Math.min(pa.length, pb.length); i++){
      if(pa[i] === pb[i]) continue;
      var d = i % 2 ? parseFloat(pa[i]) - parseFloat(pb[i]) : 0;  // split puts the numbers at odd places
      if(d) return d < 0 ? -1 : 1;
      return pa[i].localeCompare(pb[i]);
    }
    return pa.length - pb.length;
  }
  function sortTable(table, k, dir){
    var body = table.tBodies[0]; var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function(a, b){
      var x = cellValue(a, k), y = cellValue(b, k);
      if(x.num !== null && y.num !== null) return dir * (x.num - y.num);
      if(x.num !== null) return -1; if(y.num !== null) return 1;
      return dir * textCompare(x.text, y.text);
    });
    rows.forEach(function(r){ body.appendChild(r); });
    table.querySelectorAll("th").forEach(function(th, i){
      th.classList.toggle("nf-asc", i === k && dir === 1); th.classList.toggle("nf-desc", i === k && dir === -1);
    });
  }
  function filterRows(){
    var table = document.getElementById("nf-trials-table"); if(!table) return;
    var needle = state.filter.toLowerCase(), shown = 0, rows = table.tBodies[0].rows;
    for(var i = 0; i < rows.length; i++){
      var ok = !needle || rows[i].textContent.toLowerCase().indexOf(needle) >= 0;
      rows[i].style.display = ok ? "" : "none"; if(ok) shown++;
    }
    var count = document.getElementById("nf-filter-count");
    if(count) count.textContent = shown + " of " + rows.length + " trials";
  }
  function tables(root){
    root.querySelectorAll("table.nf-sortable").forEach(function(table){
      table.querySelectorAll("th").forEach(function(th, k){
        th.addEventListener("click", function(){
          var dir = (table.dataset.sortCol === String(k) && table.dataset.sortDir === "1") ? -1 : 1;
          table.dataset.sortCol = String(k); table.dataset.sortDir = String(dir);
          if(table.id === "nf-trials-table"){ state.sort = k; state.dir = dir; }
          sortTable(table, k, dir);
        });
      });
    });
    root.querySelectorAll("tr.nf-select").forEach(function(row){
      row.addEventListener("click", function(){ select(row.dataset.number); });
    });
    var box = document.getElementById("nf-filter");
    if(box){ box.value = state.filter; box.addEventListener("input", function(){ state.filter = box.value; filterRows(); }); }
    var trials = document.getElementById("nf-trials-table");
    if(trials && state.sort !== null){ trials.dataset.sortCol = String(state.sort); trials.dataset.sortDir = String(state.dir); sortTable(trials, state.sort, state.dir); }
    filterRows();
  }
  function init(root){
    draw(root); tables(root);
    var view = document.getElementById("nf-arch-view");
    if(view){ var n = state.selected || view.dataset.initial; if(n) select(n); }
  }
  function answer(r){  // r when it is OK; else an error with the server's line (gone: HTTP 404)
    if(r.ok) return r;
    return r.text().then(function(text){
      var e = new Error(text.split("\n")[0] || (r.status + " " + r.statusText)); e.gone = r.status === 404; throw e;
    });
  }
  function now(){
    var d = new Date(), p = function(n){ return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " + p(d.getHours()) + ":" +
      p(d.getMinutes()) + ":" + p(d.getSeconds());
  }
  function live(cfg){
    var version = cfg.version, busy = false, label = document.getElementById("nf-live");
    var timer = setInterval(function(){
      if(busy) return; busy = true;
      var url = cfg.versionUrl + (cfg.versionUrl.indexOf("?") < 0 ? "?" : "&") + "since=" + encodeURIComponent(version);
      fetch(url, {cache: "no-store"}).then(answer).then(function(r){ return r.json(); }).then(function(v){
        if(v.version === version){ if(label) label.textContent = "live: up to date " + new Date().toLocaleTimeString(); return null; }
        var body = fetch(cfg.bodyUrl, {cache: "no-store"}).then(answer);
        return body.then(function(r){ return r.text(); }).then(function(html){
          var main = document.getElementById("nf-main");
          main.querySelectorAll(".nf-plot").forEach(function(d){ if(window.Plotly) Plotly.purge(d); });
          main.innerHTML = html; version = v.version; init(main);
          var generated = document.getElementById("nf-generated"); if(generated) generated.textContent = now();
          if(label) label.textContent = "live: updated " + new Date().toLocaleTimeString();
        });
      }).catch(function(e){
        var line = e.gone ? "stopped: this study was deleted or renamed" : (e.message || String(e));
        if(e.gone) clearInterval(timer);
        if(label) label.textContent = "live: " + line;
      }).then(function(){ busy = false; });
    }, cfg.interval);
  }
  document.addEventListener("DOMContentLoaded", function(){
    init(document);
    if(window.NF_LIVE) live(window.NF_LIVE);
  });
})();
"""


PAGE_START = '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>nasforge'
"""How every page nasforge writes begins (its titles all start with "nasforge"): how an earlier report is
recognised before it is replaced."""


TEMPLATE = "plotly_white"
"""The plotly template of every figure on a page: embedded once in the page and applied by the page script (a
template applied by plotly in Python costs about 0.15 s of CPU a figure and 6.5 kB of JSON in each)."""


@functools.lru_cache(maxsize=1)
def template_json() -> str:
    """:data:`TEMPLATE` as JSON, safe inside a ``<script>``."""
    import plotly.io as pio

    return json.dumps(pio.templates[TEMPLATE].to_plotly_json()).replace("</", "<\\/")


def plotly_js() -> str:
    """The plotly.js bundle shipped with the plotly package (no network)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def render_page(title: str, sections: list[str], subtitle: str = "", plotly_src: str | None = None,
                live: dict | None = None) -> str:
    """One HTML document. ``plotly_src`` None inlines plotly.js (self-contained file), else loads it from
    that URL; ``live`` = ``{"versionUrl", "bodyUrl", "version", "interval"}`` makes the page refresh itself."""
    if plotly_src is None:
        plotly = f"<script>{plotly_js()}</script>"
    else:
        plotly = f'<script src="{escape(plotly_src)}"></script>'
    live_js = f"<script>window.NF_LIVE = {json.dumps(live)};</script>" if live else ""
    template = f"<script>window.NF_TEMPLATE = {template_json()};</script>"
    nav = "".join(f'<a href="#nf-{key}">{label}</a>' for key, label in _nav(sections))
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    live_label = '<span id="nf-live">live</span>' if live else ""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><style>{CSS}</style>{plotly}'
            f'{template}{live_js}<script>{SCRIPT}</script></head><body><header><h1>{escape(title)}</h1>'
            f'<div class="nf-meta">{escape(subtitle)} &middot; generated <span id="nf-generated">{stamp}</span> '
            f'by nasforge {live_label}</div>'
            f'<nav>{nav}</nav></header><main id="nf-main">{"".join(sections)}</main></body></html>')


def _nav(sections: list[str]) -> list[tuple[str, str]]:
    """(id, heading) of each section, read back from its HTML."""
    out = []
    for html in sections:
        start = html.find('id="nf-') + len('id="nf-')
        key = html[start:html.find('"', start)]
        h_start = html.find("<h2>") + 4
        out.append((key, html[h_start:html.find("</h2>", h_start)]))
    return out
