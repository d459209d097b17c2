#!/usr/bin/env python3
"""Gateway checks with the official Alibaba Cloud Python SDK against a running server.

Usage:  python3 gateway_checks.py DEMO_JSON
Covers what the SDK can show about the signed gateway: both signature schemes (V3 SHA-256, V3 SM3,
V2) authenticate; a wrong secret is SignatureDoesNotMatch (ClientException, 400, RequestId) in every
scheme; a replayed nonce is SignatureNonceUsed; a request dated 16 minutes ago is
InvalidTimeStamp.Expired. The nonce and the clock are pinned by patching the SDK's own utilities,
so the requests are otherwise exactly what the SDK sends.
"""
import datetime
import json
import sys

from alibabacloud_cams20200606 import models as m
from alibabacloud_cams20200606.client import Client
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.utils import Utils
from Tea.exceptions import TeaException

import checks
from checks import finish

demo = json.load(open(sys.argv[1]))
GATEWAY_CODES = {"SignatureDoesNotMatch", "IncompleteSignature", "InvalidAccessKeyId.NotFound",
                 "SignatureNonceUsed", "InvalidTimeStamp.Expired", "MissingParameter"}
original_nonce, original_timestamp = Utils.get_nonce, Utils.get_timestamp


def unpatch():
    Utils.get_nonce, Utils.get_timestamp = original_nonce, original_timestamp


def check(name, fn):
    # Checks patch the SDK's nonce and clock; every check starts from the SDK's own.
    checks.check(name, fn, cleanup=unpatch)


def client(secret=None, algorithm=None):
    cfg = open_api_models.Config(access_key_id=demo["access_key_id"],
                                 access_key_secret=secret or demo["access_key_secret"],
                                 endpoint=demo["endpoint"], protocol="http")
    if algorithm:
        cfg.signature_algorithm = algorithm
    return Client(cfg)


def request():
    return m.GetMessageCampaignInsightsRequest(
        cust_space_id=demo.get("cust_space_id", "cams-none"), page_id=demo.get("page_id", "1"),
        ad_account_id=demo.get("ad_account_id", "1"), campaign_id=demo.get("campaign_id", "1"))


def authenticated(algorithm):
    def run():
        try:
            resp = client(algorithm=algorithm).get_message_campaign_insights(request())
        except TeaException as e:
            assert e.code not in GATEWAY_CODES, (e.code, e.message)
            return
        body = resp.body.to_map()
        assert resp.status_code == 200 and body["RequestId"], body
        assert body.get("Code") not in GATEWAY_CODES, body
    return run


def expect_error(fn, code, status):
    try:
        fn()
    except TeaException as e:
        assert e.code == code, (e.code, e.message)
        assert e.data.get("statusCode") == status, e.data
        assert e.data.get("RequestId"), e.data
        return
    raise AssertionError(f"expected {code}")


def wrong_secret(algorithm):
    return lambda: expect_error(
        lambda: client(secret="x" * 30, algorithm=algorithm).get_message_campaign_insights(request()),
        "SignatureDoesNotMatch", 400)


def replayed(algorithm):
    def run():
        Utils.get_nonce = staticmethod(lambda: "replay-" + algorithm + "-" + original_nonce())
        fixed = Utils.get_nonce()
        Utils.get_nonce = staticmethod(lambda: fixed)
        c = client(algorithm=algorithm)
        authenticated(algorithm)()  # first use: accepted
        expect_error(lambda: c.get_message_campaign_insights(request()), "SignatureNonceUsed", 400)
    return run


def expired(algorithm):
    def run():
        then = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=16)
        Utils.get_timestamp = staticmethod(lambda: then.strftime("%Y-%m-%dT%H:%M:%SZ"))
        expect_error(lambda: client(algorithm=algorithm).get_message_campaign_insights(request()),
                     "InvalidTimeStamp.Expired", 400)
    return run


for alg in ["ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", "v2"]:
    check(f"{alg}: authenticates", authenticated(alg))
    check(f"{alg}: wrong secret is SignatureDoesNotMatch", wrong_secret(alg))
    check(f"{alg}: replayed nonce is SignatureNonceUsed", replayed(alg))
    check(f"{alg}: 16 minutes old is InvalidTimeStamp.Expired", expired(alg))

finish()
