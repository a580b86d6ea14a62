//! Roles compiled for fast matching: the plain rules of a role (no wildcards, names or
//! URLs, which are most rules) become one hash table from (group, resource,
//! subresource) to a bit set of verbs, with strings interned once per policy; the
//! request's strings are looked up once, so each binding a request visits costs one
//! integer hash probe instead of string comparisons over every rule.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::rules::PolicyRule;
use super::Attributes;

/// A small multiplicative hasher for integer keys (the keys are ours, not a client's).
#[derive(Default, Clone, Copy)]
pub(super) struct IntHasher(u64);

impl Hasher for IntHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(*b as u64);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type IntMap<V> = HashMap<u64, V, BuildHasherDefault<IntHasher>>;

const SYM_BITS: u32 = 21;
const EMPTY: u64 = 0;

/// Interned strings: groups, resources and subresources named by any role.
pub(super) struct Interner {
    map: HashMap<String, u64>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut map = HashMap::new();
        map.insert(String::new(), EMPTY);
        Interner { map }
    }
}

impl Interner {
    fn intern(&mut self, s: &str) -> Option<u64> {
        let next = self.map.len() as u64;
        let sym = *self.map.entry(s.to_string()).or_insert(next);
        (sym < 1 << SYM_BITS).then_some(sym)
    }

    fn get(&self, s: &str) -> Option<u64> {
        self.map.get(s).copied()
    }
}

fn key(group: u64, resource: u64, sub: u64) -> u64 {
    (group << (2 * SYM_BITS)) | (resource << SYM_BITS) | sub
}

/// The verbs with a bit; rules naming others are matched the slow way.
fn verb_bit(verb: &str) -> Option<u64> {
    let i = match verb {
        "get" => 0,
        "list" => 1,
        "watch" => 2,
        "create" => 3,
        "update" => 4,
        "patch" => 5,
        "delete" => 6,
        "deletecollection" => 7,
        "escalate" => 8,
        "bind" => 9,
        "impersonate" => 10,
        "proxy" => 11,
        "approve" => 12,
        "sign" => 13,
        "use" => 14,
        "*" => return Some(u64::MAX),
        _ => return None,
    };
    Some(1 << i)
}

/// A request with its strings looked up in a policy's interner.
pub(super) struct Prepared<'a> {
    pub attrs: &'a Attributes,
    /// The (group, resource, subresource) key, when every part is interned.
    key: Option<u64>,
    verb: Option<u64>,
}

impl<'a> Prepared<'a> {
    pub fn new(attrs: &'a Attributes, syms: &Interner) -> Prepared<'a> {
        let key = if attrs.resource_request {
            let sub = if attrs.subresource.is_empty() { Some(EMPTY) } else { syms.get(&attrs.subresource) };
            match (syms.get(&attrs.api_group), syms.get(&attrs.resource), sub) {
                (Some(g), Some(r), Some(s)) => Some(key(g, r, s)),
                _ => None,
            }
        } else {
            None
        };
        let verb = verb_bit(&attrs.verb).filter(|b| *b != u64::MAX);
        Prepared { attrs, key, verb }
    }
}

/// A role's rules, compiled.
pub(super) struct CompiledRules {
    pub rules: Vec<PolicyRule>,
    /// Verbs by (group, resource, subresource), from plain rules.
    exact: IntMap<u64>,
    /// Everything else, matched rule by rule.
    other: Vec<PolicyRule>,
}

impl CompiledRules {
    pub fn new(rules: Vec<PolicyRule>, syms: &mut Interner) -> CompiledRules {
        let mut exact: IntMap<u64> = IntMap::default();
        let mut other = Vec::new();
        for rule in &rules {
            match plain_keys(rule, syms) {
                Some((keys, verbs)) => {
                    for k in keys {
                        *exact.entry(k).or_default() |= verbs;
                    }
                }
                None => other.push(rule.clone()),
            }
        }
        CompiledRules { rules, exact, other }
    }

    pub fn allows(&self, req: &Prepared) -> bool {
        if let (Some(k), Some(v)) = (req.key, req.verb) {
            if self.exact.get(&k).is_some_and(|verbs| verbs & v != 0) {
                return true;
            }
        }
        // Without a verb bit the exact table cannot answer; fall back to the rules.
        if req.verb.is_none() && req.attrs.resource_request && self.rules.iter().any(|r| r.allows(req.attrs)) {
            return true;
        }
        self.other.iter().any(|r| r.allows(req.attrs))
    }
}

/// The table keys and verb bits of a plain rule, or None when it needs rule matching.
fn plain_keys(rule: &PolicyRule, syms: &mut Interner) -> Option<(Vec<u64>, u64)> {
    if !rule.resource_names.is_empty() || !rule.non_resource_urls.is_empty() || rule.resources.is_empty() {
        return None;
    }
    let mut verbs = 0;
    for v in &rule.verbs {
        verbs |= verb_bit(v)?;
    }
    let mut keys = Vec::new();
    for g in &rule.api_groups {
        if g == "*" {
            return None;
        }
        let g = syms.intern(g)?;
        for r in &rule.resources {
            let (res, sub) = r.split_once('/').unwrap_or((r, ""));
            if res == "*" || r == "*" {
                return None;
            }
            keys.push(key(g, syms.intern(res)?, syms.intern(sub)?));
        }
    }
    Some((keys, verbs))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compiled form decides exactly as the rules do, over a grid of rules and requests.
    #[test]
    fn compiled_matching_equals_rule_matching() {
        let rules = [
            PolicyRule::resource("get,list", "", "pods,pods/log"),
            PolicyRule::resource("*", "apps", "deployments"),
            PolicyRule::resource("update", "*", "*/scale"),
            PolicyRule::resource("get", "", "secrets").names("a"),
            PolicyRule::resource("frobnicate", "example.com", "widgets"),
            PolicyRule::resource("delete", "batch", "*"),
            PolicyRule::urls("get", "/healthz,/api/*"),
        ];
        let verbs = ["get", "list", "update", "delete", "frobnicate", "watch", "*"];
        let targets = [
            ("", "pods", ""), ("", "pods", "log"), ("", "pods", "status"), ("apps", "deployments", ""),
            ("apps", "deployments", "scale"), ("", "secrets", ""), ("example.com", "widgets", ""),
            ("batch", "jobs", ""), ("unknown.io", "things", ""), ("", "nodes", "proxy"),
        ];
        for split in 0..=rules.len() {
            let subset = rules[..split].to_vec();
            let mut syms = Interner::default();
            let compiled = CompiledRules::new(subset.clone(), &mut syms);
            for verb in verbs {
                for (g, r, s) in targets {
                    for name in ["", "a", "b"] {
                        let a = Attributes {
                            verb: verb.into(), resource_request: true, api_group: g.into(), resource: r.into(),
                            subresource: s.into(), name: name.into(), ..Default::default()
                        };
                        let want = subset.iter().any(|x| x.allows(&a));
                        assert_eq!(compiled.allows(&Prepared::new(&a, &syms)), want, "{verb} {g}/{r}/{s} {name} with {split} rules");
                    }
                }
                for path in ["/healthz", "/api/v1", "/apis"] {
                    let a = Attributes { verb: verb.into(), path: path.into(), ..Default::default() };
                    let want = subset.iter().any(|x| x.allows(&a));
                    assert_eq!(compiled.allows(&Prepared::new(&a, &syms)), want, "{verb} {path}");
                }
            }
        }
    }
}
