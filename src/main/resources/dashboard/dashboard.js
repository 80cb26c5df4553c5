// The pgmesh dashboard: reads /api/status every two seconds and redraws. No library, no build:
// every byte is served from the jar.
"use strict";

const REFRESH_MS = 2000;

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function seconds(v) {
  if (v === undefined || v === null) return "-";
  return v < 1 ? Math.round(v * 1000) + " ms" : v.toFixed(1) + " s";
}

function bytes(v) {
  if (v === undefined || v === null) return "-";
  if (v < 1048576) return Math.round(v / 1024) + " kB";
  if (v < 1073741824) return (v / 1048576).toFixed(1) + " MB";
  return (v / 1073741824).toFixed(1) + " GB";
}

function row(tbody, cells, attrs) {
  const tr = el("tr", attrs);
  for (const c of cells) {
    const td = el("td", c.attrs || {}, c.text);
    if (c.cls) td.className = c.cls;
    tr.appendChild(td);
  }
  tbody.appendChild(tr);
}

function fill(id, rows) {
  const tbody = document.querySelector("#" + id + " tbody");
  tbody.replaceChildren();
  rows(tbody);
}

function lagOf(doc, task) {
  const s = doc.status && doc.status.tasks.find(t => t.task === task);
  return s ? s.lagBytes : null;
}

function drawGraph(doc) {
  const svg = document.getElementById("graph");
  const ns = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  const names = [];
  for (const t of doc.tasks) {
    if (!names.includes(t.source)) names.push(t.source);
    if (!names.includes(t.target)) names.push(t.target);
  }
  const pos = {};
  names.forEach((n, i) => {
    const a = -Math.PI / 2 + 2 * Math.PI * i / Math.max(1, names.length);
    pos[n] = { x: 210 + 120 * Math.cos(a), y: 160 + 110 * Math.sin(a) };
  });
  for (const t of doc.tasks) {
    const a = pos[t.source], b = pos[t.target];
    const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
    const ox = -dy / len * 6, oy = dx / len * 6; // the two directions side by side
    const line = document.createElementNS(ns, "line");
    line.setAttribute("x1", a.x + ox + dx / len * 30); line.setAttribute("y1", a.y + oy + dy / len * 30);
    line.setAttribute("x2", b.x + ox - dx / len * 30); line.setAttribute("y2", b.y + oy - dy / len * 30);
    line.setAttribute("stroke", t.state === "streaming" ? "#2e8540" : "#c0392b");
    line.setAttribute("stroke-width", "3");
    line.setAttribute("data-task", t.task);
    const title = document.createElementNS(ns, "title");
    title.textContent = t.task + ": " + t.state + ", target latency " + seconds(t.latencyTargetSeconds);
    line.appendChild(title);
    svg.appendChild(line);
  }
  for (const n of names) {
    const c = document.createElementNS(ns, "circle");
    c.setAttribute("cx", pos[n].x); c.setAttribute("cy", pos[n].y); c.setAttribute("r", 28);
    const node = doc.status && doc.status.nodes.find(x => x.node === n);
    c.setAttribute("fill", node && !node.reachable ? "#c0392b" : "#1d2430");
    svg.appendChild(c);
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", pos[n].x); label.setAttribute("y", pos[n].y + 5);
    label.setAttribute("text-anchor", "middle"); label.setAttribute("fill", "#fff");
    label.textContent = n;
    svg.appendChild(label);
  }
}

function render(doc) {
  const health = document.getElementById("health");
  health.textContent = doc.health.status;
  health.className = "badge " + (doc.health.status === "ok" ? "ok" : "failing");
  document.getElementById("process").textContent = doc.process;
  document.getElementById("updated").textContent = "updated " + new Date(doc.generatedAt).toLocaleTimeString();
  const warnings = document.getElementById("warnings");
  warnings.replaceChildren();
  for (const f of doc.health.failing) warnings.appendChild(el("li", {}, f.task + ": " + f.why));
  for (const w of doc.health.warnings) warnings.appendChild(el("li", {}, w));
  drawGraph(doc);
  fill("tasks", tbody => {
    for (const t of doc.tasks) {
      row(tbody, [
        { text: t.task },
        { text: t.state, cls: "state-" + t.state, attrs: { "data-field": "state" } },
        { text: seconds(t.latencySourceSeconds), cls: "num", attrs: { "data-field": "latency-source" } },
        { text: seconds(t.latencyTargetSeconds), cls: "num", attrs: { "data-field": "latency-target" } },
        { text: t.rowsPerSecond, cls: "num", attrs: { "data-field": "rows-per-second" } },
        { text: bytes(lagOf(doc, t.task)), cls: "num", attrs: { "data-field": "lag" } },
        { text: t.rowsApplied, cls: "num", attrs: { "data-field": "rows-applied" } },
        { text: t.conflicts, cls: "num", attrs: { "data-field": "conflicts" } },
        { text: t.applyErrors, cls: "num", attrs: { "data-field": "apply-errors" } },
        { text: t.lastError || "", attrs: { "data-field": "last-error" } },
      ], { "data-task": t.task });
    }
  });
  fill("slots", tbody => {
    for (const n of (doc.status ? doc.status.nodes : [])) {
      if (!n.reachable) {
        row(tbody, [{ text: n.node }, { text: n.error, cls: "warn" }, {}, {}, {}, {}], { "data-node": n.node });
        continue;
      }
      for (const s of n.slots) {
        row(tbody, [
          { text: n.node }, { text: s.slot }, { text: s.active ? "active" : "idle" },
          { text: bytes(s.retainedWalBytes), cls: "num" + (s.overBudget ? " warn" : ""),
            attrs: { "data-field": "retained-wal" } },
          { text: s.invalidation ? "INVALIDATED: " + s.invalidation : (s.walStatus || "-") },
          { text: s.safeWalSize === null || s.safeWalSize === undefined ? "unbounded" : bytes(s.safeWalSize), cls: "num" },
        ], { "data-slot": s.slot });
      }
    }
  });
  fill("tables", tbody => {
    for (const t of doc.tasks) {
      for (const s of t.tables) {
        row(tbody, [{ text: t.task }, { text: s.table }, { text: s.inserts, cls: "num" },
          { text: s.updates, cls: "num" }, { text: s.deletes, cls: "num" }, { text: s.truncates, cls: "num" }],
          { "data-task": t.task, "data-table": s.table });
      }
    }
  });
  fill("conflicts", tbody => {
    for (const c of doc.recentConflicts || []) {
      row(tbody, [{ text: new Date(c.recordedAt).toLocaleTimeString() }, { text: c.node }, { text: c.sourceNode },
        { text: c.table }, { text: c.kind === "conflict" ? c.type : "apply error: " + c.type },
        { text: JSON.stringify(c.key) }, { text: c.resolution || c.error || "" }]);
    }
  });
}

async function refresh() {
  try {
    const r = await fetch("/api/status", { cache: "no-store" });
    render(await r.json());
  } catch (e) {
    const health = document.getElementById("health");
    health.textContent = "pgmesh run does not answer";
    health.className = "badge failing";
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
