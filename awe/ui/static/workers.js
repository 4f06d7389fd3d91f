// Workers (AWE clients): status, current work, counters; suspend/resume/delete for those allowed.

import { call, get } from "./api.js";
import { $, ago, badge, h, replace, toast } from "./dom.js";

export class WorkersView {
  constructor({ rights }) {
    this.rights = rights;
  }

  async refresh() {
    const clients = (await get("/client")) || [];
    this.render(clients);
    return clients;
  }

  render(clients) {
    const may = this.rights().client_control;
    replace($("workers-body"), clients.map((c) => {
      const work = Object.keys(c.current_work || {});
      return h("tr", { dataset: { client: c.id } },
        h("td", {}, h("div", { class: "job-name" }, c.name || "(no name)"), h("div", { class: "mono muted" }, c.id.slice(0, 8))),
        h("td", {}, c.group || "–"),
        h("td", {}, badge(c.Status)),
        h("td", { class: "mono small-text" }, work.length ? work.map(workLink) : "–"),
        h("td", {}, String(c.total_completed ?? 0)),
        h("td", {}, String(c.total_failed ?? 0)),
        h("td", { class: "muted nowrap" }, ago(c.last_heartbeat)),
        h("td", { class: "right nowrap" }, may ? this.actions(c) : null));
    }));
    $("workers-empty").hidden = clients.length > 0;
  }

  actions(client) {
    const path = `/client/${encodeURIComponent(client.id)}`;
    const buttons = [];
    if (client.Status === "suspend") buttons.push(this.button("Resume", "PUT", `${path}?resume`));
    else buttons.push(this.button("Suspend", "PUT", `${path}?suspend`));
    buttons.push(this.button("Delete", "DELETE", path, "danger"));
    return buttons;
  }

  button(label, method, path, extra = "") {
    return h("button", { type: "button", class: `quiet small ${extra}`, onclick: async (e) => {
      e.currentTarget.disabled = true;
      try {
        toast(String((await call(method, path)).data), "ok");
      } catch (err) {
        toast(err.message, "error");
      }
      await this.refresh();
    } }, label);
  }
}

// a held workunit, linked to its job: 3ad5f931…_1_2
function workLink(wuid) {
  const job = wuid.slice(0, 36);
  return h("div", {}, h("a", { href: `#/job/${encodeURIComponent(job)}`, title: wuid }, `${job.slice(0, 8)}…${wuid.slice(36)}`));
}
