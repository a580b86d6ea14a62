//! Resource quantities (`resource.Quantity`): parsing with upstream's errors, exact
//! comparison and the canonical spelling upstream prints (`500m`, `1Gi`, `12e6`).

use std::cmp::Ordering;

use serde_json::Value;

pub const ERR_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
pub const ERR_NUMERIC: &str = "unable to parse numeric part of quantity";
pub const ERR_SUFFIX: &str = "unable to parse quantity's suffix";

const BASE: u64 = 1_000_000_000;

/// A non-negative big integer in base 10^9, least significant limb first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Big(Vec<u32>);

impl Big {
    fn trim(mut self) -> Big {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
        self
    }
    fn is_zero(&self) -> bool {
        self.0.iter().all(|&l| l == 0)
    }
    fn from_digits(d: &str) -> Big {
        let mut b = Big::default();
        for c in d.bytes() {
            b.mul_add(10, u32::from(c - b'0'));
        }
        b.trim()
    }
    fn mul_add(&mut self, m: u32, a: u32) {
        let mut carry = u64::from(a);
        for l in self.0.iter_mut() {
            let v = u64::from(*l) * u64::from(m) + carry;
            *l = (v % BASE) as u32;
            carry = v / BASE;
        }
        while carry > 0 {
            self.0.push((carry % BASE) as u32);
            carry /= BASE;
        }
    }
    fn pow10(&mut self, n: u32) {
        for _ in 0..n {
            self.mul_add(10, 0);
        }
    }
    /// Divides in place, returning the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for l in self.0.iter_mut().rev() {
            let cur = rem * BASE + u64::from(*l);
            *l = (cur / u64::from(d)) as u32;
            rem = cur % u64::from(d);
        }
        *self = std::mem::take(self).trim();
        rem as u32
    }
    fn rem_small(&self, d: u32) -> u32 {
        self.clone().div_small(d)
    }
    fn rem_u64(&self, d: u64) -> u64 {
        let mut rem = 0u128;
        for l in self.0.iter().rev() {
            rem = (rem * u128::from(BASE) + u128::from(*l)) % u128::from(d);
        }
        rem as u64
    }
    fn add(&self, o: &Big) -> Big {
        let mut out = Vec::new();
        let mut carry = 0u64;
        for i in 0..self.0.len().max(o.0.len()) {
            let v = u64::from(*self.0.get(i).unwrap_or(&0)) + u64::from(*o.0.get(i).unwrap_or(&0)) + carry;
            out.push((v % BASE) as u32);
            carry = v / BASE;
        }
        if carry > 0 {
            out.push(carry as u32);
        }
        Big(out).trim()
    }
    fn cmp_big(&self, o: &Big) -> Ordering {
        let (a, b) = (self.clone().trim(), o.clone().trim());
        a.0.len().cmp(&b.0.len()).then_with(|| a.0.iter().rev().cmp(b.0.iter().rev()))
    }
    fn to_dec(&self) -> String {
        let t = self.clone().trim();
        match t.0.split_last() {
            None => "0".to_string(),
            Some((hi, rest)) => {
                let mut s = hi.to_string();
                rest.iter().rev().for_each(|l| s.push_str(&format!("{l:09}")));
                s
            }
        }
    }
}

/// How a quantity is spelled, chosen by the suffix it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    DecimalSI,
    BinarySI,
    DecimalExponent,
}

/// An exact amount: `(-1)^neg * mant * 10^exp10`.
#[derive(Debug, Clone)]
pub struct Quantity {
    neg: bool,
    mant: Big,
    exp10: i32,
    pub format: Format,
}

fn interpret_suffix(s: &str) -> Option<(u32, i32, Format)> {
    let dec = [("n", -9), ("u", -6), ("m", -3), ("", 0), ("k", 3), ("M", 6), ("G", 9), ("T", 12), ("P", 15), ("E", 18)];
    if let Some((_, e)) = dec.iter().find(|(k, _)| *k == s) {
        return Some((10, *e, Format::DecimalSI));
    }
    let bin = [("Ki", 10), ("Mi", 20), ("Gi", 30), ("Ti", 40), ("Pi", 50), ("Ei", 60)];
    if let Some((_, e)) = bin.iter().find(|(k, _)| *k == s) {
        return Some((2, *e, Format::BinarySI));
    }
    let rest = s.strip_prefix(['e', 'E'])?;
    let e: i64 = rest.parse().ok().filter(|_| !rest.is_empty())?;
    Some((10, i32::try_from(e).ok()?, Format::DecimalExponent))
}

/// Splits `str` into sign, integer digits, fraction digits and suffix like upstream's
/// scanner does.
fn scan(s: &str) -> Result<(bool, &str, &str, &str), &'static str> {
    let b = s.as_bytes();
    let mut pos = 0;
    let mut positive = true;
    if let Some(&c) = b.first() {
        if c == b'-' || c == b'+' {
            positive = c == b'+';
            pos = 1;
        }
    }
    let digits_end = |from: usize| (from..b.len()).find(|&i| !b[i].is_ascii_digit()).unwrap_or(b.len());
    let num_end = digits_end(pos);
    let num = &s[pos..num_end];
    pos = num_end;
    let mut denom = "";
    if pos < b.len() && b[pos] == b'.' {
        let end = digits_end(pos + 1);
        denom = &s[pos + 1..end];
        pos = end;
    }
    let suffix_start = pos;
    while pos < b.len() && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < b.len() && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    if digits_end(pos) != b.len() {
        return Err(ERR_FORMAT);
    }
    Ok((positive, num, denom, &s[suffix_start..]))
}

impl Quantity {
    /// Parses a quantity string, failing with upstream's message.
    pub fn parse(s: &str) -> Result<Quantity, &'static str> {
        if s.is_empty() {
            return Err(ERR_FORMAT);
        }
        let (positive, num, denom, suffix) = scan(s)?;
        let (base, exp, mut format) = interpret_suffix(suffix).ok_or(ERR_SUFFIX)?;
        if exp.abs() > 10_000 || denom.len() > 10_000 {
            return Err(ERR_NUMERIC);
        }
        let mut mant = Big::from_digits(&format!("{num}{denom}"));
        let mut exp10 = -(denom.len() as i32);
        if base == 10 {
            exp10 += exp;
        } else {
            for _ in 0..exp {
                mant.mul_add(2, 0);
            }
        }
        // Round anything finer than a nano-unit up to it, away from zero.
        if exp10 < -9 {
            let mut dropped = false;
            while exp10 < -9 {
                dropped |= mant.div_small(10) != 0;
                exp10 += 1;
            }
            if dropped {
                mant = mant.add(&Big(vec![1]));
            }
        }
        let mut q = Quantity { neg: !positive && !mant.is_zero(), mant, exp10, format };
        if format == Format::BinarySI && !q.mant.is_zero() && q.abs_cmp_int(1) == Ordering::Less {
            format = Format::DecimalSI;
            q.format = format;
        }
        Ok(q)
    }

    /// A quantity from a JSON string or number.
    pub fn from_value(v: &Value) -> Option<Quantity> {
        match v {
            Value::String(s) => Quantity::parse(s).ok(),
            Value::Number(n) => Quantity::parse(&n.to_string()).ok(),
            _ => None,
        }
    }

    pub fn zero() -> Quantity {
        Quantity { neg: false, mant: Big::default(), exp10: 0, format: Format::DecimalSI }
    }

    pub fn is_zero(&self) -> bool {
        self.mant.is_zero()
    }

    pub fn is_negative(&self) -> bool {
        self.neg && !self.mant.is_zero()
    }

    /// Mantissa scaled to a common exponent `e` (which must not exceed `self.exp10`).
    fn scaled(&self, e: i32) -> Big {
        let mut m = self.mant.clone();
        m.pow10((self.exp10 - e) as u32);
        m
    }

    fn abs_cmp(&self, o: &Quantity) -> Ordering {
        let e = self.exp10.min(o.exp10);
        self.scaled(e).cmp_big(&o.scaled(e))
    }

    fn abs_cmp_int(&self, n: u32) -> Ordering {
        self.abs_cmp(&Quantity { neg: false, mant: Big(vec![n]).trim(), exp10: 0, format: Format::DecimalSI })
    }

    /// Compares amounts (`1Gi` > `1000Mi`, `500m` < `1`).
    pub fn cmp_q(&self, o: &Quantity) -> Ordering {
        match (self.is_negative(), o.is_negative()) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.abs_cmp(o),
            (true, true) => o.abs_cmp(self),
        }
    }

    /// The sum of two non-negative quantities, in the format of the first non-zero one.
    pub fn add(&self, o: &Quantity) -> Quantity {
        let e = self.exp10.min(o.exp10);
        let format = if self.is_zero() { o.format } else { self.format };
        Quantity { neg: false, mant: self.scaled(e).add(&o.scaled(e)), exp10: e, format }
    }

    /// Whether the amount is a whole number.
    pub fn is_integer(&self) -> bool {
        if self.exp10 >= 0 || self.mant.is_zero() {
            return true;
        }
        let mut m = self.mant.clone();
        (0..-self.exp10).all(|_| m.div_small(10) == 0)
    }

    /// The whole-number amount, when the amount is whole.
    fn int_value(&self) -> Option<Big> {
        if !self.is_integer() {
            return None;
        }
        let mut m = self.mant.clone();
        if self.exp10 >= 0 {
            m.pow10(self.exp10 as u32);
        } else {
            (0..-self.exp10).for_each(|_| {
                m.div_small(10);
            });
        }
        Some(m)
    }

    /// The amount as a `u64`, when whole, non-negative and small enough.
    pub fn to_u64(&self) -> Option<u64> {
        if self.is_negative() {
            return None;
        }
        let m = self.int_value()?;
        m.0.iter().rev().try_fold(0u64, |acc, l| acc.checked_mul(BASE)?.checked_add(u64::from(*l)))
    }

    /// Whether the amount is a whole multiple of `unit`.
    pub fn is_multiple_of(&self, unit: u64) -> bool {
        unit > 0 && self.int_value().is_some_and(|m| m.rem_u64(unit) == 0)
    }

    /// The canonical spelling upstream's `Quantity.String()` prints.
    pub fn canonical(&self) -> String {
        if self.mant.is_zero() {
            return "0".to_string();
        }
        let sign = if self.neg { "-" } else { "" };
        let binary = self.format == Format::BinarySI && self.abs_cmp_int(1024) != Ordering::Less && self.is_integer();
        if binary {
            let mut m = self.int_value().unwrap_or_default();
            let mut e = 0;
            while e < 6 && m.rem_small(1024) == 0 {
                m.div_small(1024);
                e += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][e];
            return format!("{sign}{}{suffix}", m.to_dec());
        }
        let (mut m, mut e) = (self.mant.clone(), self.exp10);
        while m.rem_small(10) == 0 {
            m.div_small(10);
            e += 1;
        }
        while e.rem_euclid(3) != 0 {
            m.mul_add(10, 0);
            e -= 1;
        }
        format!("{sign}{}{}", m.to_dec(), decimal_suffix(e, self.format))
    }
}

/// Equality by amount: `1Gi == 1024Mi`, `0.5 == 500m`.
impl PartialEq for Quantity {
    fn eq(&self, other: &Quantity) -> bool {
        self.cmp_q(other) == Ordering::Equal
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Quantity) -> Option<Ordering> {
        Some(self.cmp_q(other))
    }
}

impl std::str::FromStr for Quantity {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Quantity, &'static str> {
        Quantity::parse(s)
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.canonical())
    }
}

fn decimal_suffix(e: i32, format: Format) -> String {
    if format != Format::DecimalExponent {
        let si = [(-9, "n"), (-6, "u"), (-3, "m"), (0, ""), (3, "k"), (6, "M"), (9, "G"), (12, "T"), (15, "P"), (18, "E")];
        if let Some((_, s)) = si.iter().find(|(x, _)| *x == e) {
            return s.to_string();
        }
    }
    if e == 0 {
        String::new()
    } else {
        format!("e{e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn compares_across_suffixes() {
        assert_eq!(q("500m").cmp_q(&q("1")), Ordering::Less);
        assert_eq!(q("1Gi").cmp_q(&q("1000Mi")), Ordering::Greater);
        assert_eq!(q("1024Mi").cmp_q(&q("1Gi")), Ordering::Equal);
        assert_eq!(q("0.5").cmp_q(&q("500m")), Ordering::Equal);
        assert_eq!(q("1e3").cmp_q(&q("1k")), Ordering::Equal);
        assert_eq!(q("-1").cmp_q(&q("0")), Ordering::Less);
        assert_eq!(q("1Ei").cmp_q(&q("1E")), Ordering::Greater);
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(Quantity::parse("abc").unwrap_err(), ERR_FORMAT);
        assert_eq!(Quantity::parse("").unwrap_err(), ERR_FORMAT);
        assert_eq!(Quantity::parse("1.2.3").unwrap_err(), ERR_FORMAT);
        assert_eq!(Quantity::parse("1Qi").unwrap_err(), ERR_FORMAT);
        assert_eq!(Quantity::parse("1Ki1").unwrap_err(), ERR_SUFFIX);
        assert_eq!(Quantity::parse("1mi").unwrap_err(), ERR_SUFFIX);
        assert!(Quantity::parse("100Mi").is_ok() && Quantity::parse("+1.5").is_ok() && Quantity::parse("1.").is_ok());
    }

    #[test]
    fn canonical_spelling() {
        assert_eq!(q("0.5").canonical(), "500m");
        assert_eq!(q("1000m").canonical(), "1");
        assert_eq!(q("1024Mi").canonical(), "1Gi");
        assert_eq!(q("1.5Gi").canonical(), "1536Mi");
        assert_eq!(q("12000").canonical(), "12k");
        assert_eq!(q("1500m").canonical(), "1500m");
        assert_eq!(q("12e6").canonical(), "12e6");
        assert_eq!(q("0.5Ki").canonical(), "512");
        assert_eq!(q("-2").canonical(), "-2");
        assert_eq!(q("0").canonical(), "0");
        assert_eq!(q("0.0000000001").canonical(), "1n");
    }

    #[test]
    fn operators() {
        assert!(q("1Gi") == q("1024Mi") && q("500m") < q("1") && q("2") > q("1500m"));
        assert_eq!("1.5Gi".parse::<Quantity>().unwrap().to_string(), "1536Mi");
    }

    #[test]
    fn integers_and_sums() {
        assert!(q("2").is_integer() && !q("1500m").is_integer() && q("2000m").is_integer());
        assert_eq!(q("500m").add(&q("1")).canonical(), "1500m");
        assert!(q("4Mi").is_multiple_of(2 * 1024 * 1024));
        assert!(!q("3Mi").is_multiple_of(2 * 1024 * 1024));
    }
}
