//! Indexes the snapshot keeps so that per-cycle work is proportional to the pods a
//! plugin cares about, not to every pod in the cluster: pods by label and by controller,
//! and per topology key the domains (label values) and which node lies in which.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use crate::labels::{Op, Selector};

/// A fast non-cryptographic hasher (the Fx hash of rustc) for the indexes' string
/// keys, which are hashed on every lookup in the scheduling hot path. Keys come from the
/// cluster's own labels, not from untrusted network input.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(tail) ^ (rest.len() as u64) << 56);
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A HashMap with [`FxHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Where a pod sits in the snapshot: `nodes[node].pods[pod]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodRef {
    pub node: u32,
    pub pod: u32,
}

/// Pods by label key, then value.
#[derive(Debug, Clone, Default)]
pub struct PodLabelIndex {
    by_key: FastMap<String, FastMap<String, Vec<PodRef>>>,
}

impl PodLabelIndex {
    pub fn insert<'a>(&mut self, labels: impl IntoIterator<Item = (&'a String, &'a String)>, at: PodRef) {
        for (k, v) in labels {
            let values = match self.by_key.get_mut(k.as_str()) {
                Some(values) => values,
                None => self.by_key.entry(k.clone()).or_default(),
            };
            match values.get_mut(v.as_str()) {
                Some(refs) => refs.push(at),
                None => {
                    values.insert(v.clone(), vec![at]);
                }
            }
        }
    }

    /// The smallest candidate list an indexable requirement of the selector yields:
    /// every pod the selector can match is in it. `None` when no requirement narrows the
    /// search (then all pods are candidates).
    pub fn candidates(&self, sel: &Selector) -> Option<Vec<&[PodRef]>> {
        let mut best: Option<(usize, Vec<&[PodRef]>)> = None;
        for r in sel.indexable() {
            let lists: Vec<&[PodRef]> = match (self.by_key.get(r.key.as_str()), r.op) {
                (None, _) => Vec::new(),
                (Some(values), Op::In) => r.values.iter().filter_map(|v| values.get(v.as_str())).map(Vec::as_slice).collect(),
                (Some(values), _) => values.values().map(Vec::as_slice).collect(),
            };
            let size = lists.iter().map(|l| l.len()).sum();
            if best.as_ref().is_none_or(|(s, _)| size < *s) {
                best = Some((size, lists));
            }
        }
        best.map(|(_, lists)| lists)
    }
}

/// Node index meaning "this node has no value for the key".
const NONE: u32 = u32::MAX;

/// The domains of one topology key: its distinct node label values, and each node's.
pub struct TopologyDomains {
    pub key: String,
    pub values: Vec<String>,
    by_value: FastMap<String, u32>,
    node_value: Vec<u32>,
}

impl TopologyDomains {
    pub fn build<'a>(key: &str, node_labels: impl Iterator<Item = Option<&'a String>>) -> TopologyDomains {
        let mut d =
            TopologyDomains { key: key.to_string(), values: Vec::new(), by_value: FastMap::default(), node_value: Vec::new() };
        for value in node_labels {
            let idx = match value {
                None => NONE,
                Some(v) => match d.by_value.get(v.as_str()) {
                    Some(&i) => i,
                    None => {
                        let i = d.values.len() as u32;
                        d.values.push(v.clone());
                        d.by_value.insert(v.clone(), i);
                        i
                    }
                },
            };
            d.node_value.push(idx);
        }
        d
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn value_index(&self, value: &str) -> Option<usize> {
        self.by_value.get(value).map(|&i| i as usize)
    }

    /// The domain of a node, by its labels.
    pub fn of_labels(&self, labels: Option<&std::collections::BTreeMap<String, String>>) -> Option<usize> {
        labels.and_then(|l| l.get(&self.key)).and_then(|v| self.value_index(v))
    }

    /// The domain of the node at this snapshot position.
    pub fn of_node(&self, node: usize) -> Option<usize> {
        self.node_value.get(node).filter(|&&i| i != NONE).map(|&i| i as usize)
    }
}

impl fmt::Debug for TopologyDomains {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TopologyDomains").field("key", &self.key).field("values", &self.values.len()).finish()
    }
}

/// Topology domains built on first use per key (node labels never change within a
/// snapshot, and most keys are never asked for).
#[derive(Default)]
pub struct TopologyCache(Mutex<HashMap<String, Arc<TopologyDomains>>>);

impl TopologyCache {
    pub fn get_or_build(&self, key: &str, build: impl FnOnce() -> TopologyDomains) -> Arc<TopologyDomains> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = map.get(key) {
            return d.clone();
        }
        let d = Arc::new(build());
        map.insert(key.to_string(), d.clone());
        d
    }
}

impl Clone for TopologyCache {
    fn clone(&self) -> Self {
        TopologyCache(Mutex::new(self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()))
    }
}

impl fmt::Debug for TopologyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TopologyCache")
    }
}
