#!/usr/bin/env python3
"""RAM, STS, tenancy and flow control with the official Alibaba Cloud Python SDK against `serve --demo --tls`.

Usage:  python3 ram_checks.py DEMO_JSON
- the read-only sub-user reads, and creating a campaign raises ClientException NoPermission (403) with
  access_denied_detail filled;
- STS end to end through the SDK's own credentials classes: the RAM-role-ARN provider calls our AssumeRole over
  HTTPS (our CA trusted), and the CAMS client signs with the temporary key and token it got; a static STS
  credential works the same way;
- the second account's key probing the first account's ids gets exactly the answer of ids that do not exist;
- flow control raises ThrottlingException with retry_after.
"""
import json
import os
import sys

from alibabacloud_cams20200606 import models as m
from alibabacloud_cams20200606.client import Client
from alibabacloud_credentials import models as credential_models
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.exceptions import ClientException, ThrottlingException

from checks import check, finish

demo = json.load(open(sys.argv[1]))


def client(key_id, secret, **extra):
    return Client(open_api_models.Config(access_key_id=key_id, access_key_secret=secret,
                                         endpoint=demo["endpoint"], protocol="http", **extra))


def insights(c, **over):
    args = dict(cust_space_id=demo["cust_space_id"], page_id=demo["page_id"],
                ad_account_id=demo["ad_account_id"], campaign_id=demo["campaign_id"])
    args.update(over)
    return c.get_message_campaign_insights(m.GetMessageCampaignInsightsRequest(**args)).body.to_map()


def create_request():
    return m.CreateMessageCampaignRequest(cust_space_id=demo["cust_space_id"], page_id=demo["page_id"],
                                          ad_account_id=demo["ad_account_id"], name="ram check",
                                          budget_type="daily", budget=100)


def readonly_user():
    c = client(demo["readonly_access_key_id"], demo["readonly_access_key_secret"])
    assert insights(c)["Code"] == "OK"
    try:
        c.create_message_campaign(create_request())
    except ClientException as e:
        assert e.code == "NoPermission" and e.status_code == 403, (e.code, e.status_code)
        d = e.access_denied_detail
        assert d and d["AuthAction"] == "cams:CreateMessageCampaign", d
        assert d["AuthPrincipalType"] == "SubUser" and d["NoPermissionType"] == "ImplicitDeny", d
        assert d["AuthPrincipalOwnerId"] == demo["account_uid"], d
        assert d["EncodedDiagnosticMessage"], d
        return
    raise AssertionError("the read-only user created a campaign")


def sts_through_the_credentials_provider():
    # The provider always calls STS over HTTPS: it must trust our CA.
    os.environ["REQUESTS_CA_BUNDLE"] = demo["tls_ca_file"]
    os.environ["SSL_CERT_FILE"] = demo["tls_ca_file"]
    sts_host = demo["https_endpoint"].removeprefix("https://")
    cred = CredentialClient(credential_models.Config(
        type="ram_role_arn", access_key_id=demo["access_key_id"], access_key_secret=demo["access_key_secret"],
        role_arn=demo["role_arn"], role_session_name="sdk-check", sts_endpoint=sts_host))
    temp = cred.get_credential()
    assert temp.access_key_id.startswith("STS.") and temp.security_token, temp.access_key_id
    c = Client(open_api_models.Config(credential=cred, endpoint=demo["endpoint"], protocol="http"))
    assert insights(c)["Code"] == "OK"
    created = c.create_message_campaign(create_request()).body.to_map()
    assert created["Code"] == "OK", created
    # The same temporary credentials given statically, and over HTTPS for the CAMS call too.
    static = CredentialClient(credential_models.Config(
        type="sts", access_key_id=temp.access_key_id, access_key_secret=temp.access_key_secret,
        security_token=temp.security_token))
    c = Client(open_api_models.Config(credential=static, endpoint=sts_host, protocol="https"))
    assert insights(c)["Code"] == "OK"


def other_tenant_sees_nothing():
    c = client(demo["other_access_key_id"], demo["other_access_key_secret"])
    theirs = insights(c)  # the first account's ids, probed with the second account's key
    missing = insights(c, cust_space_id="cams-doesnotexist")
    assert theirs["Success"] is False and theirs["Code"] == missing["Code"] == "InvalidParameter.CustSpaceInvalid", theirs
    assert theirs["Message"] == missing["Message"], (theirs, missing)
    own = insights(c, cust_space_id=demo["other_cust_space_id"], page_id=demo["other_page_id"],
                   ad_account_id=demo["other_ad_account_id"], campaign_id=demo["other_campaign_id"])
    assert own["Code"] == "OK", own
    probe = insights(c, cust_space_id=demo["other_cust_space_id"], page_id=demo["other_page_id"],
                     ad_account_id=demo["other_ad_account_id"], campaign_id=demo["campaign_id"])
    unknown = insights(c, cust_space_id=demo["other_cust_space_id"], page_id=demo["other_page_id"],
                       ad_account_id=demo["other_ad_account_id"], campaign_id="999999999999999999")
    assert probe["Code"] == unknown["Code"] == "InvalidParameter.CampaignInvalid", probe
    assert probe["Message"] == unknown["Message"]


def throttling():
    c = client(demo["other_access_key_id"], demo["other_access_key_secret"])
    req = m.ListPageAdAccountRequest(cust_space_id=demo["other_cust_space_id"], page_id=demo["other_page_id"])
    for _ in range(200):
        try:
            c.list_page_ad_account(req)
        except ThrottlingException as e:
            assert e.code == "Throttling.User", e.code
            assert e.retry_after and e.retry_after > 0, e.retry_after
            return
    raise AssertionError("200 requests at once were never throttled (default 50/s)")


for name, fn in [("read-only sub-user", readonly_user), ("STS via the credentials classes", sts_through_the_credentials_provider),
                 ("another tenant's ids are unknown ids", other_tenant_sees_nothing), ("flow control", throttling)]:
    check(name, fn)

finish()
