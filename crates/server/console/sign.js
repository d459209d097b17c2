// Alibaba Cloud "V3" request signing (ACS3-HMAC-SHA256) with WebCrypto, and the RPC call the console
// makes for every operation. Works in browsers and in Node 20 (globalThis.crypto.subtle).
//
// The secret never leaves this module's callers' memory / sessionStorage: it is only used as the HMAC key.

const ALGORITHM = "ACS3-HMAC-SHA256";
const enc = new TextEncoder();

/** Percent-encode per RFC 3986: every byte except A-Z a-z 0-9 - _ . ~ */
export function percentEncode(value) {
  const bytes = enc.encode(String(value));
  let out = "";
  for (const b of bytes) {
    if (
      (b >= 0x41 && b <= 0x5a) || // A-Z
      (b >= 0x61 && b <= 0x7a) || // a-z
      (b >= 0x30 && b <= 0x39) || // 0-9
      b === 0x2d || b === 0x5f || b === 0x2e || b === 0x7e // - _ . ~
    ) {
      out += String.fromCharCode(b);
    } else {
      out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
    }
  }
  return out;
}

/** Compare strings by Unicode code point (not UTF-16 unit, not locale). */
function byCodePoint(a, b) {
  const x = Array.from(a);
  const y = Array.from(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Canonical query string: keys sorted by code point, keys and values encoded, `k=v&k=v`. */
export function canonicalQuery(query) {
  return Object.keys(query || {})
    .filter((k) => query[k] !== undefined && query[k] !== null)
    .sort(byCodePoint)
    .map((k) => percentEncode(k) + "=" + percentEncode(query[k]))
    .join("&");
}

function toHex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function bodyBytes(body) {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (body instanceof Uint8Array) return body;
  return enc.encode(String(body));
}

export async function sha256Hex(data) {
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  return toHex(await globalThis.crypto.subtle.digest("SHA-256", bytes));
}

export async function hmacSha256Hex(secret, message) {
  const key = await globalThis.crypto.subtle.importKey(
    "raw",
    enc.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return toHex(await globalThis.crypto.subtle.sign("HMAC", key, enc.encode(message)));
}

/** `YYYY-MM-DDTHH:MM:SSZ` in UTC, no milliseconds. */
export function acsDate(date = new Date()) {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** 32 random hex characters. */
export function randomNonce() {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  return toHex(b);
}

/**
 * Sign a request whose headers are all given explicitly (lowercase names). Every header given is signed
 * (the caller decides which: the browser signs host, content-type and x-acs-*). If
 * `x-acs-content-sha256` is absent it is computed from the body and added.
 *
 * Returns {query, headers, canonicalRequest, stringToSign, signature, authorization, signedHeaders}.
 */
export async function signHeaders({
  method = "POST",
  path = "/",
  query = {},
  headers = {},
  body = "",
  accessKeyId,
  accessKeySecret,
}) {
  const bytes = bodyBytes(body);
  const h = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || v === null) continue;
    h[k.toLowerCase()] = String(v);
  }
  const hashedBody = await sha256Hex(bytes);
  if (!("x-acs-content-sha256" in h)) h["x-acs-content-sha256"] = hashedBody;
  const names = Object.keys(h).sort();
  const canonicalHeaders = names.map((n) => n + ":" + h[n].trim() + "\n").join("");
  const signedHeaders = names.join(";");
  const cq = canonicalQuery(query);
  const canonicalRequest = [
    method.toUpperCase(),
    path,
    cq,
    canonicalHeaders,
    signedHeaders,
    h["x-acs-content-sha256"],
  ].join("\n");
  const stringToSign = ALGORITHM + "\n" + (await sha256Hex(canonicalRequest));
  const signature = await hmacSha256Hex(accessKeySecret, stringToSign);
  const authorization =
    `${ALGORITHM} Credential=${accessKeyId},SignedHeaders=${signedHeaders},Signature=${signature}`;
  return {
    query: cq,
    headers: h,
    canonicalRequest,
    stringToSign,
    signature,
    signedHeaders,
    authorization,
  };
}

/**
 * Build a signed RPC request the way the console sends it.
 *
 * opts: {action, version, params, body?, contentType?, credentials: {accessKeyId, accessKeySecret,
 * securityToken?}, host?, date?, nonce?, origin?}
 *
 * Returns {url, headers (to send: no host), canonicalRequest, stringToSign, authorization}.
 */
export async function signRequest({
  action,
  version,
  params = {},
  body,
  contentType,
  credentials,
  host,
  date,
  nonce,
  origin = "",
}) {
  const hostValue = host ?? globalThis.location?.host ?? "localhost";
  const hasBody = body !== undefined && body !== null && body !== "";
  const headers = {
    host: hostValue,
    "x-acs-action": action,
    "x-acs-version": version,
    "x-acs-date": date ?? acsDate(),
    "x-acs-signature-nonce": nonce ?? randomNonce(),
  };
  if (hasBody) headers["content-type"] = contentType || "application/x-ndjson";
  if (credentials.securityToken) headers["x-acs-security-token"] = credentials.securityToken;
  const clean = {};
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    clean[k] = String(v);
  }
  const signed = await signHeaders({
    method: "POST",
    path: "/",
    query: clean,
    headers,
    body: hasBody ? body : "",
    accessKeyId: credentials.accessKeyId,
    accessKeySecret: credentials.accessKeySecret,
  });
  const send = { ...signed.headers, authorization: signed.authorization };
  delete send.host; // the browser sets Host itself
  return {
    url: origin + "/" + (signed.query ? "?" + signed.query : ""),
    headers: send,
    canonicalRequest: signed.canonicalRequest,
    stringToSign: signed.stringToSign,
    authorization: signed.authorization,
  };
}

let current = null;

/** Set (or clear with null) the credentials `call` signs with. Kept in memory only. */
export function setCredentials(credentials) {
  current = credentials ? { ...credentials } : null;
}

/** Make a signed call with the credentials given to setCredentials. */
export function call(action, version, params = {}, body) {
  if (!current) return Promise.reject(new Error("not signed in"));
  return callWith(current, action, version, params, body);
}

/**
 * Make a signed call. Resolves with {ok, httpStatus, body, requestId, canonicalRequest, stringToSign}
 * for every HTTP answer (ok is false for 4xx/5xx or a body whose Success is false); rejects only
 * when the network fails.
 */
export async function callWith(credentials, action, version, params = {}, body) {
  const req = await signRequest({ action, version, params, body, credentials });
  const resp = await fetch(req.url, {
    method: "POST",
    headers: req.headers,
    body: body === undefined || body === null || body === "" ? undefined : body,
    credentials: "omit",
    cache: "no-store",
  });
  const text = await resp.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = { Code: "InvalidResponse", Message: text.slice(0, 500) };
  }
  const requestId =
    (parsed && (parsed.RequestId || parsed.requestId)) || resp.headers.get("x-acs-request-id") || "";
  const ok = resp.ok && !(parsed && parsed.Success === false);
  return {
    ok,
    httpStatus: resp.status,
    body: parsed,
    requestId,
    canonicalRequest: req.canonicalRequest,
    stringToSign: req.stringToSign,
  };
}
