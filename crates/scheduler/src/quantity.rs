//! Minimal `resource.Quantity` reader for scheduling: the value in milli-units (CPU) or
//! whole units (bytes, counts), both rounded up as upstream's `MilliValue()`/`Value()`.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// A parsed quantity: `mantissa / 10^frac * 1024^bin * 10^exp`.
struct Parsed {
    negative: bool,
    mantissa: i128,
    frac: i32,
    bin: u32,
    exp: i32,
}

fn parse(s: &str) -> Option<Parsed> {
    let s = s.trim();
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let (num, suffix) = rest.split_at(num_end);
    if num.is_empty() || num == "." || num.matches('.').count() > 1 {
        return None;
    }
    let mut mantissa: i128 = 0;
    let mut frac = 0i32;
    let mut seen_dot = false;
    for c in num.bytes() {
        if c == b'.' {
            seen_dot = true;
            continue;
        }
        if mantissa > i128::MAX / 100 {
            // Digits beyond i128 precision are irrelevant for scheduling.
            if !seen_dot {
                frac -= 1;
            }
            continue;
        }
        mantissa = mantissa * 10 + i128::from(c - b'0');
        if seen_dot {
            frac += 1;
        }
    }
    let (bin, exp) = parse_suffix(suffix)?;
    Some(Parsed { negative, mantissa, frac, bin, exp })
}

fn parse_suffix(suffix: &str) -> Option<(u32, i32)> {
    Some(match suffix {
        "" => (0, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        "Ki" => (1, 0),
        "Mi" => (2, 0),
        "Gi" => (3, 0),
        "Ti" => (4, 0),
        "Pi" => (5, 0),
        "Ei" => (6, 0),
        _ => {
            let e = suffix.strip_prefix('e').or_else(|| suffix.strip_prefix('E'))?;
            (0, e.parse::<i32>().ok()?)
        }
    })
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// The value scaled by `10^scale`, rounded up (away from zero for positives), saturating.
fn scaled(s: &str, scale: i32) -> Option<i64> {
    let p = parse(s)?;
    let mut n = p.mantissa;
    for _ in 0..p.bin {
        n = n.saturating_mul(1024);
    }
    let net = p.exp + scale - p.frac;
    let v = if net >= 0 {
        match pow10(net as u32) {
            Some(m) => n.saturating_mul(m),
            None if n == 0 => 0,
            None => i128::MAX,
        }
    } else {
        match pow10((-net) as u32) {
            Some(d) => (n + d - 1) / d,
            None => i128::from(n > 0),
        }
    };
    let v = if p.negative { -v } else { v };
    Some(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// `Quantity.MilliValue()`: 0 when the string does not parse.
pub fn milli_value(q: &Quantity) -> i64 {
    scaled(&q.0, 3).unwrap_or(0)
}

/// `Quantity.Value()`: 0 when the string does not parse.
pub fn value(q: &Quantity) -> i64 {
    scaled(&q.0, 0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity(s.to_string())
    }

    #[test]
    fn milli_values() {
        assert_eq!(milli_value(&q("100m")), 100);
        assert_eq!(milli_value(&q("1")), 1000);
        assert_eq!(milli_value(&q("2.5")), 2500);
        assert_eq!(milli_value(&q("0.1")), 100);
        assert_eq!(milli_value(&q("1u")), 1);
        assert_eq!(milli_value(&q("1e3")), 1_000_000);
        assert_eq!(milli_value(&q("-1")), -1000);
    }

    #[test]
    fn values() {
        assert_eq!(value(&q("1Ki")), 1024);
        assert_eq!(value(&q("200Mi")), 200 * 1024 * 1024);
        assert_eq!(value(&q("1G")), 1_000_000_000);
        assert_eq!(value(&q("1.5Gi")), 1_610_612_736);
        assert_eq!(value(&q("110")), 110);
        assert_eq!(value(&q("100m")), 1);
        assert_eq!(value(&q("12E")), 12_000_000_000_000_000_000i128.min(i64::MAX as i128) as i64);
        assert_eq!(value(&q("bogus")), 0);
        assert_eq!(value(&q("1Zi")), 0);
    }
}
