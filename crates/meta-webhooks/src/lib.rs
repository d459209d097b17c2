//! # meta-webhooks — Meta's webhooks, turned into `insights` events
//!
//! Pure logic for `GET|POST /webhooks/meta` (`docs/webhooks.md`): no I/O, no async, no clock, no logging.
//! The server does HTTP, size limits, durability and metrics; this crate
//! - verifies `X-Hub-Signature-256` ([`verify_signature`]) and the subscribe handshake ([`verify_handshake`]);
//! - turns a verified body into [`insights::Event`]s ([`parse`]), counting every unusable item in
//!   [`Parsed::skipped`] with a [`SkipReason`] (a Prometheus label via [`SkipReason::as_str`]) and a short,
//!   log-safe detail that says where in the payload it was.
//!
//! ```
//! use std::collections::HashMap;
//! use meta_webhooks::{parse, sign, verify_signature, ParseContext, SignatureError};
//!
//! let body = br#"{"object":"page","entry":[{"id":"140984918491243","time":1751447704117,"changes":[
//!   {"field":"marketing_message_deliveries","value":{"page_id":140984918491243,"app_id":12313123123123,
//!    "messenger_subscription_token":"12348141984909088","timestamp":1751447703000,"message_id":124141414124}},
//!   {"field":"feed","value":{}}]}]}"#;
//! let header = sign(b"app-secret", body); // what Meta sends as X-Hub-Signature-256
//! assert_eq!(verify_signature(Some(&header), body, &[b"old-secret", b"app-secret"]), Ok(()));
//! assert_eq!(verify_signature(Some(&header), body, &[b"old-secret"]), Err(SignatureError::Mismatch));
//!
//! let (callbacks, phones) = (HashMap::new(), HashMap::new());
//! let ctx = ParseContext {
//!     whatsapp_callback_campaigns: &callbacks,
//!     whatsapp_phone_number_campaigns: &phones,
//!     is_known_marketing: &|_wamid| false,
//! };
//! let parsed = parse(body, &ctx).unwrap();
//! let delivered = &parsed.messenger[0];
//! assert_eq!(delivered.page_id, "140984918491243");
//! assert_eq!(delivered.event.campaign_id, "124141414124");
//! assert_eq!(delivered.event.recipient, "12348141984909088");
//! assert_eq!(delivered.event.timestamp_ms, 1_751_447_703_000);
//! assert_eq!(parsed.skipped[0].reason.as_str(), "unknown_field");
//! assert_eq!(parsed.skipped[0].detail, "entry[0].changes[1]: field `feed`");
//! ```
//!
//! ## Signatures and handshake
//! `sha256=` + exactly 64 **lowercase** hex digits (Meta's format; uppercase is [`SignatureError::MalformedHex`]),
//! HMAC-SHA256 of the raw body under the app secret. The tag is compared with [`subtle`] against the HMAC under
//! *every* configured secret (several apps, or secret rotation) without stopping at a match. Handshake tokens are
//! compared the same way; empty configured tokens never match. [`sign`] produces the header for tests/tools.
//!
//! ## Accepted payload shapes
//! The top level is an object or an array of objects (anything else, or malformed JSON, is a [`PayloadError`]).
//! Each object is one of:
//! - **Page envelope** `{"object":"page","entry":[{"id":PAGE,"time":…,"changes":[{"field":F,"value":{…}}]}]}`.
//!   Entry `messaging`/`standby` items (classic Messenger Platform events) are skipped as `unknown_field`.
//! - **WhatsApp envelope** `{"object":"whatsapp_business_account","entry":[{"id":WABA,"changes":[{"field":
//!   "messages","value":{"metadata":{"phone_number_id":…},"statuses":[…]}}]}]}`.
//! - **Bare change** (Meta's Messenger samples): `{"field":F,"value":{…}}`, or the *flat* form Meta's
//!   "Send Messages" guide prints, `{"field":F,"page_id":…,"message_id":…,…}`, where the value's keys sit next to
//!   `field` (a change without `value` is read flat everywhere, envelopes included). The page is the value's
//!   `page_id`. Only Messenger fields are understood bare: a WhatsApp change needs its envelope for the WABA id.
//! - anything else (another `object`, or neither `object` nor `field`): `unknown_object`.
//!
//! ## Messenger marketing messages
//! | field | event |
//! |---|---|
//! | `marketing_message_echoes` | sent |
//! | `marketing_message_deliveries` | delivered |
//! | `marketing_message_reads` | read |
//! | `marketing_message_clicks` | click |
//! | `marketing_message_delivery_failed` | failed |
//!
//! Other fields (`messages`, `feed`, `marketing_messages_subscriber_upload_status`, …): `unknown_field`.
//! - campaign = `message_id` (required); page = `entry.id`, else the value's `page_id` (required).
//! - recipient = `messenger_subscription_token` when present and non-empty, else `recipient_id` unless it is
//!   absent, `null`, `""` or `0` (Custom Audience subscribers); neither → `missing_field`.
//! - country: none (the server's recipient directory supplies it). No price.
//! - `event_id`: `mid` for sent/delivered/read/failed when present (≤ 256 bytes; an over-long `mid` is dropped,
//!   it is only informative there). **Clicks get none**, even though Meta's click sample carries a `mid`: the
//!   `mid` names the message, so every click on it would share the id and the engine would merge distinct clicks.
//!   Without an id the engine identifies a click by (campaign, recipient, timestamp), as `docs/metrics.md` says.
//!
//! ## WhatsApp statuses
//! Per status (`entry.id` = WABA id, `metadata.phone_number_id`):
//! 1. `id` (wamid) required. If `pricing.category` or `conversation.origin.type` is `marketing` or
//!    `marketing_lite` (any case), the wamid goes to [`Parsed::marketing_wamids`], whatever happens next.
//! 2. `status` `sent`/`delivered`/`read`/`failed`; others (`played`, `deleted`, …) and statuses with
//!    `recipient_type: "group"` (marketing templates are not sent to groups; the recipient would be a group id)
//!    → `ignored_status`.
//! 3. Counts only if marketing by step 1, or established earlier **in the same payload**, or
//!    [`ParseContext::is_known_marketing`] → else `not_marketing`.
//! 4. Campaign: `biz_opaque_callback_data` mapped, else `phone_number_id` mapped, else `no_campaign`.
//! 5. recipient = `recipient_id`; country = [`insights::phone::country_of`] of it; `event_id` = the wamid.
//! 6. Price: `pricing.cost = {"amount": "0.0625" | 0.0625, "currency": "USD"}` (decimal string or JSON
//!    number, ≤ 6 decimals, via [`insights::parse_price`]; currency reported as sent in
//!    [`WhatsAppEvent::price_currency`]); a malformed amount skips the status as `invalid_value`. Without a
//!    cost, `pricing.billable: false` means price **0** (Meta does not charge it, so the rate card must not
//!    either); otherwise no price.
//!
//! `errors[]` and `conversation.id`/`expiration_timestamp` are accepted and not needed. Value-level `messages`,
//! `contacts` and `errors` (inbound traffic) are ignored **without** a skip: they are not about messages we
//! sent and would drown the counters. `user_actions` (WhatsApp click tracking, no wamid/recipient to attribute)
//! are skipped as `unknown_field`, one per action. A non-`messages` field is `unknown_field`.
//!
//! ## Values
//! - **Ids** (`message_id`, `page_id`, `entry.id`, `recipient_id`, tokens, `phone_number_id`, wamid) may be
//!   strings or non-negative JSON integers and are kept as text, digit for digit: `123456789012345678901` stays
//!   exactly that. This uses serde_json's `raw_value` feature (the body is validated once, then each object is
//!   opened from its raw text); `arbitrary_precision` is *not* used because cargo features are workspace-wide
//!   and it would change `serde_json::Number` for every crate. A negative/fractional number id is
//!   `invalid_value`; `""` counts as absent.
//! - **Timestamps**: a JSON integer or a string of digits. Messenger sends epoch ms, WhatsApp epoch seconds;
//!   valid ms (2000–2099, 12–13 digits) and valid seconds (10 digits) cannot be confused, so either unit is
//!   accepted on both channels. Anything else (e.g. the `41412414141` of Meta's samples) is `invalid_value`.
//! - A key given twice: the last one wins. `null` is the same as absent.
//! - Every event passes [`insights::Event::validate`]; one that would not (ids over 256 bytes, …) is skipped as
//!   `invalid_value`. Page, WABA and phone-number ids are held to the same 256-byte limit.
//! - Nesting depth is harmless: serde_json skips raw values iteratively, and this crate only descends along
//!   the known paths (envelope → entry → change → value → status → pricing → cost), never into unknown data.

#![forbid(unsafe_code)]

mod json;
mod model;
mod parse;
mod signature;

pub use model::{
    PageEvent, ParseContext, Parsed, PayloadError, SkipReason, Skipped, WhatsAppEvent,
};
pub use parse::{messenger_field_kind, parse, MESSENGER_FIELDS, OBJECT_PAGE, OBJECT_WHATSAPP};
pub use signature::{sign, verify_handshake, verify_signature, SignatureError, SIGNATURE_PREFIX};
