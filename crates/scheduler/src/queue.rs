//! The scheduling queue (upstream `PriorityQueue`, reduced to what the shell needs):
//! pods waiting for a node, kept in scheduling order as they arrive and leave, so a
//! scheduling pass takes the next pod without gathering and sorting every pending pod.
//!
//! The order is upstream's `PrioritySort`: higher `spec.priority` first, then older
//! pods (creation time, whole seconds as stored), then uid so the order is total. Pods
//! that fit nowhere are parked as unschedulable until [`SchedulingQueue::flush_unschedulable`]
//! (the shell calls it when the cluster changes and periodically).

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use crate::snapshot::pod_priority;

/// A pod's uid, shared between the shell's maps and the queue.
pub type Uid = Arc<str>;

/// Where a pod sorts in the queue.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueKey {
    priority: Reverse<i32>,
    created: Option<i64>,
    uid: Uid,
}

impl QueueKey {
    pub fn of(pod: &Pod, uid: Uid) -> QueueKey {
        let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0.as_second());
        QueueKey { priority: Reverse(pod_priority(pod)), created, uid }
    }

    pub fn uid(&self) -> &Uid {
        &self.uid
    }
}

/// Pods waiting to be scheduled: the active ones in order, the unschedulable ones aside.
#[derive(Debug, Default)]
pub struct SchedulingQueue {
    active: BTreeSet<QueueKey>,
    /// The key of every pod in `active`, by uid.
    active_keys: HashMap<Uid, QueueKey>,
    unschedulable: HashMap<Uid, QueueKey>,
}

impl SchedulingQueue {
    /// Adds a pod or updates its place. A pod parked as unschedulable stays parked (an
    /// update, such as the scheduler's own PodScheduled=False, does not make it fit).
    pub fn add(&mut self, pod: &Pod, uid: &Uid) {
        let key = QueueKey::of(pod, uid.clone());
        if let Some(parked) = self.unschedulable.get_mut(uid) {
            *parked = key;
            return;
        }
        if let Some(old) = self.active_keys.get(uid) {
            if *old == key {
                return;
            }
            self.active.remove(old);
        }
        self.active.insert(key.clone());
        self.active_keys.insert(uid.clone(), key);
    }

    /// Parks a pod that fits nowhere until the next flush.
    pub fn park(&mut self, pod: &Pod, uid: &Uid) {
        self.remove(uid);
        self.unschedulable.insert(uid.clone(), QueueKey::of(pod, uid.clone()));
    }

    /// Forgets a pod (bound, deleted or no longer ours to schedule).
    pub fn remove(&mut self, uid: &str) {
        if let Some(key) = self.active_keys.remove(uid) {
            self.active.remove(&key);
        }
        self.unschedulable.remove(uid);
    }

    /// Takes the next pod to schedule.
    pub fn pop(&mut self) -> Option<Uid> {
        let key = self.active.pop_first()?;
        self.active_keys.remove(&key.uid);
        Some(key.uid)
    }

    /// Makes every unschedulable pod active again.
    pub fn flush_unschedulable(&mut self) {
        for (uid, key) in self.unschedulable.drain() {
            self.active.insert(key.clone());
            self.active_keys.insert(uid, key);
        }
    }

    pub fn active_len(&self) -> usize {
        self.active.len()
    }

    pub fn unschedulable_len(&self) -> usize {
        self.unschedulable.len()
    }

    pub fn contains(&self, uid: &str) -> bool {
        self.active_keys.contains_key(uid) || self.unschedulable.contains_key(uid)
    }

    pub fn clear(&mut self) {
        *self = SchedulingQueue::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::pod;

    fn p(name: &str, priority: i32, created: &str) -> (Pod, Uid) {
        let mut pod = pod(name).priority(priority).build();
        pod.metadata.creation_timestamp = Some(serde_json::from_value(serde_json::json!(created)).unwrap());
        pod.metadata.uid = Some(format!("uid-{name}"));
        let uid: Uid = format!("uid-{name}").into();
        (pod, uid)
    }

    fn drain(q: &mut SchedulingQueue) -> Vec<String> {
        std::iter::from_fn(|| q.pop()).map(|u| u.trim_start_matches("uid-").to_string()).collect()
    }

    #[test]
    fn orders_by_priority_then_age_then_uid() {
        let mut q = SchedulingQueue::default();
        for (name, prio, t) in [
            ("young", 0, "2025-01-01T00:00:09Z"),
            ("b-old", 0, "2025-01-01T00:00:01Z"),
            ("a-old", 0, "2025-01-01T00:00:01Z"),
            ("urgent", 100, "2025-01-01T00:00:30Z"),
            ("low", -5, "2025-01-01T00:00:00Z"),
        ] {
            let (pod, uid) = p(name, prio, t);
            q.add(&pod, &uid);
        }
        assert_eq!(q.active_len(), 5);
        assert_eq!(drain(&mut q), ["urgent", "a-old", "b-old", "young", "low"]);
        assert_eq!(q.active_len(), 0);
    }

    #[test]
    fn updates_move_and_removals_forget() {
        let mut q = SchedulingQueue::default();
        let (a, ua) = p("a", 0, "2025-01-01T00:00:01Z");
        let (b, ub) = p("b", 0, "2025-01-01T00:00:02Z");
        q.add(&a, &ua);
        q.add(&b, &ub);
        q.add(&b, &ub);
        assert_eq!(q.active_len(), 2);
        // A priority change moves the pod ahead.
        let (b2, _) = p("b", 10, "2025-01-01T00:00:02Z");
        q.add(&b2, &ub);
        assert_eq!(q.active_len(), 2);
        q.remove("uid-a");
        assert!(!q.contains("uid-a"));
        q.add(&a, &ua);
        assert_eq!(drain(&mut q), ["b", "a"]);
    }

    #[test]
    fn unschedulable_pods_wait_for_a_flush() {
        let mut q = SchedulingQueue::default();
        let (a, ua) = p("a", 0, "2025-01-01T00:00:01Z");
        let (b, ub) = p("b", 0, "2025-01-01T00:00:02Z");
        let (c, uc) = p("c", 0, "2025-01-01T00:00:03Z");
        for (pod, uid) in [(&a, &ua), (&b, &ub), (&c, &uc)] {
            q.add(pod, uid);
        }
        assert_eq!(q.pop().as_deref(), Some("uid-a"));
        q.park(&a, &ua);
        // Updates of a parked pod leave it parked.
        q.add(&a, &ua);
        assert_eq!(q.unschedulable_len(), 1);
        assert_eq!(drain(&mut q), ["b", "c"]);
        q.flush_unschedulable();
        assert_eq!(q.unschedulable_len(), 0);
        q.add(&c, &uc);
        assert_eq!(drain(&mut q), ["a", "c"]);
        // Removing a parked pod forgets it.
        q.park(&b, &ub);
        q.remove("uid-b");
        q.flush_unschedulable();
        assert_eq!(q.pop(), None);
    }
}
