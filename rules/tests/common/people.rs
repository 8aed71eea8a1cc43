//! A sample person for the form tests (`form.rs`, `fields.rs`): valid numbers with their check
//! characters computed by the rules' own functions, and one fixed "today".

use intake_rules::form::numbers::{resident_id_check_char, uscc_check_char};
use intake_rules::form::{CertificateType, Date, Identity};

/// A resident ID number: `first17` and its check character.
pub fn id_number(first17: &str) -> String {
    format!("{first17}{}", resident_id_check_char(first17).unwrap())
}

/// A unified social credit code with its check character.
pub fn uscc() -> String {
    let first17 = "91350200MA2Y8K123";
    format!("{first17}{}", uscc_check_char(first17).unwrap())
}

/// The iXiamen identity of a person called `name`, born 1990-03-07, with a mobile number.
pub fn identity(name: &str) -> Identity {
    Identity {
        name: name.into(),
        certificate_type: CertificateType::ResidentId,
        certificate_number: id_number("35020319900307123"),
        mobile: Some("13800138000".into()),
    }
}

/// The day the tests run on.
pub fn today() -> Date {
    Date::new(2026, 11, 26).unwrap()
}
