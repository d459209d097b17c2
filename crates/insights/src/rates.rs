//! The rate card: price per delivered marketing message by market (country or default) and currency, with a
//! history of files each effective from a date.
//!
//! Lookup for (country, currency, date): among files effective on or before `date`, the latest one with a row
//! for (country, currency); failing that, the latest one with a default row for the currency; failing that,
//! no price (the message then costs 0). A file added later with the same effective date replaces the rows it
//! repeats.

use std::collections::BTreeMap;
use std::ops::Bound;

use chrono::NaiveDate;

use crate::country::CountryCode;
use crate::currency::Currency;
use crate::parse::parse_price;
use crate::text::clip;

/// A rejected rate card file; nothing of the file is applied. Lines are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateCardError {
    #[error("the rate card is empty (a header row is required)")]
    Empty,
    #[error("line {line}: missing column `{column}` in the header")]
    MissingColumn { line: usize, column: &'static str },
    #[error("line {line}: expected at least {expected} fields, found {found}")]
    ShortRow {
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("line {line}: unknown country code `{value}`")]
    UnknownCountry { line: usize, value: String },
    #[error("line {line}: unknown currency `{value}`")]
    UnknownCurrency { line: usize, value: String },
    #[error("line {line}: {reason}")]
    BadPrice { line: usize, reason: String },
    #[error("line {line}: duplicate row for {market}/{currency}")]
    Duplicate {
        line: usize,
        market: String,
        currency: String,
    },
    #[error("line {line}: unterminated quoted field")]
    UnterminatedQuote { line: usize },
}

/// Market key: a country, or `None` for the currency's default ("Default"/"Other") row.
type Market = Option<CountryCode>;

/// Price history of one (market, currency): effective date -> price in micro-units.
type History = BTreeMap<NaiveDate, i64>;

/// Rate card history. Cheap to query; built from CSV files.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct RateCard {
    currencies: BTreeMap<[u8; 3], CurrencyRates>,
}

/// The rows of one currency: the default row's history and each country's.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub(crate) struct CurrencyRates {
    default: History,
    countries: BTreeMap<u16, History>,
}

impl CurrencyRates {
    fn history_mut(&mut self, market: Market) -> &mut History {
        match market {
            Some(c) => self.countries.entry(c.index()).or_default(),
            None => &mut self.default,
        }
    }

    fn history(&self, market: Market) -> Option<&History> {
        match market {
            Some(c) => self.countries.get(&c.index()),
            None => Some(&self.default),
        }
    }

    /// See [`RateCard::price`].
    pub(crate) fn price(&self, country: Option<CountryCode>, date: NaiveDate) -> Option<i64> {
        let latest = |market: Market| {
            self.history(market)
                .and_then(|h| h.range(..=date).next_back())
                .map(|(_, &p)| p)
        };
        country
            .and_then(|c| latest(Some(c)))
            .or_else(|| latest(None))
    }

    /// `Some(price)` when the price is the same on every date of `[start, stop]` (the usual case), `None`
    /// when an effective date falls inside. Allocation-free, for the query path.
    pub(crate) fn constant_price(
        &self,
        country: Option<CountryCode>,
        start: NaiveDate,
        stop: NaiveDate,
    ) -> Option<Option<i64>> {
        let changes_inside = |market: Market| {
            start < stop
                && self.history(market).is_some_and(|h| {
                    h.range((Bound::Excluded(start), Bound::Included(stop)))
                        .next()
                        .is_some()
                })
        };
        if country.is_some_and(|c| changes_inside(Some(c))) || changes_inside(None) {
            return None;
        }
        Some(self.price(country, start))
    }
}

/// A piece of a date range during which the rate card gives one price for a market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RateSegment {
    pub start: NaiveDate,
    pub stop: NaiveDate,
    pub price_micros: Option<i64>,
}

impl RateCard {
    /// A rate card without entries (every unpriced message costs 0).
    pub fn empty() -> RateCard {
        RateCard::default()
    }

    /// Whether no file has been added.
    pub fn is_empty(&self) -> bool {
        self.currencies.is_empty()
    }

    /// Adds one file effective from `effective_from`.
    ///
    /// CSV with a header row; columns found by name, case-insensitively: the market (`country`, `market`,
    /// `country code`, `market code`), `currency`, and the price (`price`, `marketing`, or a name that
    /// contains `marketing` or starts with `price`). Markets are ISO 3166-1 alpha-2 codes, or `Default` /
    /// `Other` (also `*`) for the currency's default row. Prices are decimals in the major unit. Blank lines
    /// are skipped; quoted fields are supported. Any error rejects the whole file.
    pub fn add_csv(
        &mut self,
        csv_text: &str,
        effective_from: NaiveDate,
    ) -> Result<(), RateCardError> {
        let text = csv_text.strip_prefix('\u{feff}').unwrap_or(csv_text);
        let mut rows = Vec::new();
        let mut columns: Option<(usize, usize, usize)> = None;
        let mut seen = std::collections::BTreeSet::new();
        for (i, raw_line) in text.lines().enumerate() {
            let line = i + 1;
            if raw_line.trim().is_empty() {
                continue;
            }
            let fields =
                split_csv_line(raw_line).ok_or(RateCardError::UnterminatedQuote { line })?;
            let Some((market_col, currency_col, price_col)) = columns else {
                columns = Some(header_columns(&fields, line)?);
                continue;
            };
            let needed = market_col.max(currency_col).max(price_col) + 1;
            if fields.len() < needed {
                return Err(RateCardError::ShortRow {
                    line,
                    expected: needed,
                    found: fields.len(),
                });
            }
            let market_text = fields[market_col].trim();
            let market: Market = if ["default", "other", "*"]
                .iter()
                .any(|d| market_text.eq_ignore_ascii_case(d))
            {
                None
            } else {
                Some(
                    market_text
                        .parse::<CountryCode>()
                        .map_err(|e| RateCardError::UnknownCountry { line, value: e.0 })?,
                )
            };
            let currency_text = fields[currency_col].trim();
            let currency = Currency::from_code(currency_text).ok_or_else(|| {
                RateCardError::UnknownCurrency {
                    line,
                    value: clip(currency_text).into_owned(),
                }
            })?;
            let price =
                parse_price(fields[price_col].trim()).map_err(|e| RateCardError::BadPrice {
                    line,
                    reason: e.to_string(),
                })?;
            let key = (market, code_bytes(&currency));
            if !seen.insert(key) {
                return Err(RateCardError::Duplicate {
                    line,
                    market: market.map_or_else(|| "Default".to_string(), |c| c.to_string()),
                    currency: currency.code().to_string(),
                });
            }
            rows.push((key, price));
        }
        if columns.is_none() {
            return Err(RateCardError::Empty);
        }
        for ((market, code), price) in rows {
            self.currencies
                .entry(code)
                .or_default()
                .history_mut(market)
                .insert(effective_from, price);
        }
        Ok(())
    }

    /// Adds or replaces a single entry (`None` market = the currency's default row).
    pub fn set_price(
        &mut self,
        market: Option<CountryCode>,
        currency: &Currency,
        effective_from: NaiveDate,
        price_micros: i64,
    ) {
        self.currencies
            .entry(code_bytes(currency))
            .or_default()
            .history_mut(market)
            .insert(effective_from, price_micros);
    }

    /// The price of a delivered message (micro-units) for a country (`None` = unknown) on a local date;
    /// `None` when the card has no applicable row (the message then costs 0).
    pub fn price(
        &self,
        country: Option<CountryCode>,
        currency: &Currency,
        date: NaiveDate,
    ) -> Option<i64> {
        self.for_currency(currency)?.price(country, date)
    }

    /// The rows of one currency, if any.
    pub(crate) fn for_currency(&self, currency: &Currency) -> Option<&CurrencyRates> {
        self.currencies.get(&code_bytes(currency))
    }

    /// Splits `[start, stop]` into maximal pieces over which [`RateCard::price`] is constant for this
    /// country and currency. Usually a single piece.
    pub(crate) fn segments(
        &self,
        country: Option<CountryCode>,
        currency: &Currency,
        start: NaiveDate,
        stop: NaiveDate,
    ) -> Vec<RateSegment> {
        let mut cuts: Vec<NaiveDate> = Vec::new();
        let markets: &[Market] = if country.is_some() {
            &[country, None]
        } else {
            &[None]
        };
        if let Some(card) = self.for_currency(currency).filter(|_| start < stop) {
            for &market in markets {
                if let Some(history) = card.history(market) {
                    cuts.extend(
                        history
                            .range((Bound::Excluded(start), Bound::Included(stop)))
                            .map(|(d, _)| *d),
                    );
                }
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        let mut out = Vec::with_capacity(cuts.len() + 1);
        let mut seg_start = start;
        for cut in cuts {
            if let Some(seg_stop) = cut.pred_opt() {
                out.push(RateSegment {
                    start: seg_start,
                    stop: seg_stop,
                    price_micros: self.price(country, currency, seg_start),
                });
            }
            seg_start = cut;
        }
        out.push(RateSegment {
            start: seg_start,
            stop,
            price_micros: self.price(country, currency, seg_start),
        });
        out
    }
}

fn code_bytes(c: &Currency) -> [u8; 3] {
    let b = c.code().as_bytes();
    [b[0], b[1], b[2]]
}

/// Finds the market, currency and price columns of the header row.
fn header_columns(fields: &[String], line: usize) -> Result<(usize, usize, usize), RateCardError> {
    let names: Vec<String> = fields
        .iter()
        .map(|f| f.trim().to_ascii_lowercase())
        .collect();
    let find = |pred: &dyn Fn(&str) -> bool| names.iter().position(|n| pred(n));
    let market = find(&|n| {
        matches!(
            n,
            "country" | "market" | "country code" | "country_code" | "market code"
        )
    })
    .ok_or(RateCardError::MissingColumn {
        line,
        column: "country",
    })?;
    let currency = find(&|n| n == "currency").ok_or(RateCardError::MissingColumn {
        line,
        column: "currency",
    })?;
    let price = find(&|n| n == "price" || n == "marketing")
        .or_else(|| find(&|n| n.contains("marketing") || n.starts_with("price")))
        .filter(|&p| p != market && p != currency)
        .ok_or(RateCardError::MissingColumn {
            line,
            column: "price",
        })?;
    Ok((market, currency, price))
}

/// Splits one CSV line (RFC 4180 quoting, `""` inside quotes); `None` for an unterminated quote.
fn split_csv_line(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        match (c, in_quotes) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => in_quotes = false,
            ('"', false) if field.trim().is_empty() => {
                field.clear();
                in_quotes = true;
            }
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    if in_quotes {
        return None;
    }
    fields.push(field);
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::dates::parse_ymd(s).unwrap_or(NaiveDate::MIN)
    }
    fn c(s: &str) -> Option<CountryCode> {
        s.parse().ok()
    }
    fn usd() -> Currency {
        Currency::from_code("USD")
            .unwrap_or_else(|| Currency::all().next().unwrap_or_else(|| unreachable!()))
    }

    #[test]
    fn lookup_latest_effective_then_default() {
        let mut card = RateCard::empty();
        card.add_csv(
            "Market,Currency,Marketing\nBR,USD,0.0625\nDefault,USD,0.05\nIN,INR,0.78\n",
            d("2025-01-01"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        card.add_csv("country,currency,price\nBR,USD,0.07\n", d("2025-07-01"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(card.price(c("BR"), &usd(), d("2024-12-31")), None);
        assert_eq!(card.price(c("BR"), &usd(), d("2025-01-01")), Some(62_500));
        assert_eq!(card.price(c("BR"), &usd(), d("2025-07-01")), Some(70_000));
        assert_eq!(card.price(c("US"), &usd(), d("2025-07-01")), Some(50_000));
        assert_eq!(card.price(None, &usd(), d("2025-07-01")), Some(50_000));
        let inr = Currency::from_code("INR").unwrap_or_else(usd);
        assert_eq!(card.price(c("IN"), &inr, d("2025-03-01")), Some(780_000));
        assert_eq!(card.price(c("BR"), &inr, d("2025-03-01")), None);
    }

    #[test]
    fn segments_split_at_effective_dates() {
        let mut card = RateCard::empty();
        card.set_price(c("BR"), &usd(), d("2025-07-10"), 70_000);
        card.set_price(None, &usd(), d("2025-07-05"), 50_000);
        let segs = card.segments(c("BR"), &usd(), d("2025-07-01"), d("2025-07-31"));
        assert_eq!(
            segs,
            vec![
                RateSegment {
                    start: d("2025-07-01"),
                    stop: d("2025-07-04"),
                    price_micros: None
                },
                RateSegment {
                    start: d("2025-07-05"),
                    stop: d("2025-07-09"),
                    price_micros: Some(50_000)
                },
                RateSegment {
                    start: d("2025-07-10"),
                    stop: d("2025-07-31"),
                    price_micros: Some(70_000)
                },
            ]
        );
        assert_eq!(
            card.segments(None, &usd(), d("2025-07-06"), d("2025-07-31"))
                .len(),
            1
        );
    }

    #[test]
    fn errors_name_lines() {
        let mut card = RateCard::empty();
        let err = |text: &str| {
            RateCard::empty()
                .add_csv(text, d("2025-01-01"))
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            err(""),
            Err("the rate card is empty (a header row is required)".into())
        );
        assert_eq!(
            err("Market,Price\nBR,1\n"),
            Err("line 1: missing column `currency` in the header".into())
        );
        assert_eq!(
            err("Market,Currency,Price\nBR,USD,0.1\nXX,USD,0.1\n"),
            Err("line 3: unknown country code `XX`".into())
        );
        assert_eq!(
            err("Market,Currency,Price\n\nBR,ABC,0.1\n"),
            Err("line 3: unknown currency `ABC`".into())
        );
        assert_eq!(
            err("Market,Currency,Price\nBR,USD,abc\n"),
            Err("line 2: malformed price `abc`".into())
        );
        assert_eq!(
            err("Market,Currency,Price\nBR,USD\n"),
            Err("line 2: expected at least 3 fields, found 2".into())
        );
        assert_eq!(
            err("Market,Currency,Price\nBR,USD,1\nbr,usd,2\n"),
            Err("line 3: duplicate row for BR/USD".into())
        );
        assert_eq!(
            err("Market,Currency,Price\n\"BR,USD,1\n"),
            Err("line 2: unterminated quoted field".into())
        );
        // A failed file changes nothing.
        assert!(card
            .add_csv(
                "Market,Currency,Price\nBR,USD,1\nXX,USD,1\n",
                d("2025-01-01")
            )
            .is_err());
        assert!(card.is_empty());
        // Quoted fields and a BOM.
        card.add_csv("\u{feff}\"Market\",\"Currency\",\"Price per delivered marketing message\"\n\"BR\",\"USD\",\"0.0625\"\n", d("2025-01-01"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(card.price(c("BR"), &usd(), d("2025-01-01")), Some(62_500));
    }
}
