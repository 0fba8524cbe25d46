// Thingo console: progressive enhancement only; every page works without it
// except the live views. No dependencies.
"use strict";

// csrf returns the session's CSRF token for fetch calls.
function csrf() {
  const m = document.getElementById("main");
  return m ? m.dataset.csrf : "";
}

// postJSON posts a JSON body to a console endpoint and returns the decoded
// answer; a non-2xx answer throws an Error with the server's message.
async function postJSON(url, body) {
  const r = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await r.json(); } catch (e) { /* not JSON */ }
  if (!r.ok || data.error) {
    throw new Error(data.error || ("HTTP " + r.status));
  }
  return data;
}
