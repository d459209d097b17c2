#!/usr/bin/env python3
"""Fault injection as the official Python SDK meets it.

Usage:  python3 emulator_checks.py DEMO_JSON
Adds fault rules through the admin API (the demo file's admin_token), calls the server with the SDK, and
checks that the SDK raises the chosen error, that its retry policy recovers from a transient one, and
that bad rules are refused with a clear message and leave the rules in force unchanged.
"""
import json
import sys
import urllib.error
import urllib.request

from alibabacloud_cams20200606 import models as m
from alibabacloud_cams20200606.client import Client
from alibabacloud_tea_openapi import models as open_api_models
from darabonba.policy.retry import RetryOptions

from checks import check, finish

demo = json.load(open(sys.argv[1]))


def admin(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://{demo['endpoint']}{path}", data=data, method=method, headers={
        "authorization": f"Bearer {demo['admin_token']}", "content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def client(retry=None):
    cfg = open_api_models.Config(access_key_id=demo["access_key_id"], access_key_secret=demo["access_key_secret"],
                                 endpoint=demo["endpoint"], protocol="http")
    if retry:
        cfg.retry_options = retry
    return Client(cfg)


def insights(c):
    return c.get_message_campaign_insights(m.GetMessageCampaignInsightsRequest(
        cust_space_id=demo["cust_space_id"], page_id=demo["page_id"], ad_account_id=demo["ad_account_id"],
        campaign_id=demo["campaign_id"])).body


def the_sdk_raises_the_chosen_error():
    status, body = admin("POST", "/admin/v1/faults", {"action": "GetMessageCampaignInsights",
                                                     "code": "Throttling.User", "count": 1})
    assert status == 200 and body["Id"] >= 1, (status, body)
    try:
        insights(client())
        raise AssertionError("no error raised")
    except AssertionError:
        raise
    except Exception as e:
        assert getattr(e, "code", None) == "Throttling.User", repr(e)
        assert getattr(e, "status_code", None) == 400 or getattr(e, "statusCode", None) == 400, repr(e)
    # Only the next call: the one after answers normally.
    assert insights(client()).code == "OK"


def a_business_code_answers_200_with_success_false():
    status, _ = admin("POST", "/admin/v1/faults", {"action": "GetMessageCampaignInsights",
                                                  "code": "InvalidParameter.CampaignInvalid", "count": 1})
    assert status == 200
    body = insights(client())
    assert body.code == "InvalidParameter.CampaignInvalid" and body.success is False, body
    assert insights(client()).code == "OK"


def the_sdk_retry_policy_recovers_from_a_transient_fault():
    status, _ = admin("POST", "/admin/v1/faults", {"action": "GetMessageCampaignInsights",
                                                  "code": "ServiceUnavailable", "count": 2})
    assert status == 200
    retry = RetryOptions({"retryable": True, "retryCondition": [
        {"maxAttempts": 3, "errorCode": ["ServiceUnavailable"], "backoff": {"policy": "Fixed", "period": 10}}]})
    assert insights(client(retry)).code == "OK"
    _, listed = admin("GET", "/admin/v1/faults")
    rule = [r for r in listed["Faults"] if r["code"] == "ServiceUnavailable"][0]
    assert rule["hits"] == 2 and rule["remaining"] == 0, rule


def a_probability_rule_is_deterministic_given_its_seed():
    def run():
        admin("DELETE", "/admin/v1/faults")
        admin("POST", "/admin/v1/faults", {"action": "GetMessageCampaignInsights", "code": "InternalError",
                                          "probability": "0.5", "seed": 42})
        outcomes = []
        for _ in range(16):
            try:
                outcomes.append(insights(client()).code)
            except Exception as e:
                outcomes.append(getattr(e, "code", repr(e)))
        return outcomes
    first, second = run(), run()
    assert first == second, (first, second)
    assert "InternalError" in first and "OK" in first, first
    admin("DELETE", "/admin/v1/faults")


def bad_rules_are_refused_and_change_nothing():
    admin("POST", "/admin/v1/faults", {"action": "ListPageAdAccount", "latency_ms": 1})
    _, before = admin("GET", "/admin/v1/faults")
    for rule, words in [
        ({"action": "NoSuchAction", "code": "InternalError"}, "unknown action"),
        ({"action": "GetMessageCampaignInsights", "code": "NoSuchCode"}, "unknown error code"),
        ({"action": "GetMessageCampaignInsights", "code": "InternalError", "probability": "1.5"}, "probability"),
        ({"action": "GetMessageCampaignInsights", "code": "InternalError", "probability": -0.1}, "probability"),
        ({"action": "GetMessageCampaignInsights"}, "give a code"),
        ({"action": "GetMessageCampaignInsights", "code": "InternalError", "colour": "red"}, "not a rule"),
    ]:
        status, body = admin("POST", "/admin/v1/faults", rule)
        assert status == 400 and body["Code"] in ("Admin.InvalidFaultRule", "Admin.BadRequest"), (rule, status, body)
        assert words in body["Message"], (rule, body)
    _, after = admin("GET", "/admin/v1/faults")
    assert after == before, (before, after)
    admin("DELETE", "/admin/v1/faults")


def a_wrong_token_is_refused():
    request = urllib.request.Request(f"http://{demo['endpoint']}/admin/v1/faults", headers={
        "authorization": "Bearer not-the-token"})
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("accepted")
    except urllib.error.HTTPError as e:
        body = json.loads(e.read())
        assert e.code == 403 and body["Code"] == "Admin.WrongToken", body
        assert "not-the-token" not in json.dumps(body)


check("a fault rule makes the SDK raise the chosen error, for the next call only", the_sdk_raises_the_chosen_error)
check("a business code answers 200 with Success false", a_business_code_answers_200_with_success_false)
check("the SDK's retry policy recovers from a transient fault", the_sdk_retry_policy_recovers_from_a_transient_fault)
check("a probability rule is deterministic given its seed", a_probability_rule_is_deterministic_given_its_seed)
check("bad rules are refused with a clear message and change nothing", bad_rules_are_refused_and_change_nothing)
check("a wrong admin token is refused", a_wrong_token_is_refused)
finish()
