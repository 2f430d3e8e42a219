// tracedrop settings page: every action is a call to the admin API, with the session cookie and the CSRF token.
"use strict";

const MASK = "********";
const HINTS = {
  healthy: "Delivering.",
  failing: "Retrying with backoff: see the last error.",
  parked: "Parked: nothing is attempted until a probe or a saved fix passes the connection test.",
  disabled: "Disabled: no new traces are owed to it.",
};

function csrf() {
  return document.querySelector('meta[name="csrf-token"]').content;
}

async function api(method, url, body) {
  const options = { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch (_) { data = { error: { code: "bad_answer", message: text } }; }
  }
  return { status: response.status, ok: response.ok, data };
}

function say(element, text, kind) {
  if (!element) return;
  element.textContent = text;
  element.className = "outcome" + (kind ? " " + kind : "");
}

function errorText(data) {
  const error = (data && data.error) || {};
  return (error.code ? error.code + ": " : "") + (error.message || "unexpected answer");
}

function badge(status) {
  const state = status.parked ? "parked" : status.state;
  const span = document.createElement("span");
  span.className = "badge " + state;
  span.textContent = state;
  span.title = HINTS[state] || "";
  return span;
}

function state(status) {
  const box = document.createElement("span");
  box.append(badge(status));
  if (status.parked) {
    const why = document.createElement("span");
    why.className = "muted parked-why";
    why.textContent = " Nothing is attempted until the connection test passes again: the next probe is at " +
      status.next_probe_at + ", or save a fix.";
    box.append(why);
  }
  return box;
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "";
  return seconds < 120 ? Math.round(seconds) + " s" : Math.round(seconds / 60) + " min";
}

function lastError(status) {
  const error = status.last_error;
  if (!error) return document.createTextNode("");
  const box = document.createElement("div");
  const code = document.createElement("code");
  code.textContent = error.code;
  const message = document.createElement("span");
  message.textContent = " " + error.message + " (" + error.at + ")";
  box.append(code, message);
  return box;
}

function fill(container, status) {
  const set = (name, node) => {
    const cell = container.querySelector('[data-field="' + name + '"]');
    if (cell) cell.replaceChildren(node);
  };
  set("state", state(status));
  set("delivered", document.createTextNode(String(status.delivered)));
  const oldest = age(status.backlog.oldest_age_seconds);
  set("backlog", document.createTextNode(status.backlog.size + (oldest ? " (oldest " + oldest + ")" : "")));
  set("dead_letters", document.createTextNode(String(status.dead_letters)));
  set("last_success_at", document.createTextNode(status.last_success_at || "never"));
  set("last_error", lastError(status));
}

function statusUrl(workspace, id) {
  return "/v1/workspaces/" + encodeURIComponent(workspace) + "/destinations/" + encodeURIComponent(id);
}

async function refreshList(table) {
  const workspace = table.dataset.workspace;
  for (const row of table.querySelectorAll("tr[data-destination]")) {
    const answer = await api("GET", statusUrl(workspace, row.dataset.destination) + "/status");
    if (answer.ok) fill(row, answer.data);
  }
}

async function refreshDetail(detail) {
  const base = statusUrl(detail.dataset.workspace, detail.dataset.destination);
  const answer = await api("GET", base + "/status");
  if (answer.ok) fill(detail, answer.data);
  const letters = await api("GET", base + "/dead-letters");
  const body = document.querySelector("#dead-letters tbody");
  if (letters.ok && body) {
    document.getElementById("replay").hidden = letters.data.dead_letters.length === 0;
    body.replaceChildren(...letters.data.dead_letters.map((letter) => {
      const row = document.createElement("tr");
      for (const text of [letter.trace_id, letter.reason.code + ": " + letter.reason.message, letter.at]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      return row;
    }));
  }
}

function every(seconds, action) {
  action();
  setInterval(action, seconds * 1000);
}

// -- workspaces ------------------------------------------------------------------------------------------------

function workspaces() {
  const create = document.getElementById("create-workspace");
  if (!create) return;
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = create.elements.workspace.value.trim();
    const answer = await api("PUT", "/v1/workspaces/" + encodeURIComponent(name), { broadcast_enabled: false });
    if (answer.ok) window.location.href = "/admin/workspaces/" + encodeURIComponent(name);
    else say(create.querySelector(".outcome"), errorText(answer.data), "error");
  });
}

function workspace() {
  const toggle = document.getElementById("broadcast");
  if (!toggle) return;
  const name = toggle.closest("[data-workspace]").dataset.workspace;
  const outcome = document.getElementById("broadcast-outcome");
  toggle.addEventListener("change", async () => {
    const answer = await api("PUT", "/v1/workspaces/" + encodeURIComponent(name),
      { broadcast_enabled: toggle.checked });
    if (answer.ok) say(outcome, "Broadcast " + (answer.data.broadcast_enabled ? "enabled" : "disabled") + ".", "ok");
    else { toggle.checked = !toggle.checked; say(outcome, errorText(answer.data), "error"); }
  });

  const keys = document.getElementById("create-key");
  const keyOutcome = document.getElementById("key-outcome");
  keys.addEventListener("submit", async (event) => {
    event.preventDefault();
    const answer = await api("POST", "/v1/workspaces/" + encodeURIComponent(name) + "/ingest-keys",
      { name: keys.elements.name.value.trim() });
    if (!answer.ok) { say(keyOutcome, errorText(answer.data), "error"); return; }
    document.getElementById("new-key-value").textContent = answer.data.key;
    document.getElementById("new-key").hidden = false;
    say(keyOutcome, "Ingest key " + answer.data.name + " created: copy it now, it is not shown again.", "ok");
    keys.reset();
  });
  document.getElementById("copy-key").addEventListener("click", async () => {
    const value = document.getElementById("new-key-value").textContent;
    try { await navigator.clipboard.writeText(value); say(keyOutcome, "Copied.", "ok"); }
    catch (_) { say(keyOutcome, "Select the key and copy it.", "error"); }
  });
  for (const button of document.querySelectorAll("button.revoke")) {
    button.addEventListener("click", async () => {
      if (!window.confirm("Revoke the ingest key " + button.dataset.name + "? Gateways using it are refused.")) return;
      const answer = await api("DELETE", "/v1/workspaces/" + encodeURIComponent(name) + "/ingest-keys/" +
        encodeURIComponent(button.dataset.key));
      if (answer.ok) { button.closest("li").remove(); say(keyOutcome, "Revoked.", "ok"); }
      else say(keyOutcome, errorText(answer.data), "error");
    });
  }

  const table = document.getElementById("destinations");
  if (table.querySelector("tr[data-destination]")) every(2, () => refreshList(table));
}

// -- a destination ---------------------------------------------------------------------------------------------

function detail() {
  const box = document.getElementById("detail");
  if (!box) return;
  const base = statusUrl(box.dataset.workspace, box.dataset.destination);
  const outcome = document.getElementById("detail-outcome");
  every(2, () => refreshDetail(box));
  document.getElementById("replay").addEventListener("click", async () => {
    const answer = await api("POST", base + "/dead-letters/replay");
    const target = document.getElementById("replay-outcome");
    if (answer.ok) { say(target, "Replayed " + answer.data.replayed + ".", "ok"); refreshDetail(box); }
    else say(target, errorText(answer.data), "error");
  });
  const toggle = document.getElementById("toggle-enabled");
  toggle.addEventListener("click", async () => {
    const enabled = box.dataset.enabled !== "true";
    const answer = await api("PATCH", base, { enabled });
    if (!answer.ok) { say(outcome, errorText(answer.data), "error"); return; }
    box.dataset.enabled = String(enabled);
    toggle.textContent = enabled ? "Disable" : "Enable";
    say(outcome, enabled ? "Enabled." : "Disabled.", "ok");
    refreshDetail(box);
  });
  document.getElementById("delete").addEventListener("click", async () => {
    if (!window.confirm("Delete this destination? What it still owes is dropped.")) return;
    const answer = await api("DELETE", base);
    if (answer.ok) window.location.href = "/admin/workspaces/" + encodeURIComponent(box.dataset.workspace);
    else say(outcome, errorText(answer.data), "error");
  });
}

// -- the add / edit form ---------------------------------------------------------------------------------------
// Rendered from each kind's config model (worker/forms.py): an input's data-name is its field in the API, data-type
// its input, data-empty what it sends when empty (null, the empty value, or nothing). Hidden fields are not sent.

function lines(text) {
  return text.split("\n").map((line) => line.trim()).filter((line) => line);
}

function pairs(text, keep) {
  const found = {};
  for (const line of lines(text)) {
    const at = line.indexOf(":");
    const name = at < 0 ? line : line.slice(0, at).trim();
    const value = at < 0 ? "" : line.slice(at + 1).trim();
    found[name] = (value === "" || value === MASK) && keep ? MASK : value;
  }
  return found;
}

// A JSON input: its value parsed; text that is not JSON is sent as it is, so the API names the field it refuses.
function json(text, empty) {
  if (text.trim() === "") return empty === "null" ? null : undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function read(input, editing) {
  const type = input.dataset.type;
  if (type === "checkbox") return input.checked;
  if (type === "kind") return input.checked ? input.value : undefined;
  if (type === "secret") return input.value === "" ? undefined : input.value;
  if (type === "pairs") return pairs(input.value, editing && input.dataset.secret === "true");
  if (type === "json") return json(input.value, input.dataset.empty);
  const given = type === "lines" ? lines(input.value) : input.value.trim();
  if (given.length > 0) return type === "number" ? Number(given) : given;
  if (input.dataset.empty === "null") return null;
  return input.dataset.empty === "blank" ? given : undefined;
}

function shown(element) {
  return !element.closest("[hidden]");
}

function collect(scope, editing) {
  const body = {};
  for (const input of scope.querySelectorAll("[data-name]")) {
    const value = shown(input) ? read(input, editing) : undefined;
    if (value !== undefined) body[input.dataset.name] = value;
  }
  return body;
}

function clearProblems(form) {
  for (const problem of form.querySelectorAll(".problem")) problem.textContent = "";
}

function showProblems(form, data) {
  const problems = (data && data.error && data.error.problems) || [];
  for (const problem of problems) {
    const fields = form.querySelectorAll('.field[data-field="' + problem.field.split(".")[0] + '"]');
    const field = [...fields].find(shown);
    const where = problem.field.includes(".") || problem.field.includes("[") ? problem.field + ": " : "";
    if (field) field.querySelector(".problem").textContent = where + problem.reason;
  }
}

function showOutcome(form, answer, passed) {
  const outcome = document.getElementById("form-outcome");
  clearProblems(form);
  if (answer.ok) { say(outcome, passed, "ok"); return true; }
  say(outcome, errorText(answer.data), "error");
  showProblems(form, answer.data);
  return false;
}

function show(form) {
  const kind = form.querySelector('[data-name="type"]:checked').value;
  for (const fieldset of form.querySelectorAll("fieldset[data-kind]")) {
    fieldset.hidden = fieldset.dataset.kind !== kind;
    fieldset.disabled = fieldset.hidden;
  }
  for (const field of form.querySelectorAll(".field[data-when-field]")) {
    const scope = field.closest("fieldset[data-kind]") || form;
    const control = scope.querySelector('[data-name="' + field.dataset.whenField + '"]');
    field.hidden = !control || !field.dataset.whenValues.split(" ").includes(control.value);
  }
}

// A kind's preview line: its inputs, as the form would send them, are posted to the API whenever one changes.
function previews(form, base, editing) {
  for (const line of form.querySelectorAll("[data-preview]")) {
    const scope = line.closest("fieldset[data-kind]") || form;
    const inputs = line.dataset.inputs.split(" ");
    let pending = 0;
    const update = async () => {
      if (!shown(line)) return;
      const ticket = ++pending;
      const values = collect(scope, editing);
      const body = Object.fromEntries(inputs.filter((name) => name in values).map((name) => [name, values[name]]));
      if (scope.dataset.kind) body.type = scope.dataset.kind;
      const answer = await api("POST", base + "/" + line.dataset.preview, body);
      if (ticket !== pending) return;
      if (answer.ok) say(line, line.dataset.says + answer.data[line.dataset.shows], "ok");
      else say(line, errorText(answer.data), "error");
      line.classList.add("preview");
    };
    form.addEventListener("input", (event) => {
      const name = event.target.dataset.name;
      if (name === "type" || (scope.contains(event.target) && inputs.includes(name))) update();
    });
    update();
  }
}

function destinationForm() {
  const form = document.getElementById("destination-form");
  if (!form) return;
  const workspace = form.dataset.workspace;
  const id = form.dataset.destination;
  const base = "/v1/workspaces/" + encodeURIComponent(workspace) + "/destinations";
  show(form);
  form.addEventListener("input", () => show(form));
  previews(form, base, Boolean(id));

  document.getElementById("test-connection").addEventListener("click", async () => {
    say(document.getElementById("form-outcome"), "Testing…", "");
    const body = collect(form, Boolean(id));
    // A saved destination's secrets stay on the server: its test merges the form into what is stored.
    const answer = await api("POST", id ? base + "/" + encodeURIComponent(id) + "/test" : base + "/test", body);
    showOutcome(form, answer, "Connection test passed");
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(document.getElementById("form-outcome"), "Testing the connection and saving…", "");
    const body = collect(form, Boolean(id));
    const answer = id ? await api("PATCH", base + "/" + encodeURIComponent(id), body)
      : await api("POST", base, body);
    if (showOutcome(form, answer, "Saved: connection test passed")) {
      window.location.href = "/admin/workspaces/" + encodeURIComponent(workspace) + "/destinations/" +
        encodeURIComponent(answer.data.id);
    }
  });
}

// -- everywhere ------------------------------------------------------------------------------------------------

// The rules and redaction editor: Preview posts the edited rules with the trace (nothing is saved); Save PATCHes them.
function rulesEditor() {
  const editor = document.getElementById("rules-editor");
  const box = document.getElementById("detail");
  if (!editor || !box) return;
  const base = statusUrl(box.dataset.workspace, box.dataset.destination);
  const outcome = document.getElementById("rules-outcome");
  const answerBox = document.getElementById("preview-answer");
  document.getElementById("preview-run").addEventListener("click", async () => {
    clearProblems(editor);
    const body = collect(editor, true);
    body.trace = json(document.getElementById("preview-trace").value, "null");
    const answer = await api("POST", base + "/preview", body);
    if (!answer.ok) { showProblems(editor, answer.data); say(outcome, errorText(answer.data), "error"); return; }
    const found = answer.data;
    const verdict = found.taken ? "Taken" : "Not taken: " + found.decided_by + " decided.";
    let shown = verdict;
    if (found.receives) {
      let text = found.receives.body;
      if (found.receives.encoding === "utf-8") {
        try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON: shown as it is */ }
      }
      shown += "\n" + (found.receives.key ? "Key: " + found.receives.key + "\n" : "") + "Content-Type: " +
        found.receives.content_type + (found.receives.encoding === "base64" ? " (base64)" : "") + "\n\n" + text;
    }
    answerBox.textContent = shown;
    say(outcome, verdict, found.taken ? "ok" : "");
  });
  document.getElementById("rules-save").addEventListener("click", async () => {
    clearProblems(editor);
    const answer = await api("PATCH", base, collect(editor, true));
    if (answer.ok) say(outcome, "Saved.", "ok");
    else { showProblems(editor, answer.data); say(outcome, errorText(answer.data), "error"); }
  });
}

function links() {
  for (const button of document.querySelectorAll("button[data-href]")) {
    button.addEventListener("click", () => { window.location.href = button.dataset.href; });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  links();
  workspaces();
  workspace();
  detail();
  rulesEditor();
  destinationForm();
});
