//! Cron schedules as robfig/cron's standard parser accepts them (five fields or a
//! descriptor, optionally prefixed with `TZ=`/`CRON_TZ=`), with its error messages.

struct Bounds {
    min: u32,
    max: u32,
    names: &'static [(&'static str, u32)],
}

const MONTHS: &[(&str, u32)] = &[
    ("jan", 1), ("feb", 2), ("mar", 3), ("apr", 4), ("may", 5), ("jun", 6), ("jul", 7), ("aug", 8), ("sep", 9),
    ("oct", 10), ("nov", 11), ("dec", 12),
];
const DAYS: &[(&str, u32)] = &[("sun", 0), ("mon", 1), ("tue", 2), ("wed", 3), ("thu", 4), ("fri", 5), ("sat", 6)];

const FIELDS: [Bounds; 5] = [
    Bounds { min: 0, max: 59, names: &[] },
    Bounds { min: 0, max: 23, names: &[] },
    Bounds { min: 1, max: 31, names: &[] },
    Bounds { min: 1, max: 12, names: MONTHS },
    Bounds { min: 0, max: 6, names: DAYS },
];

const DESCRIPTORS: &[&str] = &["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];

/// Go's `strconv.Atoi` failure text.
fn atoi(expr: &str) -> Result<u32, String> {
    let n: i64 = expr.parse().map_err(|_| format!("failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: invalid syntax"))?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    u32::try_from(n).map_err(|_| format!("failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: value out of range"))
}

fn int_or_name(expr: &str, b: &Bounds) -> Result<u32, String> {
    let lower = expr.to_lowercase();
    match b.names.iter().find(|(n, _)| *n == lower) {
        Some((_, v)) => Ok(*v),
        None => atoi(expr),
    }
}

fn check_range(expr: &str, b: &Bounds) -> Result<(), String> {
    let parts: Vec<&str> = expr.split('/').collect();
    let lh: Vec<&str> = parts[0].split('-').collect();
    let (start, mut end) = if lh[0] == "*" || lh[0] == "?" {
        (b.min, b.max)
    } else {
        let start = int_or_name(lh[0], b)?;
        match lh.len() {
            1 => (start, start),
            2 => (start, int_or_name(lh[1], b)?),
            _ => return Err(format!("too many hyphens: {expr}")),
        }
    };
    let step = match parts.len() {
        1 => 1,
        2 => {
            let step = atoi(parts[1])?;
            if lh.len() == 1 && lh[0] != "*" && lh[0] != "?" {
                end = b.max;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!("beginning of range ({start}) below minimum ({}): {expr}", b.min));
    }
    if end > b.max {
        return Err(format!("end of range ({end}) above maximum ({}): {expr}", b.max));
    }
    if start > end {
        return Err(format!("beginning of range ({start}) beyond end of range ({end}): {expr}"));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

fn parse_duration(d: &str) -> bool {
    let mut rest = d;
    if rest.is_empty() {
        return false;
    }
    if rest == "0" {
        return true;
    }
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        if num_len == 0 {
            return false;
        }
        rest = &rest[num_len..];
        let unit = ["ns", "us", "µs", "ms", "h", "m", "s"].iter().find(|u| rest.starts_with(**u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

/// Parses a schedule, returning robfig/cron's error text on failure.
pub fn parse_standard(spec: &str) -> Result<(), String> {
    if spec.is_empty() {
        return Err("empty spec string".to_string());
    }
    let mut spec = spec;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let i = spec.find(' ').unwrap_or(spec.len());
        spec = spec[i..].trim();
    }
    if spec.starts_with('@') {
        if let Some(d) = spec.strip_prefix("@every ") {
            return if parse_duration(d.trim()) {
                Ok(())
            } else {
                Err(format!("failed to parse duration {spec}: time: invalid duration {:?}", d.trim()))
            };
        }
        return if DESCRIPTORS.contains(&spec) { Ok(()) } else { Err(format!("unrecognized descriptor: {spec}")) };
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("expected exactly 5 fields, found {}: [{}]", fields.len(), fields.join(" ")));
    }
    for (f, b) in fields.iter().zip(FIELDS.iter()) {
        for expr in f.split(',') {
            check_range(expr, b)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_standard_schedules() {
        for s in ["* * * * *", "*/5 0-6 1,15 jan-mar MON-FRI", "@hourly", "@every 1h30m", "CRON_TZ=UTC 0 0 * * *", "5/10 * * * ?"] {
            assert_eq!(parse_standard(s), Ok(()), "{s}");
        }
    }

    #[test]
    fn reports_robfig_errors() {
        assert_eq!(parse_standard("foo"), Err("expected exactly 5 fields, found 1: [foo]".to_string()));
        assert_eq!(parse_standard("60 * * * *"), Err("end of range (60) above maximum (59): 60".to_string()));
        assert_eq!(parse_standard("x * * * *"), Err("failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax".to_string()));
        assert_eq!(parse_standard("@fortnightly"), Err("unrecognized descriptor: @fortnightly".to_string()));
        assert_eq!(parse_standard("5-1 * * * *"), Err("beginning of range (5) beyond end of range (1): 5-1".to_string()));
        assert_eq!(parse_standard("* * 0 * *"), Err("beginning of range (0) below minimum (1): 0".to_string()));
    }
}
