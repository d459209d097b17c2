//! Ids above 2^53 (and above 2^64) given as JSON numbers survive digit for digit.

mod common;

use common::{ev, Ctx};
use insights::EventKind::{Delivered, Read, Sent};

#[test]
fn messenger_envelope_ids_as_big_numbers() {
    let body =
        br#"{"object":"page","entry":[{"id":123456789012345678901,"time":1751447704117,"changes":[
        {"field":"marketing_message_deliveries","value":{
            "recipient_id":123456789012345678901,
            "page_id":123456789012345678901,
            "app_id":9007199254740993,
            "timestamp":1751447703000,
            "message_id":98765432109876543210987}}]}]}"#;
    let parsed = Ctx::standard().parse_ok(body);
    assert!(parsed.skipped.is_empty(), "{parsed:?}");
    assert_eq!(parsed.messenger.len(), 1);
    assert_eq!(parsed.messenger[0].page_id, "123456789012345678901");
    assert_eq!(
        parsed.messenger[0].event,
        ev(
            "98765432109876543210987",
            "123456789012345678901",
            Delivered,
            1_751_447_703_000,
            None,
            None,
            None
        )
    );
}

#[test]
fn messenger_bare_page_id_and_token_as_big_numbers() {
    // 2^64 + 1 (does not fit u64) and 2^53 + 1 (not representable in f64).
    let body = br#"{"field":"marketing_message_echoes","value":{
        "page_id":18446744073709551617,
        "messenger_subscription_token":9007199254740993,
        "recipient_id":0,
        "timestamp":1751447700000,
        "message_id":9007199254740993}}"#;
    let parsed = Ctx::standard().parse_ok(body);
    assert_eq!(parsed.messenger.len(), 1, "{parsed:?}");
    assert_eq!(parsed.messenger[0].page_id, "18446744073709551617");
    assert_eq!(
        parsed.messenger[0].event,
        ev(
            "9007199254740993",
            "9007199254740993",
            Sent,
            1_751_447_700_000,
            None,
            None,
            None
        )
    );
}

#[test]
fn entry_id_wins_over_page_id() {
    let body = br#"{"object":"page","entry":[{"id":"111","changes":[{"field":"marketing_message_reads",
        "value":{"page_id":"222","timestamp":1751450561000,"recipient_id":"5","message_id":"7"}}]}]}"#;
    let parsed = Ctx::standard().parse_ok(body);
    assert_eq!(parsed.messenger[0].page_id, "111");
}

#[test]
fn whatsapp_ids_as_big_numbers() {
    let body = br#"{"object":"whatsapp_business_account","entry":[{"id":9007199254740993,"changes":[{"field":"messages",
        "value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":15556459128,"phone_number_id":123456789012345678901},
        "statuses":[{"id":"wamid.X1","status":"read","timestamp":1751450561,"recipient_id":5511987654321,
                     "pricing":{"billable":true,"pricing_model":"PMP","category":"marketing"}}]}}]}]}"#;
    let mut ctx = Ctx::standard();
    ctx.phones.insert(
        "123456789012345678901".to_owned(),
        "18446744073709551617".to_owned(),
    );
    let parsed = ctx.parse_ok(body);
    assert!(parsed.skipped.is_empty(), "{parsed:?}");
    assert_eq!(parsed.whatsapp.len(), 1);
    let event = &parsed.whatsapp[0];
    assert_eq!(event.waba_id, "9007199254740993");
    assert_eq!(
        event.phone_number_id.as_deref(),
        Some("123456789012345678901")
    );
    assert_eq!(
        event.event,
        ev(
            "18446744073709551617",
            "5511987654321",
            Read,
            1_751_450_561_000,
            Some("BR"),
            Some("wamid.X1"),
            None
        )
    );
}

#[test]
fn string_ids_are_decoded_and_kept_verbatim() {
    let body = br#"{"field":"marketing_message_reads","value":{"page_id":"00140984918491243",
        "messenger_subscription_token":"tok\u0065n-1","timestamp":"1751450561000","message_id":"0012"}}"#;
    let parsed = Ctx::standard().parse_ok(body);
    assert_eq!(parsed.messenger[0].page_id, "00140984918491243");
    assert_eq!(parsed.messenger[0].event.recipient, "token-1");
    assert_eq!(parsed.messenger[0].event.campaign_id, "0012");
}

#[test]
fn non_integer_number_ids_are_invalid() {
    for id in ["-12", "1.5", "1e21", "12E3", "-0"] {
        let body = format!(
            r#"{{"field":"marketing_message_reads","value":{{"page_id":"1","recipient_id":"2",
                "timestamp":1751450561000,"message_id":{id}}}}}"#
        );
        let parsed = Ctx::standard().parse_ok(body.as_bytes());
        assert_eq!(parsed.event_count(), 0, "{id}");
        assert_eq!(parsed.skipped.len(), 1, "{id}");
        assert_eq!(parsed.skipped[0].reason.as_str(), "invalid_value", "{id}");
    }
}
