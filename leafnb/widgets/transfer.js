// Browser -> kernel file transfer in slices (the front end of leafnb.widgets.transfer.ChunkedUpload).
//
// ipywidgets' FileUpload sends the whole file in one websocket message; Jupyter's server
// closes the websocket on messages over 10 MiB (tornado's limit), so large uploads failed
// silently. Here the File is read in slices (File.slice + arrayBuffer), each slice goes to
// the kernel as the binary buffer of one custom widget message, and the kernel appends it
// to a file and acknowledges it. At most `window` slices are unacknowledged at a time
// (backpressure): memory stays at window x chunk_bytes whatever the file size.
//
// Messages (the Python side validates everything and owns the messages shown):
//   -> {kind: "start", token, name, size}       <- {kind: "ready", token, id} | {kind: "failed", token, message}
//   -> {kind: "chunk", id, offset} + [bytes]     <- {kind: "ack", id, received} | {kind: "failed", id, message}
//   -> {kind: "end", id, seconds}                (Python then reports through the `message` trait)
//   -> {kind: "abort", id, reason}
// Plain ES module: no build step, no CDN, no imports.

function fmtBytes(n) {
  if (n >= 1e9) return (n / 1e9).toFixed(2) + " GB";
  if (n >= 1e6) return (n / 1e6).toFixed(1) + " MB";
  if (n >= 1e3) return (n / 1e3).toFixed(0) + " kB";
  return n + " bytes";
}

function fmtSeconds(s) {
  if (!isFinite(s)) return "";
  if (s < 60) return Math.max(1, Math.round(s)) + " s";
  return Math.floor(s / 60) + " min " + String(Math.round(s % 60)).padStart(2, "0") + " s";
}

function element(tag, props, parent) {
  const node = Object.assign(document.createElement(tag), props || {});
  if (parent) parent.appendChild(node);
  return node;
}

function render({ model, el }) {
  el.classList.add("leafnb-transfer");
  el.style.cssText =
    "border: 1px dashed var(--jp-border-color1, #999); border-radius: 4px; padding: 8px; margin: 4px 0;";
  const row = element("div", {}, el);
  row.style.cssText = "display: flex; gap: 8px; align-items: center; flex-wrap: wrap;";
  const input = element("input", { type: "file", className: "leafnb-transfer-input" }, row);
  input.accept = model.get("accept");
  input.style.display = "none";
  const choose = element("button", { className: "jupyter-button mod-primary leafnb-transfer-choose", textContent: "Choose a zip…" }, row);
  choose.type = "button";
  const hint = element("span", { className: "leafnb-transfer-hint", textContent: "or drop it here" }, row);
  hint.style.opacity = "0.7";
  const cancel = element("button", { className: "jupyter-button leafnb-transfer-cancel", textContent: "Cancel" }, row);
  cancel.type = "button";
  cancel.style.display = "none";
  const bar = element("progress", { className: "leafnb-transfer-bar", max: 1, value: 0 }, el);
  bar.style.cssText = "width: 100%; height: 14px; margin-top: 6px; display: none;";
  const status = element("div", { className: "leafnb-transfer-status" }, el);
  status.style.cssText = "margin-top: 4px; white-space: pre-wrap;";

  let transfer = null; // this view's transfer in progress
  let watchdog = null;

  function showModel() {
    const state = model.get("state");
    status.textContent = model.get("message");
    status.style.color = state === "failed" ? "var(--jp-error-color1, #c62828)" : "";
    status.dataset.state = state;
    const disabled = model.get("disabled") || transfer !== null;
    choose.disabled = disabled;
    if (transfer === null && state !== "receiving") cancel.style.display = "none";
  }

  function showProgress() {
    const t = transfer;
    const elapsed = (performance.now() - t.started) / 1000;
    const rate = t.acked / Math.max(elapsed, 1e-3);
    const left = rate > 0 ? (t.file.size - t.acked) / rate : Infinity;
    bar.style.display = "";
    bar.max = Math.max(t.file.size, 1);
    bar.value = t.acked;
    bar.dataset.received = String(t.acked);
    bar.dataset.total = String(t.file.size);
    status.style.color = "";
    status.dataset.state = "sending";
    status.textContent = t.id === null
      ? `Sending ${t.file.name} (${fmtBytes(t.file.size)}): waiting for the kernel…`
      : `Sending ${t.file.name}: ${fmtBytes(t.acked)} of ${fmtBytes(t.file.size)}` +
        (t.acked > 0 ? ` · ${fmtBytes(rate)}/s · about ${fmtSeconds(left)} left` : "");
  }

  function stop(message) {
    const t = transfer;
    if (watchdog !== null) clearInterval(watchdog);
    watchdog = null;
    transfer = null;
    input.value = "";
    cancel.style.display = "none";
    if (message) {
      if (!(t && t.acked > 0)) bar.style.display = "none"; // nothing arrived: no empty bar
      status.textContent = message;
      status.style.color = "var(--jp-error-color1, #c62828)";
      status.dataset.state = "failed";
    }
    showModel();
  }

  function abort(reason) {
    const t = transfer;
    if (t && t.id !== null) model.send({ kind: "abort", id: t.id, reason: reason });
    stop(reason);
  }

  function pump() {
    const t = transfer;
    const chunk = model.get("chunk_bytes");
    while (t === transfer && t.inflight < model.get("window") && t.sent < t.file.size) {
      const offset = t.sent;
      const slice = t.file.slice(offset, Math.min(offset + chunk, t.file.size));
      t.sent += slice.size;
      t.inflight += 1;
      // the slices of the window are read at the same time, and sent in order
      const reading = slice.arrayBuffer();
      t.queue = t.queue
        .then(() => reading)
        .then(
          (buffer) => {
            if (t !== transfer) return;
            try {
              model.send({ kind: "chunk", id: t.id, offset: offset }, undefined, [buffer]);
            } catch (err) {
              stop(`Transfer of ${t.file.name} stopped after ${fmtBytes(t.acked)}: the connection to the kernel ` +
                   `was lost (${err.message}). Choose the file again once the kernel is back.`);
            }
          },
          (err) => {
            if (t === transfer) abort(`The browser could not read ${t.file.name} (${err.name}: ${err.message}); choose it again.`);
          });
    }
  }

  function start(file) {
    if (transfer !== null || model.get("disabled")) return;
    const token = Math.random().toString(36).slice(2) + Date.now().toString(36);
    transfer = { token, file, id: null, sent: 0, acked: 0, inflight: 0,
                 started: performance.now(), lastHeard: performance.now(), queue: Promise.resolve() };
    choose.disabled = true;
    cancel.style.display = "";
    showProgress();
    watchdog = setInterval(() => {
      const t = transfer;
      const limit = model.get("ack_timeout") * 1000;
      if (t && performance.now() - t.lastHeard > limit) {
        abort(`Transfer of ${t.file.name} stopped after ${fmtBytes(t.acked)} of ${fmtBytes(t.file.size)}: ` +
              `no answer from the kernel for ${fmtSeconds(limit / 1000)} (busy, restarted or disconnected). Choose the file again.`);
      }
    }, 1000);
    model.send({ kind: "start", token: token, name: file.name, size: file.size });
  }

  function onMessage(msg) {
    const t = transfer;
    if (!t || !msg || !(msg.token === t.token || (t.id !== null && msg.id === t.id))) return;
    t.lastHeard = performance.now();
    if (msg.kind === "ready") {
      t.id = msg.id;
      t.started = performance.now();
      showProgress();
      pump();
    } else if (msg.kind === "ack") {
      t.inflight -= 1;
      t.acked = msg.received;
      showProgress();
      if (t.acked >= t.file.size) {
        const seconds = (performance.now() - t.started) / 1000;
        model.send({ kind: "end", id: t.id, seconds: seconds });
        stop(null);
      } else {
        pump();
      }
    } else if (msg.kind === "failed") {
      stop(msg.message);
    }
  }

  choose.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    if (input.files && input.files.length) start(input.files[0]);
  });
  cancel.addEventListener("click", () => abort("Transfer cancelled."));
  el.addEventListener("dragover", (e) => { e.preventDefault(); el.style.background = "var(--jp-layout-color2, #eee)"; });
  el.addEventListener("dragleave", () => { el.style.background = ""; });
  el.addEventListener("drop", (e) => {
    e.preventDefault();
    el.style.background = "";
    if (e.dataTransfer && e.dataTransfer.files.length) start(e.dataTransfer.files[0]);
  });
  model.on("msg:custom", onMessage);
  model.on("change:message", () => { if (transfer === null) showModel(); });
  model.on("change:state", () => { if (transfer === null) showModel(); });
  model.on("change:disabled", showModel);
  showModel();
  return () => {
    model.off("msg:custom", onMessage);
    if (watchdog !== null) clearInterval(watchdog);
  };
}

export default { render };
