// Thingo console, OTA pages: firmware upload with a progress bar and the
// live task view. Without this script the upload form posts as multipart
// and the task page shows the state at load time.
"use strict";

(function () {
  // otaFetchJSON sends a JSON body (or none for GET) and returns the
  // decoded answer; a failure throws an Error carrying .field when the
  // server named the form field at fault.
  async function otaFetchJSON(url, body) {
    const opts = { headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      opts.method = "POST";
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRF-Token"] = csrf();
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(url, opts);
    let data = {};
    try { data = await r.json(); } catch (e) { /* not JSON */ }
    if (!r.ok || data.error) {
      const err = new Error(data.error || ("HTTP " + r.status));
      err.field = data.field || "";
      throw err;
    }
    return data;
  }

  // otaPut uploads file to url, reporting progress; it resolves with the
  // stored file's MD5 (the ETag) or "" when the answer does not expose it.
  function otaPut(url, file, onProgress) {
    return new Promise(function (resolve, reject) {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      xhr.upload.onprogress = function (ev) {
        if (ev.lengthComputable) { onProgress(ev.loaded / ev.total); }
      };
      xhr.onload = function () {
        if (xhr.status !== 200) {
          reject(new Error("storing the file failed: HTTP " + xhr.status + " " + xhr.responseText));
          return;
        }
        resolve((xhr.getResponseHeader("ETag") || "").replace(/"/g, ""));
      };
      xhr.onerror = function () { reject(new Error("storing the file failed: network error")); };
      xhr.send(file);
    });
  }

  function initUpload(form) {
    const progress = document.getElementById("upload-progress");
    const status = document.getElementById("upload-status");
    const submit = document.getElementById("upload-submit");
    let native = false; // the multipart fallback is under way
    function clearErrors() {
      form.querySelectorAll("[id^=upload-error-]").forEach(function (el) { el.textContent = ""; });
    }
    function showError(err) {
      const el = err.field ? document.getElementById("upload-error-" + err.field) : null;
      (el || document.getElementById("upload-error-File")).textContent = err.message;
      status.textContent = "";
      progress.hidden = true;
      submit.disabled = false;
    }
    form.addEventListener("submit", async function (ev) {
      if (native) { return; }
      const file = form.elements.File.files[0];
      if (!file || !window.fetch || !window.XMLHttpRequest) { return; } // let the browser post
      ev.preventDefault();
      clearErrors();
      submit.disabled = true;
      const values = {
        ProductId: form.elements.ProductId.value,
        FirmwareVersion: form.elements.FirmwareVersion.value.trim(),
        FirmwareName: form.elements.FirmwareName.value.trim(),
        FirmwareDescription: form.elements.FirmwareDescription.value.trim(),
      };
      try {
        status.textContent = "Getting an upload link…";
        const link = await otaFetchJSON("/console/ota/upload-url", values);
        if (new URL(link.Url, location.href).origin !== location.origin) {
          // The upload link is on another origin (public URL behind a proxy):
          // its answer cannot be read here, let the server stream the file.
          native = true;
          status.textContent = "Uploading through the console…";
          form.submit();
          return;
        }
        progress.hidden = false;
        progress.value = 0;
        const md5 = await otaPut(link.Url, file, function (f) {
          progress.value = Math.round(f * 100);
          progress.textContent = progress.value + "%";
          status.textContent = "Uploading… " + progress.value + "%";
        });
        if (!md5) {
          native = true;
          status.textContent = "Uploading through the console…";
          form.submit();
          return;
        }
        status.textContent = "Checking the file…";
        values.Md5sum = md5;
        values.FileSize = file.size;
        const done = await otaFetchJSON("/console/ota/firmware/register", values);
        location.assign(done.Location);
      } catch (err) {
        showError(err);
      }
    });
  }

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    if (cls) { td.className = cls; }
    if (text !== undefined) { td.textContent = text; }
    tr.appendChild(td);
    return td;
  }

  function unixTime(sec) {
    if (!sec) { return "never"; }
    return new Date(sec * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  function renderDevices(task, data) {
    const tbody = document.querySelector("#task-devices tbody");
    tbody.textContent = "";
    if (!data.Devices.length) {
      const tr = document.createElement("tr");
      tr.className = "fleet-empty-row";
      const td = cell(tr, "No device in this task (no device matched its version filter).", "empty");
      td.colSpan = 7;
      tbody.appendChild(tr);
      return;
    }
    const base = "/console/ota/tasks/" + encodeURIComponent(data.ProductId) + "/" + encodeURIComponent(data.Version) + "/" + data.TaskId;
    data.Devices.forEach(function (d) {
      const tr = document.createElement("tr");
      tr.dataset.device = d.DeviceName;
      tr.dataset.status = d.StatusText;
      const name = cell(tr);
      const a = document.createElement("a");
      a.href = "/console/devices/" + encodeURIComponent(data.ProductId) + "/" + encodeURIComponent(d.DeviceName);
      a.textContent = d.DeviceName;
      name.appendChild(a);
      const st = cell(tr);
      const badge = document.createElement("span");
      badge.className = "badge fleet-dev-" + d.StatusText;
      badge.textContent = d.StatusText;
      st.appendChild(badge);
      if (d.Status === 1) {
        const f = document.createElement("form");
        f.method = "post";
        f.action = base + "/push";
        f.className = "inline";
        [["csrf", csrf()], ["DeviceName", d.DeviceName]].forEach(function (kv) {
          const i = document.createElement("input");
          i.type = "hidden"; i.name = kv[0]; i.value = kv[1];
          f.appendChild(i);
        });
        const b = document.createElement("button");
        b.type = "submit"; b.className = "secondary"; b.textContent = "Push now";
        b.setAttribute("aria-label", "Push the upgrade to " + d.DeviceName + " now");
        f.appendChild(b);
        st.appendChild(document.createTextNode(" "));
        st.appendChild(f);
      }
      const pc = cell(tr);
      const bar = document.createElement("progress");
      bar.max = 100; bar.value = d.Percent; bar.textContent = d.Percent + "%";
      pc.appendChild(bar);
      pc.appendChild(document.createTextNode(" " + d.Percent + "%"));
      cell(tr, (d.OriVersion || "?") + " → " + d.DstVersion);
      cell(tr, String(d.RetryNum));
      cell(tr, unixTime(d.LastProcessTime));
      cell(tr, d.ErrMsg ? d.ErrMsg + " (" + d.Retcode + ")" : "", "error");
      tbody.appendChild(tr);
    });
  }

  function initTask(task) {
    const live = document.getElementById("task-live");
    const status = document.getElementById("task-status");
    const summary = document.getElementById("task-summary");
    let timer = 0;
    async function poll() {
      try {
        const data = await otaFetchJSON(task.dataset.progressUrl);
        status.textContent = data.StatusText;
        status.className = "badge fleet-task-" + data.StatusText;
        let s = data.Total + " total";
        Object.keys(data.Counts).sort().forEach(function (k) { s += ", " + data.Counts[k] + " " + k; });
        summary.textContent = s;
        renderDevices(task, data);
        if (data.Finished) {
          live.textContent = "This task is finished.";
          task.dataset.finished = "true";
          return;
        }
        live.textContent = "Updated " + new Date().toLocaleTimeString() + "; refreshed every 2 seconds.";
      } catch (err) {
        live.textContent = "Refresh failed: " + err.message + " (retrying)";
      }
      timer = setTimeout(poll, 2000);
    }
    if (task.dataset.finished !== "true") { timer = setTimeout(poll, 2000); }
    document.addEventListener("visibilitychange", function () {
      if (document.hidden) { clearTimeout(timer); }
      else if (task.dataset.finished !== "true") { clearTimeout(timer); poll(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("upload-firmware");
    if (form) { initUpload(form); }
    const task = document.getElementById("ota-task");
    if (task) { initTask(task); }
  });
})();
