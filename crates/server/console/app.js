// The CAMS Insights console: a small router, views, and the API calls they make.
// Every call is signed in this browser (sign.js); the secret lives only in sessionStorage and memory.

import { callWith, setCredentials } from "./sign.js";
import { dailyChart, funnelChart, barChart } from "./charts.js";

const VERSION = "2020-06-06";
const BASE = "/console";
const CRED_KEY = "cams.console.credentials";
const LAST_KEY = "cams.console.lastCampaign";
const REFRESH_MS = 3000;

const METRICS = [
  { key: "MarketingMessagesDelivered", label: "Delivered", kind: "count" },
  { key: "MarketingMessagesDeliveryRate", label: "Delivery rate", kind: "rate" },
  { key: "MarketingMessagesReadRate", label: "Read rate", kind: "rate" },
  { key: "MarketingMessagesLinkBtnClick", label: "Link/button clicks", kind: "count" },
  { key: "MarketingMessagesLinkBtnClickRate", label: "Click rate", kind: "rate" },
  { key: "MarketingMessagesSpend", label: "Spend", kind: "money" },
  { key: "MarketingMessagesCostPerDelivered", label: "Cost per delivered", kind: "cost" },
  { key: "MarketingMessagesCostPerLinkBtnClick", label: "Cost per click", kind: "cost" },
];
const KIND = Object.fromEntries(METRICS.map((m) => [m.key, m.kind]));
KIND.MarketingMessagesSent = "count";
KIND.MarketingMessagesRead = "count";
KIND.MarketingMessagesFailed = "count";

const DAILY_COLUMNS = [
  ["DateStart", "Start"],
  ["DateStop", "Stop"],
  ["MarketingMessagesSent", "Sent"],
  ["MarketingMessagesDelivered", "Delivered"],
  ["MarketingMessagesRead", "Read"],
  ["MarketingMessagesDeliveryRate", "Delivery rate"],
  ["MarketingMessagesReadRate", "Read rate"],
  ["MarketingMessagesLinkBtnClick", "Clicks"],
  ["MarketingMessagesLinkBtnClickRate", "Click rate"],
  ["MarketingMessagesSpend", "Spend"],
  ["MarketingMessagesCostPerDelivered", "Cost/delivered"],
  ["MarketingMessagesCostPerLinkBtnClick", "Cost/click"],
];

const COUNTRY_COLUMNS = [
  ["Country", "Country", "text"],
  ["MarketingMessagesDelivered", "Delivered", "count"],
  ["MarketingMessagesDeliveryRate", "Delivery rate", "rate"],
  ["MarketingMessagesReadRate", "Read rate", "rate"],
  ["MarketingMessagesLinkBtnClick", "Clicks", "count"],
  ["MarketingMessagesLinkBtnClickRate", "Click rate", "rate"],
  ["MarketingMessagesSpend", "Spend", "money"],
  ["MarketingMessagesCostPerDelivered", "Cost/delivered", "cost"],
  ["MarketingMessagesCostPerLinkBtnClick", "Cost/click", "cost"],
];

// ---------------------------------------------------------------------------------------------------
// DOM helpers

/** Create an element: attrs (class, dataset via data-*, on* handlers, boolean props), children. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value") el.value = v;
    else if (k === "checked" || k === "selected" || k === "disabled" || k === "required" || k === "open") {
      el[k] = !!v;
      if (v) el.setAttribute(k, "");
    } else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const $ = (sel, root = document) => root.querySelector(sel);
const view = () => document.getElementById("view");

function link(href, text, attrs = {}) {
  return h("a", { href, ...attrs }, text);
}

function enc(seg) {
  return encodeURIComponent(seg);
}

// ---------------------------------------------------------------------------------------------------
// Number formatting on strings (the API's exact decimals never go through floating point for display)

function splitDecimal(s) {
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(String(s ?? "").trim());
  if (!m) return null;
  return { neg: m[1] === "-", int: m[2] || "0", frac: m[3] || "" };
}

function group(intDigits) {
  return intDigits.replace(/^0+(?=\d)/, "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Round a decimal string half-up to `places` digits and group thousands: ("1234.5678", 2) → "1,234.57". */
export function roundDecimal(s, places, { grouping = true } = {}) {
  const d = splitDecimal(s);
  if (!d) return String(s ?? "");
  let frac = d.frac.padEnd(places, "0");
  let digits = BigInt(d.int + frac.slice(0, places));
  if (frac.length > places && frac[places] >= "5") digits += 1n;
  let str = digits.toString().padStart(places + 1, "0");
  const intPart = places ? str.slice(0, -places) : str;
  const fracPart = places ? str.slice(-places) : "";
  const isZero = /^0*$/.test(intPart + fracPart);
  const out = (grouping ? group(intPart) : intPart) + (places ? "." + fracPart : "");
  return (d.neg && !isZero ? "-" : "") + out;
}

function formatCount(s) {
  const d = splitDecimal(s);
  if (!d) return String(s ?? "–");
  return (d.neg ? "-" : "") + group(d.int) + (d.frac && !/^0+$/.test(d.frac) ? "." + d.frac : "");
}

function formatRate(s) {
  return roundDecimal(s, 2) + " %";
}

function formatMoney(s, currency, places = 2) {
  return `${currency || ""} ${roundDecimal(s, places)}`.trim();
}

/** Display text for one API metric value. */
function formatMetric(key, value, currency) {
  if (value === undefined || value === null || value === "") return "–";
  switch (KIND[key] || (key === "MarketingMessagesSpend" ? "money" : "count")) {
    case "rate":
      return formatRate(value);
    case "money":
      return formatMoney(value, currency, 2);
    case "cost":
      return formatMoney(value, currency, 4);
    default:
      return formatCount(value);
  }
}

/** a / b as a percentage string with 2 decimals, exact (BigInt), for integer strings. */
function percentOf(a, b) {
  try {
    const A = BigInt(a);
    const B = BigInt(b);
    if (B === 0n) return "–";
    const scaled = (A * 10000n * 2n + B) / (2n * B); // round half up, 2 decimals
    const str = scaled.toString().padStart(3, "0");
    return `${group(str.slice(0, -2))}.${str.slice(-2)} %`;
  } catch {
    return "–";
  }
}

function currencyExponent(currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

/** Whole minor units (integer) → "USD 5,000.00". */
function formatMinorUnits(units, currency) {
  const e = currencyExponent(currency || "USD");
  const str = String(units ?? "");
  if (!/^-?\d+$/.test(str)) return str;
  const neg = str.startsWith("-");
  const digits = (neg ? str.slice(1) : str).padStart(e + 1, "0");
  const intPart = e ? digits.slice(0, -e) : digits;
  const frac = e ? "." + digits.slice(-e) : "";
  return `${currency || ""} ${neg ? "-" : ""}${group(intPart)}${frac}`.trim();
}

/** Plain code-point order (not locale): "US" < "ZA" < "unknown". */
function cmp(a, b) {
  const x = String(a ?? "");
  const y = String(b ?? "");
  return x < y ? -1 : x > y ? 1 : 0;
}

function pad2(n) {
  return String(n).padStart(2, "0");
}

function clockTime(d = new Date()) {
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

function formatTimestamp(ms) {
  const n = Number(ms);
  if (!Number.isFinite(n) || n <= 0) return "";
  const d = new Date(n);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

// ---------------------------------------------------------------------------------------------------
// Session, errors, API

let credentials = null;
let userAction = 0; // incremented by each user-initiated action (navigation, submit, click)
let errorAction = -1; // the action whose error the banner shows

function loadCredentials() {
  try {
    const c = JSON.parse(sessionStorage.getItem(CRED_KEY) || "null");
    if (c && c.accessKeyId && c.accessKeySecret) return c;
  } catch {
    /* ignore */
  }
  return null;
}

function useCredentials(c) {
  credentials = c;
  setCredentials(c);
  const keyId = document.getElementById("key-id");
  keyId.textContent = c ? c.accessKeyId : "";
  document.getElementById("session").hidden = !c;
  document.getElementById("main-nav").hidden = !c;
}

function beginAction() {
  userAction += 1;
  hideNotice();
}

function showError(result) {
  const b = (result && result.body) || {};
  const el = document.getElementById("error");
  const code = b.Code || (result.httpStatus ? `HTTP${result.httpStatus}` : "Error");
  const requestId = result.requestId || b.RequestId || "";
  el.dataset.code = code;
  el.dataset.requestId = requestId;
  el.replaceChildren();
  const detail = b.AccessDeniedDetail && typeof b.AccessDeniedDetail === "object" ? b.AccessDeniedDetail : null;
  append(el, [
    h("div", { class: "error-main" },
      h("strong", { class: "error-code" }, code),
      result.httpStatus ? h("span", { class: "error-status" }, `HTTP ${result.httpStatus}`) : null,
      h("span", { class: "error-message" }, b.Message || result.message || "The request failed.")),
    detail && detail.AuthAction
      ? h("div", { class: "error-denied" }, "Denied action: ", h("code", { class: "error-auth-action" }, detail.AuthAction),
        detail.AuthPrincipalDisplayName ? ` (principal ${detail.AuthPrincipalDisplayName}${detail.NoPermissionType ? ", " + detail.NoPermissionType : ""})` : "")
      : null,
    requestId ? h("div", { class: "error-request-id" }, "RequestId: ", h("code", {}, requestId)) : null,
    h("button", { type: "button", class: "btn btn-ghost error-close", "aria-label": "Dismiss error", onclick: hideError }, "×"),
  ]);
  el.hidden = false;
  errorAction = userAction;
}

function hideError() {
  const el = document.getElementById("error");
  el.hidden = true;
  el.replaceChildren();
  delete el.dataset.code;
  delete el.dataset.requestId;
}

function showNotice(text) {
  const el = document.getElementById("notice");
  el.textContent = text;
  el.hidden = false;
}

function hideNotice() {
  const el = document.getElementById("notice");
  el.hidden = true;
  el.textContent = "";
}

/**
 * Call an action with the session's credentials. Resolves with the result (see sign.js) in every case;
 * shows errors in #error, and clears an error left by an earlier user action on success.
 */
async function api(action, params = {}, { version = VERSION, body, creds = credentials, quiet = false } = {}) {
  let result;
  try {
    result = await callWith(creds, action, version, params, body);
  } catch (e) {
    result = { ok: false, httpStatus: 0, body: { Code: "NetworkError", Message: String(e && e.message ? e.message : e) }, requestId: "" };
  }
  if (result.ok) {
    if (errorAction < userAction) hideError();
  } else if (!quiet) {
    showError(result);
  }
  return result;
}

function rememberCampaign(ids) {
  try {
    sessionStorage.setItem(LAST_KEY, JSON.stringify(ids));
  } catch {
    /* ignore */
  }
}

function lastCampaign() {
  try {
    return JSON.parse(sessionStorage.getItem(LAST_KEY) || "null") || {};
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------------------------------------------
// Router

let disposers = [];
let routeToken = 0;

function onDispose(fn) {
  disposers.push(fn);
}

function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render();
}

function route(pathname) {
  const p = pathname.replace(/\/+$/, "");
  const parts = p.split("/").slice(1).map((x) => {
    try {
      return decodeURIComponent(x);
    } catch {
      return x;
    }
  });
  if (parts[0] !== "console") return { name: "notfound" };
  const r = parts.slice(1);
  if (r.length === 0) return { name: "home" };
  if (r[0] === "spaces" && r.length === 4 && r[2] === "pages") return { name: "page", cs: r[1], page: r[3] };
  if (r[0] === "campaigns" && r.length === 5) return { name: "campaign", cs: r[1], page: r[2], ad: r[3], cid: r[4] };
  if (r[0] === "explorer" && r.length === 1) return { name: "explorer" };
  if (r[0] === "explorer" && r.length === 2) return { name: "action", action: r[1] };
  return { name: "notfound" };
}

function render() {
  for (const d of disposers.splice(0)) {
    try {
      d();
    } catch {
      /* ignore */
    }
  }
  const token = ++routeToken;
  const alive = () => token === routeToken;
  const v = view();
  v.replaceChildren();
  if (!credentials) {
    document.title = "Sign in · CAMS Insights";
    renderSignIn(v);
    return;
  }
  const r = route(location.pathname);
  for (const a of document.querySelectorAll("#main-nav a")) {
    const active = (a.dataset.nav === "explorer") === (r.name === "explorer" || r.name === "action");
    if (active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  switch (r.name) {
    case "home":
      return renderHome(v, alive);
    case "page":
      return renderPage(v, r, alive);
    case "campaign":
      return renderCampaign(v, r, alive);
    case "explorer":
      return renderExplorer(v, alive);
    case "action":
      return renderAction(v, r, alive);
    default:
      document.title = "Not found · CAMS Insights";
      append(v, h("section", { class: "card" }, h("h1", {}, "Page not found"),
        h("p", {}, "Nothing lives at this address. ", link(`${BASE}/`, "Back to campaigns"))));
  }
}

document.addEventListener("click", (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest && e.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(`${BASE}/`) && url.pathname !== BASE) return;
  if (url.pathname === "/console/catalog.json" || /\.(js|css|svg|json)$/.test(url.pathname)) return;
  if (url.hash && url.pathname === location.pathname) return;
  e.preventDefault();
  beginAction();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
  else render();
  view().focus({ preventScroll: true });
});

window.addEventListener("popstate", () => {
  beginAction();
  render();
});

// ---------------------------------------------------------------------------------------------------
// Sign-in

function field(id, labelText, input, help) {
  return h("div", { class: "field" },
    h("label", { for: id }, labelText),
    input,
    help ? h("p", { class: "help", id: `${id}-help` }, help) : null);
}

function renderSignIn(v) {
  const form = h("form", { id: "signin", class: "card signin", novalidate: false, autocomplete: "off" },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" },
      "Use a RAM AccessKey. Requests are signed in this browser; the secret is kept only in this tab's session storage and is never sent."),
    field("access-key-id", "AccessKey ID",
      h("input", { id: "access-key-id", name: "accessKeyId", type: "text", required: true, autocomplete: "username", spellcheck: "false", autocapitalize: "off" })),
    field("access-key-secret", "AccessKey secret",
      h("input", { id: "access-key-secret", name: "accessKeySecret", type: "password", required: true, autocomplete: "current-password" })),
    field("security-token", "STS security token (optional)",
      h("input", { id: "security-token", name: "securityToken", type: "password", autocomplete: "off", "aria-describedby": "security-token-help" }),
      "Only for temporary credentials from AssumeRole."),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "signin-submit", class: "btn btn-primary" }, "Sign in")));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    beginAction();
    const idEl = $("#access-key-id", form);
    const secretEl = $("#access-key-secret", form);
    const tokenEl = $("#security-token", form);
    const c = { accessKeyId: idEl.value.trim(), accessKeySecret: secretEl.value };
    if (tokenEl.value.trim()) c.securityToken = tokenEl.value.trim();
    if (!c.accessKeyId || !c.accessKeySecret) {
      (c.accessKeyId ? secretEl : idEl).focus();
      return;
    }
    // WebCrypto exists only in secure contexts (https://, or loopback over http://): without it the
    // browser cannot sign, and the secret must not be sent anywhere instead.
    if (!window.isSecureContext || !globalThis.crypto || !globalThis.crypto.subtle) {
      secretEl.value = "";
      showNotice(
        "This page is not a secure context, so the browser offers no WebCrypto and cannot sign requests. " +
          "Open the console over https:// (serve --tls) or on http://127.0.0.1 / http://localhost."
      );
      return;
    }
    const btn = $("#signin-submit", form);
    btn.disabled = true;
    btn.textContent = "Signing in…";
    const r = await api("ListCustSpacePage", {}, { creds: c });
    secretEl.value = "";
    tokenEl.value = "";
    btn.disabled = false;
    btn.textContent = "Sign in";
    if (!r.ok) {
      secretEl.focus();
      return;
    }
    sessionStorage.setItem(CRED_KEY, JSON.stringify(c));
    useCredentials(c);
    render();
  });
  append(v, h("div", { class: "signin-wrap" }, form));
  $("#access-key-id", form).focus();
}

document.getElementById("signout").addEventListener("click", () => {
  beginAction();
  sessionStorage.clear();
  useCredentials(null);
  hideError();
  navigate(`${BASE}/`);
});

// ---------------------------------------------------------------------------------------------------
// Shared pieces

function breadcrumbs(items) {
  return h("nav", { class: "breadcrumbs", "aria-label": "Breadcrumb" },
    h("ol", {}, items.map((it, i) =>
      h("li", {}, it.href && i < items.length - 1 ? link(it.href, it.text) : h("span", { "aria-current": "page" }, it.text)))));
}

function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, ...children);
}

function loadingText(text = "Loading…") {
  return h("p", { class: "loading" }, text);
}

function tableWrap(table) {
  return h("div", { class: "table-wrap" }, table);
}

function pagePath(cs, page) {
  return `${BASE}/spaces/${enc(cs)}/pages/${enc(page)}`;
}

function campaignPath(cs, page, ad, cid) {
  return `${BASE}/campaigns/${enc(cs)}/${enc(page)}/${enc(ad)}/${enc(cid)}`;
}

/** Cached ListCustSpacePage answer for page names in breadcrumbs. */
let spacesCache = null;
async function spaces(force = false) {
  if (!spacesCache || force) {
    const r = await api("ListCustSpacePage", {});
    if (!r.ok) return null;
    spacesCache = r.body.Data || [];
  }
  return spacesCache;
}

function pageName(list, cs, page) {
  const sp = (list || []).find((x) => x.CustSpaceId === cs);
  const p = sp && (sp.Pages || []).find((x) => x.PageId === page);
  return p ? p.PageName : page;
}

// ---------------------------------------------------------------------------------------------------
// Home: cust spaces and their pages

async function renderHome(v, alive) {
  document.title = "Campaigns · CAMS Insights";
  const body = h("div", { class: "stack" }, loadingText());
  append(v, h("div", { class: "page-head" }, h("h1", {}, "Campaigns"),
    h("p", { class: "muted" }, "Choose a Messenger page to see its ad accounts and campaigns.")), body);
  const list = await spaces(true);
  if (!alive()) return;
  body.replaceChildren();
  if (!list) {
    append(body, card(null, h("p", {}, "Could not list cust spaces.")));
    return;
  }
  if (!list.length) {
    append(body, card(null, h("p", {}, "This account has no cust spaces yet.")));
    return;
  }
  for (const sp of list) {
    const pages = sp.Pages || [];
    append(body, h("section", { class: "card", "data-cust-space-id": sp.CustSpaceId },
      h("h2", {}, "Cust space ", h("code", {}, sp.CustSpaceId)),
      pages.length
        ? h("ul", { class: "page-list" }, pages.map((p) =>
          h("li", {},
            h("a", { href: pagePath(sp.CustSpaceId, p.PageId), "data-nav": "page", "data-page-id": p.PageId, "data-cust-space-id": sp.CustSpaceId, class: "page-link" },
              h("span", { class: "page-name" }, p.PageName || p.PageId),
              h("span", { class: "page-meta" }, `Page ${p.PageId} · ${p.AdAccountCount ?? 0} ad account${p.AdAccountCount === 1 ? "" : "s"}`)))))
        : h("p", { class: "muted" }, "No pages bound to this cust space.")));
  }
}

// ---------------------------------------------------------------------------------------------------
// Page: ad accounts, campaigns, create / delete / sync

async function renderPage(v, r, alive) {
  const { cs, page } = r;
  document.title = `Page ${page} · CAMS Insights`;
  const crumbs = h("div", {});
  const heading = h("h1", {}, "Page ", h("code", {}, page));
  const accountsBox = h("div", { class: "accounts" }, loadingText());
  const statusSel = h("select", { id: "status-filter", name: "Status" },
    h("option", { value: "AVAILABLE", selected: true }, "Available"),
    h("option", { value: "DELETED" }, "Deleted"));
  const adFilter = h("select", { id: "ad-account-filter", name: "AdAccountId" }, h("option", { value: "" }, "All ad accounts"));
  const syncBtn = h("button", { type: "button", id: "sync", class: "btn" }, "Sync from Meta");
  const tableBox = h("div", { id: "campaigns-box" }, loadingText());
  const total = h("span", { id: "campaign-total", class: "muted" });

  const createForm = h("form", { id: "create-campaign", class: "form-grid" },
    field("create-name", "Name", h("input", { id: "create-name", name: "Name", type: "text", required: true, maxlength: 128 })),
    field("create-ad-account", "Ad account", h("select", { id: "create-ad-account", name: "AdAccountId", required: true })),
    field("create-budget-type", "Budget type", h("select", { id: "create-budget-type", name: "BudgetType", required: true },
      h("option", { value: "lifetime" }, "Lifetime"), h("option", { value: "daily" }, "Daily"))),
    field("create-budget", "Budget (minor units)", h("input", { id: "create-budget", name: "Budget", type: "text", inputmode: "numeric", pattern: "[0-9]+", required: true, "aria-describedby": "create-budget-help" }),
      "Whole minor units of the account currency, e.g. 500000 = USD 5,000.00."),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "create-submit", class: "btn btn-primary" }, "Create campaign")));

  append(v, crumbs, h("div", { class: "page-head" }, heading, h("p", { class: "muted" }, "Cust space ", h("code", {}, cs))),
    card("Ad accounts", accountsBox),
    h("section", { class: "card" },
      h("div", { class: "card-head" }, h("h2", {}, "Campaigns ", total),
        h("div", { class: "toolbar" },
          h("div", { class: "inline-field" }, h("label", { for: "ad-account-filter" }, "Ad account"), adFilter),
          h("div", { class: "inline-field" }, h("label", { for: "status-filter" }, "Status"), statusSel),
          syncBtn)),
      tableBox),
    card("New campaign", createForm));

  let accounts = [];
  let highlight = null;
  const currencyOf = (ad) => (accounts.find((a) => a.AdAccountId === ad) || {}).Currency || "";

  const [sp, acc] = await Promise.all([spaces(), api("ListPageAdAccount", { CustSpaceId: cs, PageId: page })]);
  if (!alive()) return;
  const name = pageName(sp, cs, page);
  crumbs.replaceChildren(breadcrumbs([{ href: `${BASE}/`, text: "Campaigns" }, { text: name }]));
  heading.replaceChildren(name, " ", h("code", { class: "muted-code" }, page));
  document.title = `${name} · CAMS Insights`;
  accounts = acc.ok ? acc.body.Data || [] : [];
  accountsBox.replaceChildren(accounts.length
    ? h("ul", { class: "account-list" }, accounts.map((a) =>
      h("li", { "data-ad-account-id": a.AdAccountId },
        h("span", { class: "account-name" }, a.AdAccountName || a.AdAccountId),
        h("span", { class: "page-meta" }, `${a.AdAccountId} · ${a.Currency || ""}`))))
    : h("p", { class: "muted" }, acc.ok ? "No ad accounts bound to this page." : "Could not list ad accounts."));
  for (const a of accounts) {
    adFilter.append(h("option", { value: a.AdAccountId }, `${a.AdAccountName || a.AdAccountId} (${a.AdAccountId})`));
    $("#create-ad-account", createForm).append(h("option", { value: a.AdAccountId }, `${a.AdAccountName || a.AdAccountId} (${a.AdAccountId})`));
  }

  async function loadCampaigns() {
    const params = { CustSpaceId: cs, PageId: page, Page: '{"Index":1,"Size":100}' };
    if (adFilter.value) params.AdAccountId = adFilter.value;
    if (statusSel.value) params.Status = statusSel.value;
    const res = await api("ListMessageCampaign", params);
    if (!alive()) return;
    if (!res.ok) {
      tableBox.replaceChildren(h("p", { class: "muted" }, "Could not list campaigns."));
      return;
    }
    const rows = res.body.Data || [];
    total.textContent = `(${res.body.Total ?? rows.length})`;
    if (!rows.length) {
      tableBox.replaceChildren(h("p", { class: "muted empty" }, "No campaigns match."));
      return;
    }
    const table = h("table", { id: "campaigns", class: "data-table" },
      h("thead", {}, h("tr", {}, ["Campaign", "Campaign ID", "Ad account", "Status", "Budget", "Created", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.map((c) => {
        const cur = currencyOf(c.AdAccountId);
        const del = c.Status === "DELETED" ? h("span", { class: "muted" }, "–")
          : h("button", { type: "button", class: "btn btn-small btn-danger-ghost", "data-action": "delete", "data-campaign-id": c.CampaignId, "data-ad-account-id": c.AdAccountId }, "Delete");
        return h("tr", { "data-campaign-id": c.CampaignId, class: c.CampaignId === highlight ? "highlight" : "" },
          h("td", {}, h("a", { href: campaignPath(cs, page, c.AdAccountId, c.CampaignId), "data-nav": "campaign", "data-campaign-id": c.CampaignId }, c.CampaignName || c.CampaignId)),
          h("td", {}, h("code", {}, c.CampaignId)),
          h("td", {}, h("code", {}, c.AdAccountId)),
          h("td", {}, h("span", { class: `badge badge-${String(c.Status || "").toLowerCase()}` }, c.Status || "")),
          h("td", { class: "num" }, formatMinorUnits(c.Budget, cur), h("span", { class: "muted small" }, ` ${c.BudgetType || ""}`)),
          h("td", {}, formatTimestamp(c.CreateTime)),
          h("td", { class: "row-actions" }, del));
      })));
    tableBox.replaceChildren(tableWrap(table));
  }

  // Delete: first click arms the button ("Confirm delete"), a second click within 5 s deletes.
  tableBox.addEventListener("click", async (e) => {
    const btn = e.target.closest('button[data-action="delete"]');
    if (!btn) return;
    beginAction();
    if (btn.dataset.armed !== "1") {
      for (const other of tableBox.querySelectorAll('button[data-armed="1"]')) disarm(other);
      btn.dataset.armed = "1";
      btn.textContent = "Confirm delete";
      btn.classList.add("btn-danger");
      btn._timer = setTimeout(() => disarm(btn), 5000);
      return;
    }
    clearTimeout(btn._timer);
    btn.disabled = true;
    btn.textContent = "Deleting…";
    const res = await api("DeleteMessageCampaign", { CustSpaceId: cs, PageId: page, AdAccountId: btn.dataset.adAccountId, CampaignId: btn.dataset.campaignId });
    if (!alive()) return;
    if (res.ok) showNotice(`Deleted campaign ${btn.dataset.campaignId}.`);
    else {
      btn.disabled = false;
      disarm(btn);
    }
    await loadCampaigns();
  });
  function disarm(btn) {
    clearTimeout(btn._timer);
    btn.dataset.armed = "";
    delete btn.dataset.armed;
    btn.textContent = "Delete";
    btn.classList.remove("btn-danger");
  }

  adFilter.addEventListener("change", () => {
    beginAction();
    loadCampaigns();
  });
  statusSel.addEventListener("change", () => {
    beginAction();
    loadCampaigns();
  });
  syncBtn.addEventListener("click", async () => {
    beginAction();
    const targets = adFilter.value ? [adFilter.value] : accounts.map((a) => a.AdAccountId);
    syncBtn.disabled = true;
    syncBtn.textContent = "Syncing…";
    let synced = [];
    let failed = false;
    for (const ad of targets) {
      const res = await api("SyncMessageCampaign", { AdAccountId: ad, PageId: page, CustSpaceId: cs });
      if (!res.ok) {
        failed = true;
        break;
      }
      synced = synced.concat(res.body.SyncedCampaignIds || []);
    }
    syncBtn.disabled = false;
    syncBtn.textContent = "Sync from Meta";
    if (!alive()) return;
    if (!failed) showNotice(`Sync finished: ${synced.length} campaign${synced.length === 1 ? "" : "s"} updated.`);
    await loadCampaigns();
  });
  createForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    beginAction();
    if (!createForm.reportValidity()) return;
    const submit = $("#create-submit", createForm);
    submit.disabled = true;
    const params = {
      CustSpaceId: cs,
      PageId: page,
      AdAccountId: $("#create-ad-account", createForm).value,
      Name: $("#create-name", createForm).value.trim(),
      BudgetType: $("#create-budget-type", createForm).value,
      Budget: $("#create-budget", createForm).value.trim(),
    };
    const res = await api("CreateMessageCampaign", params);
    submit.disabled = false;
    if (!alive()) return;
    if (res.ok) {
      const id = res.body.CampaignId || (res.body.Data && res.body.Data.CampaignId) || "";
      highlight = id;
      showNotice(`Created campaign ${params.Name}${id ? ` (${id})` : ""}.`);
      $("#create-name", createForm).value = "";
      $("#create-budget", createForm).value = "";
      await loadCampaigns();
    }
  });

  await loadCampaigns();
}

// ---------------------------------------------------------------------------------------------------
// Campaign insights

function renderCampaign(v, r, alive) {
  const { cs, page, ad, cid } = r;
  rememberCampaign({ CustSpaceId: cs, PageId: page, AdAccountId: ad, CampaignId: cid });
  document.title = `Campaign ${cid} · CAMS Insights`;
  const ids = { CustSpaceId: cs, PageId: page, AdAccountId: ad, CampaignId: cid };
  const state = { range: { start: "", stop: "" }, currency: "", busy: false, gen: 0, fillRange: true, daily: [], total: null, countries: [], sort: { key: "MarketingMessagesDelivered", dir: -1 }, loaded: false };

  const crumbs = h("div", {}, breadcrumbs([{ href: `${BASE}/`, text: "Campaigns" }, { href: pagePath(cs, page), text: `Page ${page}` }, { text: `Campaign ${cid}` }]));
  const title = h("h1", { id: "campaign-name" }, `Campaign ${cid}`);
  const meta = h("p", { class: "muted", id: "campaign-meta" }, "Campaign ", h("code", {}, cid), " · ad account ", h("code", {}, ad));
  const dateStart = h("input", { type: "date", id: "date-start", name: "DateStart" });
  const dateStop = h("input", { type: "date", id: "date-stop", name: "DateStop" });
  const apply = h("button", { type: "submit", id: "apply-range", class: "btn btn-primary" }, "Apply");
  const reset = h("button", { type: "button", id: "reset-range", class: "btn btn-ghost" }, "Default range");
  const auto = h("input", { type: "checkbox", id: "auto-refresh", checked: true });
  const updated = h("span", { id: "last-updated", class: "muted", "aria-live": "off" });
  const exportBtn = h("button", { type: "button", id: "export-csv", class: "btn" }, "Export daily CSV");
  const rangeForm = h("form", { id: "range-form", class: "range-form" },
    h("div", { class: "inline-field" }, h("label", { for: "date-start" }, "From"), dateStart),
    h("div", { class: "inline-field" }, h("label", { for: "date-stop" }, "To"), dateStop),
    apply, reset,
    h("span", { class: "spacer" }),
    h("div", { class: "inline-field checkbox" }, auto, h("label", { for: "auto-refresh" }, "Auto-refresh (3 s)")),
    updated, exportBtn);

  const tiles = h("div", { id: "tiles", class: "tiles" }, METRICS.map((m) =>
    h("div", { class: `tile tile-${m.kind}`, "data-metric": m.key, "data-value": "" },
      h("div", { class: "tile-label" }, m.label),
      h("div", { class: "tile-value" }, "–"))));
  const chartDaily = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  chartDaily.setAttribute("id", "chart-daily");
  chartDaily.setAttribute("class", "chart");
  const funnel = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  funnel.setAttribute("id", "funnel");
  funnel.setAttribute("class", "chart");
  const chartCountries = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  chartCountries.setAttribute("id", "chart-countries");
  chartCountries.setAttribute("class", "chart");
  const countriesBox = h("div", { class: "table-wrap" });
  let countriesTable = null;
  let dailyTable = null;
  let drawnKey = "";
  const dailyBox = h("div", { class: "table-wrap" });

  append(v, crumbs, h("div", { class: "page-head" }, title, meta),
    h("section", { class: "card toolbar-card" }, rangeForm),
    tiles,
    h("div", { class: "grid-2" },
      h("section", { class: "card span-2" }, h("h2", {}, "Daily"), h("div", { class: "chart-box" }, chartDaily)),
      h("section", { class: "card" }, h("h2", {}, "Funnel"), h("p", { class: "muted small" }, "Sent → delivered → read → clicked; each step as a share of the previous one."), funnel),
      h("section", { class: "card" }, h("h2", {}, "Delivered by country (top 15)"), chartCountries)),
    h("section", { class: "card" }, h("h2", {}, "Countries"), countriesBox),
    h("section", { class: "card" }, h("details", { id: "daily-details" }, h("summary", {}, "Daily table"), dailyBox)));

  // Name and currency.
  (async () => {
    const [list, accs] = await Promise.all([
      api("ListMessageCampaign", { CustSpaceId: cs, PageId: page, AdAccountId: ad, CampaignId: cid, Page: '{"Index":1,"Size":100}' }),
      api("ListPageAdAccount", { CustSpaceId: cs, PageId: page }),
    ]);
    if (!alive()) return;
    const c = list.ok ? (list.body.Data || []).find((x) => x.CampaignId === cid) : null;
    if (c) {
      title.textContent = c.CampaignName || `Campaign ${cid}`;
      document.title = `${c.CampaignName || cid} · CAMS Insights`;
      crumbs.replaceChildren(breadcrumbs([{ href: `${BASE}/`, text: "Campaigns" }, { href: pagePath(cs, page), text: pageName(spacesCache, cs, page) }, { text: c.CampaignName || cid }]));
      meta.replaceChildren("Campaign ", h("code", {}, cid), " · ad account ", h("code", {}, ad),
        ` · ${c.Status || ""} · budget ${formatMinorUnits(c.Budget, "")} minor units ${c.BudgetType || ""}`);
    }
    const a = accs.ok ? (accs.body.Data || []).find((x) => x.AdAccountId === ad) : null;
    if (a) {
      state.currency = a.Currency || "";
      if (c) meta.replaceChildren("Campaign ", h("code", {}, cid), " · ", a.AdAccountName || "ad account", " ", h("code", {}, ad),
        ` · ${c.Status || ""} · ${c.BudgetType || ""} budget ${formatMinorUnits(c.Budget, state.currency)}`);
      if (state.loaded) {
        drawnKey = "";
        draw();
      }
    }
  })();

  function rangeParams() {
    const p = { ...ids };
    if (state.range.start) p.DateStart = state.range.start;
    if (state.range.stop) p.DateStop = state.range.stop;
    return p;
  }

  async function load(force = false) {
    if (state.busy && !force) return;
    const gen = ++state.gen;
    state.busy = true;
    const base = rangeParams();
    const extra = "MarketingMessagesSent,MarketingMessagesRead";
    try {
      const [tot, daily, countries] = await Promise.all([
        api("GetMessageCampaignInsights", { ...base, TimeIncrement: "all_days", Fields: extra }),
        api("GetMessageCampaignInsights", { ...base, TimeIncrement: "1", Fields: extra }),
        api("GetMessageCampaignInsights", { ...base, Breakdowns: "country" }),
      ]);
      if (!alive() || gen !== state.gen) return;
      if (tot.ok) state.total = (tot.body.Data || [])[0] || null;
      if (daily.ok) state.daily = daily.body.Data || [];
      if (countries.ok) state.countries = countries.body.Data || [];
      if (tot.ok && state.total && state.fillRange && !state.range.start && !state.range.stop) {
        state.fillRange = false;
        if (document.activeElement !== dateStart) dateStart.value = state.total.DateStart || "";
        if (document.activeElement !== dateStop) dateStop.value = state.total.DateStop || "";
      }
      state.loaded = true;
      // Redraw only when something changed, so elements stay put between identical refreshes.
      const key = JSON.stringify([state.total, state.daily, state.countries, state.currency]);
      if (key !== drawnKey) {
        drawnKey = key;
        draw();
      }
      if (tot.ok && daily.ok && countries.ok) updated.textContent = `updated ${clockTime()}`;
    } finally {
      if (gen === state.gen) state.busy = false;
    }
  }

  function draw() {
    drawTiles();
    drawDaily();
    drawFunnel();
    drawCountries();
  }

  function drawTiles() {
    const row = state.total || {};
    for (const m of METRICS) {
      const tile = tiles.querySelector(`[data-metric="${m.key}"]`);
      const value = row[m.key] ?? "";
      tile.dataset.value = value;
      $(".tile-value", tile).textContent = formatMetric(m.key, value, state.currency);
    }
  }

  function fmt(key, v) {
    return formatMetric(key, v, state.currency);
  }

  function drawDaily() {
    const rows = state.daily.map((r) => ({ date: r.DateStart, values: r }));
    dailyChart(chartDaily, {
      rows,
      label: `Daily delivered, read, clicks and spend, ${rows.length} days`,
      series: [
        { key: "MarketingMessagesDelivered", label: "Delivered", cls: "s-delivered" },
        { key: "MarketingMessagesRead", label: "Read", cls: "s-read" },
        { key: "MarketingMessagesLinkBtnClick", label: "Clicks", cls: "s-clicks" },
      ],
      spend: { key: "MarketingMessagesSpend", label: "Spend", cls: "s-spend", axisTitle: `Spend${state.currency ? " (" + state.currency + ")" : ""}` },
      format: fmt,
    });
    if (!dailyTable) {
      dailyTable = h("table", { id: "daily-table", class: "data-table mono" },
        h("thead", {}, h("tr", {}, DAILY_COLUMNS.map(([k, t]) => h("th", { scope: "col", "data-field": k, title: k }, t)))),
        h("tbody", {}));
      dailyBox.replaceChildren(dailyTable);
    }
    dailyTable.tBodies[0].replaceChildren(...state.daily.map((r) => h("tr", { "data-date": r.DateStart },
      DAILY_COLUMNS.map(([k]) => h("td", { class: k.startsWith("Date") ? "" : "num" }, r[k] ?? "")))));
  }

  function drawFunnel() {
    const t = state.total || {};
    const sent = t.MarketingMessagesSent ?? "0";
    const delivered = t.MarketingMessagesDelivered ?? "0";
    const read = t.MarketingMessagesRead ?? "0";
    const clicked = t.MarketingMessagesLinkBtnClick ?? "0";
    funnelChart(funnel, [
      { key: "sent", label: "Sent", value: sent, text: formatCount(sent) },
      { key: "delivered", label: "Delivered", value: delivered, text: formatCount(delivered), note: `${percentOf(delivered, sent)} of sent` },
      { key: "read", label: "Read", value: read, text: formatCount(read), note: `${percentOf(read, delivered)} of delivered` },
      { key: "clicked", label: "Clicked", value: clicked, text: formatCount(clicked), note: `${percentOf(clicked, read)} of read` },
    ]);
  }

  function sortedCountries() {
    const { key, dir } = state.sort;
    const rows = state.countries.slice();
    rows.sort((a, b) => {
      let d;
      if (key === "Country") d = cmp(a.Country, b.Country);
      else d = Number(a[key] || 0) - Number(b[key] || 0);
      if (d === 0) d = cmp(a.Country, b.Country);
      return d * dir;
    });
    return rows;
  }

  function drawCountries() {
    const top = state.countries.slice()
      .sort((a, b) => Number(b.MarketingMessagesDelivered || 0) - Number(a.MarketingMessagesDelivered || 0) || cmp(a.Country, b.Country))
      .slice(0, 15);
    barChart(chartCountries, top.map((c) => ({ label: c.Country || "?", value: c.MarketingMessagesDelivered, text: formatCount(c.MarketingMessagesDelivered) })),
      { label: "Delivered by country, top 15", empty: "No country data for this range" });
    const rows = sortedCountries();
    if (!countriesTable) {
      countriesTable = h("table", { id: "countries", class: "data-table" },
        h("thead", {}, h("tr", {}, COUNTRY_COLUMNS.map(([k, t]) =>
          h("th", { scope: "col", "data-sort": k, "aria-sort": "none", class: k === "Country" ? "" : "num" },
            h("button", { type: "button", class: "sort-btn" }, t, h("span", { class: "sort-mark", "aria-hidden": "true" })))))),
        h("tbody", {}));
      countriesTable.querySelector("thead").addEventListener("click", (e) => {
        const th = e.target.closest("th[data-sort]");
        if (!th) return;
        const k = th.dataset.sort;
        if (state.sort.key === k) state.sort.dir = -state.sort.dir;
        else state.sort = { key: k, dir: k === "Country" ? 1 : -1 };
        drawCountries();
      });
      countriesBox.replaceChildren(countriesTable);
    }
    for (const th of countriesTable.querySelectorAll("th[data-sort]")) {
      const active = state.sort.key === th.dataset.sort;
      th.setAttribute("aria-sort", active ? (state.sort.dir > 0 ? "ascending" : "descending") : "none");
      th.querySelector(".sort-mark").textContent = active ? (state.sort.dir > 0 ? " \u25B2" : " \u25BC") : "";
    }
    countriesTable.tBodies[0].replaceChildren(...(rows.length ? rows.map((c) => h("tr", { "data-country": c.Country },
      COUNTRY_COLUMNS.map(([k, , kind]) => kind === "text"
        ? h("td", {}, h("strong", {}, c.Country))
        : h("td", { class: "num", "data-value": c[k] ?? "" }, formatMetric(k, c[k], state.currency)))))
      : [h("tr", {}, h("td", { colspan: COUNTRY_COLUMNS.length, class: "muted" }, "No country data for this range."))]));
  }

  rangeForm.addEventListener("submit", (e) => {
    e.preventDefault();
    beginAction();
    if (dateStart.value && dateStop.value && dateStart.value > dateStop.value) {
      showError({ httpStatus: 0, body: { Code: "InvalidRange", Message: "The start date is after the end date." }, requestId: "" });
      return;
    }
    state.range = { start: dateStart.value, stop: dateStop.value };
    load(true);
  });
  reset.addEventListener("click", () => {
    beginAction();
    state.range = { start: "", stop: "" };
    state.fillRange = true;
    dateStart.value = "";
    dateStop.value = "";
    load(true);
  });
  exportBtn.addEventListener("click", () => {
    beginAction();
    const header = DAILY_COLUMNS.map(([k]) => k).join(",");
    const esc = (x) => (/[",\n\r]/.test(x) ? `"${x.replace(/"/g, '""')}"` : x);
    const lines = state.daily.map((r) => DAILY_COLUMNS.map(([k]) => esc(String(r[k] ?? ""))).join(","));
    const csv = [header, ...lines].join("\n") + "\n";
    const start = (state.total && state.total.DateStart) || (state.daily[0] && state.daily[0].DateStart) || state.range.start || "start";
    const stop = (state.total && state.total.DateStop) || (state.daily.length && state.daily[state.daily.length - 1].DateStop) || state.range.stop || "stop";
    const blob = new Blob([csv], { type: "text/csv;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: `${cid}_${start}_${stop}_daily.csv`, class: "visually-hidden" }, "download");
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });

  const timer = setInterval(() => {
    if (auto.checked && document.visibilityState === "visible") load();
  }, REFRESH_MS);
  onDispose(() => clearInterval(timer));
  const onVisible = () => {
    if (document.visibilityState === "visible" && auto.checked) load();
  };
  document.addEventListener("visibilitychange", onVisible);
  onDispose(() => document.removeEventListener("visibilitychange", onVisible));
  let resizeTimer = 0;
  const onResize = () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => state.loaded && draw(), 150);
  };
  window.addEventListener("resize", onResize);
  onDispose(() => window.removeEventListener("resize", onResize));

  load();
}

// ---------------------------------------------------------------------------------------------------
// Explorer

let catalogCache = null;
async function catalog() {
  if (!catalogCache) {
    const resp = await fetch(`${BASE}/catalog.json`, { credentials: "omit" });
    if (!resp.ok) throw new Error(`catalog.json: HTTP ${resp.status}`);
    catalogCache = await resp.json();
  }
  return catalogCache;
}

async function renderExplorer(v, alive) {
  document.title = "API explorer · CAMS Insights";
  const box = h("div", {}, loadingText());
  append(v, h("div", { class: "page-head" }, h("h1", {}, "API explorer"),
    h("p", { class: "muted" }, "Every operation this endpoint serves. Requests are signed here with your key, exactly like the SDKs.")), box);
  let cat;
  try {
    cat = await catalog();
  } catch (e) {
    showError({ httpStatus: 0, body: { Code: "CatalogUnavailable", Message: String(e.message || e) }, requestId: "" });
    return;
  }
  if (!alive()) return;
  box.replaceChildren(card(null, tableWrap(h("table", { class: "data-table", id: "actions" },
    h("thead", {}, h("tr", {}, ["Operation", "Version", "RAM action", "Description"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, cat.actions.map((a) => h("tr", { "data-action-name": a.name },
      h("td", {}, h("a", { href: `${BASE}/explorer/${enc(a.name)}`, "data-nav": "action", "data-action-name": a.name }, a.name)),
      h("td", {}, h("code", {}, a.version)),
      h("td", {}, h("code", {}, a.ram_action)),
      h("td", {}, a.doc))))))));
}

const DEFAULTS = { Page: '{"Index":1,"Size":100}' };

function paramInput(p, prefill) {
  const id = `param-${p.name}`;
  const common = { id, name: p.name, required: p.required, "aria-describedby": p.doc ? `${id}-help` : null };
  let input;
  switch (p.kind) {
    case "date":
      input = h("input", { ...common, type: "date" });
      break;
    case "integer":
      input = h("input", { ...common, type: "text", inputmode: "numeric", pattern: "-?[0-9]+", autocomplete: "off" });
      break;
    case "one_of":
      input = h("select", common,
        p.required ? h("option", { value: "", disabled: true, selected: true }, "Choose…") : h("option", { value: "" }, "(not sent)"),
        (p.values || []).map((x) => h("option", { value: x }, x)));
      break;
    case "json":
    case "body":
      input = h("textarea", { ...common, rows: p.kind === "body" ? 6 : 3, spellcheck: "false", class: "mono" });
      break;
    default:
      input = h("input", { ...common, type: "text", autocomplete: "off", spellcheck: "false" });
  }
  const value = prefill[p.name] ?? DEFAULTS[p.name];
  if (value !== undefined) input.value = value;
  return h("div", { class: `field kind-${p.kind}` },
    h("label", { for: id }, p.name, p.required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null,
      h("span", { class: "kind" }, p.kind === "one_of" ? "one of" : p.kind)),
    input,
    p.doc ? h("p", { class: "help", id: `${id}-help` }, p.doc) : null);
}

function pyStr(s) {
  return JSON.stringify(String(s));
}

export function pythonSnippet(action, version, params, body, { protocol = "HTTP", endpoint = "localhost", sts = false } = {}) {
  const q = Object.entries(params).map(([k, v]) => `    ${pyStr(k)}: ${pyStr(v)},`).join("\n");
  const lines = [
    "import os",
    "",
    "from alibabacloud_tea_openapi.client import Client",
    "from alibabacloud_tea_openapi import models as open_api_models",
    "from alibabacloud_tea_util import models as util_models",
    "from alibabacloud_openapi_util.client import Client as OpenApiUtilClient",
    "",
    "config = open_api_models.Config(",
    "    access_key_id=os.environ['ALIBABA_CLOUD_ACCESS_KEY_ID'],",
    "    access_key_secret=os.environ['ALIBABA_CLOUD_ACCESS_KEY_SECRET'],",
    sts ? "    security_token=os.environ['ALIBABA_CLOUD_SECURITY_TOKEN']," : null,
    `    endpoint=${pyStr(endpoint)},`,
    `    protocol=${pyStr(protocol)},`,
    ")",
    "client = Client(config)",
    "",
    "params = open_api_models.Params(",
    `    action=${pyStr(action)},`,
    `    version=${pyStr(version)},`,
    `    protocol=${pyStr(protocol)},`,
    "    pathname='/',",
    "    method='POST',",
    "    auth_type='AK',",
    "    style='RPC',",
    body !== undefined ? "    req_body_type='byte'," : "    req_body_type='formData',",
    "    body_type='json',",
    ")",
    q ? `queries = {\n${q}\n}` : "queries = {}",
    body !== undefined
      ? `request = open_api_models.OpenApiRequest(\n    query=OpenApiUtilClient.query(queries),\n    headers={'content-type': 'application/x-ndjson'},\n    body=${pyStr(body)}.encode('utf-8'),\n)`
      : "request = open_api_models.OpenApiRequest(query=OpenApiUtilClient.query(queries))",
    "runtime = util_models.RuntimeOptions()",
    "response = client.call_api(params, request, runtime)",
    "print(response['body'])",
  ];
  return lines.filter((l) => l !== null).join("\n") + "\n";
}

export function nodeSnippet(action, version, params, body, { protocol = "HTTP", endpoint = "localhost", sts = false } = {}) {
  const q = Object.entries(params).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(String(v))},`).join("\n");
  const lines = [
    "// npm install @alicloud/openapi-client @alicloud/openapi-util @alicloud/tea-util",
    "const OpenApi = require('@alicloud/openapi-client');",
    "const OpenApiUtil = require('@alicloud/openapi-util');",
    "const Util = require('@alicloud/tea-util');",
    "",
    "const config = new OpenApi.Config({",
    "  accessKeyId: process.env.ALIBABA_CLOUD_ACCESS_KEY_ID,",
    "  accessKeySecret: process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET,",
    sts ? "  securityToken: process.env.ALIBABA_CLOUD_SECURITY_TOKEN," : null,
    `  endpoint: ${JSON.stringify(endpoint)},`,
    `  protocol: ${JSON.stringify(protocol)},`,
    "});",
    "const client = new OpenApi.default(config);",
    "",
    "const params = new OpenApi.Params({",
    `  action: ${JSON.stringify(action)},`,
    `  version: ${JSON.stringify(version)},`,
    `  protocol: ${JSON.stringify(protocol)},`,
    "  pathname: '/',",
    "  method: 'POST',",
    "  authType: 'AK',",
    "  style: 'RPC',",
    body !== undefined ? "  reqBodyType: 'byte'," : "  reqBodyType: 'formData',",
    "  bodyType: 'json',",
    "});",
    q ? `const queries = {\n${q}\n};` : "const queries = {};",
    body !== undefined
      ? `const request = new OpenApi.OpenApiRequest({\n  query: OpenApiUtil.default.query(queries),\n  headers: { 'content-type': 'application/x-ndjson' },\n  body: Buffer.from(${JSON.stringify(body)}, 'utf8'),\n});`
      : "const request = new OpenApi.OpenApiRequest({ query: OpenApiUtil.default.query(queries) });",
    "const runtime = new Util.RuntimeOptions({});",
    "",
    "client.callApi(params, request, runtime)",
    "  .then((response) => console.log(JSON.stringify(response.body, null, 2)))",
    "  .catch((err) => console.error(err.code, err.message, err.data && err.data.RequestId));",
  ];
  return lines.filter((l) => l !== null).join("\n") + "\n";
}

function copyButton(targetId) {
  const btn = h("button", { type: "button", class: "btn btn-small copy", "data-copy": targetId }, "Copy");
  btn.addEventListener("click", async () => {
    const text = document.getElementById(targetId)?.textContent || "";
    try {
      await navigator.clipboard.writeText(text);
      btn.textContent = "Copied";
    } catch {
      // Fallback: select the text so the user can copy it.
      const sel = window.getSelection();
      const range = document.createRange();
      range.selectNodeContents(document.getElementById(targetId));
      sel.removeAllRanges();
      sel.addRange(range);
      btn.textContent = "Selected – press Ctrl+C";
    }
    setTimeout(() => (btn.textContent = "Copy"), 1500);
  });
  return btn;
}

function panel(title, preId, { copy = false } = {}) {
  return h("div", { class: "panel" },
    h("div", { class: "panel-head" }, h("h3", {}, title), copy ? copyButton(preId) : null),
    h("pre", { id: preId, class: "code", tabindex: "0" }));
}

async function renderAction(v, r, alive) {
  document.title = `${r.action} · API explorer`;
  const box = h("div", {}, loadingText());
  append(v, breadcrumbs([{ href: `${BASE}/explorer`, text: "API explorer" }, { text: r.action }]), box);
  let cat;
  try {
    cat = await catalog();
  } catch (e) {
    showError({ httpStatus: 0, body: { Code: "CatalogUnavailable", Message: String(e.message || e) }, requestId: "" });
    return;
  }
  if (!alive()) return;
  const a = cat.actions.find((x) => x.name === r.action);
  if (!a) {
    box.replaceChildren(card("Unknown operation", h("p", {}, `${r.action} is not in the catalog. `, link(`${BASE}/explorer`, "All operations"))));
    return;
  }
  const prefill = lastCampaign();
  const form = h("form", { id: "explorer-form", class: "explorer-form", novalidate: true },
    a.params.length ? a.params.map((p) => paramInput(p, prefill)) : h("p", { class: "muted" }, "This operation takes no parameters."),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "explorer-send", class: "btn btn-primary" }, "Send request"),
      h("span", { class: "muted small" }, "Fields marked * are required; empty optional fields are not sent.")));
  const status = h("span", { id: "explorer-status", class: "status-pill" }, "–");
  const reqId = h("code", { id: "explorer-request-id" }, "–");
  const results = h("section", { class: "card results", id: "explorer-results" },
    h("div", { class: "card-head" }, h("h2", {}, "Response"),
      h("div", { class: "result-meta" }, h("span", {}, "HTTP ", status), h("span", {}, "RequestId ", reqId))),
    panel("Body", "explorer-body", { copy: true }),
    panel("Canonical request", "explorer-canonical"), panel("String to sign", "explorer-string-to-sign"));
  const snippets = card("SDK snippets",
    h("p", { class: "muted small" }, "The same call with the official SDK's generic API. Credentials are read from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET)."),
    h("div", { class: "grid-2" }, panel("Python (alibabacloud_tea_openapi)", "snippet-python", { copy: true }), panel("Node.js (@alicloud/openapi-client)", "snippet-node", { copy: true })));

  box.replaceChildren(
    h("div", { class: "page-head" }, h("h1", {}, a.name),
      h("p", { class: "muted" }, a.doc, " ", h("span", { class: "chips" }, h("code", { class: "chip" }, `version ${a.version}`), h("code", { class: "chip" }, a.ram_action)))),
    card("Request", form), results, snippets);
  results.hidden = true;

  function collect() {
    const params = {};
    let body;
    for (const p of a.params) {
      const el = form.elements.namedItem(p.name);
      if (!el) continue;
      const val = el.value;
      if (p.kind === "body") {
        if (val !== "") body = val;
        continue;
      }
      const t = p.kind === "json" ? val.trim() : val.trim();
      if (t === "") continue;
      params[p.name] = t;
    }
    return { params, body };
  }
  function updateSnippets() {
    const { params, body } = collect();
    const opts = { protocol: location.protocol === "https:" ? "HTTPS" : "HTTP", endpoint: location.host, sts: !!(credentials && credentials.securityToken) };
    $("#snippet-python").textContent = pythonSnippet(a.name, a.version, params, body, opts);
    $("#snippet-node").textContent = nodeSnippet(a.name, a.version, params, body, opts);
  }
  form.addEventListener("input", updateSnippets);
  form.addEventListener("change", updateSnippets);
  updateSnippets();

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    beginAction();
    if (!form.checkValidity()) {
      form.reportValidity();
      return;
    }
    const { params, body } = collect();
    const send = $("#explorer-send", form);
    send.disabled = true;
    send.textContent = "Sending…";
    const res = await api(a.name, params, { version: a.version, body });
    send.disabled = false;
    send.textContent = "Send request";
    if (!alive()) return;
    results.hidden = false;
    status.textContent = String(res.httpStatus || "network error");
    status.className = `status-pill ${res.ok ? "ok" : "bad"}`;
    status.dataset.status = String(res.httpStatus);
    reqId.textContent = res.requestId || "–";
    $("#explorer-body").textContent = JSON.stringify(res.body, null, 2);
    $("#explorer-canonical").textContent = res.canonicalRequest || "";
    $("#explorer-string-to-sign").textContent = res.stringToSign || "";
    updateSnippets();
  });
}

// ---------------------------------------------------------------------------------------------------
// Start

useCredentials(loadCredentials());
if (location.pathname === BASE) history.replaceState(null, "", `${BASE}/`);
render();
