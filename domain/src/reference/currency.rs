use std::fmt;

/// Active ISO 4217 currency codes whose minor unit is not 2 digits.
const ZERO_DECIMALS: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];
const THREE_DECIMALS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
const FOUR_DECIMALS: &[&str] = &["CLF", "UYW"];

/// Active ISO 4217 codes (funds and precious metals excluded, except the
/// unit-of-account codes above).
const CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP",
    "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF",
    "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR",
    "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB",
    "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD",
    "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL",
    "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYI",
    "UYU", "UYW", "UZS", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER",
    "ZAR", "ZMW", "ZWG",
];

/// An ISO 4217 currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(&'static str);

/// A code that is not an active ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an ISO 4217 currency code (e.g. EUR, USD, CHF)")]
pub struct UnknownCurrency(pub String);

impl Currency {
    /// Parses an upper-case ISO 4217 code.
    pub fn parse(code: &str) -> Result<Self, UnknownCurrency> {
        CODES
            .iter()
            .find(|c| **c == code)
            .map(|c| Self(c))
            .ok_or_else(|| UnknownCurrency(code.to_owned()))
    }

    /// The code.
    pub fn code(self) -> &'static str {
        self.0
    }

    /// Digits of the minor unit (2 for EUR, 0 for JPY, 3 for KWD).
    pub fn minor_unit_digits(self) -> u32 {
        if ZERO_DECIMALS.contains(&self.0) {
            0
        } else if THREE_DECIMALS.contains(&self.0) {
            3
        } else if FOUR_DECIMALS.contains(&self.0) {
            4
        } else {
            2
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_parse_with_their_minor_units() {
        assert_eq!(Currency::parse("EUR").unwrap().minor_unit_digits(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().minor_unit_digits(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().minor_unit_digits(), 3);
        for bad in ["eur", "EURO", "XXX", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_lists_are_consistent() {
        let mut sorted = CODES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), CODES.len(), "sorted and unique");
        for c in ZERO_DECIMALS
            .iter()
            .chain(THREE_DECIMALS)
            .chain(FOUR_DECIMALS)
        {
            assert!(CODES.contains(c), "{c}");
        }
    }
}
