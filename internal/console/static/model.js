// Thingo console, thing-model editor: starter templates, formatting and a
// JSON syntax check (with line and column) before the form is submitted.
// The server checks everything again; this only saves a round trip.
"use strict";

(function () {
  const area = document.getElementById("model-json");
  const form = document.getElementById("model-form");
  const box = document.getElementById("model-errors");
  if (!area || !form || !box) {
    return;
  }

  // showErrors replaces the error box's content with messages (strings).
  function showErrors(messages) {
    box.textContent = "";
    if (messages.length === 0) {
      box.hidden = true;
      return;
    }
    const p = document.createElement("p");
    const strong = document.createElement("strong");
    strong.textContent = "The model was not saved:";
    p.appendChild(strong);
    box.appendChild(p);
    const ul = document.createElement("ul");
    messages.forEach(function (m) {
      const li = document.createElement("li");
      li.className = "error";
      li.textContent = m;
      ul.appendChild(li);
    });
    box.appendChild(ul);
    box.hidden = false;
  }

  // position finds the character offset of a JSON.parse error, from the
  // message formats of Chrome ("at position N", "(line L column C)") and
  // Firefox ("at line L column C").
  function position(text, msg) {
    let m = /line (\d+) column (\d+)/.exec(msg);
    if (m) {
      return { line: Number(m[1]), column: Number(m[2]) };
    }
    m = /position (\d+)/.exec(msg);
    let offset = m ? Number(m[1]) : -1;
    if (offset < 0 && /end of (JSON )?input|unexpected end/i.test(msg)) {
      offset = text.length;
    }
    if (offset < 0) {
      return null;
    }
    const before = text.slice(0, offset);
    const lines = before.split("\n");
    return { line: lines.length, column: lines[lines.length - 1].length + 1, offset: offset };
  }

  // check returns the syntax error of the textarea's JSON, or "".
  function check() {
    const text = area.value;
    if (text.trim() === "") {
      return "The model is empty: pick a starter template or paste a model.";
    }
    try {
      const v = JSON.parse(text);
      if (v === null || typeof v !== "object" || Array.isArray(v)) {
        return "The model must be a JSON object ({ ... }).";
      }
      return "";
    } catch (e) {
      const pos = position(text, String(e.message));
      if (pos && pos.offset !== undefined) {
        area.focus();
        area.setSelectionRange(pos.offset, Math.min(pos.offset + 1, text.length));
      }
      return pos ? "JSON syntax error at line " + pos.line + ", column " + pos.column + ": " + e.message
        : "JSON syntax error: " + e.message;
    }
  }

  form.addEventListener("submit", function (ev) {
    const err = check();
    if (err) {
      ev.preventDefault();
      showErrors([err]);
    }
  });

  const fmt = document.getElementById("format-model");
  if (fmt) {
    fmt.addEventListener("click", function () {
      const err = check();
      if (err) {
        showErrors([err]);
        return;
      }
      area.value = JSON.stringify(JSON.parse(area.value), null, 2);
      showErrors([]);
    });
  }

  // Template buttons fill the textarea from their JSON data block. The
  // block holds the model itself or (as html/template escapes it) a JSON
  // string containing it.
  document.querySelectorAll("button[data-template]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      const block = document.getElementById("template-" + btn.dataset.template);
      if (!block) {
        return;
      }
      let v = JSON.parse(block.textContent);
      if (typeof v === "string") {
        v = JSON.parse(v);
      }
      area.value = JSON.stringify(v, null, 2);
      showErrors([]);
      area.focus();
    });
  });
})();
