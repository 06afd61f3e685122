// The bdbexport dashboard: plain JavaScript over the public REST API, no build step.
//
// It signs in with POST /v1/users/authorize and keeps the JWT in this tab's
// sessionStorage (gone when the tab closes; never in the page, the URL or a cookie).
// Every second it reads GET /v1/bdbs; whenever a database's statuses change (or the
// directory typed at the top changes, or 30 s have passed) it asks the rules engine,
// through ?dry_run=true on the very endpoints the buttons call, which actions this
// user may take now: a button is enabled exactly when the real call would be accepted.
// A start is asked with no body (permission and rules only), and, once a directory is
// typed, with the very body Start export sends, which the server judges in full
// (permission, then the location, then the rules). Nothing is asked with a made-up
// location, and the 30 s re-ask is only for rows whose every answer was a yes (to
// notice a revoked permission): a refusal is asked again when something changes, so a
// page left open costs one GET a second and no 4xx. Cancel (DELETE /v1/actions/{uid})
// has no dry run: it is offered on a running export to whoever the rules engine lets
// start one (the "permitted" check of the no-body dry run), the rule the API applies
// to cancels. Text from the server is only ever textContent.
"use strict";

const TOKEN_KEY = "bdbexport.token";
const USER_KEY = "bdbexport.user";
const TOKEN_TTL = 3600;
const POLL_MS = 1000;
const DECISIONS_MAX_AGE_MS = 30000;
const FAMILY = ["export", "import", "backup"];
const RUNNING = new Set(["exporting", "importing", "initializing"]);
const PATH_SETTLE_MS = 400;
const FIELDS = ["uid", "name", "action_uid"].concat(
  ...FAMILY.map((kind) => [
    `${kind}_status`, `${kind}_progress`, `${kind}_failure_reason`, `${kind}_failure_detail`,
  ]),
);

const rows = new Map(); // uid -> {cells, buttons, signature, decidedAt, asked, refused}
let pollTimer = null;
let polling = false;
let pathTimer = null;

const $ = (id) => document.getElementById(id);

function say(text, isError = false) {
  const message = $("message");
  message.textContent = text;
  message.className = isError ? "error" : "";
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

// A 401 on a real call means the token expired or was revoked: back to the sign-in
// form. Not for the sign-in itself, nor for dry runs (whose 401 is a decision).
async function api(method, path, body, { endsSession = true } = {}) {
  const headers = { Accept: "application/json" };
  const current = token();
  if (current) headers.Authorization = `JWT ${current}`;
  // "omit": no cookies and no HTTP authentication cache, and so no browser password
  // prompt for the API's 401 (it says WWW-Authenticate: Basic); the token goes in the
  // header only.
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let parsed = null;
  try {
    parsed = await response.json();
  } catch (_) {
    parsed = null;
  }
  if (response.status === 401 && endsSession && !path.includes("dry_run=")) {
    signOut("Your session has ended: sign in again.");
    throw new Error("signed out");
  }
  return { status: response.status, body: parsed };
}

function describe(result) {
  if (result.body && result.body.description) return result.body.description;
  return `The server answered ${result.status}.`;
}

// --- signing in and out ---------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const username = $("login-email").value.trim();
  const password = $("login-password").value;
  say("Signing in…");
  let result;
  try {
    result = await api(
      "POST",
      "/v1/users/authorize",
      { username, password, ttl: TOKEN_TTL },
      { endsSession: false },
    );
  } catch (error) {
    say(`Cannot reach the server: ${error.message}`, true);
    return;
  }
  $("login-password").value = "";
  if (result.status !== 200 || !result.body || !result.body.access_token) {
    say(describe(result), true);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, result.body.access_token);
  sessionStorage.setItem(USER_KEY, username);
  say("");
  showDashboard();
}

function signOut(text = "", isError = true) {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  if (pollTimer !== null) clearInterval(pollTimer);
  pollTimer = null;
  if (pathTimer !== null) clearTimeout(pathTimer);
  pathTimer = null;
  rows.clear();
  document.querySelector("#bdbs tbody").replaceChildren();
  $("failures").replaceChildren();
  $("dashboard-panel").hidden = true;
  $("who").hidden = true;
  $("login-panel").hidden = false;
  say(text, isError && Boolean(text));
}

function showDashboard() {
  $("login-panel").hidden = true;
  $("dashboard-panel").hidden = false;
  $("who").hidden = false;
  $("principal").textContent = sessionStorage.getItem(USER_KEY) || "";
  poll();
  pollTimer = setInterval(poll, POLL_MS);
}

// --- the table ------------------------------------------------------------------------

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label, action, uid, onClick) {
  const node = element("button", `action-${action}`, label);
  node.type = "button";
  node.id = `${action}-${uid}`;
  node.dataset.action = action;
  node.disabled = true;
  node.title = "Checking what you may do…";
  node.addEventListener("click", onClick);
  return node;
}

function rowFor(bdb) {
  let row = rows.get(bdb.uid);
  if (row) return row;
  const tr = element("tr");
  tr.id = `bdb-${bdb.uid}`;
  const cells = {
    uid: element("td", "uid"),
    name: element("td", "name"),
    export: element("td", "export"),
    import: element("td", "import"),
    backup: element("td", "backup"),
    actions: element("td", "actions"),
  };
  row = { tr, cells, signature: null, decidedAt: 0, asked: 0, refused: false, bdb };
  row.buttons = {
    reset: button("Reset export", "reset", bdb.uid, () => act(row, "reset")),
    start: button("Start export", "start", bdb.uid, () => act(row, "start")),
    cancel: button("Cancel", "cancel", bdb.uid, () => act(row, "cancel")),
  };
  cells.actions.append(row.buttons.reset, row.buttons.start, row.buttons.cancel);
  tr.append(...Object.values(cells));
  document.querySelector("#bdbs tbody").append(tr);
  rows.set(bdb.uid, row);
  return row;
}

function renderStatus(cell, bdb, kind) {
  const status = bdb[`${kind}_status`] || "idle";
  const progress = bdb[`${kind}_progress`] || 0;
  const parts = [element("span", `status status-${status}`, status)];
  if (status === "exporting" && progress === 0) {
    // The exporter reports its first percent the moment Redis starts sending the
    // snapshot (docs/exports.md): until then it is waiting, which may take the
    // source's repl-diskless-sync-delay. Say so rather than show a bar stuck at 0.
    parts.push(element("span", "phase", " waiting for Redis to start the snapshot"));
  } else if (RUNNING.has(status)) {
    const bar = element("progress", `${kind}-progress`);
    bar.max = 100;
    bar.value = progress;
    parts.push(document.createTextNode(" "), bar, element("span", "progress-text", `${progress} %`));
  }
  const reason = bdb[`${kind}_failure_reason`];
  if (status === "failed" && reason) parts.push(element("span", "reason", reason));
  cell.replaceChildren(...parts);
  cell.dataset.status = status;
  cell.dataset.progress = String(progress);
}

function render(bdbs) {
  const seen = new Set();
  for (const bdb of bdbs) {
    seen.add(bdb.uid);
    const row = rowFor(bdb);
    row.bdb = bdb;
    row.cells.uid.textContent = String(bdb.uid);
    row.cells.name.textContent = bdb.name;
    if (bdb.action_uid && !runningAction(bdb)) {
      // Busy with an action outside this family (resharding, ...): nothing here may start.
      row.cells.name.append(element("span", "busy", `busy: ${bdb.action_uid}`));
    }
    for (const kind of FAMILY) renderStatus(row.cells[kind], bdb, kind);
  }
  for (const [uid, row] of rows) {
    if (!seen.has(uid)) {
      row.tr.remove();
      rows.delete(uid);
    }
  }
  renderFailures(bdbs);
}

function renderFailures(bdbs) {
  const items = [];
  for (const bdb of bdbs) {
    for (const kind of FAMILY) {
      if (bdb[`${kind}_status`] !== "failed") continue;
      const item = element("li", "failure");
      item.dataset.uid = String(bdb.uid);
      item.append(
        element("strong", "", `${bdb.name} (uid ${bdb.uid})`),
        document.createTextNode(` ${kind} failed: `),
        element("span", "reason-text", bdb[`${kind}_failure_reason`] || "unknown"),
      );
      const detail = bdb[`${kind}_failure_detail`];
      if (detail) item.append(document.createTextNode(" — "), element("span", "detail", detail));
      items.push(item);
    }
  }
  if (items.length === 0) items.push(element("li", "muted", "No failures."));
  $("failures").replaceChildren(...items);
}

// --- what this user may do: the rules engine's dry runs ---------------------------------

function signatureOf(bdb) {
  return FAMILY.map((kind) => bdb[`${kind}_status`]).concat(bdb.action_uid || "").join("|");
}

function runningAction(bdb) {
  return FAMILY.some((kind) => RUNNING.has(bdb[`${kind}_status`])) ? bdb.action_uid : null;
}

function checkOf(decision, name) {
  return (decision.checks || []).find((check) => check.check === name);
}

function cancelDecision(bdb, start) {
  if (!bdb.action_uid || !RUNNING.has(bdb.export_status)) {
    const other = runningAction(bdb);
    const reason = other
      ? "Imports and backups are cancelled with the API or the CLI."
      : "Nothing is running.";
    return { allowed: false, reason };
  }
  const permitted = checkOf(start, "permitted");
  if (permitted && permitted.outcome === "passed") return { allowed: true, reason: "" };
  const refusal = permitted && permitted.error ? permitted.error.description : start.reason;
  return { allowed: false, reason: refusal || "Only who may start an export may cancel it." };
}

function setAllowed(node, decision) {
  node.disabled = !decision.allowed;
  node.title = decision.allowed ? "" : decision.reason;
}

// A dry run's answer: the decision (200, or the 4xx of its first failed check), or an
// error object when the request itself was refused before the rules were asked (a
// location outside the export roots: 400 export_path_not_allowed, ...).
async function decide(method, path, body) {
  const result = await api(method, path, body);
  const answer = result.body || {};
  const status = result.status;
  if (answer.dry_run === true) {
    return {
      allowed: answer.allowed === true,
      reason: (answer.error && answer.error.description) || "",
      principal: answer.principal,
      checks: answer.checks,
      status,
    };
  }
  if (answer.description) return { allowed: false, reason: answer.description, status };
  return { allowed: false, reason: "This server does not offer this action.", status };
}

function typedPath() {
  return $("export-path").value.trim();
}

function mountPoint(path) {
  return { export_location: { type: "mount_point", path } };
}

// Start export: the rules' answer (no body) while no directory is typed, else the
// answer for the directory typed, exactly as the button would send it.
async function startDecision(base, rules) {
  const path = typedPath();
  if (!rules.allowed) return rules;
  if (!path) {
    return { allowed: false, reason: "Type the directory to export to first.", status: 0 };
  }
  return decide("POST", `${base}/export?dry_run=true`, mountPoint(path));
}

async function refreshDecisions(row, { force = false } = {}) {
  const bdb = row.bdb;
  const signature = signatureOf(bdb);
  // A refusal stands until a status (or the directory typed) changes; only yeses age.
  const fresh = row.refused || Date.now() - row.decidedAt < DECISIONS_MAX_AGE_MS;
  if (!force && signature === row.signature && fresh) return;
  row.signature = signature;
  row.decidedAt = Date.now();
  const asked = ++row.asked; // a later question (a newer path, status) wins over this one
  const path = typedPath();
  const base = `/v1/bdbs/${bdb.uid}/actions`;
  const [reset, rules] = await Promise.all([
    decide("PUT", `${base}/export_reset_status?dry_run=true`),
    decide("POST", `${base}/export?dry_run=true`),
  ]);
  const start = await startDecision(base, rules);
  if (asked !== row.asked) return;
  row.refused = [reset, rules, start].some((decision) => decision.status >= 400);
  setAllowed(row.buttons.reset, reset);
  setAllowed(row.buttons.start, start);
  setAllowed(row.buttons.cancel, cancelDecision(bdb, rules));
  const principal = reset.principal || rules.principal;
  if (principal && principal.role) {
    $("principal").textContent = `${principal.name} (${principal.role})`;
  }
  row.tr.dataset.decided = signature;
  row.tr.dataset.decidedPath = path;
}

// A directory typed (or changed): once typing settles, ask again for every row.
function pathChanged() {
  if (pathTimer !== null) clearTimeout(pathTimer);
  for (const row of rows.values()) {
    row.asked += 1; // answers about the previous path are dropped
    row.buttons.start.disabled = true;
    row.buttons.start.title = "Checking the directory…";
    delete row.tr.dataset.decidedPath;
  }
  pathTimer = setTimeout(() => {
    pathTimer = null;
    if (!token()) return;
    Promise.all([...rows.values()].map((row) => refreshDecisions(row, { force: true }))).catch(
      () => {},
    );
  }, PATH_SETTLE_MS);
}

// --- the buttons ------------------------------------------------------------------------

async function act(row, action) {
  const bdb = row.bdb;
  const base = `/v1/bdbs/${bdb.uid}/actions`;
  let result;
  try {
    if (action === "reset") {
      result = await api("PUT", `${base}/export_reset_status`);
    } else if (action === "start") {
      const path = typedPath();
      if (!path) {
        say("Type the directory to export to first.", true);
        return;
      }
      result = await api("POST", `${base}/export`, mountPoint(path));
    } else {
      if (!bdb.action_uid) return;
      result = await api("DELETE", `/v1/actions/${encodeURIComponent(bdb.action_uid)}`);
    }
  } catch (_) {
    return;
  }
  if (result.status >= 200 && result.status < 300) {
    const done = { reset: "Export status reset", start: "Export started", cancel: "Cancelled" };
    say(`${done[action]}: ${bdb.name} (uid ${bdb.uid}).`);
  } else {
    say(`${bdb.name} (uid ${bdb.uid}): ${describe(result)}`, true);
  }
  row.signature = null;
  await poll();
}

// --- polling ------------------------------------------------------------------------------

async function poll() {
  if (polling || !token()) return;
  polling = true;
  try {
    const result = await api("GET", `/v1/bdbs?fields=${FIELDS.join(",")}`);
    if (result.status !== 200 || !Array.isArray(result.body)) {
      say(describe(result), true);
      return;
    }
    render(result.body);
    await Promise.all([...rows.values()].map(refreshDecisions));
    $("refreshed").textContent = `updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
  } catch (error) {
    if (token()) say(`Cannot reach the server: ${error.message}`, true);
  } finally {
    polling = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut("Signed out.", false));
  $("export-path").addEventListener("input", pathChanged);
  if (token()) showDashboard();
  else $("login-panel").hidden = false;
});
