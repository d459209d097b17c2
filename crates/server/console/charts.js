// SVG charts drawn by hand: a daily time series (counts + spend panels), a funnel, horizontal bars.
// Colours and fonts come from style.css classes; nothing here sets a style attribute (CSP style-src 'self').
// Values are parsed with Number() only to place marks; every label is formatted by the caller.

const NS = "http://www.w3.org/2000/svg";

/** Create an SVG element with attributes; children may be nodes or strings. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

function clear(svg) {
  while (svg.firstChild) svg.firstChild.remove();
}

/** Width to draw at: the element's rendered width (so text stays legible on phones). */
function drawWidth(svg, fallback = 960) {
  const w = Math.round(svg.getBoundingClientRect().width || svg.parentElement?.clientWidth || 0);
  return Math.max(300, w || fallback);
}

function num(v) {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

/** A "nice" axis maximum and step for values in [0, max]. */
export function niceScale(max, ticks = 4) {
  if (!(max > 0)) return { max: 1, step: 0.25 };
  const raw = max / ticks;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  const stepN = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
  const step = stepN * mag;
  return { max: Math.ceil(max / step - 1e-9) * step, step };
}

/** Compact axis label: 1200 → 1.2k, 3000000 → 3M, 0.25 → 0.25. */
export function compact(n) {
  const a = Math.abs(n);
  const trim = (x) => String(Number(x.toFixed(2)));
  if (a >= 1e9) return trim(n / 1e9) + "B";
  if (a >= 1e6) return trim(n / 1e6) + "M";
  if (a >= 1e3) return trim(n / 1e3) + "k";
  return trim(n);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "2026-11-01" → "Nov 1" (string manipulation, no time zone involved). */
export function shortDate(d) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d || "");
  if (!m) return d || "";
  return `${MONTHS[Number(m[2]) - 1]} ${Number(m[3])}`;
}

/**
 * Daily time series.
 * opts: {rows: [{date, values: {key: string}}], series: [{key, label, cls}], spend: {key, label, cls,
 * format(v)}, format(key, v) → display text, title: aria label}
 * Exactly one <g class="point" data-date> per row.
 */
export function dailyChart(svg, { rows, series, spend, format, label }) {
  clear(svg);
  const W = drawWidth(svg);
  const narrow = W < 560;
  const m = { l: narrow ? 40 : 56, r: narrow ? 12 : 24, t: 52, b: 30 };
  const topH = narrow ? 170 : 210;
  const gap = 34;
  const botH = narrow ? 70 : 90;
  const H = m.t + topH + gap + botH + m.b;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label || "Daily metrics");
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");

  const n = rows.length;
  const plotW = W - m.l - m.r;
  const topY0 = m.t;
  const botY0 = m.t + topH + gap;

  // Legend.
  const legend = s("g", { class: "legend", transform: `translate(${m.l},14)` });
  let lx = 0;
  for (const ser of [...series, spend]) {
    const item = s("g", { transform: `translate(${lx},0)` },
      s("rect", { x: 0, y: -6, width: 14, height: 4, rx: 2, class: `swatch ${ser.cls}` }),
      s("text", { x: 20, y: 0, class: "legend-text", "dominant-baseline": "middle" }, ser.label));
    legend.append(item);
    lx += 32 + ser.label.length * 7.2;
  }
  svg.append(legend);

  if (n === 0) {
    svg.append(s("text", { x: W / 2, y: m.t + topH / 2, class: "empty-text", "text-anchor": "middle" },
      "No data for this range"));
    return;
  }

  const step = n > 1 ? plotW / (n - 1) : 0;
  const xAt = (i) => (n > 1 ? m.l + i * step : m.l + plotW / 2);
  const countMax = Math.max(0, ...rows.flatMap((r) => series.map((ser) => num(r.values[ser.key]))));
  const spendMax = Math.max(0, ...rows.map((r) => num(r.values[spend.key])));
  const cs = niceScale(countMax);
  const ss = niceScale(spendMax, 2);
  const yCount = (v) => topY0 + topH - (num(v) / cs.max) * topH;
  const ySpend = (v) => botY0 + botH - (num(v) / ss.max) * botH;

  // Grid + y axes.
  const grid = s("g", { class: "grid" });
  for (let v = 0; v <= cs.max + cs.step / 2; v += cs.step) {
    const y = yCount(v);
    grid.append(s("line", { x1: m.l, x2: W - m.r, y1: y, y2: y, class: "grid-line" }));
    grid.append(s("text", { x: m.l - 6, y, class: "axis-text", "text-anchor": "end", "dominant-baseline": "middle" }, compact(v)));
  }
  for (let v = 0; v <= ss.max + ss.step / 2; v += ss.step) {
    const y = ySpend(v);
    grid.append(s("line", { x1: m.l, x2: W - m.r, y1: y, y2: y, class: "grid-line" }));
    grid.append(s("text", { x: m.l - 6, y, class: "axis-text", "text-anchor": "end", "dominant-baseline": "middle" }, compact(v)));
  }
  grid.append(s("text", { x: m.l, y: topY0 - 12, class: "axis-title" }, "Messages"));
  grid.append(s("text", { x: m.l, y: botY0 - 8, class: "axis-title" }, spend.axisTitle || spend.label));
  svg.append(grid);

  // X axis labels (at most ~8, never overlapping).
  const maxLabels = Math.max(2, Math.floor(plotW / (narrow ? 60 : 80)));
  const every = Math.max(1, Math.ceil(n / maxLabels));
  const xaxis = s("g", { class: "x-axis" });
  xaxis.append(s("line", { x1: m.l, x2: W - m.r, y1: topY0 + topH, y2: topY0 + topH, class: "axis-line" }));
  xaxis.append(s("line", { x1: m.l, x2: W - m.r, y1: botY0 + botH, y2: botY0 + botH, class: "axis-line" }));
  for (let i = 0; i < n; i += every) {
    const x = xAt(i);
    xaxis.append(s("line", { x1: x, x2: x, y1: botY0 + botH, y2: botY0 + botH + 4, class: "axis-line" }));
    xaxis.append(s("text", { x, y: botY0 + botH + 18, class: "axis-text", "text-anchor": i === 0 && n > 1 ? "start" : "middle" }, shortDate(rows[i].date)));
  }
  svg.append(xaxis);

  // Spend bars.
  const barW = Math.max(1, Math.min(18, (n > 1 ? step : plotW) * 0.6));
  const bars = s("g", { class: "spend-bars" });
  rows.forEach((r, i) => {
    const y = ySpend(r.values[spend.key]);
    const bx = Math.min(Math.max(xAt(i) - barW / 2, m.l), W - m.r - barW);
    bars.append(s("rect", { x: bx, y, width: barW, height: Math.max(0, botY0 + botH - y), class: `bar ${spend.cls}` }));
  });
  svg.append(bars);

  // Lines.
  for (const ser of series) {
    const d = rows.map((r, i) => `${i ? "L" : "M"}${xAt(i).toFixed(1)},${yCount(r.values[ser.key]).toFixed(1)}`).join("");
    svg.append(s("path", { d, class: `line ${ser.cls}` }));
  }

  // One point group per day: hover band, dots, tooltip.
  const points = s("g", { class: "points" });
  const band = n > 1 ? step : plotW;
  rows.forEach((r, i) => {
    const x = xAt(i);
    const lines = [r.date, ...series.map((ser) => `${ser.label}: ${format(ser.key, r.values[ser.key])}`),
      `${spend.label}: ${format(spend.key, r.values[spend.key])}`];
    const g = s("g", { class: "point", "data-date": r.date },
      s("title", {}, lines.join("\n")),
      s("rect", { x: x - band / 2, y: topY0, width: band, height: botY0 + botH - topY0, class: "hover-band" }),
      ...series.map((ser) => s("circle", { cx: x, cy: yCount(r.values[ser.key]), r: n > 60 ? 2 : 3, class: `dot ${ser.cls}` })));
    points.append(g);
  });
  svg.append(points);
}

/**
 * Funnel: steps [{label, value (string count), text (formatted), note}] as horizontal bars scaled to the
 * first step.
 */
export function funnelChart(svg, steps) {
  clear(svg);
  const W = drawWidth(svg);
  const rowH = 70;
  const barH = 30;
  const H = steps.length * rowH;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Funnel: " + steps.map((st) => `${st.label} ${st.text}`).join(", "));
  const first = Math.max(1, num(steps[0]?.value));
  steps.forEach((st, i) => {
    const y = i * rowH;
    const w = Math.max(3, (num(st.value) / first) * W);
    svg.append(s("g", { class: `funnel-step step-${i}`, "data-step": st.key || st.label },
      s("title", {}, `${st.label}: ${st.text}${st.note ? " (" + st.note + ")" : ""}`),
      s("text", { x: 0, y: y + 16, class: "funnel-label" }, st.label,
        s("tspan", { class: "funnel-value", dx: 8 }, st.text)),
      st.note ? s("text", { x: W, y: y + 16, class: "funnel-note", "text-anchor": "end" }, st.note) : null,
      s("rect", { x: 0, y: y + 26, width: W, height: barH, rx: 5, class: "funnel-track" }),
      s("rect", { x: 0, y: y + 26, width: w, height: barH, rx: 5, class: `funnel-bar step-${i}` })));
  });
}

/** Horizontal bars: items [{label, value (string), text (formatted)}], already ordered. */
export function barChart(svg, items, { label = "Bar chart", empty = "No data" } = {}) {
  clear(svg);
  const W = drawWidth(svg);
  const labelW = Math.max(32, 14 + Math.max(...items.map((it) => String(it.label).length)) * 7.5);
  const valueW = 70;
  const rowH = 24;
  const H = Math.max(1, items.length) * rowH + 8;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  if (!items.length) {
    svg.append(s("text", { x: W / 2, y: 20, class: "empty-text", "text-anchor": "middle" }, empty));
    return;
  }
  const max = Math.max(1, ...items.map((it) => num(it.value)));
  const barMax = W - labelW - valueW;
  items.forEach((it, i) => {
    const y = 4 + i * rowH;
    const w = Math.max(1, (num(it.value) / max) * barMax);
    svg.append(s("g", { class: "bar-row", "data-label": it.label },
      s("title", {}, `${it.label}: ${it.text}`),
      s("text", { x: 0, y: y + rowH / 2, class: "bar-label", "dominant-baseline": "middle" }, it.label),
      s("rect", { x: labelW, y: y + 4, width: w, height: rowH - 8, rx: 3, class: "hbar" }),
      s("text", { x: labelW + w + 6, y: y + rowH / 2, class: "bar-value", "dominant-baseline": "middle" }, it.text)));
  });
}
