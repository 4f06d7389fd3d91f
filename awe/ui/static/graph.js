// A job's task graph as SVG: tasks in columns by depth (longest path from a root), each a box
// with its state and workunit progress, edges from each dependency.

import { shortTask, taskProgress } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const BOX_W = 168;
const BOX_H = 54;
const GAP_X = 64;
const GAP_Y = 18;
const PAD = 10;
const ARC = 26;  // room above the boxes for edges that skip a column

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

// depth of each task: 0 for roots, else 1 + the deepest dependency (cycles are refused at submit)
export function layout(tasks) {
  const byId = new Map(tasks.map((t) => [t.taskid, t]));
  const depth = new Map();
  const visit = (task, seen = new Set()) => {
    if (depth.has(task.taskid)) return depth.get(task.taskid);
    if (seen.has(task.taskid)) return 0;
    seen.add(task.taskid);
    const parents = (task.dependsOn || []).map((id) => byId.get(id)).filter(Boolean);
    const d = parents.length ? 1 + Math.max(...parents.map((p) => visit(p, seen))) : 0;
    depth.set(task.taskid, d);
    return d;
  };
  tasks.forEach((t) => visit(t));
  const columns = [];
  for (const task of tasks) {
    const d = depth.get(task.taskid);
    (columns[d] ||= []).push(task);
  }
  const positions = new Map();
  const tallest = Math.max(1, ...columns.map((c) => c.length));
  const height = tallest * BOX_H + (tallest - 1) * GAP_Y;
  columns.forEach((column, col) => {
    const used = column.length * BOX_H + (column.length - 1) * GAP_Y;
    column.forEach((task, row) => {
      positions.set(task.taskid, {
        x: PAD + col * (BOX_W + GAP_X),
        y: PAD + ARC + (height - used) / 2 + row * (BOX_H + GAP_Y),
      });
    });
  });
  return {
    positions,
    width: PAD * 2 + columns.length * BOX_W + Math.max(0, columns.length - 1) * GAP_X,
    height: PAD * 2 + ARC + height,
  };
}

export function taskGraph(tasks, onSelect) {
  const { positions, width, height } = layout(tasks);
  const svg = s("svg", { class: "graph", viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    "aria-label": "task graph" });
  const edges = s("g", { class: "edges" });
  for (const task of tasks) {
    const to = positions.get(task.taskid);
    for (const parent of task.dependsOn || []) {
      const from = positions.get(parent);
      if (!from) continue;
      const x1 = from.x + BOX_W;
      const y1 = from.y + BOX_H / 2;
      const x2 = to.x;
      const y2 = to.y + BOX_H / 2;
      const mid = (x1 + x2) / 2;
      let d = `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 4},${y2}`;
      if (x2 - x1 > GAP_X + 1) {
        // it skips a column: leave the box's top edge, arc over the boxes between, come down
        const top = Math.min(from.y, to.y) - ARC + 4;
        const sx = from.x + BOX_W - 24;
        const ex = to.x + 24;
        d = `M${sx},${from.y} C${sx},${top} ${sx + 20},${top} ${mid},${top} ` +
          `S${ex},${top} ${ex},${to.y - 4}`;
      }
      edges.append(s("path", { d, class: "edge" }));
    }
  }
  svg.append(s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 8 8", refX: 6, refY: 4, markerWidth: 7,
    markerHeight: 7, orient: "auto" }, s("path", { d: "M0,0 L8,4 L0,8 z", class: "arrow" }))));
  svg.append(edges);
  for (const task of tasks) {
    const { x, y } = positions.get(task.taskid);
    const [done, total] = taskProgress(task);
    const name = (task.cmd && task.cmd.name) || "";
    const node = s("g", { class: "node", "data-state": task.state, "data-task": shortTask(task.taskid),
      transform: `translate(${x},${y})`, tabindex: 0 });
    node.append(s("title", {}, `task ${shortTask(task.taskid)}: ${task.state}, ${done}/${total} workunits`));
    node.append(s("rect", { width: BOX_W, height: BOX_H, rx: 8, class: "box" }));
    node.append(s("rect", { x: 0, y: 0, width: 6, height: BOX_H, rx: 3, class: "stripe" }));
    node.append(s("text", { x: 16, y: 20, class: "node-title" }, `task ${shortTask(task.taskid)}`));
    node.append(s("text", { x: BOX_W - 10, y: 20, class: "node-count", "text-anchor": "end" }, `${done}/${total}`));
    node.append(s("text", { x: 16, y: 38, class: "node-sub" }, `${name.slice(0, 14)} · ${task.state}`));
    const track = s("rect", { x: 16, y: 44, width: BOX_W - 28, height: 4, rx: 2, class: "track" });
    const fill = s("rect", { x: 16, y: 44, width: total ? ((BOX_W - 28) * done) / total : 0, height: 4, rx: 2,
      class: "progress" });
    node.append(track, fill);
    node.addEventListener("click", () => onSelect(task));
    node.addEventListener("keydown", (e) => { if (e.key === "Enter") onSelect(task); });
    svg.append(node);
  }
  for (const path of edges.children) path.setAttribute("marker-end", "url(#arrow)");
  return svg;
}
