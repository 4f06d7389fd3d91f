// The page: who is signed in, which view is open (#/jobs, #/job/<id>, #/workers), and what
// to re-read when an event arrives or after an action.

import { call, get, setToken, token } from "./api.js";
import { $, h, replace, toast } from "./dom.js";
import { JobDetail } from "./job.js";
import { JobsView } from "./jobs.js";
import { Live } from "./live.js";
import { WorkersView } from "./workers.js";

const NOBODY = { user: "", anonymous: true, admin: false, rights: {}, queue_control: false, client_control: false };
let me = NOBODY;
const rights = () => ({ ...me.rights, queue_control: me.queue_control, client_control: me.client_control });

const jobs = new JobsView({ onSelect: (id) => { location.hash = `#/job/${id}`; } });
const detail = new JobDetail({ rights, onChanged: () => refresh({ jobs: true, job: true, summary: true }) });
const workers = new WorkersView({ rights });
const live = new Live({
  onEvent: (event) => onEvent(event),
  onReload: () => refresh({ jobs: true, job: true, summary: true, workers: true }),
  onStatus: (status) => showLive(status),
});

// ---- refreshing ------------------------------------------------------------------------

const pending = { jobs: false, job: false, summary: false, workers: false };
let timer = null;

// Events come in bursts (one report: workunit, task, job): re-read each view at most every 250 ms.
function refresh(what) {
  Object.assign(pending, Object.fromEntries(Object.entries(what).filter(([, v]) => v)));
  clearTimeout(timer);
  timer = setTimeout(run, 250);
}

async function run() {
  const what = { ...pending };
  Object.keys(pending).forEach((k) => { pending[k] = false; });
  const view = currentView();
  $("signin-needed").hidden = Boolean(me.rights.read);
  if (!me.rights.read) return;  // nothing to show until a token is entered
  const tasks = [];
  if (what.summary) tasks.push(summary());
  if (what.jobs && view.name !== "workers") tasks.push(jobs.refresh());
  if (what.job && view.job) tasks.push(detail.show(view.job));
  if (what.workers && view.name === "workers") tasks.push(workers.refresh());
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) toast(failed.reason.message, "error");
}

function onEvent(event) {
  const view = currentView();
  refresh({
    summary: true,
    jobs: event.kind !== "client",
    job: Boolean(view.job) && (event.job_id === view.job || event.subject === view.job),
    workers: event.kind === "client" || event.kind === "workunit",
  });
}

async function summary() {
  const q = await get("/queue?json");
  const state = q.queue_status;
  const badgeEl = $("queue-state");
  badgeEl.textContent = state;
  badgeEl.dataset.state = state;
  $("count-active").textContent = q.jobs.active;
  $("count-suspended").textContent = q.jobs.suspended;
  $("count-queued").textContent = q.workunits.queuing;
  $("count-running").textContent = q.workunits.checkout;
  const c = q.clients || {};
  $("count-workers").textContent = `${c.busy ?? "–"} / ${c.idle ?? "–"}`;
  replace($("queue-actions"), me.queue_control
    ? h("button", { type: "button", class: "quiet small", dataset: { action: "queue" }, onclick: async () => {
      try {
        toast(String((await call("PUT", `/queue?${state === "running" ? "suspend" : "resume"}`)).data), "ok");
      } catch (err) {
        toast(err.message, "error");
      }
      refresh({ summary: true });
    } }, state === "running" ? "Suspend" : "Resume")
    : null);
}

// ---- views -----------------------------------------------------------------------------

function currentView() {
  const hash = location.hash || "#/jobs";
  if (hash.startsWith("#/job/")) return { name: "jobs", job: decodeURIComponent(hash.slice(6)) };
  if (hash === "#/workers") return { name: "workers", job: null };
  return { name: "jobs", job: null };
}

function route() {
  const view = currentView();
  $("jobs-view").hidden = view.name !== "jobs";
  $("workers-view").hidden = view.name !== "workers";
  $("tab-jobs").setAttribute("aria-selected", String(view.name === "jobs"));
  $("tab-workers").setAttribute("aria-selected", String(view.name === "workers"));
  jobs.select(view.job);
  refresh({ jobs: view.name === "jobs", job: true, workers: view.name === "workers", summary: true });
  if (!view.job) detail.show(null);
}

function showLive(status) {
  const labels = { live: "live", connecting: "connecting…", reconnecting: "reconnecting…",
    offline: "live updates off", "signed-out": "sign in for live updates" };
  $("live").dataset.live = status;
  $("live-text").textContent = labels[status] || status;
}

// ---- signing in ------------------------------------------------------------------------

async function signIn() {
  try {
    me = await get("/whoami");
  } catch (err) {
    me = NOBODY;
    if (token()) toast(`token not accepted: ${err.message}`, "error");
  }
  const named = me.user && !me.anonymous;
  $("who").textContent = named ? `${me.user}${me.admin ? " (admin)" : ""}` : me.rights.read ? "anonymous" : "";
  $("token").hidden = Boolean(named);
  $("signin-button").hidden = Boolean(named);
  $("signout").hidden = !named;
  document.body.classList.toggle("needs-signin", !me.rights.read);
  if (!me.rights.read) $("token").focus();
  live.start();
  route();
}

$("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  setToken($("token").value.trim());
  $("token").value = "";
  signIn();
});
$("signout").addEventListener("click", () => {
  setToken("");
  signIn();
});
window.addEventListener("hashchange", route);

(async () => {
  try {
    const about = await fetch("/", { headers: { Accept: "application/json" } }).then((r) => r.json());
    $("server-title").textContent = about.title || "";
    document.title = `awe · ${about.title || "AWE"}`;
  } catch {
    // the title is a nicety
  }
  await signIn();
})();
