//! Country of a recipient from its phone number (the brief's cases, through the public API).

use insights::phone::country_of;

#[test]
fn calling_codes_and_shared_plans() {
    let cases = [
        ("+14155550100", "US"),
        ("+16135550100", "CA"),
        ("+18765550100", "JM"),
        ("+447911123456", "GG"),
        ("+447700900123", "JE"),
        ("+442079460000", "GB"),
        ("+77011234567", "KZ"),
        ("+74951234567", "RU"),
        ("+5511987654321", "BR"),
        ("819012345678", "JP"),
    ];
    for (number, expected) in cases {
        assert_eq!(
            country_of(number).map(|c| c.to_string()).as_deref(),
            Some(expected),
            "{number}"
        );
    }
    assert_eq!(country_of("psid-81"), None);
    assert!(insights::is_phone_number("+14155550100"));
    assert!(!insights::is_phone_number("+141555"));
}
