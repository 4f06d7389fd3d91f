// Small helpers to build the page from data safely (text nodes, never HTML strings).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

export const $ = (id) => document.getElementById(id);

const UNSET = "0001-01-01";

// A server time (RFC 3339, UTC) as local time: 14:03:12 today, else Nov 28 14:03.
export function when(stamp) {
  if (!stamp || stamp.startsWith(UNSET)) return "–";
  const date = new Date(stamp);
  if (Number.isNaN(date.getTime())) return stamp;
  const today = new Date();
  if (date.toDateString() === today.toDateString()) {
    return date.toLocaleTimeString([], { hour12: false });
  }
  return date.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false });
}

// "3 min ago" for heartbeats, where recency matters more than the clock.
export function ago(stamp) {
  if (!stamp || stamp.startsWith(UNSET)) return "never";
  const seconds = Math.max(0, (Date.now() - new Date(stamp).getTime()) / 1000);
  if (seconds < 60) return `${Math.round(seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

export function shortTask(taskid) {
  const cut = String(taskid || "").lastIndexOf("_");
  return cut >= 0 ? taskid.slice(cut + 1) : String(taskid || "");
}

export function badge(state) {
  return h("span", { class: "badge", dataset: { state: state || "unknown" } }, state || "?");
}

// done/total of a task: its workunits, or totalwork − remainwork.
export function taskProgress(task) {
  const units = task.workunits || [];
  const total = Math.max(Number(task.totalwork) || 1, units.length);
  if (["completed", "skipped", "user_skipped", "passed"].includes(task.state)) return [total, total];
  const done = units.length
    ? units.filter((u) => u.state === "done").length
    : total - (Number(task.remainwork ?? total) || 0);
  return [Math.min(Math.max(done, 0), total), total];
}

export function jobProgress(job) {
  const total = (job.tasks || []).length;
  return [Math.max(0, total - (Number(job.remaintasks) || 0)), total];
}

export function bar(done, total, state) {
  const fill = h("span", { class: "fill", dataset: { state } });
  fill.style.width = `${total ? Math.round((100 * done) / total) : 0}%`;
  return h("span", { class: "bar", title: `${done} of ${total}` }, fill);
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}
