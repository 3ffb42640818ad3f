/* The garden task in the browser, on jsPsych 8.
 *
 * The page computes no trial: its planned sequence (experiment/session.py) comes from the server
 * (POST api/session; it also says where a reloaded session resumes) or, on a static host, from
 * sequences/sub-<id>_ses-<n>.json. Every trial is sent to the server as it ends (POST api/trial)
 * and the next one starts only when it is recorded. On a static host the page keeps its own record
 * (one JSON line for the session, one per trial, as the server receives them) in the browser's
 * localStorage, so a reload continues after the last kept trial (and adds a session line, as the
 * server records a reload); inside JATOS each line is also appended to the component's result data
 * as it happens (jatos.appendResultData); on any other host the lines are downloaded as a file at
 * the end. `garden import --web` reads either. Every trial line names what was shown (tree, garden,
 * sides, phase, block): the recorder refuses a line that differs from its plan.
 *
 * A trial (as experiment/present.py): ITI (blank) -> context frame with fixation -> tree with the
 * accept/reject labels -> key (or "too slow" when the window ends) -> chosen side highlighted ->
 * points after feedback_delay_s in feedback phases -> blank. Every screen change is made in a
 * requestAnimationFrame callback, on the first frame within half a frame of its planned time; its
 * onset is that callback's timestamp. RTs are the key event's timestamp minus the tree's onset
 * (same clock: performance.now, ms). Frame intervals are logged all along; a trial records their
 * median and maximum and the frames dropped (intervals longer than 1.5 refresh periods).
 * Times sent to the server are in seconds from the page's first trial.
 */
"use strict";

(() => {
  const { ParameterType } = jsPsychModule;
  const body = document.body;

  // ------------------------------------------------------------------ frames and time

  const frameLog = [];
  let frameMs = 1000 / 60;
  const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));

  function logFrames(ts) {
    frameLog.push(ts);
    if (frameLog.length > 200000) frameLog.splice(0, 100000);
    requestAnimationFrame(logFrames);
  }

  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
  };

  async function measureRefresh(n = 40) {
    const times = [];
    for (let i = 0; i <= n; i++) times.push(await nextFrame());
    frameMs = median(times.slice(1).map((t, i) => t - times[i]));
    return frameMs;
  }

  /** Run render(timestamp) on the first frame within half a frame of targetMs (the next frame if
   *  undefined); return that frame's timestamp (ms). */
  async function show(render, targetMs) {
    for (;;) {
      const ts = await nextFrame();
      if (targetMs === undefined || ts + frameMs / 2 >= targetMs) {
        render(ts);
        return ts;
      }
    }
  }

  /** The first press of one of keys (KeyboardEvent.key), or null at deadlineMs (frame-checked). */
  function waitKey(keys, deadlineMs) {
    return new Promise((resolve) => {
      let done = false;
      const finish = (result) => {
        if (done) return;
        done = true;
        document.removeEventListener("keydown", onKey);
        resolve(result);
      };
      const onKey = (event) => {
        const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
        if (!event.repeat && keys.includes(key)) finish({ key, time: event.timeStamp });
      };
      document.addEventListener("keydown", onKey);
      if (deadlineMs !== undefined) {
        const tick = (ts) => {
          if (done) return;
          if (ts + frameMs / 2 >= deadlineMs) finish(null);
          else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }
    });
  }

  function frameStats(fromMs, toMs) {
    const times = frameLog.filter((t) => t >= fromMs && t <= toMs);
    const intervals = times.slice(1).map((t, i) => t - times[i]);
    const dropped = intervals.reduce((n, iv) => n + Math.max(0, Math.round(iv / frameMs) - 1), 0);
    return {
      frames: times.length,
      frame_interval_median_s: intervals.length ? Math.round(median(intervals) * 1000) / 1e6 : null,
      frame_interval_max_s: intervals.length ? Math.round(Math.max(...intervals) * 1000) / 1e6 : null,
      dropped_frames: dropped,
    };
  }

  // ------------------------------------------------------------------ screens

  let config = null;
  let step = 0;
  const rgb = (c) => `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
  const escape = (text) => String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const fill = (template, values) => template.replace(/{(\w+)}/g, (m, k) => (k in values ? String(values[k]) : m));

  /** Name the screen now up (and its trial and frame timestamp) on <body>, for tests and debugging. */
  function mark(screen, trial, ts) {
    step += 1;
    body.dataset.time = ts === undefined ? "" : String(ts);
    body.dataset.screen = screen;
    body.dataset.trial = trial === undefined ? "" : String(trial);
    body.dataset.step = String(step);
  }

  const SIZES = ["frame_size_px", "frame_width_px", "tree_size_px", "label_x_px", "label_y_px", "text_height_px",
                 "fixation_size_px", "highlight_width_px"];

  /** The window size the task needs (px): the frame, the labels either side, the key names below. */
  function needed(d) {
    return { width: Math.max(d.frame_size_px, 2 * (d.label_x_px + 3 * d.text_height_px)),
             height: d.frame_size_px + 4 * d.text_height_px };
  }

  /** The protocol's geometry scaled down (never up) to fit the window; the scale is recorded. A
   *  window that would need a scale below 0.5 is asked to grow first (see waitForWindow). */
  function fitDisplay(d) {
    const need = needed(d);
    const scale = Math.min(1, window.innerWidth / need.width, window.innerHeight / need.height);
    const scaled = { ...d };
    for (const name of SIZES) scaled[name] = Math.round(d[name] * scale);
    return { scale, display: scaled };
  }

  /** Pixel positions from the window centre (x right, y up, as the protocol's). */
  function centre() {
    return { x: Math.floor(window.innerWidth / 2), y: Math.floor(window.innerHeight / 2) };
  }

  function place(el, x, y) {
    const c = centre();
    el.style.left = `${c.x + x}px`;
    el.style.top = `${c.y - y}px`;
    return el;
  }

  function element(cls, text) {
    const el = document.createElement("div");
    el.className = cls;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function frameEl(context) {
    const d = config.display;
    const el = element("garden-frame");
    el.style.width = el.style.height = `${d.frame_size_px}px`;
    el.style.borderWidth = `${d.frame_width_px}px`;
    el.style.borderColor = rgb(d.context_colours[context]);
    return place(el, -d.frame_size_px / 2, d.frame_size_px / 2);
  }

  function textEl(text, x, y, colour, size) {
    const d = config.display;
    const el = element("garden-text", text);
    el.style.fontSize = `${size || d.text_height_px}px`;
    el.style.color = rgb(colour || d.text_colour);
    return place(el, x, y);
  }

  function messageEl(text) {
    const d = config.display;
    const el = element("garden-message", text);
    el.style.fontSize = `${d.text_height_px}px`;
    el.style.color = rgb(d.text_colour);
    el.style.width = `${Math.min(0.8 * d.size_px[0], 0.9 * window.innerWidth)}px`;
    return place(el, 0, 0);
  }

  /** Frame + tree + labels; chosen: side highlighted; feedback: the points. */
  function trialParts(trial, image, chosen, feedback) {
    const d = config.display, s = config.strings;
    const accept = trial.side_accept, reject = accept === "left" ? "right" : "left";
    const x = { left: -d.label_x_px, right: d.label_x_px };
    const parts = [frameEl(trial.context)];
    image.className = "garden-tree";
    image.style.width = image.style.height = `${d.tree_size_px}px`;
    parts.push(place(image, Math.floor(-d.tree_size_px / 2), -Math.floor(-d.tree_size_px / 2)));
    const label = { [accept]: s.accept, [reject]: s.reject };
    for (const side of ["left", "right"]) {
      const el = textEl(label[side], x[side], d.label_y_px);
      el.dataset.side = side;
      el.dataset.label = side === accept ? "accept" : "reject";
      parts.push(el);
      const key = textEl(config.key_labels[side], x[side], -(d.frame_size_px / 2 + d.text_height_px), null,
                         Math.round(0.6 * d.text_height_px));
      key.dataset.key = side;
      parts.push(key);
    }
    if (chosen) {
      const box = element("garden-highlight");
      box.style.width = `${5 * d.text_height_px}px`;
      box.style.height = `${2 * d.text_height_px}px`;
      box.style.borderWidth = `${d.highlight_width_px}px`;
      box.style.borderColor = rgb(d.highlight_colour);
      parts.push(place(box, x[chosen], d.label_y_px));
    }
    if (feedback) {
      const value = trial.reward_value;
      const colour = value > 0 ? d.positive_colour : value < 0 ? d.negative_colour : d.neutral_colour;
      const sign = value >= 0 ? "+" : "-";
      parts.push(textEl(`${sign}${Math.abs(Math.round(value))}`, x[accept], d.label_y_px - 2 * d.text_height_px, colour));
      parts.push(textEl("+0", x[reject], d.label_y_px - 2 * d.text_height_px, d.neutral_colour));
    }
    return parts;
  }

  function paint(stage, parts) {
    stage.replaceChildren(...parts);
  }

  // ------------------------------------------------------------------ trees

  const images = new Map();
  function treeImage(url) {
    if (!images.has(url)) {
      const img = new Image();
      img.src = url;
      images.set(url, img.decode().then(() => img));
    }
    return images.get(url);
  }

  const PRELOAD = 6;
  /** Fetch and decode the trees of trials[from] and the PRELOAD - 1 after it, so each is ready when
   *  shown; none in jsPsych's data-only simulation, which draws no screen. */
  function preload(trials, from) {
    if (simulationMode() === "data-only") return;
    trials.slice(from, from + PRELOAD).forEach((t) => treeImage(t.tree));
  }

  // ------------------------------------------------------------------ recording

  async function post(url, data) {
    const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                                        body: JSON.stringify(data) });
    const answer = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (!response.ok) {
      throw Object.assign(new Error(answer.error || `HTTP ${response.status}`), { status: response.status, answer });
    }
    return answer;
  }

  /** Stop with a message to the participant; the technical reason goes to the console and data-error. */
  function fatal(text, error) {
    document.querySelectorAll(".garden-stage").forEach((el) => el.remove());
    const stage = element("garden-stage");
    stage.appendChild(messageEl(text));
    body.appendChild(stage);
    if (error) {
      body.dataset.error = String(error.message || error);
      console.error(error);
    }
    mark("error");
  }

  /** A text screen that stays (end, closing, refusals): no key ends it. */
  function finalScreen(text, screen) {
    document.querySelectorAll(".garden-stage").forEach((el) => el.remove());
    const stage = element("garden-stage");
    stage.appendChild(messageEl(text));
    body.appendChild(stage);
    mark(screen);
  }

  // ------------------------------------------------------------------ the trial plugin

  const state = { origin: null, lastEnd: null, score: 0, session: null, lines: [], clock: 0, practice: null,
                  replanned: null, scale: 1, chinrest: null };
  const inJatos = () => typeof window.jatos !== "undefined";

  /** The page's record of a session on a static host, in localStorage (one item per line, a count, the
   *  score and, once done, the completion code), so that a reload resumes; in memory where storage fails. */
  const store = {
    prefix: () => `garden:${config.protocol}:${state.session.participant_id}:${state.session.session}:`,
    get(name) {
      try { return localStorage.getItem(store.prefix() + name); } catch (error) { return null; }
    },
    set(name, value) {
      try { localStorage.setItem(store.prefix() + name, String(value)); } catch (error) { /* kept in memory */ }
    },
    lines() {
      const n = Number(store.get("n") || 0);
      return Array.from({ length: n }, (_, i) => store.get(`line${i}`)).filter((l) => l !== null);
    },
  };

  /** Keep one result line (static hosts): in storage and memory, and appended to JATOS's result data. */
  async function keep(kind, record) {
    const line = JSON.stringify({ kind, ...record });
    state.lines.push(line);
    store.set(`line${state.lines.length - 1}`, line);
    store.set("n", state.lines.length);
    if (inJatos()) await window.jatos.appendResultData(`${line}\n`);
  }

  function download() {
    const blob = new Blob([state.lines.map((l) => `${l}\n`).join("")], { type: "application/x-ndjson" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `garden_sub-${state.session.participant_id}_ses-${state.session.session}.jsonl`;
    document.body.appendChild(link);
    link.click();
  }

  /** What a trial showed (checked against the plan by the recorder). */
  const shownFields = (trial) => ({ phase: trial.phase, block: trial.block, context: trial.context,
                              branchiness: trial.branchiness, leafiness: trial.leafiness, exemplar: trial.exemplar,
                              side_accept: trial.side_accept });

  class GardenTrialPlugin {
    static info = {
      name: "garden-trial",
      version: "1.0.0",
      parameters: { trial: { type: ParameterType.OBJECT, default: undefined },
                    iti_s: { type: ParameterType.FLOAT, default: 1.0 } },
      data: { garden: { type: ParameterType.OBJECT } },
    };

    constructor(jsPsych) {
      this.jsPsych = jsPsych;
    }

    async trial(displayElement, params) {
      const trial = params.trial, timing = config.phases[trial.phase].timing, keys = config.keys;
      const stage = element("garden-stage");
      displayElement.appendChild(stage);
      const image = (await treeImage(trial.tree)).cloneNode();
      const s = (x) => x * 1000;
      const tCue = await show(() => { paint(stage, [frameEl(trial.context), textEl("+", 0, 0, null, config.display.fixation_size_px)]); mark("cue", trial.trial); },
                              state.lastEnd + s(params.iti_s));
      let response = null;
      const tTree = await show((ts) => {
        paint(stage, trialParts(trial, image));
        mark("tree", trial.trial, ts);
        response = waitKey([keys.left, keys.right], ts + s(timing.response_window_s));
        if (params.simulated && params.simulated.key) {
          setTimeout(() => document.dispatchEvent(new KeyboardEvent("keydown", { key: params.simulated.key })),
                     params.simulated.rt_s * 1000);
        }
      }, tCue + s(timing.cue_s));
      const windowEnd = tTree + s(timing.response_window_s);
      const pressed = await response;
      let chosen = null;
      if (pressed === null) {
        const tSlow = await show(() => { paint(stage, [frameEl(trial.context), messageEl(config.strings.too_slow)]); mark("slow", trial.trial); });
        await show(() => {}, tSlow + s(timing.too_slow_s));
      } else {
        chosen = pressed.key === keys.left ? "left" : "right";
        await show(() => { paint(stage, trialParts(trial, image, chosen)); mark("chosen", trial.trial); });
        if (timing.fixed_duration) await show(() => {}, windowEnd);
        if (trial.feedback) {
          const tFb = await show(() => { paint(stage, trialParts(trial, image, chosen, true)); mark("feedback", trial.trial); },
                                 pressed.time + s(timing.feedback_delay_s));
          await show(() => {}, tFb + s(timing.feedback_s));
        } else {
          await show(() => {}, pressed.time + s(timing.feedback_delay_s));
        }
      }
      const tEnd = await show(() => { paint(stage, []); mark("blank", trial.trial); });
      state.lastEnd = tEnd;
      const seconds = (ms) => Math.round(ms * 1000) / 1e6;  // to the microsecond
      const since = (t) => seconds(t - state.origin);
      const record = {
        participant_id: state.session.participant_id, session: state.session.session, trial: trial.trial,
        ...shownFields(trial), key: pressed ? config.key_names[pressed.key] : null,
        rt_s: pressed ? seconds(pressed.time - tTree) : null,
        onset_s: since(tTree), cue_onset_s: since(tCue), duration_s: seconds(tEnd - tTree),
        key_onset_s: pressed ? since(pressed.time) : null,
        ...frameStats(tCue, tEnd),
      };
      return this.report(trial, record, chosen);
    }

    /** Send (server) or keep (static host) a trial's record; the trial's data. */
    async report(trial, record, chosen) {
      let reward = chosen && (chosen === trial.side_accept) ? trial.reward_value : 0;
      try {
        if (config.server) {
          const answer = await post("api/trial", record);
          reward = answer.reward_received;
          state.practice = answer.practice;  // set after a practice attempt's last trial, else null
        } else {
          await keep("trial", record);
          store.set("score", state.score + reward);
        }
      } catch (error) {
        fatal(config.web_strings.connection_lost, error);
        await new Promise(() => {});  // stop here: the data so far are on the server; a reload resumes
      }
      state.score += reward;
      return { garden: record };
    }

    /** jsPsych simulation: a random key (or none, when the RT is beyond the window) after an
     *  ex-Gaussian RT (jsPsych's own sampler; mean ~0.65 s). "visual" runs the real trial and
     *  presses the key; "data-only" records the trial at once, with times of an idealised run. */
    simulate(params, mode, options, load) {
      const trial = params.trial, timing = config.phases[trial.phase].timing, keys = config.keys;
      const rt = this.jsPsych.randomization.sampleExGaussian(500, 50, 1 / 150, true) / 1000;
      const key = rt <= timing.response_window_s ? this.jsPsych.randomization.sampleWithoutReplacement([keys.left, keys.right], 1)[0] : null;
      if (mode === "visual") return this.trial(this.jsPsych.getDisplayElement(), { ...params, simulated: { key, rt_s: rt } });
      const cue = state.clock + params.iti_s, onset = cue + timing.cue_s;
      const shown = key ? rt : timing.response_window_s;
      const after = key ? timing.feedback_delay_s + (trial.feedback ? timing.feedback_s : 0) : timing.too_slow_s;
      state.clock = onset + shown + after;
      const round = (x) => Math.round(x * 1e6) / 1e6;
      const record = {
        participant_id: state.session.participant_id, session: state.session.session, trial: trial.trial,
        ...shownFields(trial), key: key ? config.key_names[key] : null, rt_s: key ? round(rt) : null, onset_s: round(onset),
        cue_onset_s: round(cue), duration_s: round(shown + after), key_onset_s: key ? round(onset + rt) : null,
        frames: 0, frame_interval_median_s: null, frame_interval_max_s: null, dropped_frames: 0,
      };
      const chosen = key ? (key === keys.left ? "left" : "right") : null;
      return this.report(trial, record, chosen);
    }
  }

  // ------------------------------------------------------------------ the session

  function textTrial(text, screen, extra = {}) {
    return {
      type: jsPsychHtmlKeyboardResponse,
      stimulus: () => `<div class="garden-stage"><div class="garden-message" style="${messageStyle()}">${escape(typeof text === "function" ? text() : text)}</div></div>`,
      choices: [config.keys.proceed],
      on_load: () => mark(screen),
      on_finish: async () => { state.lastEnd = await nextFrame(); },
      ...extra,
    };
  }

  function messageStyle() {
    const d = config.display, c = centre();
    const width = Math.min(0.8 * d.size_px[0], 0.9 * window.innerWidth);
    return `left:${c.x}px;top:${c.y}px;font-size:${d.text_height_px}px;color:${rgb(d.text_colour)};width:${width}px`;
  }

  /** Instructions with the response keys named (before their last paragraph, "Press SPACE ..."). */
  function withKeys(text) {
    const keys = fill(config.web_strings.keys, { left: config.key_labels.left, right: config.key_labels.right });
    const parts = text.split("\n\n");
    parts.splice(Math.max(1, parts.length - 1), 0, keys);
    return parts.join("\n\n");
  }

  /** The bonus of a session score: the protocol's rule (experiment/config.py Bonus.amount), rounded to cents. */
  function bonusLine(score) {
    const b = config.bonus;
    if (!b.per_point) return "";
    let value = Math.max(b.minimum, score * b.per_point);
    if (b.maximum) value = Math.min(value, b.maximum);
    return fill(config.strings.bonus, { amount: `${b.currency}${value.toFixed(2)}` });
  }

  function endText() {
    return fill(config.web_strings.end, { score: state.score.toFixed(0), bonus: bonusLine(state.score),
                                          completion_code: state.session.completion_code });
  }

  /** After a practice attempt (server only): how many trees were chosen well and, when the server
   *  planned another attempt (below the criterion), the session's new sequence to go on with. */
  function practiceFeedback() {
    const text = () => fill(config.strings[state.practice.again ? "practice_again" : "practice_done"], state.practice);
    return {
      timeline: [textTrial(text, "practice", {
        on_finish: async () => {
          state.lastEnd = await nextFrame();
          if (state.practice.again) {
            state.replanned = state.practice.payload;
            window.gardenJsPsych.abortExperiment();
          }
        },
      })],
      conditional_function: () => state.practice !== null,
    };
  }

  /** The screens from ``payload.start`` on; ``continuing``: straight on after a practice attempt
   *  (no instructions or break screen before its first trial). */
  function timeline(payload, continuing = false) {
    const strings = config.strings, items = [];
    let previous = null;
    const upcoming = payload.trials.slice(payload.start);
    for (const [i, trial] of upcoming.entries()) {
      const timing = config.phases[trial.phase].timing;
      const newPhase = previous === null || previous.phase !== trial.phase;
      const newBlock = previous !== null && previous.block !== trial.block;
      if (continuing && i === 0) {
        // the practice feedback screen was the last one
      } else if (newPhase) {
        items.push(textTrial(withKeys(strings[`instructions_${trial.phase}`] || strings.instructions_default), "text"));
      } else if (newBlock && trial.phase !== "practice") {
        const blocks = payload.blocks[trial.phase];
        items.push(textTrial(() => fill(strings.break, { block: trial.block - blocks.first, n_blocks: blocks.n,
                                                         score: state.score.toFixed(0) }), "text"));
      }
      if (trial.switch && !(continuing && i === 0)) items.push(textTrial(strings.switch, "switch"));
      const iti = newPhase || newBlock ? timing.iti_s : previous.iti_s;
      items.push({ type: GardenTrialPlugin, trial, iti_s: iti,
                   on_start: () => preload(payload.trials, payload.trials.indexOf(trial)) });
      const next = upcoming[i + 1];
      if (config.server && trial.phase === "practice" && (!next || next.block !== trial.block || next.phase !== trial.phase)) {
        items.push(practiceFeedback());
      }
      previous = trial;
    }
    items.push(textTrial(endText, "end"));
    return items;
  }

  function browserInfo() {
    return {
      user_agent: navigator.userAgent, language: navigator.language,
      screen_px: [screen.width, screen.height], available_px: [screen.availWidth, screen.availHeight],
      window_px: [window.innerWidth, window.innerHeight], device_pixel_ratio: window.devicePixelRatio,
      colour_depth: screen.colorDepth, refresh_hz_measured: 1000 / frameMs, frame_s: frameMs / 1000,
      hardware_concurrency: navigator.hardwareConcurrency || null, jspsych: config.jspsych,
      simulation: simulationMode(), layout_scale: state.scale, tree_size_px_shown: config.display.tree_size_px,
      tree_size_deg_shown: state.chinrest ? config.display.tree_size_px / state.chinrest.chinrest_px_per_deg : null,
      ...state.chinrest, ...linkIds(),
    };
  }

  /** Ids a recruitment site puts in the study link (Prolific, SONA), recorded with the session. */
  function linkIds() {
    const query = readQuery(), ids = {};
    for (const [name, field] of [["PROLIFIC_PID", "prolific_pid"], ["STUDY_ID", "study_id"],
                                 ["SESSION_ID", "study_session_id"], ["survey_code", "sona_survey_code"]]) {
      const value = query.get(name);
      if (value) ids[field] = value.slice(0, 64);
    }
    return ids;
  }

  function readQuery() {
    return inJatos() ? new Map(Object.entries(window.jatos.urlQueryParameters || {}))
                     : new URLSearchParams(location.search);
  }

  /** jsPsych's simulation mode from ?simulate=data-only|visual (null: a person answers). */
  function simulationMode() {
    const mode = new URLSearchParams(location.search).get("simulate");
    return mode === "data-only" || mode === "visual" ? mode : null;
  }

  function readIds() {
    const query = readQuery();
    const participant = query.get("participant") || query.get("PROLIFIC_PID") || query.get("survey_code");
    const session = Number(query.get("session") || "1");
    if (!participant) return null;
    return { participant, session };
  }

  async function sessionPayload(ids, browser) {
    if (config.server) {
      return post("api/session", { participant_id: ids.participant, session: ids.session, browser });
    }
    const response = await fetch(`sequences/sub-${encodeURIComponent(ids.participant)}_ses-${ids.session}.json`);
    if (!response.ok) {
      throw Object.assign(new Error(fill(config.web_strings.not_in_study, ids)), { participant: true });
    }
    return response.json();
  }

  /** The completion link with {participant} and {completion_code} filled in ("" without one). */
  function redirectUrl() {
    const values = { participant: encodeURIComponent(state.session.participant_id),
                     completion_code: encodeURIComponent(state.session.completion_code) };
    return config.redirect_url ? fill(config.redirect_url, values) : "";
  }

  function finish() {
    if (!config.server) store.set("finished", state.session.completion_code);
    finalScreen(fill(config.web_strings.closing, state.session), "done");
    if (!config.server && !inJatos()) download();
    const url = redirectUrl();
    if (inJatos()) {
      if (url) window.jatos.endStudyAndRedirect(url);
      else window.jatos.endStudy();
    } else if (url) {
      window.location.assign(url);
    }
  }

  /** A window too small for the task at ``scale`` of its size: ask for a larger one, wait until it is. */
  async function waitForWindow(scale) {
    const need = needed(config.display);
    const fits = () => window.innerWidth >= need.width * scale && window.innerHeight >= need.height * scale;
    while (!fits()) {
      finalScreen(fill(config.web_strings.window_small, { width: Math.ceil(need.width * scale),
                                                          height: Math.ceil(need.height * scale),
                                                          window_width: window.innerWidth,
                                                          window_height: window.innerHeight }), "window");
      await new Promise((resolve) => window.addEventListener("resize", resolve, { once: true }));
    }
    document.querySelectorAll(".garden-stage").forEach((el) => el.remove());
  }

  /** A protocol in degrees: jsPsych's virtual chinrest (a card's width on screen, then the blind spot)
   *  measures pixels per degree; every size becomes the protocol's degrees times that (recorded). */
  async function calibrate() {
    body.style.cursor = "auto";
    const jsPsych = initJsPsych();
    mark("calibration");
    await jsPsych.run([{ type: jsPsychVirtualChinrest, blindspot_reps: 3, resize_units: "none" }]);
    const data = jsPsych.data.get().last(1).values()[0];
    jsPsych.getDisplayElement().replaceChildren();
    body.style.cursor = "";
    for (const name of SIZES) config.display[name] = Math.round(config.display_deg[name] * data.px2deg);
    state.chinrest = { chinrest_px_per_deg: data.px2deg, chinrest_px_per_mm: data.px2mm,
                       chinrest_viewing_distance_mm: data.view_dist_mm, chinrest_card_width_px: data.item_width_px };
  }

  /** Static hosts: continue after the trials this browser kept (a reload), or say the session is over. */
  async function resumeKept(payload, browser) {
    if (store.get("finished")) return false;
    state.lines = store.lines();
    const trials = state.lines.map((l) => JSON.parse(l)).filter((r) => r.kind === "trial");
    payload.start = trials.length;
    payload.score = Number(store.get("score") || 0);
    await keep("session", { participant_id: payload.participant_id, session: payload.session, browser });
    return true;
  }

  async function main() {
    if (inJatos()) await new Promise((resolve) => window.jatos.onLoad(resolve));
    const ids = readIds();
    const form = document.getElementById("ids");
    if (!ids) {
      form.hidden = false;
      body.style.cursor = "auto";
      mark("ids");
      return;
    }
    form.remove();
    config = await (await fetch("config.json")).json();
    body.style.background = rgb(config.display.background);
    if (config.display_deg) await calibrate();
    await waitForWindow(config.display_deg ? 1 : 0.5);  // sizes in degrees are never scaled down
    const fitted = fitDisplay(config.display);
    state.scale = fitted.scale;
    config.display = fitted.display;
    requestAnimationFrame(logFrames);
    await measureRefresh();
    let payload;
    const browser = browserInfo();
    try {
      payload = await sessionPayload(ids, browser);
      state.session = payload;
      if (!config.server && !(await resumeKept(payload, browser))) {
        finalScreen(fill(config.web_strings.finished, payload), "done");
        return;
      }
    } catch (error) {
      if (error.answer && error.answer.finished) {  // served: this link's session is already finished
        finalScreen(fill(config.web_strings.finished, error.answer), "done");
        return;
      }
      const refused = error.status ? fill(config.web_strings.not_in_study, ids) : config.web_strings.connection_lost;
      fatal(error.participant ? error.message : refused, error);
      return;
    }
    state.session = payload;
    state.score = payload.score;
    preload(payload.trials, payload.start);
    state.origin = state.lastEnd = await nextFrame();
    let continuing = false;
    while (payload) {  // once, or again after each practice attempt the server adds
      state.replanned = null;
      const jsPsych = initJsPsych({ on_finish: () => { if (!state.replanned) finish(); } });
      window.gardenJsPsych = jsPsych;
      if (simulationMode()) await jsPsych.simulate(timeline(payload, continuing), simulationMode());
      else await jsPsych.run(timeline(payload, continuing));
      payload = state.replanned;
      continuing = true;
    }
  }

  window.addEventListener("DOMContentLoaded", main);
})();
