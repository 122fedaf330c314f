// lathe web UI: the little interaction the server-rendered pages need.
// Everything works without this script; it adds hover values and a keyboard
// cursor on charts, a key filter in the column chooser, and run selection.
// Text is only ever set with textContent, never as HTML.
"use strict";

(function () {
  var SVG = "http://www.w3.org/2000/svg";

  function fmt(v) {
    if (!isFinite(v)) return String(v);
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    var a = Math.abs(v);
    if (a >= 1e-3 && a < 1e9) return v.toFixed(4);
    return v.toExponential(3);
  }

  function nearest(xs, x) {
    var lo = 0, hi = xs.length - 1;
    if (hi < 0) return -1;
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (xs[mid] < x) lo = mid; else hi = mid;
    }
    return Math.abs(xs[lo] - x) <= Math.abs(xs[hi] - x) ? lo : hi;
  }

  function chart(svg) {
    var box = svg.getAttribute("data-box").split(" ").map(Number);
    var dom = svg.getAttribute("data-dom").split(" ").map(Number);
    var flat = JSON.parse(svg.getAttribute("data-xy"));
    var xname = svg.getAttribute("data-xname") || "step";
    var series = flat.map(function (f) {
      var xs = [], ys = [];
      for (var i = 0; i + 1 < f.length; i += 2) { xs.push(f[i]); ys.push(f[i + 1]); }
      return { xs: xs, ys: ys };
    });
    var figure = svg.closest("figure");
    var legend = figure.querySelectorAll(".legend li");
    var title = figure.querySelector(".chart-title");
    var labels = series.map(function (_, i) {
      return legend[i] ? legend[i].textContent : (title ? title.textContent : "");
    });
    var allX = [];
    series.forEach(function (s) { allX = allX.concat(s.xs); });
    allX.sort(function (a, b) { return a - b; });
    allX = allX.filter(function (x, i) { return i === 0 || x !== allX[i - 1]; });
    var tip = figure.querySelector(".tip");
    var plot = figure.querySelector(".plot");
    var cursor = document.createElementNS(SVG, "line");
    cursor.setAttribute("class", "cursor");
    cursor.setAttribute("y1", box[1]);
    cursor.setAttribute("y2", box[1] + box[3]);
    cursor.style.display = "none";
    svg.appendChild(cursor);
    var dots = series.map(function (_, i) {
      var c = document.createElementNS(SVG, "circle");
      c.setAttribute("r", "3.5");
      c.setAttribute("class", "hover-dot s" + (i % 10));
      c.style.display = "none";
      svg.appendChild(c);
      return c;
    });
    var px = function (x) { return box[0] + (x - dom[0]) / (dom[1] - dom[0]) * box[2]; };
    var py = function (y) { return box[1] + (1 - (y - dom[2]) / (dom[3] - dom[2])) * box[3]; };
    var index = -1;

    function show(x) {
      var cx = px(x);
      cursor.setAttribute("x1", cx);
      cursor.setAttribute("x2", cx);
      cursor.style.display = "";
      tip.textContent = "";
      var head = document.createElement("div");
      head.textContent = xname + " " + fmt(x);
      tip.appendChild(head);
      series.forEach(function (s, i) {
        var j = nearest(s.xs, x);
        if (j < 0) { dots[i].style.display = "none"; return; }
        dots[i].setAttribute("cx", px(s.xs[j]));
        dots[i].setAttribute("cy", py(s.ys[j]));
        dots[i].style.display = "";
        var row = document.createElement("div");
        var name = document.createElement("b");
        name.textContent = labels[i] + ": ";
        row.appendChild(name);
        row.appendChild(document.createTextNode(fmt(s.ys[j]) + (s.xs[j] !== x ? " (" + xname + " " + fmt(s.xs[j]) + ")" : "")));
        tip.appendChild(row);
      });
      tip.hidden = false;
      var scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
      var left = cx * scale + 12;
      if (left + tip.offsetWidth > plot.clientWidth) left = cx * scale - tip.offsetWidth - 12;
      tip.style.left = Math.max(0, left) + "px";
      tip.style.top = (box[1] * scale) + "px";
    }

    function hide() {
      cursor.style.display = "none";
      dots.forEach(function (d) { d.style.display = "none"; });
      tip.hidden = true;
    }

    svg.addEventListener("pointermove", function (e) {
      var r = svg.getBoundingClientRect();
      var vx = (e.clientX - r.left) / r.width * svg.viewBox.baseVal.width;
      var x = dom[0] + (vx - box[0]) / box[2] * (dom[1] - dom[0]);
      index = nearest(allX, x);
      if (index >= 0) show(allX[index]);
    });
    svg.addEventListener("pointerleave", hide);
    svg.addEventListener("blur", hide);
    svg.addEventListener("focus", function () {
      if (index < 0) index = allX.length - 1;
      if (index >= 0) show(allX[index]);
    });
    svg.addEventListener("keydown", function (e) {
      var step = e.shiftKey ? Math.max(1, Math.round(allX.length / 20)) : 1;
      if (e.key === "ArrowRight") index = Math.min(allX.length - 1, index + step);
      else if (e.key === "ArrowLeft") index = Math.max(0, index - step);
      else if (e.key === "Home") index = 0;
      else if (e.key === "End") index = allX.length - 1;
      else if (e.key === "Escape") { hide(); return; }
      else return;
      e.preventDefault();
      if (index >= 0) show(allX[index]);
    });
  }

  function chooser(details) {
    var find = details.querySelector(".col-filter");
    var input = details.querySelector("[data-col-filter]");
    var boxes = details.querySelectorAll("label.col");
    if (find && input) {
      find.hidden = false;
      input.addEventListener("input", function () {
        var q = input.value.toLowerCase();
        boxes.forEach(function (l) { l.hidden = q !== "" && l.textContent.toLowerCase().indexOf(q) < 0; });
      });
      input.addEventListener("keydown", function (e) { if (e.key === "Enter") e.preventDefault(); });
    }
    details.querySelectorAll("[data-cols]").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () {
        var on = b.getAttribute("data-cols") === "all";
        boxes.forEach(function (l) { if (!l.hidden) l.querySelector("input").checked = on; });
      });
    });
  }

  function selection() {
    var button = document.querySelector("[data-compare]");
    if (!button) return;
    var count = document.querySelector("[data-compare-count]");
    var boxes = document.querySelectorAll("input[form=compare][name=runs]");
    var all = document.querySelector("[data-pick-all]");
    function update() {
      var n = 0;
      boxes.forEach(function (b) { if (b.checked) n++; });
      button.disabled = n === 0;
      count.textContent = n === 0 ? "select runs to compare" : n + " selected";
      if (all) all.checked = n > 0 && n === boxes.length;
    }
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    if (all) {
      all.hidden = false;
      all.addEventListener("change", function () {
        boxes.forEach(function (b) { b.checked = all.checked; });
        update();
      });
    }
    update();
  }

  function init() {
    document.querySelectorAll(".plot svg[data-xy]").forEach(chart);
    document.querySelectorAll("details.columns").forEach(chooser);
    selection();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
