// Browser test of the Thingo web console: drives Debian's Chromium through
// playwright-core along the UI contract of internal/console (see README.md).
//
// Run by browser_test.go, which starts the node and a simulated device.
// Environment: THINGO_URL, THINGO_SECRET_ID, THINGO_SECRET_KEY,
// THINGO_SCREENSHOTS (a directory; it must exist).
// Protocol: prints "DEVICE <productId> <deviceName>" on stdout once the
// device exists and waits for a "READY" line on stdin (the device is then
// connected). Progress goes to stderr. Exit status 0 means every step passed.
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";
import path from "node:path";

const STEP_TIMEOUT = 15_000;
const READY_TIMEOUT = 60_000;
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

// A model with one bad property: min above max.
const BAD_PROPERTY = "bad_level";
const BAD_MODEL = JSON.stringify({
  version: "1.0",
  profile: { ProductId: "", CategoryId: "1" },
  properties: [
    { id: "power_switch", name: "Power", mode: "rw", define: { type: "bool", mapping: { 0: "off", 1: "on" } } },
    { id: BAD_PROPERTY, name: "Level", mode: "rw", define: { type: "int", min: "10", max: "1", step: "1", start: "1", unit: "" } },
  ],
  events: [],
  actions: [],
}, null, 2);

function env(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`environment variable ${name} is not set (run through go test ./test/browser/)`);
  }
  return v;
}

const baseURL = env("THINGO_URL").replace(/\/$/, "");
const secretID = env("THINGO_SECRET_ID");
const secretKey = env("THINGO_SECRET_KEY");
const shots = env("THINGO_SCREENSHOTS");

const started = Date.now();
const log = (...a) => console.error(`[flow +${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a);

// Lines from stdin, consumed by waitLine.
const stdinLines = [];
let stdinWaiter = null;
const rl = createInterface({ input: process.stdin });
rl.on("line", (l) => {
  stdinLines.push(l.trim());
  if (stdinWaiter) stdinWaiter();
});

async function waitLine(want, timeout) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const i = stdinLines.indexOf(want);
    if (i >= 0) {
      stdinLines.splice(i, 1);
      return;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(`no ${want} line on stdin within ${timeout / 1000}s`);
    }
    await new Promise((resolve) => {
      const t = setTimeout(resolve, left);
      stdinWaiter = () => { clearTimeout(t); resolve(); };
    });
    stdinWaiter = null;
  }
}

// Browser problems collected over the whole run: console errors and page
// errors fail the test at the end.
const problems = [];
// While a step expects an error page (HTTP 4xx, as the contract asks for a
// wrong password or an invalid model), Chromium's "Failed to load resource"
// console error for that page is expected, not a problem.
let expectErrorPage = false;

// summarize groups problems by message: "<n>x <message>, first on <url>".
function summarize(list) {
  const byWhat = new Map();
  for (const p of list) {
    const seen = byWhat.get(p.what);
    if (seen) seen.n++;
    else byWhat.set(p.what, { n: 1, url: p.url });
  }
  return [...byWhat].map(([what, { n, url }]) => `${n}x ${what}, first on ${url}`);
}
const ERROR_PAGE = /^Failed to load resource: the server responded with a status of 4\d\d/;

let shotNo = 0;
async function screenshot(page, name) {
  shotNo++;
  const file = path.join(shots, `${String(shotNo).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log("screenshot", file);
}

// step runs fn, names the step in any error, and takes a screenshot after it
// (also when it failed, as <n>-<name>-FAILED.png).
async function step(page, name, fn, { errorPage = false } = {}) {
  log("step:", name);
  expectErrorPage = errorPage;
  try {
    await fn();
  } catch (err) {
    expectErrorPage = false;
    try { await screenshot(page, `${name}-FAILED`); } catch { /* page gone */ }
    const msg = String(err && err.message || err).split("\n").slice(0, 6).join("\n  ");
    throw new Error(`step "${name}" failed (url ${page.url()}): ${msg}`);
  }
  expectErrorPage = false;
  await screenshot(page, name);
}

// sameDocument reports whether two URLs name the same page (query ignored).
function sameDocument(a, b) {
  try {
    const ua = new URL(a), ub = new URL(b);
    return ua.origin === ub.origin && ua.pathname === ub.pathname;
  } catch {
    return false;
  }
}

function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

// present fails with a contract message when selector matches nothing.
async function present(page, selector, what) {
  try {
    await page.locator(selector).first().waitFor({ state: "attached", timeout: STEP_TIMEOUT });
  } catch {
    throw new Error(`UI contract: ${selector} (${what}) not found on ${page.url()} within ${STEP_TIMEOUT / 1000}s`);
  }
}

// poll calls fn every 100 ms until it returns a truthy value or the step
// timeout passes; what names the awaited condition in the error.
async function poll(what, fn, timeout = STEP_TIMEOUT) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function submitForm(page, formSelector) {
  const btn = page.locator(`${formSelector} button[type=submit], ${formSelector} button:not([type]), ${formSelector} input[type=submit]`).first();
  await present(page, `${formSelector} button`, "submit button");
  await btn.click();
}

async function main() {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT);
    page.setDefaultNavigationTimeout(STEP_TIMEOUT);
    page.on("console", (m) => {
      if (m.type() === "error") {
        const loc = m.location();
        const where = loc.url ? ` (${loc.url}:${loc.lineNumber})` : "";
        if (expectErrorPage && ERROR_PAGE.test(m.text()) && sameDocument(loc.url, page.url())) {
          log(`expected error page: ${m.text()} (${loc.url})`);
          return;
        }
        problems.push({ what: `console error: ${m.text()}${where}`, url: page.url() });
      }
    });
    page.on("pageerror", (e) => problems.push({ what: `page error: ${e.message}`, url: page.url() }));
    try {
      await run(page);
    } catch (err) {
      if (problems.length > 0) {
        err.message += `\nbrowser errors so far:\n  ${summarize(problems).join("\n  ")}`;
      }
      throw err;
    }
  } finally {
    await browser.close();
  }
  if (problems.length > 0) {
    throw new Error(`the browser reported ${problems.length} error(s) (the console must have none):\n  ${summarize(problems).join("\n  ")}`);
  }
}

async function run(page) {
  const suffix = Date.now().toString(36).slice(-5);
  const projectName = `bt-project-${suffix}`;
  const productName = `bt_light_${suffix}`;
  const deviceName = `lamp_${suffix}`;

  await step(page, "login-page", async () => {
    await page.goto(`${baseURL}/console/login`);
    await present(page, "#secret_id", "login SecretId input");
    await present(page, "#secret_key", "login SecretKey input");
    await present(page, "#login", "login button");
  });

  await step(page, "login-wrong-password", async () => {
    await page.fill("#secret_id", secretID);
    await page.fill("#secret_key", secretKey + "-wrong");
    await Promise.all([page.waitForLoadState("load"), page.click("#login")]);
    await present(page, "#page-error", "login error message");
    const text = await page.textContent("#page-error");
    expect(/wrong/i.test(text), `#page-error says ${JSON.stringify(text)}, want it to say the credential is wrong`);
    expect(new URL(page.url()).pathname === "/console/login", `after a wrong password the page is ${page.url()}, want /console/login`);
  }, { errorPage: true });

  await step(page, "login", async () => {
    await page.fill("#secret_id", secretID);
    await page.fill("#secret_key", secretKey);
    await page.click("#login");
    await page.waitForURL((u) => u.pathname.startsWith("/console/") && u.pathname !== "/console/login");
    await present(page, "#logout", "logout button");
  });

  await step(page, "projects", async () => {
    await page.goto(`${baseURL}/console/projects`);
    await present(page, "form#create-project", "create-project form");
    await page.fill("form#create-project [name=ProjectName]", projectName);
    const desc = page.locator("form#create-project [name=ProjectDesc]");
    if (await desc.count() > 0) await desc.fill("created by the browser test");
    await submitForm(page, "form#create-project");
    await page.waitForURL((u) => u.pathname === "/console/projects");
    await present(page, "table#projects", "projects table");
    await page.locator("table#projects", { hasText: projectName }).waitFor();
  });

  let productID = "";
  await step(page, "products", async () => {
    await page.goto(`${baseURL}/console/products`);
    await present(page, "form#create-product", "create-product form");
    await page.fill("form#create-product [name=ProductName]", productName);
    const project = page.locator("form#create-product select[name=ProjectId]");
    await present(page, "form#create-product select[name=ProjectId]", "project select");
    const projectValue = await project.locator("option", { hasText: projectName }).first().getAttribute("value");
    expect(projectValue, `no option naming project ${projectName} in select[name=ProjectId]`);
    await project.selectOption(projectValue);
    await page.selectOption("form#create-product select[name=EncryptionType]", "2");
    await page.selectOption("form#create-product select[name=ProductType]", "0");
    await submitForm(page, "form#create-product");
    await page.waitForURL((u) => /^\/console\/products\/[^/]+$/.test(u.pathname));
    await present(page, "#product-id", "product id");
    productID = (await page.textContent("#product-id")).trim();
    expect(new URL(page.url()).pathname === `/console/products/${productID}`,
      `#product-id is ${JSON.stringify(productID)} but the page is ${page.url()}`);
  });

  await step(page, "model-invalid", async () => {
    await present(page, "a#edit-model", "link to the model editor");
    await page.click("a#edit-model");
    await page.waitForURL((u) => u.pathname === `/console/products/${productID}/model`);
    await present(page, "textarea#model-json", "model textarea");
    await page.fill("textarea#model-json", BAD_MODEL);
    await page.click("button#save-model");
    await page.waitForLoadState("load");
    await present(page, "#model-errors", "model validation errors");
    await poll(`#model-errors to name property ${BAD_PROPERTY}`, async () =>
      (await page.textContent("#model-errors")).includes(BAD_PROPERTY));
  }, { errorPage: true });

  await step(page, "model-saved", async () => {
    const templates = await page.locator("button[data-template]").count();
    expect(templates >= 2, `want at least 2 starter templates (button[data-template]), found ${templates}`);
    await present(page, 'button[data-template="smart-light"]', "smart-light template button");
    await page.click('button[data-template="smart-light"]');
    await poll("the smart-light template to fill textarea#model-json", async () =>
      (await page.inputValue("textarea#model-json")).includes("light_blink"));
    const model = JSON.parse(await page.inputValue("textarea#model-json"));
    const ids = (model.properties || []).map((p) => p.id);
    for (const id of ["power_switch", "brightness", "color"]) {
      expect(ids.includes(id), `the smart-light template has no property ${id} (has ${ids.join(", ")})`);
    }
    await page.click("button#save-model");
    await page.waitForURL((u) => u.pathname.startsWith(`/console/products/${productID}`) && u.searchParams.has("flash"));
    const errs = page.locator("#model-errors");
    if (await errs.count() > 0) {
      const text = (await errs.first().textContent()).trim();
      expect(text === "" || !(await errs.first().isVisible()), `saving the smart-light model shows #model-errors: ${text}`);
    }
  });

  await step(page, "device-created", async () => {
    await page.goto(`${baseURL}/console/products/${productID}`);
    await present(page, "a#product-devices", "link to the product's devices");
    await page.click("a#product-devices");
    await page.waitForURL((u) => u.pathname === "/console/devices" && u.searchParams.get("product") === productID);
    await present(page, "form#create-device", "create-device form");
    const pid = page.locator("form#create-device [name=ProductId]");
    if (await pid.evaluate((el) => el.tagName) === "SELECT") {
      await pid.selectOption(productID);
    } else {
      expect(await pid.inputValue() === productID, `form#create-device ProductId is ${await pid.inputValue()}, want ${productID}`);
    }
    await page.fill("form#create-device [name=DeviceName]", deviceName);
    await submitForm(page, "form#create-device");
    await page.waitForURL((u) => u.pathname === `/console/devices/${productID}/${deviceName}`);
  });

  console.log(`DEVICE ${productID} ${deviceName}`);
  log("waiting for READY (the simulated device connects)");
  await waitLine("READY", READY_TIMEOUT);

  await step(page, "device-online", async () => {
    // The page was loaded before the device connected: the status must
    // change live.
    await present(page, "#device-status", "device status");
    await poll('#device-status to say "online" (live, without reloading)', async () =>
      (await page.textContent("#device-status")).trim().toLowerCase() === "online");
  });

  await step(page, "device-live", async () => {
    await present(page, "#prop-brightness", "brightness value");
    const seen = [];
    await poll("#prop-brightness data-value to change twice", async () => {
      const v = await page.getAttribute("#prop-brightness", "data-value");
      if (v !== null && v !== "" && seen[seen.length - 1] !== v) seen.push(v);
      return seen.length >= 3;
    });
    log("brightness values seen:", seen.join(" "));
    for (const v of seen) {
      expect(Number.isInteger(JSON.parse(v)), `#prop-brightness data-value ${JSON.stringify(v)} is not JSON of an integer`);
    }
  });

  await step(page, "device-phone", async () => {
    await page.setViewportSize(PHONE);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    log(`phone viewport: page is ${overflow}px wider than the screen`);
  });
  await page.setViewportSize(DESKTOP);

  await step(page, "device-control", async () => {
    await present(page, "#control-power_switch", "power_switch control");
    const type = await page.getAttribute("#control-power_switch", "type");
    expect(type === "checkbox", `#control-power_switch is type=${type}, want checkbox (bool)`);
    expect(!(await page.isChecked("#control-power_switch")), "#control-power_switch is already checked, the device reported 0");
    await page.click("#control-power_switch");
    await present(page, "#control-status", "control status");
    await poll('#control-status to say "confirmed"', async () => {
      const t = (await page.textContent("#control-status")).toLowerCase();
      if (/error|fail|denied|refused/.test(t)) throw new Error(`#control-status says ${JSON.stringify(t)}`);
      return t.includes("confirmed");
    });
    await poll("#prop-power_switch data-value to be 1 or true", async () =>
      ["1", "true"].includes(await page.getAttribute("#prop-power_switch", "data-value")));
  });

  await step(page, "device-action", async () => {
    const form = "form#action-light_blink";
    await present(page, form, "light_blink action form");
    await present(page, `${form} [name=time]`, "light_blink input time");
    await page.fill(`${form} [name=time]`, "3");
    await submitForm(page, form);
    await present(page, "#action-output-light_blink", "light_blink action output");
    await poll('#action-output-light_blink to contain "result"', async () => {
      const out = page.locator("#action-output-light_blink");
      const text = await out.textContent();
      if ((await out.getAttribute("class") || "").split(/\s+/).includes("error")) {
        throw new Error(`the action failed: ${text}`);
      }
      return text.includes("result");
    });
  });

  await step(page, "device-comm-log", async () => {
    await present(page, "#comm-log", "communication log");
    await present(page, "#comm-log .log-entry[data-direction=up]", "an uplink entry in the log");
    await present(page, "#comm-log .log-entry[data-direction=down]", "a downlink entry in the log");
    await page.locator("#comm-log").scrollIntoViewIfNeeded();
  });

  await step(page, "devices-list", async () => {
    await page.goto(`${baseURL}/console/devices?product=${productID}`);
    await present(page, "table#devices", "devices table");
    await page.locator("table#devices", { hasText: deviceName }).waitFor();
  });

  await step(page, "product-page", async () => {
    await page.goto(`${baseURL}/console/products/${productID}`);
    await present(page, "#product-id", "product id");
    await present(page, "a#edit-model", "model editor link");
  });

  await step(page, "gateways", async () => {
    await page.goto(`${baseURL}/console/gateways`);
    await page.locator("main h1").first().waitFor();
  });

  await step(page, "ota-upload", async () => {
    await page.goto(`${baseURL}/console/ota?product=${productID}`);
    await present(page, "form#upload-firmware", "firmware upload form");
    await page.selectOption("form#upload-firmware select[name=ProductId]", productID);
    await page.fill("form#upload-firmware [name=FirmwareVersion]", "1.0.1");
    await page.fill("form#upload-firmware [name=FirmwareName]", "lamp firmware");
    await page.setInputFiles("form#upload-firmware input[name=File]", {
      name: "lamp-1.0.1.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(200000, 7),
    });
    await page.click("#upload-submit");
    await page.waitForURL((u) => u.pathname === `/console/ota/firmware/${productID}/1.0.1`);
  });

  await step(page, "ota-task", async () => {
    await present(page, "form#create-task", "create-task form");
    await page.check(`form#create-task input[name=DeviceName][value="${deviceName}"]`);
    await submitForm(page, "form#create-task");
    await page.waitForURL((u) => u.pathname.startsWith(`/console/ota/tasks/${productID}/1.0.1/`));
    await present(page, "table#task-devices", "task devices table");
    await page.locator("table#task-devices", { hasText: deviceName }).waitFor();
  });

  await step(page, "logout", async () => {
    await page.click("#logout");
    await page.waitForURL((u) => u.pathname === "/console/login");
    await page.goto(`${baseURL}/console/products`);
    await page.waitForURL((u) => u.pathname === "/console/login");
  });
}

try {
  await main();
  log("all steps passed");
  rl.close();
  process.exit(0);
} catch (err) {
  console.error(`FAIL: ${err.message}`);
  rl.close();
  process.exit(1);
}
