#!/usr/bin/env python3
"""Drive the web console in a real headless Chromium against `cams-insights serve --demo`.

Usage:  python3 console_checks.py DEMO_JSON ARTIFACT_DIR
Environment: CHROMIUM and CHROMEDRIVER (paths; Debian's /usr/bin/chromium and /usr/bin/chromedriver).
Needs: the official SDK (tests/sdk/requirements.txt) and selenium (tests/console/requirements.txt).

Each check prints PASS/FAIL; screenshots of the campaign page, the explorer and an error go to ARTIFACT_DIR.
Exits non-zero on any failure. The SDK's answers are the reference: the console must show exactly them.
"""
import csv
import hashlib
import hmac
import io
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request

from alibabacloud_tea_openapi.client import Client as OpenApiClient
from alibabacloud_tea_openapi import models as om
from alibabacloud_tea_util import models as um
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

demo = json.load(open(sys.argv[1]))
artifacts = sys.argv[2]
os.makedirs(artifacts, exist_ok=True)
base = f"http://{demo['endpoint']}"
results = []

TILES = ["MarketingMessagesDelivered", "MarketingMessagesDeliveryRate", "MarketingMessagesReadRate",
         "MarketingMessagesLinkBtnClick", "MarketingMessagesLinkBtnClickRate", "MarketingMessagesSpend",
         "MarketingMessagesCostPerDelivered", "MarketingMessagesCostPerLinkBtnClick"]
CSV_FIELDS = ["DateStart", "DateStop", "MarketingMessagesSent", "MarketingMessagesDelivered",
              "MarketingMessagesRead", "MarketingMessagesDeliveryRate", "MarketingMessagesReadRate",
              "MarketingMessagesLinkBtnClick", "MarketingMessagesLinkBtnClickRate", "MarketingMessagesSpend",
              "MarketingMessagesCostPerDelivered", "MarketingMessagesCostPerLinkBtnClick"]


def check(name, fn):
    try:
        fn()
        results.append((name, None))
        print(f"PASS {name}", flush=True)
    except Exception as e:  # report and go on: later checks still run
        results.append((name, e))
        print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
        try:
            driver.save_screenshot(os.path.join(artifacts, f"failed-{len(results)}.png"))
        except Exception:
            pass


# --- the reference: the official SDK's generic call ------------------------------------------------------

def sdk(action, query, key="access_key_id", secret="access_key_secret"):
    client = OpenApiClient(om.Config(access_key_id=demo[key], access_key_secret=demo[secret],
                                     endpoint=demo["endpoint"], protocol="http"))
    params = om.Params(action=action, version="2020-06-06", protocol="HTTP", pathname="/", method="POST",
                       auth_type="AK", style="RPC", req_body_type="formData", body_type="json")
    return client.call_api(params, om.OpenApiRequest(query=query), um.RuntimeOptions())["body"]


CAMPAIGN = dict(CustSpaceId=demo["cust_space_id"], PageId=demo["page_id"],
                AdAccountId=demo["ad_account_id"], CampaignId=demo["campaign_id"])


def insights(**extra):
    return sdk("GetMessageCampaignInsights", dict(CAMPAIGN, **extra))["Data"]


# --- the browser ---------------------------------------------------------------------------------------

profile = tempfile.mkdtemp(prefix="cams-console-chromium-")
downloads = tempfile.mkdtemp(prefix="cams-console-downloads-")
options = webdriver.ChromeOptions()
options.binary_location = os.environ["CHROMIUM"]
for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,800"]:
    options.add_argument(flag)
options.add_experimental_option("prefs", {"download.default_directory": downloads,
                                          "download.prompt_for_download": False})
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=os.environ["CHROMEDRIVER"]),
                          options=options)
driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
wait = WebDriverWait(driver, 20)


def find(css):
    return wait.until(lambda d: d.find_element(By.CSS_SELECTOR, css))


def visible(css):
    def ready(d):
        els = [e for e in d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]
        return els[0] if els else False
    return wait.until(ready)


def error_code():
    el = visible("#error[data-code]")
    return el.get_attribute("data-code"), el


def sign_in(key_id, secret):
    driver.get(base + "/console/")
    driver.execute_script("sessionStorage.clear()")
    driver.get(base + "/console/")
    visible("#access-key-id").clear()
    find("#access-key-id").send_keys(key_id)
    find("#access-key-secret").send_keys(secret)
    find("#signin-submit").click()


def tiles():
    out = {}
    for el in driver.find_elements(By.CSS_SELECTOR, "[data-metric]"):
        out[el.get_attribute("data-metric")] = el.get_attribute("data-value")
    return out


def tiles_loaded(d):
    t = tiles()
    return t if all(t.get(m) not in (None, "") for m in TILES) else False


# --- the checks ----------------------------------------------------------------------------------------

state = {}


def wrong_secret_is_refused():
    sign_in(demo["access_key_id"], demo["other_access_key_secret"])
    code, el = error_code()
    assert code == "SignatureDoesNotMatch", code
    assert el.get_attribute("data-request-id"), "no RequestId on the error"
    assert demo["other_access_key_secret"] not in driver.page_source, "the secret is in the page"
    driver.save_screenshot(os.path.join(artifacts, "error-signature.png"))


def sign_in_and_click_to_the_campaign():
    sign_in(demo["access_key_id"], demo["access_key_secret"])
    visible(f'a[data-nav="page"][data-page-id="{demo["page_id"]}"]').click()
    visible(f'a[data-nav="campaign"][data-campaign-id="{demo["campaign_id"]}"]').click()
    wait.until(tiles_loaded)
    path = driver.execute_script("return location.pathname")
    expected = "/console/campaigns/{CustSpaceId}/{PageId}/{AdAccountId}/{CampaignId}".format(**CAMPAIGN)
    assert path == expected, path
    assert demo["access_key_secret"] not in driver.page_source, "the secret is in the page"
    state["range"] = (wait.until(lambda d: d.find_element(By.ID, "date-start").get_attribute("value")),
                      wait.until(lambda d: d.find_element(By.ID, "date-stop").get_attribute("value")))


def tiles_equal_the_sdk():
    start, stop = state["range"]
    want = insights(DateStart=start, DateStop=stop)[0]
    default = insights()[0]
    # The page opened on the API's default range, and shows it.
    assert (default["DateStart"], default["DateStop"]) == (start, stop), (default, start, stop)
    got = wait.until(tiles_loaded)
    for m in TILES:
        assert got[m] == want[m], f"{m}: tile {got[m]!r}, SDK {want[m]!r}"
    driver.save_screenshot(os.path.join(artifacts, "campaign.png"))


def daily_series_has_one_point_per_day():
    start, stop = state["range"]
    days = insights(DateStart=start, DateStop=stop, TimeIncrement="1")
    want = [d["DateStart"] for d in days]
    got = wait.until(lambda d: [e.get_attribute("data-date") for e in
                                d.find_elements(By.CSS_SELECTOR, "#chart-daily [data-date]")] or False)
    # One point per day: the same days, each once (a series may draw several marks per day).
    per_day = {}
    for day in got:
        per_day[day] = per_day.get(day, 0) + 1
    assert sorted(per_day) == want, f"chart days {sorted(per_day)[:3]}... vs API {want[:3]}..."
    assert len(set(per_day.values())) == 1, "days carry different numbers of points"


def csv_equals_the_api_rows():
    start, stop = state["range"]
    days = insights(DateStart=start, DateStop=stop, TimeIncrement="1",
                    Fields="MarketingMessagesSent,MarketingMessagesRead")
    for f in os.listdir(downloads):
        os.remove(os.path.join(downloads, f))
    find("#export-csv").click()
    name = f"{demo['campaign_id']}_{start}_{stop}_daily.csv"
    path = os.path.join(downloads, name)
    deadline = time.time() + 15
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.1)
    assert os.path.exists(path), f"no {name} in downloads: {os.listdir(downloads)}"
    rows = list(csv.reader(io.StringIO(open(path, newline="").read())))
    assert rows[0] == CSV_FIELDS, rows[0]
    want = [[d[f] for f in CSV_FIELDS] for d in days]
    assert rows[1:] == want, f"{len(rows) - 1} CSV rows vs {len(want)} API rows; first {rows[1:2]} vs {want[:1]}"


def a_webhook_moves_the_tiles_without_a_reload():
    driver.execute_script("window.__camsNoReload = 'still here'")
    before = wait.until(tiles_loaded)["MarketingMessagesDelivered"]
    now_ms = int(time.time() * 1000) - 60_000
    body = json.dumps({"object": "page", "entry": [{"id": demo["page_id"], "time": now_ms, "changes": [{
        "field": "marketing_message_deliveries", "value": {
            "page_id": demo["page_id"], "app_id": "1", "timestamp": now_ms,
            "messenger_subscription_token": "console-test-token", "recipient_id": "990000000001",
            "message_id": demo["campaign_id"], "mid": f"m-console-{now_ms}",
            "marketing_message_tracking_id": "t"}}]}]}).encode()
    signature = "sha256=" + hmac.new(demo["meta_app_secret"].encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(demo["webhook_url"], data=body, method="POST", headers={
        "content-type": "application/json", "x-hub-signature-256": signature})
    assert urllib.request.urlopen(request, timeout=10).read() == b"EVENT_RECEIVED"
    start, stop = state["range"]
    want = insights(DateStart=start, DateStop=stop)[0]["MarketingMessagesDelivered"]
    assert int(want) == int(before) + 1, (before, want)
    WebDriverWait(driver, 30).until(lambda d: tiles().get("MarketingMessagesDelivered") == want)
    assert driver.execute_script("return window.__camsNoReload") == "still here", "the page reloaded"


def explorer_call_matches_the_sdk():
    driver.get(base + "/console/explorer")
    visible('a[data-nav="action"][href$="/GetMessageCampaignInsights"]').click()
    form = visible("#explorer-form")
    for name, value in CAMPAIGN.items():
        field = form.find_element(By.CSS_SELECTOR, f'[name="{name}"]')
        field.clear()
        field.send_keys(value)
    find("#explorer-send").click()
    body = wait.until(lambda d: d.find_element(By.ID, "explorer-body").text.strip() or False)
    answer = json.loads(body)
    assert answer["Code"] == "OK", answer
    want = insights()[0]
    for m in TILES:
        assert answer["Data"][0][m] == want[m], (m, answer["Data"][0][m], want[m])
    assert find("#explorer-status").text.strip().startswith("200"), find("#explorer-status").text
    assert find("#explorer-request-id").text.strip() == answer["RequestId"]
    canonical = find("#explorer-canonical").text
    assert canonical.startswith("POST\n/\n") and "x-acs-action:GetMessageCampaignInsights" in canonical, canonical
    assert find("#explorer-string-to-sign").text.startswith("ACS3-HMAC-SHA256\n")
    for snippet in ("#snippet-python", "#snippet-node"):
        text = find(snippet).get_attribute("textContent")
        assert "GetMessageCampaignInsights" in text and demo["access_key_secret"] not in text, snippet
    driver.save_screenshot(os.path.join(artifacts, "explorer.png"))


def every_operation_has_an_explorer_form():
    catalog = json.load(urllib.request.urlopen(base + "/console/catalog.json", timeout=10))
    names = [a["name"] for a in catalog["actions"]]
    for wanted in ["GetMessageCampaignInsights", "CreateMessageCampaign", "ListMessageCampaign",
                   "DeleteMessageCampaign", "SyncMessageCampaign", "ListPageAdAccount", "PutMessageEvents",
                   "AssumeRole"]:
        assert wanted in names, wanted
    for action in catalog["actions"]:
        driver.get(base + "/console/explorer/" + action["name"])
        form = visible("#explorer-form")
        for p in action["params"]:
            if p["kind"] == "body":
                continue
            field = form.find_element(By.CSS_SELECTOR, f'[name="{p["name"]}"]')
            label = form.find_elements(By.CSS_SELECTOR, f'label[for="{field.get_attribute("id")}"]')
            assert label, f"{action['name']}.{p['name']} has no label"
            assert (field.get_attribute("required") is not None) == p["required"], (action["name"], p["name"])


def read_only_user_cannot_create():
    sign_in(demo["readonly_access_key_id"], demo["readonly_access_key_secret"])
    visible(f'a[data-nav="page"][data-page-id="{demo["page_id"]}"]').click()
    visible("#create-name").send_keys("console test")
    find("#create-budget").send_keys("1000")
    find("#create-submit").click()
    code, el = error_code()
    assert code == "NoPermission", code
    assert "cams:CreateMessageCampaign" in el.text, el.text
    driver.save_screenshot(os.path.join(artifacts, "error-nopermission.png"))


def admin_creates_and_deletes_a_campaign():
    sign_in(demo["access_key_id"], demo["access_key_secret"])
    visible(f'a[data-nav="page"][data-page-id="{demo["page_id"]}"]').click()
    name = f"console campaign {int(time.time())}"
    visible("#create-name").send_keys(name)
    find("#create-budget").send_keys("2500")
    find("#create-submit").click()
    listed = lambda: sdk("ListMessageCampaign", dict(CustSpaceId=demo["cust_space_id"], PageId=demo["page_id"],
                                                    Page=json.dumps({"Index": 1, "Size": 100}),
                                                    CampaignName=name))["Data"]
    wait.until(lambda d: listed() or False)
    new_id = listed()[0]["CampaignId"]
    visible(f'a[data-nav="campaign"][data-campaign-id="{new_id}"]')
    delete = visible(f'button[data-action="delete"][data-campaign-id="{new_id}"]')
    delete.click()
    # A second click confirms.
    WebDriverWait(driver, 5).until(lambda d: d.find_element(
        By.CSS_SELECTOR, f'button[data-action="delete"][data-campaign-id="{new_id}"]').click() or True)
    wait.until(lambda d: not listed())


def phone_sized_window_is_readable():
    # Headless Chromium keeps windows at least 500 px wide, so the phone is emulated.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    path = "/console/campaigns/{CustSpaceId}/{PageId}/{AdAccountId}/{CampaignId}".format(**CAMPAIGN)
    driver.get(base + path)
    wait.until(tiles_loaded)
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400, f"the page is {width}px wide in a 390px window"
    driver.save_screenshot(os.path.join(artifacts, "campaign-phone.png"))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def no_errors_in_the_browser_console():
    logs = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    # Refusals the checks provoked on purpose are logged by Chromium as failed requests (4xx); anything
    # else (a script error, a CSP violation) is a failure.
    unexpected = [e for e in logs if "status of 4" not in e["message"]]
    assert not unexpected, unexpected


try:
    check("a wrong secret shows SignatureDoesNotMatch", wrong_secret_is_refused)
    check("sign in with the demo key and reach the campaign by clicking", sign_in_and_click_to_the_campaign)
    check("every KPI tile's data-value equals the SDK's answer", tiles_equal_the_sdk)
    check("the daily series has one point per day of the range", daily_series_has_one_point_per_day)
    check("the CSV equals the API's daily rows", csv_equals_the_api_rows)
    check("a webhook changes the tiles without a reload", a_webhook_moves_the_tiles_without_a_reload)
    check("the explorer's GetMessageCampaignInsights answers OK and the SDK's numbers", explorer_call_matches_the_sdk)
    check("every operation of the catalog has a labelled explorer form", every_operation_has_an_explorer_form)
    check("create and delete a campaign from the console", admin_creates_and_deletes_a_campaign)
    check("the read-only user's create attempt shows NoPermission", read_only_user_cannot_create)
    check("a phone-sized window shows the campaign without sideways scrolling", phone_sized_window_is_readable)
    check("no script or CSP error in the browser console", no_errors_in_the_browser_console)
finally:
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)
    shutil.rmtree(downloads, ignore_errors=True)

failed = [n for n, e in results if e]
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
