//! Country of a recipient from its phone number (E.164 calling codes).
//!
//! The calling code is found by the ITU prefix rules (`1` and `7` are one digit, a fixed set of codes are two
//! digits, the rest three). Codes shared by several territories are split by the national number:
//! - `+1` (NANP): the area code decides. Canadian area codes give CA, the Caribbean and Pacific members their
//!   own code (JM 876/658, PR 787/939, DO 809/829/849, BS 242, BB 246, TT 868, …); everything else is US.
//! - `+7`: KZ for national numbers starting with 6 or 7, otherwise RU.
//! - `+44`: GG (1481, 7781, 7839, 7911), JE (1534, 7509, 7700, 7797, 7829, 7937), IM (1624, 7524, 7624, 7924),
//!   otherwise GB.
//! - Best effort, from the national numbering plans: `+262` YT for 269/639 else RE; `+358` AX for 18 else FI;
//!   `+590` BL for 27, MF for 87, else GP; `+599` BQ for 3/4/7 else CW; `+47` SJ for 79 else NO; `+61` CX for
//!   89164, CC for 89162, else AU; `+672` AQ for 1 else NF; `+39` VA for 06698 else IT; `+212` EH for
//!   5288/5289 else MA; `+247` (Ascension) and `+290` give SH.
//! - Codes of no ISO country (`+383` Kosovo, `+800` freephone, `+870`/`+881`–`+883` satellite, `+888`, `+979`, …)
//!   give `None`.

use crate::country::CountryCode;

/// True for `^\+?[1-9][0-9]{6,14}$`: an E.164 number (7 to 15 digits), with or without the `+`.
pub fn is_phone_number(recipient: &str) -> bool {
    let digits = recipient.strip_prefix('+').unwrap_or(recipient).as_bytes();
    (7..=15).contains(&digits.len()) && digits[0] != b'0' && digits.iter().all(u8::is_ascii_digit)
}

/// Country of an E.164 number (digits, with or without a leading `+`); `None` when the string is not a phone
/// number (see [`is_phone_number`]) or its calling code belongs to no single ISO country.
pub fn country_of(number: &str) -> Option<CountryCode> {
    if !is_phone_number(number) {
        return None;
    }
    let d = number.strip_prefix('+').unwrap_or(number);
    match &d[..1] {
        "1" => return c(nanp(&d[1..])),
        "7" => {
            return c(if d[1..].starts_with(['6', '7']) {
                "KZ"
            } else {
                "RU"
            })
        }
        _ => {}
    }
    let (code, rest) = d.split_at(if is_two_digit_code(&d[..2]) { 2 } else { 3 });
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| rest.starts_with(p));
    let code = match code {
        "20" => "EG",
        "27" => "ZA",
        "30" => "GR",
        "31" => "NL",
        "32" => "BE",
        "33" => "FR",
        "34" => "ES",
        "36" => "HU",
        "39" if starts(&["06698"]) => "VA",
        "39" => "IT",
        "40" => "RO",
        "41" => "CH",
        "43" => "AT",
        "44" if starts(&["1481", "7781", "7839", "7911"]) => "GG",
        "44" if starts(&["1534", "7509", "7700", "7797", "7829", "7937"]) => "JE",
        "44" if starts(&["1624", "7524", "7624", "7924"]) => "IM",
        "44" => "GB",
        "45" => "DK",
        "46" => "SE",
        "47" if starts(&["79"]) => "SJ",
        "47" => "NO",
        "48" => "PL",
        "49" => "DE",
        "51" => "PE",
        "52" => "MX",
        "53" => "CU",
        "54" => "AR",
        "55" => "BR",
        "56" => "CL",
        "57" => "CO",
        "58" => "VE",
        "60" => "MY",
        "61" if starts(&["89164"]) => "CX",
        "61" if starts(&["89162"]) => "CC",
        "61" => "AU",
        "62" => "ID",
        "63" => "PH",
        "64" => "NZ",
        "65" => "SG",
        "66" => "TH",
        "81" => "JP",
        "82" => "KR",
        "84" => "VN",
        "86" => "CN",
        "90" => "TR",
        "91" => "IN",
        "92" => "PK",
        "93" => "AF",
        "94" => "LK",
        "95" => "MM",
        "98" => "IR",
        "211" => "SS",
        "212" if starts(&["5288", "5289"]) => "EH",
        "212" => "MA",
        "213" => "DZ",
        "216" => "TN",
        "218" => "LY",
        "220" => "GM",
        "221" => "SN",
        "222" => "MR",
        "223" => "ML",
        "224" => "GN",
        "225" => "CI",
        "226" => "BF",
        "227" => "NE",
        "228" => "TG",
        "229" => "BJ",
        "230" => "MU",
        "231" => "LR",
        "232" => "SL",
        "233" => "GH",
        "234" => "NG",
        "235" => "TD",
        "236" => "CF",
        "237" => "CM",
        "238" => "CV",
        "239" => "ST",
        "240" => "GQ",
        "241" => "GA",
        "242" => "CG",
        "243" => "CD",
        "244" => "AO",
        "245" => "GW",
        "246" => "IO",
        "247" => "SH",
        "248" => "SC",
        "249" => "SD",
        "250" => "RW",
        "251" => "ET",
        "252" => "SO",
        "253" => "DJ",
        "254" => "KE",
        "255" => "TZ",
        "256" => "UG",
        "257" => "BI",
        "258" => "MZ",
        "260" => "ZM",
        "261" => "MG",
        "262" if starts(&["269", "639"]) => "YT",
        "262" => "RE",
        "263" => "ZW",
        "264" => "NA",
        "265" => "MW",
        "266" => "LS",
        "267" => "BW",
        "268" => "SZ",
        "269" => "KM",
        "290" => "SH",
        "291" => "ER",
        "297" => "AW",
        "298" => "FO",
        "299" => "GL",
        "350" => "GI",
        "351" => "PT",
        "352" => "LU",
        "353" => "IE",
        "354" => "IS",
        "355" => "AL",
        "356" => "MT",
        "357" => "CY",
        "358" if starts(&["18"]) => "AX",
        "358" => "FI",
        "359" => "BG",
        "370" => "LT",
        "371" => "LV",
        "372" => "EE",
        "373" => "MD",
        "374" => "AM",
        "375" => "BY",
        "376" => "AD",
        "377" => "MC",
        "378" => "SM",
        "379" => "VA",
        "380" => "UA",
        "381" => "RS",
        "382" => "ME",
        "385" => "HR",
        "386" => "SI",
        "387" => "BA",
        "389" => "MK",
        "420" => "CZ",
        "421" => "SK",
        "423" => "LI",
        "500" => "FK",
        "501" => "BZ",
        "502" => "GT",
        "503" => "SV",
        "504" => "HN",
        "505" => "NI",
        "506" => "CR",
        "507" => "PA",
        "508" => "PM",
        "509" => "HT",
        "590" if starts(&["27"]) => "BL",
        "590" if starts(&["87"]) => "MF",
        "590" => "GP",
        "591" => "BO",
        "592" => "GY",
        "593" => "EC",
        "594" => "GF",
        "595" => "PY",
        "596" => "MQ",
        "597" => "SR",
        "598" => "UY",
        "599" if starts(&["3", "4", "7"]) => "BQ",
        "599" => "CW",
        "670" => "TL",
        "672" if starts(&["1"]) => "AQ",
        "672" => "NF",
        "673" => "BN",
        "674" => "NR",
        "675" => "PG",
        "676" => "TO",
        "677" => "SB",
        "678" => "VU",
        "679" => "FJ",
        "680" => "PW",
        "681" => "WF",
        "682" => "CK",
        "683" => "NU",
        "685" => "WS",
        "686" => "KI",
        "687" => "NC",
        "688" => "TV",
        "689" => "PF",
        "690" => "TK",
        "691" => "FM",
        "692" => "MH",
        "850" => "KP",
        "852" => "HK",
        "853" => "MO",
        "855" => "KH",
        "856" => "LA",
        "880" => "BD",
        "886" => "TW",
        "960" => "MV",
        "961" => "LB",
        "962" => "JO",
        "963" => "SY",
        "964" => "IQ",
        "965" => "KW",
        "966" => "SA",
        "967" => "YE",
        "968" => "OM",
        "970" => "PS",
        "971" => "AE",
        "972" => "IL",
        "973" => "BH",
        "974" => "QA",
        "975" => "BT",
        "976" => "MN",
        "977" => "NP",
        "992" => "TJ",
        "993" => "TM",
        "994" => "AZ",
        "995" => "GE",
        "996" => "KG",
        "998" => "UZ",
        _ => return None,
    };
    c(code)
}

/// The two-digit ITU calling codes (zones 2–9); every other code outside `1` and `7` has three digits.
fn is_two_digit_code(prefix: &str) -> bool {
    matches!(
        prefix,
        "20" | "27"
            | "30"
            | "31"
            | "32"
            | "33"
            | "34"
            | "36"
            | "39"
            | "40"
            | "41"
            | "43"
            | "44"
            | "45"
            | "46"
            | "47"
            | "48"
            | "49"
            | "51"
            | "52"
            | "53"
            | "54"
            | "55"
            | "56"
            | "57"
            | "58"
            | "60"
            | "61"
            | "62"
            | "63"
            | "64"
            | "65"
            | "66"
            | "81"
            | "82"
            | "84"
            | "86"
            | "90"
            | "91"
            | "92"
            | "93"
            | "94"
            | "95"
            | "98"
    )
}

/// North American Numbering Plan: the three-digit area code picks the member; unlisted codes are US.
fn nanp(national: &str) -> &'static str {
    let area = national.get(..3).unwrap_or("");
    match area {
        // Canada (geographic overlays and the non-geographic 600/622).
        "204" | "226" | "236" | "249" | "250" | "257" | "263" | "289" | "306" | "343" | "354"
        | "365" | "367" | "368" | "382" | "387" | "403" | "416" | "418" | "428" | "431" | "437"
        | "438" | "450" | "460" | "468" | "474" | "506" | "514" | "519" | "548" | "579" | "581"
        | "584" | "587" | "600" | "604" | "613" | "622" | "639" | "647" | "672" | "683" | "705"
        | "709" | "742" | "753" | "778" | "780" | "782" | "807" | "819" | "825" | "867" | "873"
        | "879" | "902" | "905" | "942" => "CA",
        "242" => "BS",
        "246" => "BB",
        "264" => "AI",
        "268" => "AG",
        "284" => "VG",
        "340" => "VI",
        "345" => "KY",
        "441" => "BM",
        "473" => "GD",
        "649" => "TC",
        "658" | "876" => "JM",
        "664" => "MS",
        "670" => "MP",
        "671" => "GU",
        "684" => "AS",
        "721" => "SX",
        "758" => "LC",
        "767" => "DM",
        "784" => "VC",
        "787" | "939" => "PR",
        "809" | "829" | "849" => "DO",
        "868" => "TT",
        "869" => "KN",
        _ => "US",
    }
}

/// The code of a table literal (all are assigned, which the tests check by sweeping every arm).
fn c(code: &str) -> Option<CountryCode> {
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(n: &str) -> Option<String> {
        country_of(n).map(|c| c.to_string())
    }

    #[test]
    fn phone_number_shape() {
        assert!(is_phone_number("+14155550100"));
        assert!(is_phone_number("14155550100"));
        assert!(is_phone_number("1234567"));
        assert!(!is_phone_number("123456"));
        assert!(!is_phone_number("+0123456789"));
        assert!(!is_phone_number("1234567890123456"));
        assert!(!is_phone_number("+1 415 555 0100"));
        assert!(!is_phone_number("psid-81"));
        assert!(!is_phone_number(""));
        assert!(!is_phone_number("+"));
    }

    #[test]
    fn brief_cases() {
        assert_eq!(country("+14155550100").as_deref(), Some("US"));
        assert_eq!(country("+16135550100").as_deref(), Some("CA"));
        assert_eq!(country("+18765550100").as_deref(), Some("JM"));
        assert_eq!(country("+447911123456").as_deref(), Some("GG"));
        assert_eq!(country("+447700900123").as_deref(), Some("JE"));
        assert_eq!(country("+442079460000").as_deref(), Some("GB"));
        assert_eq!(country("+77011234567").as_deref(), Some("KZ"));
        assert_eq!(country("+74951234567").as_deref(), Some("RU"));
        assert_eq!(country("+5511987654321").as_deref(), Some("BR"));
        assert_eq!(country("819012345678").as_deref(), Some("JP"));
    }

    #[test]
    fn shared_codes() {
        assert_eq!(country("+17875550100").as_deref(), Some("PR"));
        assert_eq!(country("+18095550100").as_deref(), Some("DO"));
        assert_eq!(country("+12425550100").as_deref(), Some("BS"));
        assert_eq!(country("+12465550100").as_deref(), Some("BB"));
        assert_eq!(country("+18685550100").as_deref(), Some("TT"));
        assert_eq!(country("+441624123456").as_deref(), Some("IM"));
        assert_eq!(country("+441534123456").as_deref(), Some("JE"));
        assert_eq!(country("+262269123456").as_deref(), Some("YT"));
        assert_eq!(country("+262262123456").as_deref(), Some("RE"));
        assert_eq!(country("+59995123456").as_deref(), Some("CW"));
        assert_eq!(country("+5997123456").as_deref(), Some("BQ"));
        assert_eq!(country("+4779123456").as_deref(), Some("SJ"));
        assert_eq!(country("+4791234567").as_deref(), Some("NO"));
        assert_eq!(country("+35818123456").as_deref(), Some("AX"));
        assert_eq!(country("+358401234567").as_deref(), Some("FI"));
        assert_eq!(country("+33612345678").as_deref(), Some("FR"));
        assert_eq!(country("+97150123456").as_deref(), Some("AE"));
        assert_eq!(country("+38344123456").as_deref(), None); // Kosovo has no ISO code
        assert_eq!(country("+80012345678").as_deref(), None);
        assert_eq!(country("psid-81"), None);
    }

    #[test]
    fn every_table_literal_is_assigned() {
        // Every arm's literal must parse: sweep all prefixes and check each result maps back to a code.
        for a in 1..=9u32 {
            for b in 0..=9u32 {
                for d in 0..=9u32 {
                    for tail in [
                        "0000000", "1812345", "2691234", "7912345", "8916412", "5288123", "0669812",
                    ] {
                        let n = format!("{a}{b}{d}{tail}");
                        // Every two-digit code is assigned; three-digit ones may be unassigned (None).
                        if !n.starts_with(['1', '7']) && is_two_digit_code(&n[..2]) {
                            assert!(country_of(&n).is_some(), "{n}");
                        }
                    }
                }
            }
        }
        for area in 200..1000 {
            assert!(country_of(&format!("1{area}5550100")).is_some());
        }
        assert!(country_of("76123456789").is_some() && country_of("79123456789").is_some());
    }

    #[test]
    fn every_literal_in_the_tables_is_an_assigned_code() {
        // Scan this file's own source for match arms yielding a two-letter literal, so that a typo in any
        // arm fails here.
        let source = include_str!("phone.rs");
        let mut checked = 0;
        for (i, _) in source.match_indices("=> \"") {
            let literal = &source[i + 4..];
            if let Some(code) = literal
                .get(..2)
                .filter(|_| literal.as_bytes().get(2) == Some(&b'"'))
            {
                if code.bytes().all(|b| b.is_ascii_uppercase()) {
                    assert!(code.parse::<CountryCode>().is_ok(), "{code}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 200, "{checked}");
    }
}
