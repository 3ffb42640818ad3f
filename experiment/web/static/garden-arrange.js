/* The tree-arrangement task in the browser, on jsPsych 8 (arrange.html?participant=ID&session=N&phase=pre).
 *
 * The server (experiment/web/arranging.py) gives the trees (one exemplar per cell), the start
 * layouts and the texts, and records each finished arrangement. Here: a start screen (click or
 * space), then the 25 trees on the grey circle; dragging picks the topmost tree whose image box is
 * under the pointer, keeps the grip offset, and keeps each tree's centre within 1 - half its box of
 * the centre (inside the circle); a drop away from the pick-up point counts as a move. "Done"
 * sends the final positions (arena-radius units: origin at the centre, x right, y up), the moves
 * and the time from the arena's first frame (s).
 *
 * On a static host (config.server false) the setup was planned by `garden web build`
 * (arrangements/sub-<id>_ses-<n>_<phase>.json, with its seed); the page keeps one JSON line for the
 * session and one per arrangement in localStorage (a reload continues after the last finished
 * arrangement) and downloads them at the end, for `garden import --web`.
 */
"use strict";

(() => {
  const { ParameterType } = jsPsychModule;
  const body = document.body;
  let step = 0;

  function mark(screen, index) {
    step += 1;
    body.dataset.screen = screen;
    body.dataset.arrangement = index === undefined ? "" : String(index);
    body.dataset.step = String(step);
  }

  const fill = (template, values) => template.replace(/{(\w+)}/g, (m, k) => (k in values ? String(values[k]) : m));

  async function post(url, data) {
    const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                                        body: JSON.stringify(data) });
    const answer = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
    return answer;
  }

  function message(el, text) {
    el.innerHTML = "";
    const box = document.createElement("div");
    box.className = "garden-message";
    Object.assign(box.style, { position: "fixed", left: "50%", top: "50%", color: "white", fontSize: "24px",
                               width: `${0.8 * window.innerWidth}px` });
    box.textContent = text;
    el.appendChild(box);
  }

  /** Show text until a click or the space bar. */
  function startScreen(el, text, index) {
    message(el, text);
    mark("start", index);
    return new Promise((resolve) => {
      const done = (event) => {
        if (event.type === "keydown" && event.key !== " ") return;
        document.removeEventListener("keydown", done);
        document.removeEventListener("click", done);
        resolve();
      };
      document.addEventListener("keydown", done);
      setTimeout(() => document.addEventListener("click", done), 0);
    });
  }

  /** One arrangement from start positions; resolves with final positions, moves and duration (s). */
  function arrange(el, setup, index, progress) {
    const W = window.innerWidth, H = window.innerHeight;
    const R = 0.45 * Math.min(W, H), cx = Math.floor(W / 2), cy = Math.floor(H / 2);
    const stage = document.createElement("div");
    stage.className = "garden-stage";
    const arena = document.createElement("div");
    arena.className = "garden-arena";
    Object.assign(arena.style, { left: `${cx - R}px`, top: `${cy - R}px`, width: `${2 * R}px`, height: `${2 * R}px` });
    stage.appendChild(arena);
    const positions = setup.starts[index - 1].map((p) => [...p]);
    const half = setup.trees.map((t) => t.half);
    const limit = setup.trees.map((t) => 1 - Math.max(...t.half));
    const moves = setup.trees.map(() => 0);
    const order = setup.trees.map((t, i) => i);
    const images = setup.trees.map((t, i) => {
      const img = document.createElement("img");
      img.src = t.url;
      img.className = "garden-tree";
      img.draggable = false;
      img.dataset.index = String(i);
      img.dataset.label = t.label;
      Object.assign(img.style, { width: `${2 * t.half[0] * R}px`, height: `${2 * t.half[1] * R}px` });
      stage.appendChild(img);
      return img;
    });
    const draw = (i) => {
      images[i].style.left = `${cx + (positions[i][0] - half[i][0]) * R}px`;
      images[i].style.top = `${cy - (positions[i][1] + half[i][1]) * R}px`;
    };
    const restack = () => order.forEach((tree, z) => { images[tree].style.zIndex = String(z + 1); });
    images.forEach((img, i) => draw(i));
    restack();
    const bar = document.createElement("div");
    bar.className = "garden-progress";
    bar.textContent = progress;
    Object.assign(bar.style, { left: "20px", top: "20px" });
    stage.appendChild(bar);
    const done = document.createElement("button");
    done.className = "garden-done";
    done.textContent = setup.strings.done;
    Object.assign(done.style, { left: `${W - 140}px`, top: `${H - 62}px`, zIndex: "1000" });
    stage.appendChild(done);
    el.innerHTML = "";
    el.appendChild(stage);

    const toArena = (event) => [(event.clientX - cx) / R, (cy - event.clientY) / R];
    let held = null, grip = [0, 0], from = [0, 0];
    const treeAt = (xy) => [...order].reverse().find((i) => Math.abs(positions[i][0] - xy[0]) <= half[i][0] &&
                                                             Math.abs(positions[i][1] - xy[1]) <= half[i][1]);
    const onDown = (event) => {
      if (event.target === done) return;
      const xy = toArena(event), tree = treeAt(xy);
      if (tree === undefined) return;
      held = tree;
      order.splice(order.indexOf(tree), 1);
      order.push(tree);
      restack();
      grip = [positions[tree][0] - xy[0], positions[tree][1] - xy[1]];
      from = [...positions[tree]];
      event.preventDefault();
    };
    const onMove = (event) => {
      if (held === null) return;
      const xy = toArena(event);
      let x = xy[0] + grip[0], y = xy[1] + grip[1];
      const r = Math.hypot(x, y);
      if (r > limit[held]) { x *= limit[held] / r; y *= limit[held] / r; }
      positions[held] = [x, y];
      draw(held);
    };
    const onUp = (event) => {
      if (held === null) return;
      onMove(event);
      if (positions[held][0] !== from[0] || positions[held][1] !== from[1]) moves[held] += 1;
      held = null;
    };
    stage.addEventListener("pointerdown", onDown);
    window.addEventListener("pointermove", onMove);
    window.addEventListener("pointerup", onUp);
    return new Promise((resolve) => {
      requestAnimationFrame((t0) => {
        mark("arena", index);
        done.addEventListener("click", () => {
          window.removeEventListener("pointermove", onMove);
          window.removeEventListener("pointerup", onUp);
          resolve({ final: positions, moves, duration_s: Math.round(performance.now() - t0) / 1000 });
        }, { once: true });
      });
    });
  }

  class GardenArrangementPlugin {
    static info = {
      name: "garden-arrangement",
      version: "1.0.0",
      parameters: { index: { type: ParameterType.INT, default: 1 }, setup: { type: ParameterType.OBJECT, default: undefined },
                    server: { type: ParameterType.BOOL, default: true },
                    store: { type: ParameterType.STRING, default: "" } },
      data: { arrangement: { type: ParameterType.OBJECT } },
    };

    constructor(jsPsych) {
      this.jsPsych = jsPsych;
    }

    async trial(el, params) {
      const setup = params.setup, index = params.index, s = setup.strings;
      const texts = { total: setup.n_arrangements, done: s.done, index };
      const intro = index === setup.next ? `${fill(s.instructions, texts)}\n\n` : "";
      await startScreen(el, intro + fill(s.start, texts), index);
      const result = await arrange(el, setup, index, fill(s.progress, texts));
      const record = { participant_id: setup.participant_id, session: setup.session, phase: setup.phase,
                       arrangement: index, ...result };
      try {
        if (params.server) await post("api/arrangement", record);
        else keep(params.store, "arrangement", record);
      } catch (error) {
        message(el, error.message);
        mark("error");
        await new Promise(() => {});
      }
      return { arrangement: record };
    }
  }

  /** Static hosts: the page's lines in localStorage under ``prefix`` (one item per line and a count). */
  function kept(prefix) {
    const n = Number(localStorage.getItem(`${prefix}n`) || 0);
    return Array.from({ length: n }, (_, i) => localStorage.getItem(`${prefix}line${i}`)).filter((l) => l !== null);
  }

  function keep(prefix, kind, record) {
    const n = Number(localStorage.getItem(`${prefix}n`) || 0);
    localStorage.setItem(`${prefix}line${n}`, JSON.stringify({ kind, ...record }));
    localStorage.setItem(`${prefix}n`, String(n + 1));
  }

  function download(prefix, ids) {
    const blob = new Blob([kept(prefix).map((l) => `${l}\n`).join("")], { type: "application/x-ndjson" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `garden_sub-${ids.participant_id}_ses-${ids.session}_arrangement-${ids.phase}.jsonl`;
    document.body.appendChild(link);
    link.click();
  }

  /** A static site's planned setup, continued after the arrangements this browser kept. */
  async function plannedSetup(ids, browser, prefix) {
    const name = `sub-${encodeURIComponent(ids.participant_id)}_ses-${ids.session}_${encodeURIComponent(ids.phase)}`;
    const response = await fetch(`arrangements/${name}.json`);
    if (!response.ok) throw new Error("not in this study");
    const setup = await response.json();
    const done = kept(prefix).map((l) => JSON.parse(l)).filter((r) => r.kind === "arrangement").length;
    setup.next = done + 1;
    keep(prefix, "arrangement_session", { ...ids, browser, seed: setup.seed, n_arrangements: setup.n_arrangements });
    return setup;
  }

  async function main() {
    const query = new URLSearchParams(location.search);
    const ids = { participant_id: query.get("participant") || "", session: Number(query.get("session") || "1"),
                  phase: query.get("phase") || "pre" };
    const browser = { user_agent: navigator.userAgent, window_px: [window.innerWidth, window.innerHeight],
                      screen_px: [screen.width, screen.height], device_pixel_ratio: window.devicePixelRatio };
    const config = await (await fetch("config.json")).json();
    const prefix = `garden-arrange:${config.protocol}:${ids.participant_id}:${ids.session}:${ids.phase}:`;
    let setup;
    try {
      setup = config.server ? await post("api/arrangement/session", { ...ids, browser })
                            : await plannedSetup(ids, browser, prefix);
    } catch (error) {
      message(body, config.server ? error.message : fill(config.web_strings.not_in_study,
                                                        { participant: ids.participant_id, session: ids.session }));
      mark("error");
      return;
    }
    const jsPsych = initJsPsych();
    const timeline = [];
    for (let index = setup.next; index <= setup.n_arrangements; index++) {
      timeline.push({ type: GardenArrangementPlugin, index, setup, server: config.server, store: prefix });
    }
    await jsPsych.run(timeline);
    message(jsPsych.getDisplayElement(), setup.strings.end);
    if (!config.server && timeline.length) download(prefix, ids);
    mark("end");
  }

  window.addEventListener("DOMContentLoaded", main);
})();
