//! Just enough JSON output for the reports: string escaping and number formatting.
//! Objects are written by hand with `format!`; this keeps the values valid.

/// `s` as a JSON string literal, quotes included.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A float as a JSON number with `decimals` decimals; `null` for NaN and infinities.
pub fn number(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "null".into()
    }
}

/// A float as a JSON number with about six significant digits, trailing zeros dropped
/// (`1.05`, `4200000`, `0.015625`); `null` for NaN and infinities.
pub fn float(v: f64) -> String {
    if !v.is_finite() {
        return "null".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (5 - magnitude).clamp(0, 20) as usize;
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// An optional float as [`float`] does it, `null` for `None`.
pub fn opt_float(v: Option<f64>) -> String {
    v.map_or_else(|| "null".into(), float)
}

/// A JSON array of already-formatted values.
pub fn array<I: IntoIterator<Item = String>>(items: I) -> String {
    let v: Vec<String> = items.into_iter().collect();
    format!("[{}]", v.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_numbers() {
        assert_eq!(string("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
        assert_eq!(number(1.23456, 2), "1.23");
        assert_eq!(number(f64::NAN, 2), "null");
        assert_eq!(array(vec!["1".into(), "2".into()]), "[1,2]");
    }

    #[test]
    fn floats() {
        assert_eq!(float(1.05), "1.05");
        assert_eq!(float(4_200_000.0), "4200000");
        assert_eq!(float(1234567.891), "1234568");
        assert_eq!(float(0.015625), "0.015625");
        assert_eq!(float(-2.5), "-2.5");
        assert_eq!(float(0.0), "0");
        assert_eq!(float(-1e-30), "0");
        assert_eq!(float(f64::INFINITY), "null");
        assert_eq!(opt_float(None), "null");
        assert_eq!(opt_float(Some(3.0)), "3");
    }
}
