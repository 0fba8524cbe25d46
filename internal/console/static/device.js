// Thingo console: the device page's live view, control panel, actions,
// history charts and communication log. Uses postJSON and csrf from
// console.js. No dependencies.
"use strict";

(function () {
  const root = document.getElementById("device-page");
  if (!root) { return; }
  const base = root.dataset.base;
  const MAX_LOG = 500;
  const SVG = "http://www.w3.org/2000/svg";

  // ---- helpers -----------------------------------------------------------

  function byId(id) { return document.getElementById(id); }

  // sameValue compares JSON values the way the device means them: true is 1.
  function norm(v) {
    if (v === true) { return 1; }
    if (v === false) { return 0; }
    return v;
  }
  function sameValue(a, b) {
    return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
  }

  function fmtTime(ms) {
    if (!ms) { return "never"; }
    return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  // ---- control status ----------------------------------------------------

  const controlStatus = byId("control-status");
  let pending = null; // {id, value, token, sent, matched, timer}

  function setControlStatus(text, isError) {
    if (!controlStatus) { return; }
    controlStatus.textContent = text;
    controlStatus.classList.toggle("error", !!isError);
    controlStatus.classList.toggle("muted", !isError);
  }

  function confirmPending() {
    if (!pending) { return; }
    clearTimeout(pending.timer);
    pending = null;
    setControlStatus("confirmed", false);
  }

  async function sendControl(id, value) {
    if (pending) { clearTimeout(pending.timer); }
    const p = { id: id, value: value, token: "", sent: false, matched: false, timer: 0 };
    pending = p;
    setControlStatus("sending…", false);
    try {
      const r = await postJSON(base + "/control", { id: id, value: value });
      if (pending !== p) { return; }
      p.token = r.clientToken || "";
      p.sent = true;
      if (p.matched) { confirmPending(); return; }
      p.timer = setTimeout(function () {
        if (pending === p) { setControlStatus("sent; the device has not confirmed yet", false); }
      }, 10000);
    } catch (e) {
      if (pending === p) { pending = null; }
      setControlStatus(e.message, true);
    }
  }

  // ---- property values ---------------------------------------------------

  function showValue(id, entry) {
    const el = byId("prop-" + id);
    if (!el) { return; }
    const v = entry.Value;
    const json = JSON.stringify(v);
    el.dataset.value = json;
    el.textContent = typeof v === "string" ? v : json;
    const label = document.querySelector('[data-label-for="' + id + '"]');
    if (label) {
      let labels = {};
      try { labels = JSON.parse(label.dataset.labels || "{}"); } catch (e) { labels = {}; }
      const key = v === true ? "1" : v === false ? "0" : String(v);
      label.textContent = labels[key] || "";
    }
    const upd = document.querySelector('[data-updated-for="' + id + '"]');
    if (upd && entry.LastUpdate) {
      upd.dataset.ms = String(entry.LastUpdate);
      upd.textContent = fmtTime(entry.LastUpdate);
    }
    syncControl(id, v);
  }

  // syncControl moves a control to the device's value unless the user is
  // using it right now.
  function syncControl(id, v) {
    const c = byId("control-" + id);
    if (!c || c === document.activeElement) { return; }
    if (c.type === "checkbox") {
      c.checked = norm(v) === 1;
    } else if (c.dataset.type === "struct" || c.dataset.type === "array") {
      c.value = JSON.stringify(v);
    } else {
      c.value = String(v);
    }
    const num = byId("control-" + id + "-num");
    if (num && num !== document.activeElement) { num.value = String(v); }
  }

  function applyData(data) {
    if (!data) { return; }
    Object.keys(data).forEach(function (id) { showValue(id, data[id]); });
    if (pending && data[pending.id] && sameValue(data[pending.id].Value, pending.value)) {
      pending.matched = true;
      if (pending.sent) { confirmPending(); }
    }
    refreshChartsSoon();
  }

  function setOnline(on) {
    const el = byId("device-status");
    if (!el) { return; }
    el.textContent = on ? "online" : "offline";
    el.className = on ? "status-online" : "status-offline";
  }

  // ---- control panel -----------------------------------------------------

  function typedValue(el) {
    const t = el.dataset.type;
    if (el.type === "checkbox") { return el.checked ? 1 : 0; }
    const raw = el.value.trim();
    switch (t) {
      case "int": case "float": case "enum": case "timestamp": case "bool":
        if (raw === "") { throw new Error("enter a value"); }
        if (isNaN(Number(raw))) { throw new Error(raw + " is not a number"); }
        return Number(raw);
      case "struct": case "array":
        try { return JSON.parse(raw); } catch (e) { throw new Error("not valid JSON: " + e.message); }
      default:
        return el.value;
    }
  }

  document.querySelectorAll("[data-control]").forEach(function (el) {
    el.addEventListener("change", function () {
      const id = el.dataset.control;
      const num = byId("control-" + id + "-num");
      if (num) { num.value = el.value; }
      try { sendControl(id, typedValue(el)); } catch (e) { setControlStatus(e.message, true); }
    });
  });
  document.querySelectorAll("[data-mirror]").forEach(function (num) {
    num.addEventListener("change", function () {
      const id = num.dataset.mirror;
      const range = byId("control-" + id);
      if (range) { range.value = num.value; }
      try { sendControl(id, typedValue(num)); } catch (e) { setControlStatus(e.message, true); }
    });
  });
  // Text-like controls send on Set (or Enter) and when the field is left
  // changed; the same value is not sent twice in a row.
  document.querySelectorAll("form[data-set]").forEach(function (form) {
    const id = form.dataset.set;
    const el = byId("control-" + id);
    let last = null;
    function send(force) {
      if (!force && el.value === last) { return; }
      last = el.value;
      try { sendControl(id, typedValue(el)); } catch (e) { setControlStatus(e.message, true); }
    }
    form.addEventListener("submit", function (ev) { ev.preventDefault(); send(true); });
    el.addEventListener("change", function () { send(false); });
  });

  // ---- actions -----------------------------------------------------------

  document.querySelectorAll("form[data-action]").forEach(function (form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const id = form.dataset.action;
      const out = byId("action-output-" + id);
      const button = form.querySelector("button[type=submit]");
      const params = {};
      try {
        form.querySelectorAll("[name][data-type]").forEach(function (el) {
          try { params[el.name] = typedValue(el); } catch (e) { throw new Error(el.name + ": " + e.message); }
        });
      } catch (e) {
        out.textContent = e.message;
        out.classList.add("error");
        return;
      }
      out.classList.remove("error");
      out.textContent = "calling…";
      if (button) { button.disabled = true; }
      try {
        const r = await postJSON(base + "/action", { id: id, params: params });
        out.textContent = JSON.stringify(r.output === undefined ? {} : r.output, null, 2);
      } catch (e) {
        out.textContent = e.message;
        out.classList.add("error");
      } finally {
        if (button) { button.disabled = false; }
      }
    });
  });

  // ---- communication log -------------------------------------------------

  const log = byId("comm-log");
  const logEmpty = byId("comm-log-empty");
  const filter = byId("comm-log-filter");
  const pauseButton = byId("comm-log-pause");
  const bySeq = new Map(); // seq -> li, to update an entry a reply settled
  let paused = false;
  let queued = [];

  if (log) {
    log.querySelectorAll(".log-entry").forEach(function (li) {
      if (li.dataset.seq !== "0") { bySeq.set(li.dataset.seq, li); }
    });
  }

  function arrow(d) { return d === "up" ? "↑" : d === "down" ? "↓" : "•"; }

  function pretty(payload) {
    try { return JSON.stringify(JSON.parse(payload), null, 2); } catch (e) { return payload; }
  }

  function span(cls, text) {
    const s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    return s;
  }

  function matchesFilter(li) {
    const q = filter ? filter.value.trim().toLowerCase() : "";
    return q === "" || li.textContent.toLowerCase().indexOf(q) >= 0;
  }

  function appendEntry(e) {
    if (!log) { return; }
    const li = document.createElement("li");
    li.className = "log-entry";
    li.dataset.direction = e.direction;
    li.dataset.ok = e.ok ? "true" : "false";
    li.dataset.seq = String(e.seq);
    const t = new Date(e.time);
    li.appendChild(span("log-time", isNaN(t) ? "" : t.toISOString().slice(11, 23)));
    li.appendChild(document.createTextNode(" "));
    const a = span("log-arrow", arrow(e.direction));
    a.title = e.direction;
    li.appendChild(a);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(span("log-topic", e.topic || ""));
    if (e.method) { li.appendChild(document.createTextNode(" ")); li.appendChild(span("log-method", e.method)); }
    if (e.result) { li.appendChild(document.createTextNode(" ")); li.appendChild(span("log-result badge " + (e.ok ? "ok" : "err"), e.result)); }
    if (e.payload) {
      const pre = document.createElement("pre");
      pre.className = "log-payload";
      pre.textContent = pretty(e.payload) + (e.truncated ? " …(truncated)" : "");
      li.appendChild(pre);
    }
    li.hidden = !matchesFilter(li);
    const key = String(e.seq);
    const old = e.seq ? bySeq.get(key) : undefined;
    if (old && old.parentNode === log) { // settled by a reply: same entry, new verdict
      log.replaceChild(li, old);
      bySeq.set(key, li);
      return;
    }
    if (e.seq) { bySeq.set(key, li); }
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.appendChild(li);
    while (log.children.length > MAX_LOG) {
      bySeq.delete(log.firstElementChild.dataset.seq);
      log.removeChild(log.firstElementChild);
    }
    if (logEmpty) { logEmpty.hidden = true; }
    if (atBottom) { log.scrollTop = log.scrollHeight; }
  }

  function onLog(e) {
    if (pending && e.direction === "up" && e.method === "control_reply" &&
        (!pending.token || !e.clientToken || e.clientToken === pending.token)) {
      if (e.ok) {
        pending.matched = true;
        if (pending.sent) { confirmPending(); }
      } else {
        clearTimeout(pending.timer);
        pending = null;
        setControlStatus("the device refused: " + (e.result || "error"), true);
      }
    }
    if (paused && !(e.seq && bySeq.has(String(e.seq)))) {
      queued.push(e);
      if (queued.length > MAX_LOG) { queued.shift(); }
      return;
    }
    appendEntry(e);
  }

  if (filter) {
    filter.addEventListener("input", function () {
      log.querySelectorAll(".log-entry").forEach(function (li) { li.hidden = !matchesFilter(li); });
    });
  }
  if (pauseButton) {
    pauseButton.addEventListener("click", function () {
      paused = !paused;
      pauseButton.setAttribute("aria-pressed", paused ? "true" : "false");
      pauseButton.textContent = paused ? "Resume" : "Pause";
      if (!paused) {
        const q = queued;
        queued = [];
        q.forEach(appendEntry);
      }
    });
  }

  // ---- history charts ----------------------------------------------------

  const hoursSelect = byId("history-hours");
  let chartTimer = 0;
  let chartsLoadedAt = 0;

  function svgEl(name, attrs) {
    const el = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    return el;
  }

  function drawChart(fig, h) {
    const body = fig.querySelector(".chart-body");
    body.textContent = "";
    if (!h.points || h.points.length === 0) {
      body.className = "chart-body muted";
      body.textContent = "no reports yet";
      return;
    }
    body.className = "chart-body";
    const W = 600, H = 160, PAD = 24;
    const stepped = h.type === "bool" || h.type === "enum";
    let lo = Infinity, hi = -Infinity;
    h.points.forEach(function (p) { lo = Math.min(lo, p[1]); hi = Math.max(hi, p[1]); });
    if (h.type === "bool") { lo = 0; hi = 1; }
    if (lo === hi) { lo -= 1; hi += 1; }
    const x = function (t) { return PAD + (W - 2 * PAD) * (t - h.from) / Math.max(1, h.to - h.from); };
    const y = function (v) { return H - PAD - (H - 2 * PAD) * (v - lo) / (hi - lo); };
    const pts = [];
    h.points.forEach(function (p, i) {
      if (stepped && i > 0) { pts.push(x(p[0]).toFixed(1) + "," + y(h.points[i - 1][1]).toFixed(1)); }
      pts.push(x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1));
    });
    const last = h.points[h.points.length - 1];
    pts.push(x(h.to).toFixed(1) + "," + y(last[1]).toFixed(1));
    const svg = svgEl("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": h.points.length + " values from " + lo + " to " + hi, class: "chart-svg" });
    svg.appendChild(svgEl("line", { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, class: "chart-axis" }));
    svg.appendChild(svgEl("polyline", { points: pts.join(" "), class: "chart-line" }));
    const label = function (text, lx, ly, anchor) {
      const t = svgEl("text", { x: lx, y: ly, "text-anchor": anchor, class: "chart-label" });
      t.textContent = text;
      svg.appendChild(t);
    };
    label(String(hi), 2, PAD - 6, "start");
    label(String(lo), 2, H - PAD + 14, "start");
    label(new Date(h.from).toISOString().slice(5, 16).replace("T", " "), PAD, H - 4, "start");
    label("now", W - PAD, H - 4, "end");
    body.appendChild(svg);
    if (h.more) {
      const note = document.createElement("p");
      note.className = "hint";
      note.textContent = "showing the first " + h.points.length + " values of the period";
      body.appendChild(note);
    }
  }

  async function loadChart(fig) {
    const hours = hoursSelect ? hoursSelect.value : "24";
    const url = base + "/history?id=" + encodeURIComponent(fig.dataset.history) + "&hours=" + encodeURIComponent(hours);
    try {
      const r = await fetch(url, { headers: { "Accept": "application/json" } });
      const h = await r.json();
      if (!r.ok) { throw new Error(h.error || ("HTTP " + r.status)); }
      drawChart(fig, h);
    } catch (e) {
      const body = fig.querySelector(".chart-body");
      body.className = "chart-body error";
      body.textContent = "history unavailable: " + e.message;
    }
  }

  function loadCharts() {
    chartsLoadedAt = Date.now();
    document.querySelectorAll("figure[data-history]").forEach(loadChart);
  }

  // refreshChartsSoon redraws at most every 10 s while values change.
  function refreshChartsSoon() {
    if (chartTimer) { return; }
    const wait = Math.max(0, 10000 - (Date.now() - chartsLoadedAt));
    chartTimer = setTimeout(function () { chartTimer = 0; loadCharts(); }, wait);
  }

  if (hoursSelect) { hoursSelect.addEventListener("change", loadCharts); }
  loadCharts();

  // ---- updated times -----------------------------------------------------

  document.querySelectorAll("[data-updated-for]").forEach(function (el) {
    const ms = Number(el.dataset.ms);
    if (ms) { el.textContent = fmtTime(ms); }
  });

  // ---- live stream -------------------------------------------------------

  const liveState = byId("live-state");
  function setLive(text, ok) {
    if (!liveState) { return; }
    liveState.textContent = text;
    liveState.className = "badge" + (ok ? " ok" : "");
  }

  if (window.EventSource) {
    const es = new EventSource(base + "/live");
    es.addEventListener("open", function () { setLive("live", true); });
    es.addEventListener("error", function () { setLive("reconnecting…", false); });
    es.addEventListener("log", function (ev) { try { onLog(JSON.parse(ev.data)); } catch (e) { /* ignore a bad event */ } });
    es.addEventListener("data", function (ev) { try { applyData(JSON.parse(ev.data)); } catch (e) { /* ignore */ } });
    es.addEventListener("status", function (ev) { try { setOnline(JSON.parse(ev.data).online); } catch (e) { /* ignore */ } });
  } else {
    setLive("live view needs a newer browser", false);
  }
})();
