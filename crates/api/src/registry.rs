//! The resource registry: every built-in resource the API server serves, with the
//! discovery facts upstream reports for it. Handlers are generic; kinds differ only in
//! their `ResourceDef` and strategy.

/// A subresource such as `status` or `scale`.
#[derive(Debug, Clone, Copy)]
pub struct SubresourceDef {
    pub name: &'static str,
    /// Group, version and kind of the object the subresource speaks (e.g. autoscaling/v1 Scale).
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

/// One resource in one group/version, as discovery lists it.
#[derive(Debug, Clone, Copy)]
pub struct ResourceDef {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub verbs: &'static [&'static str],
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: &'static [SubresourceDef],
    /// The storage prefix under `/registry/`; versions and groups that share objects
    /// (events in core and events.k8s.io, HPAs in autoscaling v1 and v2) share it.
    pub storage: &'static str,
}

impl ResourceDef {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The resource as upstream names it in messages: `deployments.apps`, or `pods`.
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    pub fn subresource(&self, name: &str) -> Option<&'static SubresourceDef> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// The storage key of an object: `/registry/<storage>/<namespace>/<name>`, or without
    /// the namespace for cluster-scoped resources.
    pub fn key(&self, namespace: &str, name: &str) -> String {
        if self.namespaced {
            format!("/registry/{}/{}/{}", self.storage, namespace, name)
        } else {
            format!("/registry/{}/{}", self.storage, name)
        }
    }

    /// The key prefix of all objects (in `namespace` when given).
    pub fn prefix(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!("/registry/{}/{}/", self.storage, ns),
            _ => format!("/registry/{}/", self.storage),
        }
    }
}

/// The resource served at group/version/plural.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
    crate::registry_data::RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource for a kind in a group/version.
pub fn find_kind(group: &str, version: &str, kind: &str) -> Option<&'static ResourceDef> {
    crate::registry_data::RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.kind == kind)
}

/// Every resource whose objects live under a storage prefix, e.g. both Event resources.
pub fn by_storage(storage: &str) -> impl Iterator<Item = &'static ResourceDef> + '_ {
    crate::registry_data::RESOURCES.iter().filter(move |r| r.storage == storage)
}

/// All resources served in a group/version.
pub fn in_group_version<'a>(group: &'a str, version: &'a str) -> impl Iterator<Item = &'static ResourceDef> + 'a {
    crate::registry_data::RESOURCES.iter().filter(move |r| r.group == group && r.version == version)
}
