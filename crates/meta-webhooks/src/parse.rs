//! Payloads → events. See the crate docs for the accepted shapes and the decisions.

use std::collections::HashSet;

use insights::{phone, Event, EventKind, MAX_ID_BYTES, MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS};
use serde_json::value::RawValue;

use crate::json::{self, Kind, Obj};
use crate::model::{
    PageEvent, ParseContext, Parsed, PayloadError, SkipReason, Skipped, WhatsAppEvent,
};

/// The Messenger marketing-message webhook fields and the event each one reports.
pub const MESSENGER_FIELDS: [(&str, EventKind); 5] = [
    ("marketing_message_echoes", EventKind::Sent),
    ("marketing_message_deliveries", EventKind::Delivered),
    ("marketing_message_reads", EventKind::Read),
    ("marketing_message_clicks", EventKind::Click),
    ("marketing_message_delivery_failed", EventKind::Failed),
];

/// `object` of Messenger (Page) webhooks.
pub const OBJECT_PAGE: &str = "page";
/// `object` of WhatsApp Business Account webhooks.
pub const OBJECT_WHATSAPP: &str = "whatsapp_business_account";

/// The event a Messenger webhook `field` reports, if it is one of [`MESSENGER_FIELDS`].
pub fn messenger_field_kind(field: &str) -> Option<EventKind> {
    MESSENGER_FIELDS
        .iter()
        .find(|(name, _)| *name == field)
        .map(|(_, kind)| *kind)
}

/// Parses one webhook body (already signature-verified) into events.
///
/// Malformed JSON, or a top level that is not an object or an array, is a [`PayloadError`] (answer 400).
/// Anything well-formed but unusable is a [`Skipped`] item with a [`SkipReason`], never an error; every event
/// returned passes [`Event::validate`].
pub fn parse(body: &[u8], ctx: &ParseContext) -> Result<Parsed, PayloadError> {
    let root: &RawValue = serde_json::from_slice(body)?;
    let mut parser = Parser {
        ctx,
        out: Parsed::default(),
        marketing: HashSet::new(),
    };
    match Kind::of(root) {
        Kind::Object => parser.top(root, ""),
        Kind::Array => {
            for (i, element) in json::array(root)
                .unwrap_or_default()
                .into_iter()
                .enumerate()
            {
                parser.top(element, &format!("[{i}]"));
            }
        }
        other => {
            return Err(PayloadError::NotObjectOrArray {
                found: other.name(),
            })
        }
    }
    Ok(parser.out)
}

/// Why one item is skipped (the location is added by the caller).
struct Skip {
    reason: SkipReason,
    detail: String,
}

impl Skip {
    fn new(reason: SkipReason, detail: impl Into<String>) -> Skip {
        Skip {
            reason,
            detail: detail.into(),
        }
    }
}

fn missing(what: impl Into<String>) -> Skip {
    Skip::new(SkipReason::MissingField, format!("missing {}", what.into()))
}

fn invalid(what: impl Into<String>) -> Skip {
    Skip::new(SkipReason::InvalidValue, what)
}

type Step<T> = Result<T, Skip>;

struct Parser<'c, 'a> {
    ctx: &'c ParseContext<'a>,
    out: Parsed,
    /// wamids established as marketing by this payload (mirrors `out.marketing_wamids`).
    marketing: HashSet<String>,
}

impl Parser<'_, '_> {
    fn skip(&mut self, loc: &str, skip: Skip) {
        let loc = if loc.is_empty() { "body" } else { loc };
        self.out.skipped.push(Skipped {
            reason: skip.reason,
            detail: format!("{loc}: {}", skip.detail),
        });
    }

    fn check(&mut self, loc: &str, step: Step<()>) {
        if let Err(skip) = step {
            self.skip(loc, skip);
        }
    }

    /// One top-level object: a Page or WhatsApp envelope, or a bare change.
    fn top(&mut self, raw: &RawValue, loc: &str) {
        let Some(obj) = Obj::open(raw) else {
            return self.skip(loc, Skip::new(SkipReason::UnknownObject, non_object(raw)));
        };
        match obj.get("object") {
            Some(object) => match json::string(object).as_deref() {
                Some(OBJECT_PAGE) => self.page_envelope(&obj, loc),
                Some(OBJECT_WHATSAPP) => self.whatsapp_envelope(&obj, loc),
                Some(other) => self.skip(
                    loc,
                    Skip::new(
                        SkipReason::UnknownObject,
                        format!("object {}", quote(other)),
                    ),
                ),
                None => self.skip(
                    loc,
                    Skip::new(
                        SkipReason::UnknownObject,
                        format!("`object` is {}", Kind::of(object).described()),
                    ),
                ),
            },
            None if obj.has("field") => {
                let step = self.messenger_change(None, &obj);
                self.check(loc, step);
            }
            None => self.skip(
                loc,
                Skip::new(SkipReason::UnknownObject, "neither `object` nor `field`"),
            ),
        }
    }

    fn page_envelope(&mut self, envelope: &Obj, loc: &str) {
        let entries = match entries(envelope) {
            Ok(entries) => entries,
            Err(skip) => return self.skip(loc, skip),
        };
        for (i, raw) in entries.into_iter().enumerate() {
            let loc = join(loc, &format!("entry[{i}]"));
            let Some(entry) = Obj::open(raw) else {
                self.skip(&loc, not_an_object("entry", raw));
                continue;
            };
            let page_id = match opt_id(&entry, "id") {
                Ok(id) => id,
                Err(skip) => {
                    self.skip(&loc, skip);
                    continue;
                }
            };
            let mut anything = false;
            if let Some(changes) = entry.get("changes") {
                anything = true;
                let Some(changes) = json::array(changes) else {
                    self.skip(&loc, not_an_array("changes", changes));
                    continue;
                };
                for (j, raw) in changes.into_iter().enumerate() {
                    let loc = join(&loc, &format!("changes[{j}]"));
                    let step = match Obj::open(raw) {
                        Some(change) => self.messenger_change(page_id.as_deref(), &change),
                        None => Err(not_an_object("change", raw)),
                    };
                    self.check(&loc, step);
                }
            }
            // Classic Messenger Platform events (message_deliveries, messages, …) arrive as `messaging` or
            // `standby` items, not changes: not marketing-message events, counted so they are visible.
            for key in ["messaging", "standby"] {
                if let Some(items) = entry.get(key) {
                    anything = true;
                    let count = json::array(items).map_or(1, |items| items.len());
                    for k in 0..count {
                        self.skip(
                            &join(&loc, &format!("{key}[{k}]")),
                            Skip::new(
                                SkipReason::UnknownField,
                                "Messenger Platform event, not a marketing-message change",
                            ),
                        );
                    }
                }
            }
            if !anything {
                self.skip(&loc, missing("`changes`"));
            }
        }
    }

    /// One Messenger change: `{"field": …, "value": {…}}`, or the flat form of Meta's samples where the value's
    /// keys sit next to `field`. `entry_page` is the envelope's `entry.id`.
    fn messenger_change(&mut self, entry_page: Option<&str>, change: &Obj) -> Step<()> {
        let field = opt_string(change, "field")?.ok_or_else(|| missing("`field`"))?;
        let kind = messenger_field_kind(&field).ok_or_else(|| {
            Skip::new(SkipReason::UnknownField, format!("field {}", quote(&field)))
        })?;
        let opened;
        let value = match change.get("value") {
            Some(raw) => {
                opened = Obj::open(raw).ok_or_else(|| not_an_object("value", raw))?;
                &opened
            }
            None => change,
        };

        let page_id = match entry_page {
            Some(id) => id.to_owned(),
            None => opt_id(value, "page_id")?
                .ok_or_else(|| missing("page id (`entry.id` or `page_id`)"))?,
        };
        check_len("page id", &page_id)?;
        let campaign_id = opt_id(value, "message_id")?
            .ok_or_else(|| missing("`message_id` (the campaign id)"))?;
        let recipient = match opt_id(value, "messenger_subscription_token")? {
            Some(token) => token,
            None => opt_id(value, "recipient_id")?
                .filter(|id| id != "0")
                .ok_or_else(|| missing("`messenger_subscription_token` or `recipient_id`"))?,
        };
        let timestamp_ms = instant_ms(value, "timestamp")?;
        // `mid` identifies the message, not a click: two clicks on one message share it, so clicks get no id
        // (the engine then identifies them by campaign, recipient and timestamp).
        let event_id = match kind {
            EventKind::Click => None,
            _ => value
                .get("mid")
                .and_then(json::string)
                .filter(|mid| !mid.is_empty() && mid.len() <= MAX_ID_BYTES),
        };
        let event = Event {
            campaign_id,
            recipient,
            kind,
            timestamp_ms,
            country: None,
            event_id,
            price_micros: None,
        };
        validated(&event)?;
        self.out.messenger.push(PageEvent { page_id, event });
        Ok(())
    }

    fn whatsapp_envelope(&mut self, envelope: &Obj, loc: &str) {
        let entries = match entries(envelope) {
            Ok(entries) => entries,
            Err(skip) => return self.skip(loc, skip),
        };
        for (i, raw) in entries.into_iter().enumerate() {
            let loc = join(loc, &format!("entry[{i}]"));
            let step = self.whatsapp_entry(raw, &loc);
            self.check(&loc, step);
        }
    }

    fn whatsapp_entry(&mut self, raw: &RawValue, loc: &str) -> Step<()> {
        let entry = Obj::open(raw).ok_or_else(|| not_an_object("entry", raw))?;
        let waba_id = opt_id(&entry, "id")?.ok_or_else(|| missing("`id` (the WABA id)"))?;
        check_len("WABA id", &waba_id)?;
        let changes = entry.get("changes").ok_or_else(|| missing("`changes`"))?;
        let changes = json::array(changes).ok_or_else(|| not_an_array("changes", changes))?;
        for (j, raw) in changes.into_iter().enumerate() {
            let loc = join(loc, &format!("changes[{j}]"));
            let step = self.whatsapp_change(&waba_id, raw, &loc);
            self.check(&loc, step);
        }
        Ok(())
    }

    fn whatsapp_change(&mut self, waba_id: &str, raw: &RawValue, loc: &str) -> Step<()> {
        let change = Obj::open(raw).ok_or_else(|| not_an_object("change", raw))?;
        let field = opt_string(&change, "field")?.ok_or_else(|| missing("`field`"))?;
        if field != "messages" {
            return Err(Skip::new(
                SkipReason::UnknownField,
                format!("field {}", quote(&field)),
            ));
        }
        let opened;
        let value = match change.get("value") {
            Some(raw) => {
                opened = Obj::open(raw).ok_or_else(|| not_an_object("value", raw))?;
                &opened
            }
            None => &change,
        };
        let phone_number_id = match opt_obj(value, "metadata")? {
            Some(metadata) => opt_id(&metadata, "phone_number_id")?,
            None => None,
        };
        if let Some(id) = &phone_number_id {
            check_len("phone_number_id", id)?;
        }

        if let Some(statuses) = value.get("statuses") {
            let statuses =
                json::array(statuses).ok_or_else(|| not_an_array("statuses", statuses))?;
            for (k, raw) in statuses.into_iter().enumerate() {
                let step = match Obj::open(raw) {
                    Some(status) => {
                        self.whatsapp_status(waba_id, phone_number_id.as_deref(), &status)
                    }
                    None => Err(not_an_object("status", raw)),
                };
                self.check(&join(loc, &format!("statuses[{k}]")), step);
            }
        }
        // Click tracking of the Marketing Messages API for WhatsApp: no wamid or recipient to attribute it.
        if let Some(actions) = value.get("user_actions") {
            let count = json::array(actions).map_or(1, |actions| actions.len());
            for k in 0..count {
                self.skip(
                    &join(loc, &format!("user_actions[{k}]")),
                    Skip::new(
                        SkipReason::UnknownField,
                        "WhatsApp user_actions (click tracking) are not supported",
                    ),
                );
            }
        }
        // `messages` (inbound messages), `contacts` and `errors` are not about marketing messages we sent:
        // ignored without a skip (they would drown the counters in ordinary customer traffic).
        Ok(())
    }

    fn whatsapp_status(
        &mut self,
        waba_id: &str,
        phone_number_id: Option<&str>,
        status: &Obj,
    ) -> Step<()> {
        let wamid = opt_id(status, "id")?.ok_or_else(|| missing("`id` (the wamid)"))?;
        let pricing = opt_obj(status, "pricing")?;
        let category = match &pricing {
            Some(pricing) => opt_string(pricing, "category")?,
            None => None,
        };
        let origin = match opt_obj(status, "conversation")? {
            Some(conversation) => match opt_obj(&conversation, "origin")? {
                Some(origin) => opt_string(&origin, "type")?,
                None => None,
            },
            None => None,
        };
        let explicit_marketing =
            is_marketing(category.as_deref()) || is_marketing(origin.as_deref());
        if explicit_marketing && wamid.len() <= MAX_ID_BYTES && self.marketing.insert(wamid.clone())
        {
            self.out.marketing_wamids.push(wamid.clone());
        }

        let status_name = opt_string(status, "status")?.ok_or_else(|| missing("`status`"))?;
        let kind = match status_name.as_str() {
            "sent" => EventKind::Sent,
            "delivered" => EventKind::Delivered,
            "read" => EventKind::Read,
            "failed" => EventKind::Failed,
            other => {
                return Err(Skip::new(
                    SkipReason::IgnoredStatus,
                    format!("status {}", quote(other)),
                ))
            }
        };
        if opt_string(status, "recipient_type")?.as_deref() == Some("group") {
            return Err(Skip::new(SkipReason::IgnoredStatus, "sent to a group"));
        }
        let counts = explicit_marketing
            || self.marketing.contains(&wamid)
            || (self.ctx.is_known_marketing)(&wamid);
        if !counts {
            return Err(Skip::new(
                SkipReason::NotMarketing,
                match &category {
                    Some(category) => format!("pricing.category {}", quote(category)),
                    None => {
                        "no marketing pricing and the wamid is not known as marketing".to_owned()
                    }
                },
            ));
        }

        let callback = opt_string(status, "biz_opaque_callback_data")?;
        let campaign_id = callback
            .as_ref()
            .and_then(|data| self.ctx.whatsapp_callback_campaigns.get(data))
            .or_else(|| {
                phone_number_id.and_then(|id| self.ctx.whatsapp_phone_number_campaigns.get(id))
            })
            .cloned()
            .ok_or_else(|| {
                Skip::new(
                    SkipReason::NoCampaign,
                    format!(
                        "no campaign for biz_opaque_callback_data {} or phone_number_id {}",
                        callback
                            .as_deref()
                            .map_or_else(|| "(none)".to_owned(), quote),
                        phone_number_id.map_or_else(|| "(none)".to_owned(), quote),
                    ),
                )
            })?;
        let recipient = opt_id(status, "recipient_id")?.ok_or_else(|| missing("`recipient_id`"))?;
        let timestamp_ms = instant_ms(status, "timestamp")?;
        let (price_micros, price_currency) = price(pricing.as_ref())?;
        let event = Event {
            country: phone::country_of(&recipient),
            campaign_id,
            recipient,
            kind,
            timestamp_ms,
            event_id: Some(wamid.clone()),
            price_micros,
        };
        validated(&event)?;
        self.out.whatsapp.push(WhatsAppEvent {
            waba_id: waba_id.to_owned(),
            phone_number_id: phone_number_id.map(str::to_owned),
            wamid,
            event,
            price_currency,
        });
        Ok(())
    }
}

fn is_marketing(category: Option<&str>) -> bool {
    category.is_some_and(|c| {
        c.eq_ignore_ascii_case("marketing") || c.eq_ignore_ascii_case("marketing_lite")
    })
}

/// The price of a status: `pricing.cost.amount` (decimal string or JSON number, in `pricing.cost.currency`),
/// else zero when `pricing.billable` is `false`, else none (the engine's rate card applies).
fn price(pricing: Option<&Obj>) -> Step<(Option<i64>, Option<String>)> {
    let Some(pricing) = pricing else {
        return Ok((None, None));
    };
    if let Some(cost) = opt_obj(pricing, "cost")? {
        let amount = cost
            .get("amount")
            .ok_or_else(|| missing("`pricing.cost.amount`"))?;
        let text = match Kind::of(amount) {
            Kind::String => json::string(amount).unwrap_or_default(),
            Kind::Number => json::number(amount).unwrap_or_default().to_owned(),
            other => {
                return Err(invalid(format!(
                    "`pricing.cost.amount` is {}",
                    other.described()
                )))
            }
        };
        let micros = insights::parse_price(&text)
            .map_err(|e| invalid(format!("`pricing.cost.amount`: {e}")))?;
        let currency = opt_string(&cost, "currency")?.filter(|c| !c.is_empty());
        return Ok((Some(micros), currency));
    }
    match pricing.get("billable") {
        Some(billable) if billable.get().trim_ascii() == "false" => Ok((Some(0), None)),
        _ => Ok((None, None)),
    }
}

/// The `entry` array of an envelope.
fn entries<'a>(envelope: &Obj<'a>) -> Step<Vec<&'a RawValue>> {
    let entry = envelope.get("entry").ok_or_else(|| missing("`entry`"))?;
    json::array(entry).ok_or_else(|| not_an_array("entry", entry))
}

/// An id: a string (decoded) or a non-negative JSON integer (its digits, exactly). `null`, absent and `""`
/// are `None`.
fn opt_id(obj: &Obj, key: &str) -> Step<Option<String>> {
    let Some(raw) = obj.get(key) else {
        return Ok(None);
    };
    match Kind::of(raw) {
        Kind::String => {
            let text =
                json::string(raw).ok_or_else(|| invalid(format!("`{key}` is not valid text")))?;
            Ok(Some(text).filter(|t| !t.is_empty()))
        }
        Kind::Number => {
            let digits = json::number(raw).unwrap_or_default();
            if digits.bytes().all(|b| b.is_ascii_digit()) {
                Ok(Some(digits.to_owned()))
            } else {
                Err(invalid(format!(
                    "`{key}` is not a non-negative integer: {}",
                    quote(digits)
                )))
            }
        }
        other => Err(invalid(format!("`{key}` is {}", other.described()))),
    }
}

/// A string member; `null`/absent are `None`, other types are invalid.
fn opt_string(obj: &Obj, key: &str) -> Step<Option<String>> {
    match obj.get(key) {
        None => Ok(None),
        Some(raw) => match Kind::of(raw) {
            Kind::String => json::string(raw)
                .map(Some)
                .ok_or_else(|| invalid(format!("`{key}` is not valid text"))),
            other => Err(invalid(format!("`{key}` is {}", other.described()))),
        },
    }
}

/// An object member; `null`/absent are `None`, other types are invalid.
fn opt_obj<'a>(obj: &Obj<'a>, key: &str) -> Step<Option<Obj<'a>>> {
    match obj.get(key) {
        None => Ok(None),
        Some(raw) => Obj::open(raw)
            .map(Some)
            .ok_or_else(|| not_an_object(&format!("`{key}`"), raw)),
    }
}

/// A required epoch timestamp (JSON integer or string of digits), in milliseconds or seconds.
///
/// Valid instants in ms (2000–2099: 12–13 digits) and in seconds (10 digits) cannot be confused, so a value
/// is read as ms when that is in range, else as seconds when that is in range, else it is invalid.
fn instant_ms(obj: &Obj, key: &str) -> Step<i64> {
    let raw = obj.get(key).ok_or_else(|| missing(format!("`{key}`")))?;
    let text = match Kind::of(raw) {
        Kind::String => json::string(raw).unwrap_or_default(),
        Kind::Number => json::number(raw).unwrap_or_default().to_owned(),
        other => return Err(invalid(format!("`{key}` is {}", other.described()))),
    };
    let out_of_range = || invalid(format!("`{key}` out of range: {}", quote(&text)));
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            if text
                .strip_prefix('-')
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
            {
                out_of_range()
            } else {
                invalid(format!("`{key}` is not an integer: {}", quote(&text)))
            },
        );
    }
    let value: i64 = text.parse().map_err(|_| out_of_range())?;
    let range = MIN_TIMESTAMP_MS..=MAX_TIMESTAMP_MS;
    if range.contains(&value) {
        return Ok(value);
    }
    match value.checked_mul(1000) {
        Some(ms) if range.contains(&ms) => Ok(ms),
        _ => Err(out_of_range()),
    }
}

fn check_len(what: &str, id: &str) -> Step<()> {
    if id.len() > MAX_ID_BYTES {
        Err(invalid(format!("{what} longer than {MAX_ID_BYTES} bytes")))
    } else {
        Ok(())
    }
}

fn validated(event: &Event) -> Step<()> {
    event
        .validate()
        .map_err(|e| invalid(format!("event rejected: {e}")))
}

fn not_an_object(what: &str, raw: &RawValue) -> Skip {
    invalid(format!("{what} is {}", non_object(raw)))
}

/// What a value that could not be opened as an object is.
fn non_object(raw: &RawValue) -> String {
    match Kind::of(raw) {
        // Valid JSON, but a key with an unpaired surrogate escape (`"\ud800"`) has no UTF-8 form.
        Kind::Object => "an object with an undecodable key".to_owned(),
        kind => format!("{}, not an object", kind.described()),
    }
}

fn not_an_array(what: &str, raw: &RawValue) -> Skip {
    invalid(format!(
        "`{what}` is {}, not an array",
        Kind::of(raw).described()
    ))
}

fn join(loc: &str, part: &str) -> String {
    if loc.is_empty() {
        part.to_owned()
    } else {
        format!("{loc}.{part}")
    }
}

/// Payload text for a detail: at most 64 characters, escaped (no newlines or control characters reach the
/// logs), in backticks.
fn quote(text: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut out = String::from("`");
    for (i, c) in text.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        out.extend(c.escape_debug());
    }
    out.push('`');
    out
}
