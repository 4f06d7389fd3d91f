// One job: header with actions, task graph, tasks with their workunits and logs, history.

import { ApiError, call, get, jobPath } from "./api.js";
import { $, badge, bar, h, jobProgress, replace, shortTask, taskProgress, toast, when } from "./dom.js";
import { taskGraph } from "./graph.js";

const RUNNING = ["init", "queued", "in-progress"];

export class JobDetail {
  constructor({ rights, onChanged }) {
    this.rights = rights;
    this.onChanged = onChanged;
    this.id = null;
    this.job = null;
    this.open = new Set();  // tasks whose workunits are shown
    this.names = new Map();  // client id → worker name
    this.events = null;  // the job's history, where the server keeps one
    $("log-close").addEventListener("click", () => $("log-dialog").close());
  }

  async show(id) {
    if (id !== this.id) this.open.clear();
    this.id = id;
    if (!id) {
      delete $("job-detail").dataset.job;
      replace($("job-detail"), h("div", { class: "placeholder" }, "Select a job to see its tasks, workunits and history."));
      return;
    }
    try {
      const [job, history, clients] = await Promise.all([
        get(jobPath(id)),
        get(`${jobPath(id)}?history`).catch(() => null),  // the job's recent transitions
        get("/client").catch(() => []),  // only to name the workers that hold workunits
      ]);
      this.job = job;
      // a list of events, or a job carrying them; anything else: this server keeps none
      const events = Array.isArray(history) ? history : history && history.history;
      this.events = Array.isArray(events) ? events : null;
      this.names = new Map((clients || []).map((c) => [c.id, c.name || c.id.slice(0, 8)]));
    } catch (err) {
      if (id !== this.id) return;
      replace($("job-detail"), h("div", { class: "placeholder error" }, err.message));
      return;
    }
    if (id === this.id) this.render();
  }

  render() {
    const job = this.job;
    const info = job.info || {};
    const [done, total] = jobProgress(job);
    const body = [
      h("div", { class: "detail-head" },
        h("div", {},
          h("h2", {}, info.name || "(no name)", " ", badge(job.state)),
          h("div", { class: "mono muted" }, `${job.id} · jid ${job.jid || "?"}`)),
        h("div", { class: "actions" }, this.actions(job))),
      h("div", { class: "facts" },
        fact("progress", h("span", {}, bar(done, total, job.state), ` ${done}/${total} tasks`)),
        fact("project", info.project || "–"), fact("user", info.user || "–"),
        fact("pipeline", info.pipeline || "–"), fact("priority", info.priority ?? "–"),
        fact("submitted", when(info.submittime)), fact("started", when(info.startedtime)),
        fact("completed", when(info.completedtime))),
      job.notes ? h("div", { class: "notes" }, h("strong", {}, "notes "), job.notes.replaceAll(`${job.id}_`, "")) : null,
      h("h3", {}, "Task graph"),
      h("div", { class: "graph-wrap" }, taskGraph(job.tasks || [], (task) => this.toggle(task.taskid, true))),
      h("h3", {}, "Tasks"),
      this.tasks(job),
      h("h3", {}, "History"),
      this.history(),
    ];
    replace($("job-detail"), body);
    $("job-detail").dataset.job = job.id;
  }

  actions(job) {
    const may = this.rights();
    const buttons = [];
    if (may.write && RUNNING.includes(job.state)) buttons.push(this.button("suspend", "Suspend", "?suspend"));
    if (may.write && job.state === "suspend") buttons.push(this.button("resume", "Resume", "?resume"));
    if (may.delete && job.state !== "deleted") buttons.push(this.deleteButton());
    return buttons;
  }

  button(action, label, operation, method = "PUT", className = "") {
    return h("button", { type: "button", class: className, dataset: { action },
      onclick: (e) => this.act(e.currentTarget, method, `${jobPath(this.id)}${operation}`) }, label);
  }

  deleteButton() {
    const button = h("button", { type: "button", class: "danger", dataset: { action: "delete" } }, "Delete");
    button.addEventListener("click", () => {
      if (button.dataset.armed) {
        this.act(button, "DELETE", jobPath(this.id));
        return;
      }
      button.dataset.armed = "1";
      button.textContent = "Really delete?";
      setTimeout(() => { delete button.dataset.armed; button.textContent = "Delete"; }, 4000);
    });
    return button;
  }

  async act(button, method, path) {
    button.disabled = true;
    try {
      const envelope = await call(method, path);
      toast(String(envelope.data), "ok");
    } catch (err) {
      toast(err.message, "error");
    } finally {
      button.disabled = false;
    }
    await this.onChanged();
  }

  tasks(job) {
    const canRecompute = this.rights().write && ["completed", "suspend"].includes(job.state);
    const rows = [];
    for (const task of job.tasks || []) {
      const [done, total] = taskProgress(task);
      const short = shortTask(task.taskid);
      const cmd = task.cmd || {};
      const opened = this.open.has(task.taskid);
      rows.push(h("tr", { class: `task-row${opened ? " open" : ""}`, dataset: { task: short } },
        h("td", {}, h("button", { type: "button", class: "quiet disclose", "aria-expanded": String(opened),
          onclick: () => this.toggle(task.taskid) }, opened ? "▾" : "▸"), ` ${short}`),
        h("td", { class: "mono cmd" }, [cmd.name, cmd.args].filter(Boolean).join(" ")),
        h("td", {}, badge(task.state)),
        h("td", { class: "progress-cell" }, bar(done, total, task.state), h("span", { class: "count" }, `${done}/${total}`)),
        h("td", { class: "muted" }, (task.dependsOn || []).map(shortTask).join(", ") || "–"),
        h("td", { class: "right" }, canRecompute ? this.button("recompute", "Recompute",
          `?recompute=${encodeURIComponent(short)}`, "PUT", "quiet small") : null)));
      if (opened) rows.push(h("tr", { class: "units-row" }, h("td", { colspan: 6 }, this.units(task))));
    }
    return h("table", { class: "grid tasks" },
      h("thead", {}, h("tr", {}, ["task", "command", "state", "workunits", "after", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows));
  }

  units(task) {
    const units = task.workunits || [];
    if (!units.length) return h("div", { class: "muted" }, "No workunits yet: the task waits for the tasks it depends on.");
    return h("div", { class: "units" }, units.map((unit) => {
      const wuid = `${task.taskid}_${unit.rank}`;
      return h("div", { class: "unit", dataset: { wuid } },
        h("span", { class: "mono" }, `rank ${unit.rank}`), badge(unit.state),
        h("span", { class: "muted" }, unit.client ? `on ${this.names.get(unit.client) || unit.client.slice(0, 8)}` : ""),
        unit.failed ? h("span", { class: "warn" }, `${unit.failed} failed`) : null,
        h("span", { class: "spacer" }),
        ["stdout", "stderr"].map((kind) => h("button", { type: "button", class: "quiet small", dataset: { log: kind },
          onclick: () => showLog(wuid, kind) }, kind)));
    }));
  }

  toggle(taskid, only = false) {
    if (only) this.open.add(taskid);
    else if (this.open.has(taskid)) this.open.delete(taskid);
    else this.open.add(taskid);
    this.render();
    const row = document.querySelector(`tr.task-row[data-task="${CSS.escape(shortTask(taskid))}"]`);
    if (only && row) row.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  history() {
    if (!this.events) {
      return h("div", { class: "muted" }, "This server does not keep a job history (GET /job/{id}?history).");
    }
    if (!this.events.length) return h("div", { class: "muted" }, "No transitions recorded.");
    const rows = [...this.events].reverse().map((e) => h("tr", {},
      h("td", { class: "muted nowrap" }, when(e.time)),
      h("td", {}, e.kind === "job" ? "job" : `${e.kind} ${shortSubject(e.subject)}`),
      h("td", { class: "nowrap" }, badge(e.old || "new"), " → ", badge(e.new)),
      h("td", {}, this.names.get(e.detail) ? `by ${this.names.get(e.detail)}` : e.detail || ""),
      h("td", { class: "mono muted" }, e.stimulus || "")));
    return h("table", { class: "grid history" },
      h("thead", {}, h("tr", {}, ["time", "what", "change", "why", "stimulus"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows));
  }
}

function fact(label, value) {
  return h("div", { class: "fact" }, h("div", { class: "label" }, label), h("div", {}, value));
}

function shortSubject(subject) {
  return String(subject || "").split("_").slice(1).join("_");
}

async function showLog(wuid, kind) {
  $("log-title").textContent = `${kind} of ${wuid}`;
  $("log-text").textContent = "loading…";
  $("log-dialog").showModal();
  try {
    const text = await get(`/work/${encodeURIComponent(wuid)}?report=${kind}`);
    $("log-text").textContent = text || `(${kind} is empty)`;
  } catch (err) {
    const empty = err instanceof ApiError && err.message.includes("not found");
    $("log-text").textContent = empty ? `(no ${kind} reported for this workunit)` : err.message;
  }
}
