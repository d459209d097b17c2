//! Real payload shapes (Meta's documentation samples, made valid and given realistic timestamps), each parsed
//! into the exact expected events.

mod common;

use common::{ev, fixture, fixture_names, skips, Ctx, FAILED_WAMID, READ_WAMID};
use insights::EventKind::{Click, Delivered, Failed, Read, Sent};
use meta_webhooks::{PageEvent, Parsed, SkipReason, WhatsAppEvent};

const PAGE: &str = "140984918491243";
const CAMPAIGN: &str = "124141414124";
const TOKEN: &str = "12348141984909088";
const MID: &str =
    "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P";
const WABA: &str = "1314702302917944";
const PHONE_ID: &str = "590968830767958";

fn page_event(page: &str, event: insights::Event) -> PageEvent {
    PageEvent {
        page_id: page.to_owned(),
        event,
    }
}

fn only_messenger(parsed: &Parsed) -> &[PageEvent] {
    assert!(parsed.whatsapp.is_empty(), "{parsed:?}");
    assert!(parsed.marketing_wamids.is_empty(), "{parsed:?}");
    &parsed.messenger
}

#[test]
fn every_fixture_is_accepted() {
    let names = fixture_names();
    assert!(names.len() >= 19, "{names:?}");
    for name in names {
        let parsed = Ctx::standard().parse(&fixture(&name));
        assert!(parsed.is_ok(), "{name}: {parsed:?}");
    }
}

#[test]
fn messenger_echoes_envelope() {
    let parsed = Ctx::standard().parse_ok(&fixture("messenger_echoes_envelope.json"));
    assert!(parsed.skipped.is_empty(), "{parsed:?}");
    assert_eq!(
        only_messenger(&parsed),
        [page_event(
            PAGE,
            ev(
                CAMPAIGN,
                TOKEN,
                Sent,
                1_751_447_700_000,
                None,
                Some(MID),
                None
            )
        )]
    );
}

#[test]
fn messenger_deliveries_envelope() {
    let parsed = Ctx::standard().parse_ok(&fixture("messenger_deliveries_envelope.json"));
    assert!(parsed.skipped.is_empty(), "{parsed:?}");
    assert_eq!(
        only_messenger(&parsed),
        [page_event(
            PAGE,
            ev(
                CAMPAIGN,
                TOKEN,
                Delivered,
                1_751_447_703_000,
                None,
                Some(MID),
                None
            )
        )]
    );
}

#[test]
fn messenger_reads_envelope() {
    let parsed = Ctx::standard().parse_ok(&fixture("messenger_reads_envelope.json"));
    assert!(parsed.skipped.is_empty(), "{parsed:?}");
    assert_eq!(
        only_messenger(&parsed),
        [page_event(
            PAGE,
            ev(CAMPAIGN, TOKEN, Read, 1_751_450_561_000, None, None, None)
        )]
    );
}

#[test]
fn messenger_clicks_envelope_has_no_event_id_even_with_mid() {
    let parsed = Ctx::standard().parse_ok(&fixture("messenger_clicks_envelope.json"));
    assert!(parsed.skipped.is_empty(), "{parsed:?}");
    // Two clicks on one message: same mid, different times, both kept and distinguishable by timestamp.
    assert_eq!(
        only_messenger(&parsed),
        [
            page_event(
                PAGE,
                ev(CAMPAIGN, TOKEN, Click, 1_751_450_709_000, None, None, None)
            ),
            page_event(
                PAGE,
                ev(CAMPAIGN, TOKEN, Click, 1_751_450_742_500, None, None, None)
            ),
        ]
    );
}

#[test]
fn messenger_delivery_failed_envelope() {
    let parsed = Ctx::standard().parse_ok(&fixture("messenger_delivery_failed_envelope.json"));
    assert!(parsed.skipped.is_empty(), "{parsed:?}");
    assert_eq!(
        only_messenger(&parsed),
        [page_event(
            PAGE,
            ev(
                CAMPAIGN,
                "55512345678901234",
                Failed,
                1_751_447_760_000,
                None,
                None,
                None
            )
        )]
    );
}

#[test]
fn messenger_bare_value_form_takes_the_page_from_page_id() {
    let parsed = Ctx::standard().parse_ok(&fixture("messenger_bare_value.json"));
    assert!(parsed.skipped.is_empty(), "{parsed:?}");
    assert_eq!(
        only_messenger(&parsed),
        [page_event(
            PAGE,
            ev(
                CAMPAIGN,
                TOKEN,
                Delivered,
                1_751_447_703_000,
                None,
                Some(MID),
                None
            )
        )]
    );
}

#[test]
fn messenger_bare_flat_form_of_metas_guide() {
    let parsed = Ctx::standard().parse_ok(&fixture("messenger_bare_flat.json"));
    assert!(parsed.skipped.is_empty(), "{parsed:?}");
    assert_eq!(
        only_messenger(&parsed),
        [page_event(
            PAGE,
            ev(
                CAMPAIGN,
                TOKEN,
                Sent,
                1_751_447_700_000,
                None,
                Some("mid.$c12312312312312"),
                None
            )
        )]
    );
}

#[test]
fn messenger_array_form_mixes_value_and_flat_changes() {
    let parsed = Ctx::standard().parse_ok(&fixture("messenger_array.json"));
    assert!(parsed.skipped.is_empty(), "{parsed:?}");
    assert_eq!(
        only_messenger(&parsed),
        [
            page_event(
                PAGE,
                ev(CAMPAIGN, TOKEN, Read, 1_751_450_561_000, None, None, None)
            ),
            page_event(
                PAGE,
                ev(CAMPAIGN, TOKEN, Click, 1_751_450_709_000, None, None, None)
            ),
            page_event(
                PAGE,
                ev(
                    CAMPAIGN,
                    "55512345678901234",
                    Failed,
                    1_751_447_760_000,
                    None,
                    None,
                    None
                )
            ),
        ]
    );
}

#[test]
fn messenger_doc_sample_timestamp_is_out_of_range() {
    // Meta's printed sample has `"timestamp": 41412414141`: neither valid ms nor valid seconds.
    let parsed = Ctx::standard().parse_ok(&fixture("messenger_doc_sample.json"));
    assert!(parsed.messenger.is_empty());
    assert_eq!(
        skips(&parsed),
        [(
            "invalid_value",
            "body: `timestamp` out of range: `41412414141`"
        )]
    );
}

#[test]
fn messenger_custom_audience_recipients() {
    let parsed = Ctx::standard().parse_ok(&fixture("messenger_custom_audience.json"));
    assert_eq!(
        only_messenger(&parsed),
        [
            // recipient_id 0: the token identifies the recipient.
            page_event(
                PAGE,
                ev(
                    CAMPAIGN,
                    "77712345678901234",
                    Delivered,
                    1_751_447_703_000,
                    None,
                    None,
                    None
                )
            ),
            // recipient_id null: likewise.
            page_event(
                PAGE,
                ev(
                    CAMPAIGN,
                    "88812345678901234",
                    Delivered,
                    1_751_447_703_250,
                    None,
                    None,
                    None
                )
            ),
            // empty token: falls back to the PSID.
            page_event(
                PAGE,
                ev(
                    CAMPAIGN,
                    "6843125709912345",
                    Delivered,
                    1_751_447_703_500,
                    None,
                    Some("m_xy9Qv1n0KzSaT1Y8"),
                    None
                )
            ),
        ]
    );
    assert_eq!(
        skips(&parsed),
        [(
            "missing_field",
            "entry[0].changes[3]: missing `messenger_subscription_token` or `recipient_id`"
        )]
    );
}

#[test]
fn messenger_batch_with_unknown_field_and_messaging_items() {
    let parsed = Ctx::standard().parse_ok(&fixture("messenger_batch_envelope.json"));
    assert_eq!(
        only_messenger(&parsed),
        [
            page_event(
                PAGE,
                ev(
                    CAMPAIGN,
                    TOKEN,
                    Sent,
                    1_751_447_700_000,
                    None,
                    Some("m_first"),
                    None
                )
            ),
            page_event(
                PAGE,
                ev(CAMPAIGN, TOKEN, Read, 1_751_450_561_000, None, None, None)
            ),
            page_event(
                "208877665544332",
                ev(
                    "3310000000000000077",
                    "99912345678901234",
                    Delivered,
                    1_751_447_703_000,
                    None,
                    None,
                    None
                )
            ),
        ]
    );
    assert_eq!(
        skips(&parsed),
        [
            ("unknown_field", "entry[0].changes[1]: field `feed`"),
            (
                "unknown_field",
                "entry[1].messaging[0]: Messenger Platform event, not a marketing-message change"
            ),
        ]
    );
}

fn wa_event(
    phone_number_id: &str,
    wamid: &str,
    event: insights::Event,
    currency: Option<&str>,
) -> WhatsAppEvent {
    WhatsAppEvent {
        waba_id: WABA.to_owned(),
        phone_number_id: Some(phone_number_id.to_owned()),
        wamid: wamid.to_owned(),
        event,
        price_currency: currency.map(str::to_owned),
    }
}

#[test]
fn whatsapp_sent_with_pmp_pricing_and_callback_data() {
    let wamid = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjQ4QjE0RjQ5QzlCRjUyQTk1NwA=";
    let parsed = Ctx::nothing_known().parse_ok(&fixture("whatsapp_sent_marketing_pmp.json"));
    assert!(
        parsed.messenger.is_empty() && parsed.skipped.is_empty(),
        "{parsed:?}"
    );
    assert_eq!(
        parsed.whatsapp,
        [wa_event(
            PHONE_ID,
            wamid,
            ev(
                "2390001",
                "5511987654321",
                Sent,
                1_751_447_700_000,
                Some("BR"),
                Some(wamid),
                None
            ),
            None
        )]
    );
    assert_eq!(parsed.marketing_wamids, [wamid]);
}

#[test]
fn whatsapp_delivered_with_conversation_attributed_by_phone_number() {
    let wamid = "wamid.HBgMNDQ3OTExMTIzNDU2FQIAERgSQzZGNUVFOTgxMUUyMkI3MzVBAA==";
    let parsed =
        Ctx::nothing_known().parse_ok(&fixture("whatsapp_delivered_conversation_cbp.json"));
    assert!(parsed.skipped.is_empty(), "{parsed:?}");
    assert_eq!(
        parsed.whatsapp,
        [wa_event(
            PHONE_ID,
            wamid,
            // +44 7911 is Guernsey, not GB.
            ev(
                "2390100",
                "447911123456",
                Delivered,
                1_751_447_703_000,
                Some("GG"),
                Some(wamid),
                None
            ),
            None
        )]
    );
    assert_eq!(parsed.marketing_wamids, [wamid]);
}

#[test]
fn whatsapp_read_without_pricing_counts_only_when_known() {
    let body = fixture("whatsapp_read_no_pricing.json");
    let parsed = Ctx::standard().parse_ok(&body);
    assert!(parsed.skipped.is_empty(), "{parsed:?}");
    assert!(parsed.marketing_wamids.is_empty());
    assert_eq!(
        parsed.whatsapp,
        [wa_event(
            PHONE_ID,
            READ_WAMID,
            ev(
                "2390001",
                "5511987654321",
                Read,
                1_751_450_561_000,
                Some("BR"),
                Some(READ_WAMID),
                None
            ),
            None
        )]
    );

    let parsed = Ctx::nothing_known().parse_ok(&body);
    assert!(parsed.whatsapp.is_empty());
    assert_eq!(
        skips(&parsed),
        [(
            "not_marketing",
            "entry[0].changes[0].statuses[0]: no marketing pricing and the wamid is not known as marketing"
        )]
    );
}

#[test]
fn whatsapp_failed_with_errors() {
    let body = fixture("whatsapp_failed_errors.json");
    let parsed = Ctx::standard().parse_ok(&body);
    assert!(parsed.skipped.is_empty(), "{parsed:?}");
    assert_eq!(
        parsed.whatsapp,
        [wa_event(
            PHONE_ID,
            FAILED_WAMID,
            ev(
                "2390002",
                "16505551234",
                Failed,
                1_751_447_760_000,
                Some("US"),
                Some(FAILED_WAMID),
                None
            ),
            None
        )]
    );
    let parsed = Ctx::nothing_known().parse_ok(&body);
    assert_eq!(parsed.skipped_count(SkipReason::NotMarketing), 1);
    assert_eq!(parsed.event_count(), 0);
}

#[test]
fn whatsapp_cost_as_string_and_as_number() {
    let delivered = "wamid.HBgMOTE3MDEyMzQ1Njc4FQIAERgSRjE1Njg2Q0FFRkE3QjQ1MDk5AA==";
    let sent = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjdEMjhBQ0I5RTZGMTQ1QzJEOQA=";
    let parsed = Ctx::nothing_known().parse_ok(&fixture("whatsapp_cost.json"));
    assert!(parsed.skipped.is_empty(), "{parsed:?}");
    assert_eq!(
        parsed.whatsapp,
        [
            wa_event(
                PHONE_ID,
                delivered,
                ev(
                    "2390001",
                    "917012345678",
                    Delivered,
                    1_751_447_703_000,
                    Some("IN"),
                    Some(delivered),
                    Some(10_700)
                ),
                Some("USD")
            ),
            wa_event(
                PHONE_ID,
                sent,
                ev(
                    "2390001",
                    "6281234567890",
                    Sent,
                    1_751_447_701_000,
                    Some("ID"),
                    Some(sent),
                    Some(41_100)
                ),
                Some("USD")
            ),
        ]
    );
    assert_eq!(parsed.marketing_wamids, [delivered, sent]);
}

#[test]
fn whatsapp_mixed_batch() {
    let same = "wamid.SAMEPAYLOAD00000000000000000000000000004";
    let free = "wamid.FREEENTRY0000000000000000000000000000005";
    let unattributed = "wamid.NOCAMPAIGN000000000000000000000000000003";
    let phone = "106540352242922";
    let parsed = Ctx::nothing_known().parse_ok(&fixture("whatsapp_mixed_batch.json"));
    assert!(parsed.messenger.is_empty());
    assert_eq!(
        parsed.whatsapp,
        [
            wa_event(
                phone,
                same,
                ev(
                    "2390002",
                    "5215512345678",
                    Sent,
                    1_751_447_704_000,
                    Some("MX"),
                    Some(same),
                    None
                ),
                None
            ),
            // No pricing, but the same payload established the wamid as marketing.
            wa_event(
                phone,
                same,
                ev(
                    "2390002",
                    "5215512345678",
                    Read,
                    1_751_447_745_000,
                    Some("MX"),
                    Some(same),
                    None
                ),
                None
            ),
            // billable: false (free entry point) → price 0, so no rate-card price applies.
            wa_event(
                phone,
                free,
                ev(
                    "2390002",
                    "79161234567",
                    Delivered,
                    1_751_447_706_000,
                    Some("RU"),
                    Some(free),
                    Some(0)
                ),
                None
            ),
        ]
    );
    // The unattributed status is still established as marketing.
    assert_eq!(parsed.marketing_wamids, [unattributed, same, free]);
    assert_eq!(
        skips(&parsed),
        [
            (
                "not_marketing",
                "entry[0].changes[0].statuses[0]: pricing.category `utility`"
            ),
            (
                "ignored_status",
                "entry[0].changes[0].statuses[1]: status `played`"
            ),
            (
                "no_campaign",
                "entry[0].changes[0].statuses[2]: no campaign for biz_opaque_callback_data \
                 `unmapped-campaign` or phone_number_id `106540352242922`"
            ),
            (
                "not_marketing",
                "entry[0].changes[0].statuses[6]: no marketing pricing and the wamid is not known as marketing"
            ),
            (
                "unknown_field",
                "entry[1].changes[0]: field `message_template_status_update`"
            ),
            (
                "unknown_field",
                "entry[1].changes[1].user_actions[0]: WhatsApp user_actions (click tracking) are not supported"
            ),
        ]
    );
}

#[test]
fn whatsapp_inbound_messages_are_ignored_silently() {
    let parsed = Ctx::standard().parse_ok(&fixture("whatsapp_inbound_message.json"));
    assert_eq!(parsed, Parsed::default());
}

#[test]
fn unknown_object_is_skipped_whole() {
    let parsed = Ctx::standard().parse_ok(&fixture("unknown_object.json"));
    assert_eq!(parsed.event_count(), 0);
    assert_eq!(
        skips(&parsed),
        [("unknown_object", "body: object `instagram`")]
    );
}
