// Tests for sign.js: node crates/server/console/sign.test.mjs
import assert from "node:assert/strict";
import { signHeaders, signRequest, percentEncode, canonicalQuery, acsDate, randomNonce } from "./sign.js";

let failures = 0;
async function test(name, fn) {
  try {
    await fn();
    console.log("ok   " + name);
  } catch (e) {
    failures++;
    console.log("FAIL " + name + "\n" + (e && e.stack ? e.stack : e));
  }
}

// The documented V3 example (Alibaba Cloud "V3 request body & signature" guide).
await test("documented RunInstances example", async () => {
  const r = await signHeaders({
    method: "POST",
    path: "/",
    query: { ImageId: "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", RegionId: "cn-shanghai" },
    headers: {
      host: "ecs.cn-shanghai.aliyuncs.com",
      "x-acs-action": "RunInstances",
      "x-acs-version": "2014-05-26",
      "x-acs-date": "2023-10-26T10:22:32Z",
      "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
    },
    body: "",
    accessKeyId: "YourAccessKeyId",
    accessKeySecret: "YourAccessKeySecret",
  });
  assert.equal(r.stringToSign, "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259");
  assert.equal(r.signature, "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
  assert.equal(
    r.authorization,
    "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0",
  );
});

// The same example through signRequest (the path the console uses), with explicit host/date/nonce.
await test("signRequest reproduces the documented example", async () => {
  const r = await signRequest({
    action: "RunInstances",
    version: "2014-05-26",
    params: { RegionId: "cn-shanghai", ImageId: "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", Empty: "" },
    credentials: { accessKeyId: "YourAccessKeyId", accessKeySecret: "YourAccessKeySecret" },
    host: "ecs.cn-shanghai.aliyuncs.com",
    date: "2023-10-26T10:22:32Z",
    nonce: "3156853299f313e23d1673dc12e1703d",
  });
  assert.equal(r.stringToSign, "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259");
  assert.ok(r.authorization.endsWith("Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"));
  assert.equal(r.url, "/?ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai");
  assert.equal(r.headers.host, undefined, "host is signed but not sent");
  assert.equal(r.headers.authorization, r.authorization);
  assert.equal(r.headers["x-acs-content-sha256"], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

// The published signing vectors (also in crates/acs-signature/tests/data/signatures.json: keys A_, B_, C_).
const VECTORS = {
  "A_v3_minimal_headers": {
    "scheme": "v3",
    "algorithm": "ACS3-HMAC-SHA256",
    "method": "POST",
    "path": "/",
    "query": {
      "CampaignId": "c/1&x=y",
      "CustSpaceId": "cs 1~*",
      "AdAccountId": "23456",
      "PageId": "323"
    },
    "headers": {
      "host": "cams.ap-southeast-1.aliyuncs.com",
      "x-acs-action": "GetMessageCampaignInsights",
      "x-acs-version": "2020-06-06",
      "x-acs-date": "2026-01-01T00:00:00Z",
      "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
      "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    },
    "body": "",
    "access_key_id": "testid",
    "access_key_secret": "testsecret",
    "canonical_request": "POST\n/\nAdAccountId=23456&CampaignId=c%2F1%26x%3Dy&CustSpaceId=cs%201~%2A&PageId=323\nhost:cams.ap-southeast-1.aliyuncs.com\nx-acs-action:GetMessageCampaignInsights\nx-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-acs-date:2026-01-01T00:00:00Z\nx-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\nx-acs-version:2020-06-06\n\nhost;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "string_to_sign": "ACS3-HMAC-SHA256\n7974095ec4a54acc5b76b9aab74870cd944f3732375f14feab906be6258bbb07",
    "signature": "b1b69abb18610bba6f7df898bb675ee26b4f8e6459c4efc38cc0f936047dd106",
    "authorization": "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=b1b69abb18610bba6f7df898bb675ee26b4f8e6459c4efc38cc0f936047dd106"
  },
  "B_v3_python_sdk_headers": {
    "scheme": "v3",
    "algorithm": "ACS3-HMAC-SHA256",
    "method": "POST",
    "path": "/",
    "query": {
      "CampaignId": "c/1&x=y",
      "CustSpaceId": "cs 1~*",
      "AdAccountId": "23456",
      "PageId": "323"
    },
    "headers": {
      "host": "cams.ap-southeast-1.aliyuncs.com",
      "x-acs-action": "GetMessageCampaignInsights",
      "x-acs-version": "2020-06-06",
      "x-acs-date": "2026-01-01T00:00:00Z",
      "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
      "accept": "application/json",
      "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
      "x-acs-credentials-provider": "static_ak",
      "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    },
    "body": "",
    "access_key_id": "testid",
    "access_key_secret": "testsecret",
    "canonical_request": "POST\n/\nAdAccountId=23456&CampaignId=c%2F1%26x%3Dy&CustSpaceId=cs%201~%2A&PageId=323\naccept:application/json\nhost:cams.ap-southeast-1.aliyuncs.com\nuser-agent:AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2\nx-acs-action:GetMessageCampaignInsights\nx-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-acs-credentials-provider:static_ak\nx-acs-date:2026-01-01T00:00:00Z\nx-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\nx-acs-version:2020-06-06\n\naccept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "string_to_sign": "ACS3-HMAC-SHA256\nd9d782dc548a889630c71607de7f330ca8f06ee527267a8effdecc54e5d64e93",
    "signature": "ee2f1d6c51b3cd0df57e9e3b9d0b3b93aff65763e760e7e450b844eab886e71a",
    "authorization": "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=ee2f1d6c51b3cd0df57e9e3b9d0b3b93aff65763e760e7e450b844eab886e71a"
  },
  "C_v3_sts_token": {
    "scheme": "v3",
    "algorithm": "ACS3-HMAC-SHA256",
    "method": "POST",
    "path": "/",
    "query": {
      "CampaignId": "c/1&x=y",
      "CustSpaceId": "cs 1~*",
      "AdAccountId": "23456",
      "PageId": "323"
    },
    "headers": {
      "host": "cams.ap-southeast-1.aliyuncs.com",
      "x-acs-action": "GetMessageCampaignInsights",
      "x-acs-version": "2020-06-06",
      "x-acs-date": "2026-01-01T00:00:00Z",
      "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
      "x-acs-accesskey-id": "STS.testid",
      "x-acs-security-token": "CAIS.token+/==",
      "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    },
    "body": "",
    "access_key_id": "STS.testid",
    "access_key_secret": "testsecret",
    "canonical_request": "POST\n/\nAdAccountId=23456&CampaignId=c%2F1%26x%3Dy&CustSpaceId=cs%201~%2A&PageId=323\nhost:cams.ap-southeast-1.aliyuncs.com\nx-acs-accesskey-id:STS.testid\nx-acs-action:GetMessageCampaignInsights\nx-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-acs-date:2026-01-01T00:00:00Z\nx-acs-security-token:CAIS.token+/==\nx-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\nx-acs-version:2020-06-06\n\nhost;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "string_to_sign": "ACS3-HMAC-SHA256\n511accb1429bf49fdc63cd994e6e99abee962db2004872dcf66623417fd9ee42",
    "signature": "4495f1c0dd0fbab19c9fcd38f328b9eee0a0d1c02516b6585d0b1583ef2fe5d9",
    "authorization": "ACS3-HMAC-SHA256 Credential=STS.testid,SignedHeaders=host;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version,Signature=4495f1c0dd0fbab19c9fcd38f328b9eee0a0d1c02516b6585d0b1583ef2fe5d9"
  }
};

for (const [name, v] of Object.entries(VECTORS)) {
  await test("vector " + name, async () => {
    const r = await signHeaders({
      method: v.method,
      path: v.path,
      query: v.query,
      headers: v.headers,
      body: v.body,
      accessKeyId: v.access_key_id,
      accessKeySecret: v.access_key_secret,
    });
    assert.equal(r.canonicalRequest, v.canonical_request);
    assert.equal(r.stringToSign, v.string_to_sign);
    assert.equal(r.signature, v.signature);
    assert.equal(r.authorization, v.authorization);
  });
}

// Vector C through signRequest: the STS token header and the console's own header set.
await test("signRequest with an STS token signs x-acs-security-token", async () => {
  const v = VECTORS.C_v3_sts_token;
  const r = await signRequest({
    action: v.headers["x-acs-action"],
    version: v.headers["x-acs-version"],
    params: v.query,
    credentials: { accessKeyId: "STS.testid", accessKeySecret: "testsecret", securityToken: "CAIS.token+/==" },
    host: v.headers.host,
    date: v.headers["x-acs-date"],
    nonce: v.headers["x-acs-signature-nonce"],
  });
  assert.equal(r.headers["x-acs-security-token"], "CAIS.token+/==");
  assert.match(r.authorization, /SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version,/);
  assert.equal(r.url, "/?AdAccountId=23456&CampaignId=c%2F1%26x%3Dy&CustSpaceId=cs%201~%2A&PageId=323");
});

await test("a body is hashed and its content-type signed", async () => {
  const body = '{"a":1}\n';
  const r = await signRequest({
    action: "PutMessageEvents",
    version: "2020-06-06",
    params: {},
    body,
    credentials: { accessKeyId: "id", accessKeySecret: "s" },
    host: "h",
    date: "2026-01-01T00:00:00Z",
    nonce: "00",
  });
  assert.equal(r.headers["content-type"], "application/x-ndjson");
  const { createHash } = await import("node:crypto");
  assert.equal(r.headers["x-acs-content-sha256"], createHash("sha256").update(body).digest("hex"));
  assert.match(r.canonicalRequest, /^POST\n\/\n\ncontent-type:application\/x-ndjson\nhost:h\n/);
  assert.equal(r.url, "/");
});

await test("percent-encoding per RFC 3986", () => {
  assert.equal(percentEncode("a b*c~d!e'f(g)h"), "a%20b%2Ac~d%21e%27f%28g%29h");
  assert.equal(percentEncode('{"Index":1,"Size":100}'), "%7B%22Index%22%3A1%2C%22Size%22%3A100%7D");
  assert.equal(percentEncode("é€😀"), "%C3%A9%E2%82%AC%F0%9F%98%80");
  assert.equal(percentEncode("-_.~AZaz09"), "-_.~AZaz09");
  assert.equal(canonicalQuery({ b: "2", B: "1", a: "x y", "\u00e9": "e", "\ud83d\ude00": "s", "\uffff": "f" }),
    "B=1&a=x%20y&b=2&%C3%A9=e&%EF%BF%BF=f&%F0%9F%98%80=s");
});

await test("date and nonce formats", () => {
  assert.equal(acsDate(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678))), "2026-01-02T03:04:05Z");
  const n = randomNonce();
  assert.match(n, /^[0-9a-f]{32}$/);
  assert.notEqual(n, randomNonce());
});

if (failures) {
  console.log(failures + " failed");
  process.exit(1);
}
console.log("all passed");
