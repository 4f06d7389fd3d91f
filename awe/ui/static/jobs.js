// The jobs list: state chips, project/user filters, paging, one row per job.

import { call, get, query } from "./api.js";
import { $, badge, bar, h, jobProgress, replace, when } from "./dom.js";

const PAGE = 25;
const STATES = [
  ["", "all"],
  ["queued", "queued"],
  ["in-progress", "in progress"],
  ["suspend", "suspended"],
  ["completed", "completed"],
];

export class JobsView {
  constructor({ onSelect }) {
    this.onSelect = onSelect;
    this.state = "";
    this.offset = 0;
    this.total = 0;
    this.selected = null;
    this.chips();
    for (const id of ["filter-project", "filter-user"]) {
      $(id).addEventListener("input", () => this.debounced());
    }
    $("filters").addEventListener("submit", (e) => e.preventDefault());
    $("prev").addEventListener("click", () => this.page(-PAGE));
    $("next").addEventListener("click", () => this.page(PAGE));
  }

  chips() {
    replace($("state-chips"), STATES.map(([value, label]) =>
      h("button", { type: "button", class: "chip", "aria-pressed": String(value === this.state),
        dataset: { state: value || "all" },
        onclick: () => { this.state = value; this.offset = 0; this.chips(); this.refresh(); } }, label)));
  }

  debounced() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.offset = 0; this.refresh(); }, 300);
  }

  page(step) {
    this.offset = Math.max(0, Math.min(this.offset + step, Math.max(0, this.total - 1)));
    this.refresh();
  }

  params() {
    const filters = { state: this.state, "info.project": $("filter-project").value.trim(),
      "info.user": $("filter-user").value.trim() };
    const any = Object.values(filters).some(Boolean);
    return query({ ...(any ? { query: true, ...filters } : {}), limit: PAGE, offset: this.offset });
  }

  async refresh() {
    const params = this.params();
    const envelope = await call("GET", `/job${params}`);
    if (params !== this.params()) return;  // the filters changed meanwhile: a newer refresh runs
    this.total = envelope.total_count || 0;
    this.render(envelope.data || []);
  }

  render(jobs) {
    const rows = jobs.map((job) => {
      const info = job.info || {};
      const [done, total] = jobProgress(job);
      return h("tr", { class: job.id === this.selected ? "selected" : "", dataset: { jobId: job.id },
        tabindex: 0, onclick: () => this.onSelect(job.id),
        onkeydown: (e) => { if (e.key === "Enter") this.onSelect(job.id); } },
        h("td", { class: "job-cell" },
          h("div", { class: "job-name" }, info.name || "(no name)"),
          h("div", { class: "job-id mono" }, `${job.id.slice(0, 8)} · jid ${job.jid || "?"}`)),
        h("td", {}, badge(job.state)),
        h("td", { class: "progress-cell" }, bar(done, total, job.state), h("span", { class: "count" }, `${done}/${total}`)),
        h("td", {}, info.project || "–", h("div", { class: "muted" }, info.user || "")),
        h("td", { class: "muted nowrap" }, when(job.updatetime)));
    });
    replace($("jobs-body"), rows);
    $("jobs-empty").hidden = jobs.length > 0;
    const first = jobs.length ? this.offset + 1 : 0;
    $("page-info").textContent = this.total ? `${first}–${this.offset + jobs.length} of ${this.total}` : "";
    $("prev").disabled = this.offset === 0;
    $("next").disabled = this.offset + jobs.length >= this.total;
  }

  select(id) {
    this.selected = id;
    for (const row of $("jobs-body").children) row.classList.toggle("selected", row.dataset.jobId === id);
  }
}

export async function counts() {
  return get("/queue?json");
}
