// Portcullis UI: each page draws itself from Zuul's REST API.
"use strict";

const app = document.getElementById("app");
const PAGE = app.dataset.page;
const TENANT = app.dataset.tenant;
const UUID = app.dataset.uuid;
const BASE = new URL(app.dataset.base, location.href);
const STATUS_REFRESH_MS = 4000;

function apiUrl(path) {
  return new URL("api/tenant/" + encodeURIComponent(TENANT) + "/" + path, BASE);
}

function pageUrl(path) {
  return new URL("t/" + encodeURIComponent(TENANT) + "/" + path, BASE).pathname;
}

// Builds an element: el("td", {class: "x"}, "text", child, ...).
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined) continue;
    if (key.startsWith("data-") || key === "class" || key === "id" || key === "href" ||
        key === "style" || key === "title" || key === "name" || key === "value") {
      node.setAttribute(key, value);
    } else {
      node[key] = value;
    }
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function showError(message) {
  const box = document.getElementById("error");
  box.textContent = message;
  box.hidden = !message;
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) {
    const why = body && body.description ? body.description : response.statusText;
    const err = new Error(why);
    err.status = response.status;
    throw err;
  }
  return body;
}

function setContent(...nodes) {
  const content = document.getElementById("content");
  content.replaceChildren(...nodes);
}

function resultBadge(result) {
  const text = result || "IN PROGRESS";
  return el("span", { class: "result badge", "data-result": result || "" }, text);
}

// Zuul's times are UTC without a zone: "2024-03-05T07:08:09".
function formatTime(text) {
  if (!text) return "";
  const when = new Date(text + "Z");
  return isNaN(when) ? text : when.toLocaleString();
}

function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  let s = Math.round(seconds);
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (h) return `${h} hr ${m} min`;
  if (m) return `${m} min ${s} sec`;
  return `${s} sec`;
}

// ---- status -------------------------------------------------------------

function jobState(job) {
  if (job.result) return "finished";
  if (job.uuid) return "running";
  return job.waiting_status ? "waiting" : "queued";
}

function jobProgress(job) {
  if (job.result) return { percent: 100, known: true };
  if (!job.uuid) return { percent: 0, known: true };
  const elapsed = job.elapsed_time || 0;
  if (job.remaining_time === null || job.remaining_time === undefined) {
    return { percent: 100, known: false };
  }
  const total = elapsed + job.remaining_time;
  return { percent: total > 0 ? Math.min(100, (100 * elapsed) / total) : 0, known: true };
}

function renderJob(job) {
  const state = jobState(job);
  const progress = jobProgress(job);
  const name = job.uuid
    ? el("a", { class: "job-name", href: pageUrl("build/" + job.uuid) }, job.name)
    : el("span", { class: "job-name" }, job.name);
  const bar = el("div", {
    class: "progress-bar" + (progress.known ? "" : " indeterminate"),
    style: `width: ${progress.percent.toFixed(1)}%`,
  });
  const label = job.result || (state === "running" ? "running" : job.waiting_status || "queued");
  return el("li", {
    class: "job", "data-job": job.name, "data-uuid": job.uuid || "",
    "data-state": state, "data-result": job.result || "",
  },
    name,
    job.voting ? null : el("span", { class: "non-voting" }, "non-voting"),
    el("span", { class: "job-result", "data-result": job.result || "" }, label),
    el("div", { class: "progress", title: state }, bar));
}

function renderItem(item) {
  const ref = item.refs[0] || {};
  // A ref item's id is its new revision: a short sha reads better.
  const id = /^[0-9a-f]{40}$/.test(ref.id || "") ? ref.id.slice(0, 10) : ref.id;
  const refText = id && id !== ref.ref ? `${ref.ref} @ ${id}` : ref.ref;
  return el("div", {
    class: "item" + (item.active ? "" : " inactive"),
    "data-item": item.id, "data-project": ref.project || "", "data-ref": ref.ref || "",
  },
    el("div", { class: "item-head" },
      el("span", { class: "item-project" }, ref.project || ""),
      el("span", { class: "item-ref" }, refText || "")),
    el("ul", { class: "jobs" }, ...item.jobs.map(renderJob)));
}

function renderPipeline(pipeline) {
  const queues = pipeline.change_queues.filter((q) => q.heads.some((h) => h.length));
  const count = queues.reduce((n, q) => n + q.heads.reduce((m, h) => m + h.length, 0), 0);
  const body = queues.length
    ? queues.map((queue) => el("div", { class: "queue", "data-queue": queue.name },
        el("h3", { class: "queue-name" }, queue.name),
        ...queue.heads.flat().map(renderItem)))
    : [el("p", { class: "empty" }, "No items")];
  return el("section", { class: "pipeline", "data-pipeline": pipeline.name, "data-items": count },
    el("h2", {}, pipeline.name, el("span", { class: "count" }, String(count))),
    pipeline.description ? el("p", { class: "description" }, pipeline.description) : null,
    ...body);
}

async function refreshStatus() {
  try {
    const status = await getJson(apiUrl("status"));
    showError("");
    const pipelines = status.pipelines.map(renderPipeline);
    setContent(
      el("div", { id: "status" }, ...(pipelines.length ? pipelines : [el("p", { class: "empty" }, "No pipelines")])),
      el("p", { id: "last-updated", class: "muted" }, "Updated " + new Date().toLocaleTimeString()));
  } catch (err) {
    showError("Cannot load the status: " + err.message);
  }
}

function statusPage() {
  refreshStatus();
  setInterval(() => { if (!document.hidden) refreshStatus(); }, STATUS_REFRESH_MS);
}

// ---- builds and buildsets ----------------------------------------------

const FILTERS = {
  builds: ["project", "pipeline", "job_name", "branch", "result"],
  buildsets: ["project", "pipeline", "branch", "result"],
};

function filterForm(kind) {
  const params = new URLSearchParams(location.search);
  const inputs = FILTERS[kind].map((key) =>
    el("label", {}, key.replace("_", " "),
      el("input", { name: key, value: params.get(key) || "", placeholder: "any" })));
  return el("form", { id: "filters", method: "get" }, ...inputs,
    el("button", { type: "submit" }, "Filter"));
}

function apiQuery() {
  const params = new URLSearchParams();
  for (const [key, value] of new URLSearchParams(location.search)) {
    if (value.trim()) params.append(key, value.trim());
  }
  return params.toString() ? "?" + params : "";
}

function buildRow(build) {
  return el("tr", { class: "build", "data-uuid": build.uuid, "data-result": build.result || "" },
    el("td", { class: "job" }, el("a", { href: pageUrl("build/" + build.uuid) }, build.job_name)),
    el("td", { class: "project" }, build.ref.project),
    el("td", { class: "branch" }, build.ref.branch || build.ref.ref || ""),
    el("td", { class: "pipeline" }, build.pipeline || ""),
    el("td", {}, resultBadge(build.result)),
    el("td", { class: "start-time" }, formatTime(build.start_time)),
    el("td", { class: "duration" }, formatDuration(build.duration)));
}

function table(id, headings, rows, emptyText) {
  if (!rows.length) return el("p", { id, class: "empty" }, emptyText);
  return el("table", { id, class: "list" },
    el("thead", {}, el("tr", {}, ...headings.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows));
}

async function buildsPage() {
  try {
    const builds = await getJson(apiUrl("builds" + apiQuery()));
    setContent(filterForm("builds"),
      table("builds", ["Job", "Project", "Branch", "Pipeline", "Result", "Start time", "Duration"],
        builds.map(buildRow), "No builds"));
  } catch (err) {
    setContent(filterForm("builds"));
    showError("Cannot load the builds: " + err.message);
  }
}

function buildsetRow(buildset) {
  const ref = buildset.refs[0] || {};
  return el("tr", { class: "buildset", "data-uuid": buildset.uuid, "data-result": buildset.result || "" },
    el("td", { class: "project" }, el("a", { href: pageUrl("buildset/" + buildset.uuid) }, ref.project || "")),
    el("td", { class: "branch" }, ref.branch || ref.ref || ""),
    el("td", { class: "pipeline" }, buildset.pipeline),
    el("td", {}, resultBadge(buildset.result)),
    el("td", { class: "start-time" }, formatTime(buildset.first_build_start_time)),
    el("td", { class: "end-time" }, formatTime(buildset.last_build_end_time)));
}

async function buildsetsPage() {
  try {
    const buildsets = await getJson(apiUrl("buildsets" + apiQuery()));
    setContent(filterForm("buildsets"),
      table("buildsets", ["Project", "Branch", "Pipeline", "Result", "Start time", "End time"],
        buildsets.map(buildsetRow), "No buildsets"));
  } catch (err) {
    setContent(filterForm("buildsets"));
    showError("Cannot load the buildsets: " + err.message);
  }
}

async function buildsetPage() {
  try {
    const buildset = await getJson(apiUrl("buildset/" + encodeURIComponent(UUID)));
    const ref = buildset.refs[0] || {};
    const rows = buildset.builds.map((b) => buildRow({ ...b, pipeline: buildset.pipeline }));
    setContent(
      el("h1", {}, "Buildset ", resultBadge(buildset.result)),
      details("buildset-details", [
        ["Project", ref.project], ["Branch", ref.branch], ["Ref", ref.ref],
        ["Revision", ref.newrev], ["Pipeline", buildset.pipeline],
        ["Started", formatTime(buildset.first_build_start_time)],
        ["Ended", formatTime(buildset.last_build_end_time)], ["Message", buildset.message],
      ]),
      table("builds", ["Job", "Project", "Branch", "Pipeline", "Result", "Start time", "Duration"],
        rows, "No builds"));
  } catch (err) {
    setContent();
    showError("Cannot load the buildset: " + err.message);
  }
}

// ---- build --------------------------------------------------------------

function details(id, pairs) {
  const list = el("dl", { id, class: "details" });
  for (const [key, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    const slug = key.toLowerCase().replace(/[^a-z]+/g, "-");
    list.append(el("dt", {}, key), el("dd", { "data-field": slug }, value));
  }
  return list;
}

function renderBuild(build, uuid) {
  const header = el("h1", {}, "Build ",
    el("span", { id: "build-job" }, build ? build.job_name : uuid), " ",
    el("span", { id: "build-result", class: "result badge", "data-result": (build && build.result) || "" },
      (build && build.result) || "IN PROGRESS"));
  const info = build ? details("build-details", [
    ["Job", build.job_name], ["Project", build.ref.project], ["Branch", build.ref.branch],
    ["Ref", build.ref.ref], ["Pipeline", build.pipeline], ["Voting", build.voting ? "yes" : "no"],
    ["Started", formatTime(build.start_time)], ["Ended", formatTime(build.end_time)],
    ["Duration", formatDuration(build.duration)], ["Error", build.error_detail],
    ["Logs", build.log_url ? el("a", { id: "log-url", href: build.log_url }, build.log_url) : null],
    ["Buildset", el("a", { href: pageUrl("buildset/" + build.buildset.uuid) }, build.buildset.uuid)],
  ]) : el("p", { class: "muted" }, "Waiting for the build to be recorded…");
  return [header, info];
}

async function fetchBuild() {
  try {
    return await getJson(apiUrl("build/" + encodeURIComponent(UUID)));
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}

function logBox() {
  return el("div", { class: "log-wrap" },
    el("h2", {}, "Console log ", el("span", { id: "log-status", class: "muted" }, "")),
    el("pre", { id: "log", "data-state": "loading" }));
}

function setLogState(state, text) {
  document.getElementById("log").dataset.state = state;
  document.getElementById("log-status").textContent = text;
}

function appendLog(text) {
  const log = document.getElementById("log");
  const follow = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
  log.append(text);
  if (follow) window.scrollTo(0, document.body.scrollHeight);
}

async function loadStoredLog(build) {
  setLogState("loading", "loading…");
  const url = new URL("job-output.txt", new URL(build.log_url, location.href));
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(response.statusText);
    document.getElementById("log").textContent = await response.text();
    setLogState("done", "");
  } catch (err) {
    setLogState("error", "cannot load " + url + ": " + err.message);
  }
}

function streamLog(onEnd) {
  const wsUrl = new URL(apiUrl("console-stream"));
  wsUrl.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(wsUrl);
  setLogState("streaming", "live");
  socket.onopen = () => socket.send(JSON.stringify({ uuid: UUID, logfile: "console.log" }));
  socket.onmessage = (event) => appendLog(event.data);
  socket.onclose = (event) => {
    if (event.code === 1000) {
      setLogState("done", "");
    } else {
      setLogState("error", `stream closed (${event.code}${event.reason ? ": " + event.reason : ""})`);
    }
    onEnd();
  };
}

// After the stream ends the result is recorded shortly after; look until it is.
async function waitForResult(tries) {
  const build = await fetchBuild().catch(() => null);
  if (build && build.result) {
    const content = document.getElementById("content");
    const [header, info] = renderBuild(build, UUID);
    content.replaceChild(header, content.children[0]);
    content.replaceChild(info, content.children[1]);
  } else if (tries > 0) {
    setTimeout(() => waitForResult(tries - 1), 1000);
  }
}

async function buildPage() {
  let build;
  try {
    build = await fetchBuild();
  } catch (err) {
    showError("Cannot load the build: " + err.message);
    return;
  }
  setContent(...renderBuild(build, UUID), logBox());
  if (build && build.result && build.log_url) {
    loadStoredLog(build);
  } else if (build && build.result) {
    setLogState("done", "this build left no logs");
  } else {
    streamLog(() => waitForResult(60));
  }
}

// ---- tenants ------------------------------------------------------------

async function tenantsPage() {
  try {
    const tenants = await getJson(new URL("api/tenants", BASE));
    setContent(el("h1", {}, "Tenants"), el("ul", { id: "tenants" }, ...tenants.map((t) =>
      el("li", { class: "tenant", "data-tenant": t.name },
        el("a", { href: new URL("t/" + encodeURIComponent(t.name) + "/status", BASE).pathname }, t.name)))));
  } catch (err) {
    showError("Cannot load the tenants: " + err.message);
  }
}

const PAGES = {
  status: statusPage, builds: buildsPage, buildsets: buildsetsPage,
  build: buildPage, buildset: buildsetPage, tenants: tenantsPage,
};

for (const link of document.querySelectorAll("#nav a")) {
  if (link.id === "nav-" + PAGE) link.classList.add("active");
}
if (!TENANT) document.getElementById("nav").hidden = true;
(PAGES[PAGE] || (() => showError("Unknown page " + PAGE)))();
