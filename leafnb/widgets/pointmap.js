// leafnb point map: an anywidget front end (plain ES module, no build step, no network).
//
// Python (leafnb.widgets.pointmap.PointMap) sends point layers as binary buffers: float32
// EPSG:3857 offsets from `origin`, the shown property's values (stored units, float32),
// their legend class (uint8, 255 = no value), optional swath widths (m) and, for small
// layers, every numeric property for inspection. Each frame is drawn for the current
// view at device resolution, so the map is sharp at every zoom:
//   - mode "points": one disc per point, coloured by its class;
//   - mode "raster": each device pixel holds the mean of the values of the points whose
//     swath footprint covers it, classified with the legend's edges (the rule of
//     leafnb.render.raster, so an exported PNG of the same view agrees).
// Hover shows the nearest point (grid index); the kernel, when there is one, answers an
// "inspect" message with every standard property of that point in display units.

const R = 6378137.0;
const TIP_PX = 8; // hover radius (CSS px)

function toArray(buf, Type) {
  if (buf == null) return null;
  if (buf instanceof Type) return buf;
  let bytes;
  if (buf instanceof DataView) bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  else if (buf instanceof ArrayBuffer) bytes = new Uint8Array(buf);
  else if (ArrayBuffer.isView(buf)) bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  else return null;
  const copy = new Uint8Array(bytes.length); // aligned copy
  copy.set(bytes);
  return new Type(copy.buffer);
}

function fmt(v) {
  if (v == null || !isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString("en-US");
  if (a === 0) return "0";
  return Number(v.toPrecision(3)).toLocaleString("en-US", { maximumFractionDigits: 9 });
}

function lonOf(x) { return (x / R) * 180 / Math.PI; }
function latOf(y) { return (2 * Math.atan(Math.exp(y / R)) - Math.PI / 2) * 180 / Math.PI; }
function xOf(lon) { return R * lon * Math.PI / 180; }
function yOf(lat) { return R * Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360)); }

function niceLengths(imperial) {
  const out = [];
  for (let e = -1; e < 8; e++) {
    for (const n of [1, 2, 5]) {
      const v = n * Math.pow(10, e);
      const t = Number(v.toFixed(1)).toLocaleString("en-US");
      if (imperial) {
        if (v * 0.3048 < 1609.344) out.push([v * 0.3048, t + " ft"]);
        if (v >= 1) out.push([v * 1609.344, t + " mi"]);
      } else if (v < 1000) out.push([v, t + " m"]);
      else out.push([v, (v / 1000).toLocaleString("en-US") + " km"]);
    }
  }
  return out.sort((a, b) => a[0] - b[0]);
}

function rgbaWord(hex) { // little-endian ABGR for a Uint32Array view of ImageData
  const r = parseInt(hex.slice(1, 3), 16), g = parseInt(hex.slice(3, 5), 16), b = parseInt(hex.slice(5, 7), 16);
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

function decodeLayer(spec) {
  const n = spec.count | 0;
  const layer = {
    id: spec.id, name: spec.name, kind: spec.kind, side: spec.side || "", color: spec.color || null,
    n, x: toArray(spec.x, Float32Array), y: toArray(spec.y, Float32Array),
    value: toArray(spec.value, Float32Array), cls: toArray(spec.cls, Uint8Array),
    width: toArray(spec.width, Float32Array), props: {}, index: null,
  };
  if (!layer.width && spec.width_m > 0) layer.width = { constant: spec.width_m };
  for (const [k, v] of Object.entries(spec.props || {})) layer.props[k] = toArray(v, Float32Array);
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = layer.x[i], y = layer.y[i];
    if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
  }
  layer.bbox = [x0, y0, x1, y1];
  return layer;
}

// uniform grid index over a layer (counting sort of the points by cell)
function buildIndex(layer) {
  const [x0, y0, x1, y1] = layer.bbox;
  const span = Math.max(x1 - x0, y1 - y0, 1e-6);
  const side = Math.max(1, Math.min(1024, Math.ceil(Math.sqrt(layer.n / 4))));
  const cell = span / side + 1e-9;
  const nx = Math.floor((x1 - x0) / cell) + 1, ny = Math.floor((y1 - y0) / cell) + 1;
  const start = new Int32Array(nx * ny + 1);
  const cellOf = new Int32Array(layer.n);
  for (let i = 0; i < layer.n; i++) {
    const cx = Math.floor((layer.x[i] - x0) / cell), cy = Math.floor((layer.y[i] - y0) / cell);
    const c = cx >= 0 && cy >= 0 && cx < nx && cy < ny ? cy * nx + cx : -1;
    cellOf[i] = c;
    if (c >= 0) start[c + 1]++;
  }
  for (let c = 0; c < nx * ny; c++) start[c + 1] += start[c];
  const fill = start.slice(0, nx * ny);
  const items = new Int32Array(start[nx * ny]);
  for (let i = 0; i < layer.n; i++) if (cellOf[i] >= 0) items[fill[cellOf[i]]++] = i;
  layer.index = { x0, y0, cell, nx, ny, start, items };
}

function nearestIn(layer, qx, qy, radius) {
  if (!layer.index) buildIndex(layer);
  const ix = layer.index;
  const c0 = Math.max(0, Math.floor((qx - radius - ix.x0) / ix.cell)), c1 = Math.min(ix.nx - 1, Math.floor((qx + radius - ix.x0) / ix.cell));
  const r0 = Math.max(0, Math.floor((qy - radius - ix.y0) / ix.cell)), r1 = Math.min(ix.ny - 1, Math.floor((qy + radius - ix.y0) / ix.cell));
  let best = -1, bestD = radius * radius;
  for (let r = r0; r <= r1; r++) {
    for (let c = c0; c <= c1; c++) {
      const cellId = r * ix.nx + c;
      for (let k = ix.start[cellId]; k < ix.start[cellId + 1]; k++) {
        const i = ix.items[k];
        const dx = layer.x[i] - qx, dy = layer.y[i] - qy, d = dx * dx + dy * dy;
        if (d <= bestD) { bestD = d; best = i; }
      }
    }
  }
  return [best, bestD];
}

function render({ model, el }) {
  el.classList.add("leafnb-map");
  const wrap = document.createElement("div");
  wrap.className = "lnm-wrap";
  const canvas = document.createElement("canvas");
  canvas.className = "lnm-canvas";
  const off = document.createElement("canvas");
  const tools = document.createElement("div");
  tools.className = "lnm-tools";
  const legendBox = document.createElement("div");
  legendBox.className = "lnm-legend";
  const scaleBox = document.createElement("div");
  scaleBox.className = "lnm-scale";
  const tip = document.createElement("div");
  tip.className = "lnm-tip";
  tip.style.display = "none";
  const handle = document.createElement("div");
  handle.className = "lnm-split";
  const labels = [document.createElement("div"), document.createElement("div")];
  labels[0].className = "lnm-side lnm-left";
  labels[1].className = "lnm-side lnm-right";
  wrap.append(canvas, handle, labels[0], labels[1], tools, legendBox, scaleBox, tip);
  el.append(wrap);
  const ctx = canvas.getContext("2d");

  let W = 0, H = 0, dpr = window.devicePixelRatio || 1;
  let cx = 0, cy = 0, res = 1; // view centre (EPSG:3857 m) and metres per CSS px
  let layers = [], origin = [0, 0], legend = null, hidden = new Set(model.get("hidden") || []);
  let splitPos = 0.5, drawing = false, vertices = [], pinned = false, hoverKey = null;
  const tiles = new Map();

  function loadLayers() {
    layers = (model.get("layers") || []).map(decodeLayer);
    origin = model.get("origin") || [0, 0];
    wrap.dataset.points = String(layers.reduce((s, l) => s + (l.kind === "points" ? l.n : 0), 0));
  }

  function fit(v) {
    if (!v || v.length !== 4 || !W || !H) return;
    cx = (v[0] + v[2]) / 2;
    cy = (v[1] + v[3]) / 2;
    res = Math.max((v[2] - v[0]) / W, (v[3] - v[1]) / H, 1e-3);
  }

  function currentView() {
    return [cx - (W / 2) * res, cy - (H / 2) * res, cx + (W / 2) * res, cy + (H / 2) * res];
  }

  let syncTimer = null;
  function syncView() {
    clearTimeout(syncTimer);
    syncTimer = setTimeout(() => {
      ownView = true;
      model.set("view", currentView());
      model.save_changes();
      ownView = false;
    }, 150);
  }
  let ownView = false;

  function metresPerPx() { return res * Math.cos((latOf(cy) * Math.PI) / 180); }

  function sideOk(layer, side) {
    if (!model.get("split") || !layer.side) return true;
    return layer.side === side;
  }

  // ---------------------------------------------------------------- drawing
  function drawTiles() {
    const url = model.get("basemap");
    if (!url) return;
    const z = Math.max(0, Math.min(19, Math.round(Math.log2((2 * Math.PI * R) / (256 * res)))));
    const n = Math.pow(2, z), size = (2 * Math.PI * R) / n;
    const [vx0, vy0, vx1, vy1] = currentView();
    const tx0 = Math.floor((vx0 + Math.PI * R) / size), tx1 = Math.floor((vx1 + Math.PI * R) / size);
    const ty0 = Math.floor((Math.PI * R - vy1) / size), ty1 = Math.floor((Math.PI * R - vy0) / size);
    for (let tx = tx0; tx <= tx1; tx++) {
      for (let ty = Math.max(0, ty0); ty <= Math.min(n - 1, ty1); ty++) {
        const key = `${z}/${((tx % n) + n) % n}/${ty}`;
        let img = tiles.get(key);
        if (!img) {
          img = new Image();
          img.crossOrigin = "anonymous";
          img.onload = () => requestDraw();
          img.src = url.replace("{z}", z).replace("{x}", ((tx % n) + n) % n).replace("{y}", ty);
          tiles.set(key, img);
        }
        if (img.complete && img.naturalWidth) {
          const left = (tx * size - Math.PI * R - cx) / res + W / 2;
          const top = H / 2 - (Math.PI * R - ty * size - cy) / res;
          ctx.drawImage(img, left, top, size / res + 0.5, size / res + 0.5);
        }
      }
    }
  }

  function rasterLayers(side) {
    // every class-coloured layer of this side, rasterised into `off` at device pixels
    const Wd = Math.max(1, Math.round(W * dpr)), Hd = Math.max(1, Math.round(H * dpr));
    if (off.width !== Wd || off.height !== Hd) { off.width = Wd; off.height = Hd; }
    const octx = off.getContext("2d");
    const img = octx.createImageData(Wd, Hd);
    const words = new Uint32Array(img.data.buffer);
    const sum = new Float64Array(Wd * Hd), cnt = new Float32Array(Wd * Hd);
    const k = dpr / res, ground = metresPerPx() / dpr;
    const a = (origin[0] - cx) * k + Wd / 2, b = Hd / 2 - (origin[1] - cy) * k;
    for (const layer of layers) {
      if (layer.kind === "removed" || layer.kind === "outliers" || hidden.has(layer.id) || !sideOk(layer, side) || !layer.value) continue;
      const { x, y, value, width } = layer;
      for (let i = 0; i < layer.n; i++) {
        const v = value[i];
        if (v !== v) continue;
        const px = Math.floor(a + x[i] * k), py = Math.floor(b - y[i] * k);
        const w = width ? (width.constant || width[i]) : 0;
        const r = w > 0 ? Math.min(128, Math.floor(w / 2 / ground + 0.5)) : 0;
        if (px < -r || py < -r || px >= Wd + r || py >= Hd + r) continue;
        if (r === 0) { const j = py * Wd + px; sum[j] += v; cnt[j] += 1; continue; }
        const xa = Math.max(0, px - r), xb = Math.min(Wd - 1, px + r), ya = Math.max(0, py - r), yb = Math.min(Hd - 1, py + r);
        for (let yy = ya; yy <= yb; yy++) {
          const row = yy * Wd;
          for (let xx = xa; xx <= xb; xx++) { sum[row + xx] += v; cnt[row + xx] += 1; }
        }
      }
    }
    const edges = legend.edges.map((e) => (e == null ? NaN : Math.fround(e)));
    const colours = legend.colors.map(rgbaWord);
    const constant = edges[0] === edges[7];
    for (let j = 0; j < sum.length; j++) {
      if (cnt[j] === 0) continue;
      const m = Math.fround(sum[j] / cnt[j]);
      let c;
      if (constant) c = m < edges[0] ? 0 : m > edges[0] ? 6 : 3;
      else { c = 6; for (let e = 1; e < 7; e++) if (m <= edges[e]) { c = e - 1; break; } }
      words[j] = colours[c];
    }
    octx.putImageData(img, 0, 0);
    return off;
  }

  function drawPoints(side) {
    const ground = metresPerPx();
    const a = (origin[0] - cx) / res + W / 2, b = H / 2 - (origin[1] - cy) / res;
    for (const layer of layers) {
      if (layer.kind !== "points" && layer.kind !== "before") continue;
      if (hidden.has(layer.id) || !sideOk(layer, side) || !layer.cls) continue;
      // in data order (later points on top, as recorded), one path per run of a class
      let path = null, current = -1;
      const flush = () => { if (path) { ctx.fillStyle = legend.colors[current]; ctx.fill(path); } };
      for (let i = 0; i < layer.n; i++) {
        const c = layer.cls[i];
        if (c === 255) continue;
        const sx = a + layer.x[i] / res, sy = b - layer.y[i] / res;
        const r = Math.max(3.5, layer.width ? (layer.width.constant || layer.width[i]) / 2 / ground : 0);
        if (sx < -r || sy < -r || sx > W + r || sy > H + r) continue;
        if (c !== current) { flush(); path = new Path2D(); current = c; }
        path.moveTo(sx + r, sy);
        path.arc(sx, sy, r, 0, 2 * Math.PI);
      }
      flush();
    }
  }

  function drawSingles(side) {
    const a = (origin[0] - cx) / res + W / 2, b = H / 2 - (origin[1] - cy) / res;
    for (const layer of layers) {
      if (layer.kind !== "removed" && layer.kind !== "outliers") continue;
      if (hidden.has(layer.id) || !sideOk(layer, side)) continue;
      const p = new Path2D();
      const r = layer.kind === "outliers" ? 5 : 2.5;
      for (let i = 0; i < layer.n; i++) {
        const sx = a + layer.x[i] / res, sy = b - layer.y[i] / res;
        if (sx < -r || sy < -r || sx > W + r || sy > H + r) continue;
        p.moveTo(sx + r, sy);
        p.arc(sx, sy, r, 0, 2 * Math.PI);
      }
      if (layer.kind === "outliers") { ctx.lineWidth = 2; ctx.strokeStyle = layer.color; ctx.stroke(p); }
      else { ctx.fillStyle = layer.color; ctx.fill(p); }
    }
  }

  function drawFields() {
    if (hidden.has("fields")) return;
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#1a237e";
    for (const f of model.get("fields") || []) {
      for (const ring of f.rings || []) {
        ctx.beginPath();
        ring.forEach(([lon, lat], i) => {
          const sx = (xOf(lon) - cx) / res + W / 2, sy = H / 2 - (yOf(lat) - cy) / res;
          if (i) ctx.lineTo(sx, sy); else ctx.moveTo(sx, sy);
        });
        ctx.closePath();
        ctx.stroke();
      }
    }
  }

  function drawSketch() {
    if (!vertices.length) return;
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#d500f9";
    ctx.fillStyle = "rgba(213,0,249,0.15)";
    ctx.beginPath();
    vertices.forEach(([x, y], i) => {
      const sx = (x - cx) / res + W / 2, sy = H / 2 - (y - cy) / res;
      if (i) ctx.lineTo(sx, sy); else ctx.moveTo(sx, sy);
    });
    if (!drawing) ctx.closePath();
    ctx.fill();
    ctx.stroke();
  }

  function drawSide(side, x0, x1) {
    ctx.save();
    ctx.beginPath();
    ctx.rect(x0, 0, x1 - x0, H);
    ctx.clip();
    if (model.get("mode") === "raster") {
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(rasterLayers(side), 0, 0, W, H);
    } else drawPoints(side);
    drawSingles(side);
    ctx.restore();
  }

  function draw() {
    pending = false;
    if (!W || !H || !legend) return;
    const t0 = performance.now();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#f5f5f5";
    ctx.fillRect(0, 0, W, H);
    drawTiles();
    const split = !!model.get("split");
    if (split) {
      const sx = splitPos * W;
      drawSide("before", 0, sx);
      drawSide("after", sx, W);
    } else drawSide("", 0, W);
    drawFields();
    drawSketch();
    handle.style.display = split ? "block" : "none";
    labels.forEach((l, i) => { l.style.display = split ? "block" : "none"; l.textContent = (model.get("split_labels") || ["before", "after"])[i]; });
    handle.style.left = splitPos * W - 2 + "px";
    drawScale();
    const v = currentView();
    wrap.dataset.view = v.map((n) => n.toFixed(2)).join(",");
    wrap.dataset.res = String(res);
    wrap.dataset.frames = String((+wrap.dataset.frames || 0) + 1);
    wrap.dataset.drawMs = (performance.now() - t0).toFixed(1);
  }

  let pending = false;
  function requestDraw() {
    if (!pending) { pending = true; requestAnimationFrame(draw); }
  }

  function drawScale() {
    const mpp = metresPerPx();
    const fits = niceLengths(!!model.get("scale_imperial")).filter(([m]) => m <= mpp * 120);
    if (!fits.length) { scaleBox.style.display = "none"; return; }
    const [m, label] = fits[fits.length - 1];
    scaleBox.style.display = "block";
    scaleBox.innerHTML = `<div class="lnm-scale-bar" style="width:${(m / mpp).toFixed(1)}px"></div><span>${label}</span>`;
  }

  // ---------------------------------------------------------------- legend
  function renderLegend() {
    legend = model.get("legend") || null;
    const parts = [];
    if (legend && legend.rows) {
      parts.push(`<div class="lnm-title">${legend.title || ""}</div><table class="legend">`);
      for (const row of legend.rows) {
        parts.push(`<tr><td><span class="swatch" style="background:${row.color}"></span></td><td>${row.label}</td></tr>`);
      }
      parts.push("</table>");
    }
    const toggles = layers.filter((l) => l.kind === "removed" || l.kind === "outliers");
    if (toggles.length || (model.get("fields") || []).length) {
      parts.push('<table class="legend-layers">');
      for (const l of toggles) {
        const mark = l.kind === "outliers" ? `border:2px solid ${l.color};background:none;border-radius:50%` : `background:${l.color};border-radius:50%`;
        parts.push(`<tr><td><input type="checkbox" data-layer="${l.id}" ${hidden.has(l.id) ? "" : "checked"}></td><td><span class="swatch dot" style="${mark}"></span></td><td>${l.name}</td></tr>`);
      }
      if ((model.get("fields") || []).length) {
        parts.push(`<tr><td><input type="checkbox" data-layer="fields" ${hidden.has("fields") ? "" : "checked"}></td><td><span class="swatch" style="border:2px solid #1a237e;background:none"></span></td><td>field boundaries</td></tr>`);
      }
      parts.push("</table>");
    }
    legendBox.innerHTML = parts.join("");
    legendBox.style.display = parts.length ? "block" : "none";
    legendBox.querySelectorAll("input[data-layer]").forEach((box) => {
      box.addEventListener("change", () => {
        if (box.checked) hidden.delete(box.dataset.layer); else hidden.add(box.dataset.layer);
        model.set("hidden", [...hidden]);
        model.save_changes();
        requestDraw();
      });
    });
  }

  // ---------------------------------------------------------------- tools
  function button(text, title, onClick) {
    const b = document.createElement("button");
    b.textContent = text;
    b.title = title;
    b.addEventListener("click", (e) => { e.stopPropagation(); onClick(b); });
    tools.append(b);
    return b;
  }
  function zoomAt(f, sx, sy) {
    const wx = cx + (sx - W / 2) * res, wy = cy - (sy - H / 2) * res;
    res *= f;
    cx = wx - (sx - W / 2) * res;
    cy = wy + (sy - H / 2) * res;
    requestDraw();
    syncView();
  }
  button("+", "zoom in", () => zoomAt(0.5, W / 2, H / 2));
  button("−", "zoom out", () => zoomAt(2, W / 2, H / 2));
  button("⤢", "fit the data", () => { fit(model.get("home") || model.get("view")); requestDraw(); syncView(); });
  const drawButton = button("✎", "draw a field boundary: click the corners, double-click to close, Esc to cancel", (b) => {
    drawing = !drawing;
    if (drawing) vertices = [];
    b.classList.toggle("active", drawing);
    wrap.classList.toggle("drawing", drawing);
    requestDraw();
  });

  function finishDrawing() {
    drawing = false;
    drawButton.classList.remove("active");
    wrap.classList.remove("drawing");
    if (vertices.length >= 3) {
      const ring = vertices.map(([x, y]) => [lonOf(x), latOf(y)]);
      ring.push(ring[0]);
      model.set("drawn", ring);
      model.save_changes();
      wrap.dataset.drawn = String(ring.length);
    }
    requestDraw();
  }

  // ---------------------------------------------------------------- hover / inspect
  function nearest(sx, sy) {
    const split = !!model.get("split");
    const side = split ? (sx < splitPos * W ? "before" : "after") : "";
    const qx = cx + (sx - W / 2) * res - origin[0], qy = cy - (sy - H / 2) * res - origin[1];
    let best = null;
    for (const layer of layers) {
      if (hidden.has(layer.id) || !sideOk(layer, side) || !layer.n) continue;
      const [i, d] = nearestIn(layer, qx, qy, TIP_PX * res);
      if (i >= 0 && (!best || d < best.d)) best = { layer, i, d };
    }
    return best;
  }

  function localRows(layer, i) {
    const units = model.get("units") || {};
    const rows = [];
    const name = model.get("value_name");
    const u = units[name] || { factor: 1, label: "" };
    if (layer.value && name) rows.push([name, `${fmt(layer.value[i] * u.factor)} ${u.label}`.trim()]);
    for (const [k, arr] of Object.entries(layer.props)) {
      if (k === name) continue;
      const pu = units[k] || { factor: 1, label: "" };
      rows.push([k, `${fmt(arr[i] * pu.factor)} ${pu.label}`.trim()]);
    }
    rows.push(["lon, lat", `${lonOf(origin[0] + layer.x[i]).toFixed(6)}, ${latOf(origin[1] + layer.y[i]).toFixed(6)}`]);
    return rows;
  }

  function showTip(hit, sx, sy, rows) {
    const head = `<div class="lnm-tip-title">${hit.layer.name}</div>`;
    tip.innerHTML = head + "<table>" + rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join("") + "</table>";
    tip.style.display = "block";
    tip.style.left = Math.min(sx + 14, W - 260) + "px";
    tip.style.top = Math.max(4, Math.min(sy + 14, H - tip.offsetHeight - 4)) + "px";
    tip.dataset.layer = hit.layer.id;
    tip.dataset.index = String(hit.i);
  }

  let inspectTimer = null;
  function hover(sx, sy, pin) {
    const hit = nearest(sx, sy);
    if (!hit) {
      if (!pinned) { tip.style.display = "none"; hoverKey = null; }
      return;
    }
    const key = hit.layer.id + ":" + hit.i;
    if (key !== hoverKey || pin) {
      hoverKey = key;
      showTip(hit, sx, sy, localRows(hit.layer, hit.i));
      clearTimeout(inspectTimer);
      inspectTimer = setTimeout(() => {
        try { model.send({ type: "inspect", layer: hit.layer.id, index: hit.i }); } catch (e) { /* no kernel */ }
      }, pin ? 0 : 120);
    }
  }

  model.on("msg:custom", (msg) => {
    if (!msg || msg.type !== "inspected") return;
    if (tip.dataset.layer !== msg.layer || tip.dataset.index !== String(msg.index)) return;
    const title = tip.querySelector(".lnm-tip-title");
    tip.innerHTML = (title ? title.outerHTML : "") + "<table>" + msg.rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join("") + "</table>";
    tip.dataset.full = "1";
  });

  // ---------------------------------------------------------------- events
  let drag = null;
  canvas.addEventListener("mousedown", (e) => {
    const r = canvas.getBoundingClientRect();
    drag = { x: e.clientX, y: e.clientY, cx, cy, moved: false, sx: e.clientX - r.left, sy: e.clientY - r.top };
  });
  window.addEventListener("mousemove", (e) => {
    const r = canvas.getBoundingClientRect();
    const sx = e.clientX - r.left, sy = e.clientY - r.top;
    if (drag) {
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved && !drawing) {
        cx = drag.cx - dx * res;
        cy = drag.cy + dy * res;
        tip.style.display = "none";
        requestDraw();
      }
      return;
    }
    if (sx < 0 || sy < 0 || sx > W || sy > H) return;
    if (!pinned && !drawing) hover(sx, sy, false);
  });
  window.addEventListener("mouseup", (e) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    if (d.moved && !drawing) { syncView(); return; }
    if (drawing) {
      vertices.push([cx + (d.sx - W / 2) * res, cy - (d.sy - H / 2) * res]);
      requestDraw();
      return;
    }
    pinned = false;
    hover(d.sx, d.sy, true);
    pinned = tip.style.display === "block";
  });
  canvas.addEventListener("dblclick", (e) => {
    e.preventDefault();
    if (drawing) {
      vertices = vertices.filter((v, i) => i === 0 || v[0] !== vertices[i - 1][0] || v[1] !== vertices[i - 1][1]);
      finishDrawing();
    } else {
      const r = canvas.getBoundingClientRect();
      zoomAt(0.5, e.clientX - r.left, e.clientY - r.top);
    }
  });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = canvas.getBoundingClientRect();
    zoomAt(Math.exp(e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  wrap.tabIndex = 0;
  wrap.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && drawing) { vertices = []; finishDrawing(); }
  });
  let splitDrag = false;
  handle.addEventListener("mousedown", (e) => { e.stopPropagation(); splitDrag = true; });
  window.addEventListener("mousemove", (e) => {
    if (!splitDrag) return;
    const r = canvas.getBoundingClientRect();
    splitPos = Math.max(0.02, Math.min(0.98, (e.clientX - r.left) / W));
    requestDraw();
  });
  window.addEventListener("mouseup", () => { splitDrag = false; });

  // ---------------------------------------------------------------- model changes
  model.on("change:layers", () => { loadLayers(); renderLegend(); requestDraw(); });
  model.on("change:legend", () => { renderLegend(); requestDraw(); });
  model.on("change:fields", () => { renderLegend(); requestDraw(); });
  model.on("change:view", () => { if (!ownView) { fit(model.get("view")); requestDraw(); } });
  for (const name of ["mode", "split", "split_labels", "scale_imperial", "basemap", "units"]) {
    model.on("change:" + name, requestDraw);
  }
  model.on("change:hidden", () => { hidden = new Set(model.get("hidden") || []); renderLegend(); requestDraw(); });
  model.on("change:height", () => { wrap.style.height = model.get("height") + "px"; });

  function resize() {
    const w = wrap.clientWidth, h = wrap.clientHeight;
    if (!w || !h) return;
    const first = !W;
    const keep = W ? currentView() : null;
    W = w; H = h; dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(W * dpr);
    canvas.height = Math.round(H * dpr);
    fit(first ? model.get("view") : keep);
    if (first && model.get("view")) res *= 1.06; // a margin around the data
    requestDraw();
  }

  wrap.style.height = (model.get("height") || 480) + "px";
  loadLayers();
  renderLegend();
  const observer = new ResizeObserver(resize);
  observer.observe(wrap);
  resize();
  return () => observer.disconnect();
}

export default { render };
