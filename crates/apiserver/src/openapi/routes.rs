//! The operations kube-apiserver's OpenAPI documents describe, derived from the resource
//! registry: one [`Route`] (path) per collection, object, subresource and watch path of
//! every resource, with the operations, parameters, bodies and responses upstream's
//! installer generates for them (`staging/src/k8s.io/apiserver/pkg/endpoints/installer.go`).
//! The v3 and v2 renderers turn these into their document shapes.

use api::registry::{ResourceDef, SubresourceDef};
use api::registry_data::RESOURCES;
use api::schema::extensions::list_name;
use api::schema::schemas;

use super::params::{self, Param};

pub const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";

/// Response media types of object operations.
pub const OBJECT_TYPES: &[&str] = &["application/json", "application/vnd.kubernetes.protobuf", "application/yaml"];
/// Response media types of list and watch operations.
pub const STREAM_TYPES: &[&str] = &[
    "application/json",
    "application/json;stream=watch",
    "application/vnd.kubernetes.protobuf",
    "application/vnd.kubernetes.protobuf;stream=watch",
    "application/yaml",
];
pub const LOG_TYPES: &[&str] = &["application/json", "application/vnd.kubernetes.protobuf", "application/yaml", "text/plain"];
pub const ANY_TYPE: &[&str] = &["*/*"];
pub const JSON_TYPE: &[&str] = &["application/json"];
/// Request media types of patch operations.
pub const PATCH_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

/// What an operation's response (or request) body is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schema {
    /// A definition, by name.
    Def(String),
    /// A plain string (logs, connect).
    String,
}

/// A request body.
#[derive(Debug, Clone)]
pub struct Body {
    pub schema: Schema,
    pub required: bool,
    pub media_types: &'static [&'static str],
}

#[derive(Debug, Clone)]
pub struct Operation {
    /// `get`, `put`, `post`, `patch`, `delete`.
    pub method: &'static str,
    pub id: String,
    pub description: String,
    /// `x-kubernetes-action`.
    pub action: &'static str,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    /// Status codes with their descriptions and whether they carry the response schema.
    pub responses: Vec<(u16, &'static str)>,
    pub response: Option<Schema>,
    pub produces: &'static [&'static str],
    /// `x-kubernetes-group-version-kind`, if any.
    pub gvk: Option<(String, String, String)>,
    pub tag: String,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub path: String,
    pub params: Vec<Param>,
    pub operations: Vec<Operation>,
}

/// `Apps`, `RbacAuthorization`, `FlowcontrolApiserver`, `Core`.
pub fn group_camel(group: &str) -> String {
    if group.is_empty() {
        return "Core".into();
    }
    group.trim_end_matches(".k8s.io").split('.').map(capitalize).collect()
}

pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The tag of a group (`apps`, `rbacAuthorization`, `core`).
pub fn group_tag(group: &str) -> String {
    lower_first(&group_camel(group))
}

/// The tag of a group version (`apps_v1`, `core_v1`).
pub fn tag(group: &str, version: &str) -> String {
    format!("{}_{version}", group_tag(group))
}

/// The article upstream puts before a kind (`a Deployment`, `an Event`, `Endpoints`).
fn article(kind: &str) -> &'static str {
    if !kind.ends_with("ss") && kind.ends_with('s') {
        return "";
    }
    match kind.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an ",
        _ => "a ",
    }
}

/// The prefix of a group version's paths: `/api/v1`, `/apis/apps/v1`.
pub fn prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

fn def_of(group: &str, version: &str, kind: &str) -> Option<Schema> {
    schemas().root(group, version, kind).map(|n| Schema::Def(n.to_string()))
}

fn meta(name: &str) -> Schema {
    Schema::Def(format!("{META}.{name}"))
}

struct Ctx<'a> {
    r: &'a ResourceDef,
    /// `AppsV1`.
    gv: String,
    /// `Namespaced` or empty.
    ns: &'static str,
    tag: String,
    gvk: (String, String, String),
}

impl Ctx<'_> {
    fn op(&self, method: &'static str, id: String, description: String, action: &'static str) -> Operation {
        Operation {
            method,
            id,
            description,
            action,
            params: Vec::new(),
            body: None,
            responses: vec![(200, "OK"), (401, "Unauthorized")],
            response: None,
            produces: OBJECT_TYPES,
            gvk: Some(self.gvk.clone()),
            tag: self.tag.clone(),
        }
    }
}

fn sorted(mut params: Vec<Param>) -> Vec<Param> {
    params.sort_by(|a, b| a.name.cmp(b.name));
    params
}

fn create_op(ctx: &Ctx, id: String, description: String, schema: Option<Schema>, gvk: (String, String, String)) -> Operation {
    let mut op = ctx.op("post", id, description, "post");
    op.params = params::create();
    op.body = schema.clone().map(|s| Body { schema: s, required: true, media_types: ANY_TYPE });
    op.responses = vec![(200, "OK"), (201, "Created"), (202, "Accepted"), (401, "Unauthorized")];
    op.response = schema;
    op.gvk = Some(gvk);
    op
}

fn read_replace_patch(ctx: &Ctx, verbs: &[&str], suffix: &str, what: &str, schema: Option<Schema>, gvk: (String, String, String)) -> Vec<Operation> {
    let (gv, ns, kind) = (&ctx.gv, ctx.ns, ctx.r.kind);
    let mut ops = Vec::new();
    if verbs.contains(&"get") {
        let mut op = ctx.op("get", format!("read{gv}{ns}{kind}{suffix}"), format!("read {what}the specified {kind}"), "get");
        op.response = schema.clone();
        op.gvk = Some(gvk.clone());
        ops.push(op);
    }
    if verbs.contains(&"patch") {
        let mut op = ctx.op("patch", format!("patch{gv}{ns}{kind}{suffix}"), format!("partially update {what}the specified {kind}"), "patch");
        op.params = params::patch();
        op.body = Some(Body { schema: meta("Patch"), required: true, media_types: PATCH_TYPES });
        op.responses = vec![(200, "OK"), (201, "Created"), (401, "Unauthorized")];
        op.response = schema.clone();
        op.gvk = Some(gvk.clone());
        ops.push(op);
    }
    if verbs.contains(&"update") {
        let mut op = ctx.op("put", format!("replace{gv}{ns}{kind}{suffix}"), format!("replace {what}the specified {kind}"), "put");
        op.params = params::update();
        op.body = schema.clone().map(|s| Body { schema: s, required: true, media_types: ANY_TYPE });
        op.responses = vec![(200, "OK"), (201, "Created"), (401, "Unauthorized")];
        op.response = schema.clone();
        op.gvk = Some(gvk);
        ops.push(op);
    }
    ops
}

fn sub_routes(ctx: &Ctx, item_path: &str, item_params: &[Param], sub: &SubresourceDef, out: &mut Vec<Route>) {
    let r = ctx.r;
    let (gv, ns, kind) = (&ctx.gv, ctx.ns, r.kind);
    let suffix = capitalize(sub.name);
    let path = format!("{item_path}/{}", sub.name);
    let gvk = (sub.group.to_string(), sub.version.to_string(), sub.kind.to_string());
    let schema = def_of(sub.group, sub.version, sub.kind);
    let with_pretty = |extra: Vec<Param>| {
        let mut p = item_params.to_vec();
        p.push(params::pretty());
        p.extend(extra);
        sorted(p)
    };
    match sub.name {
        "log" => {
            let mut op = ctx.op("get", format!("read{gv}{ns}{kind}Log"), format!("read log of the specified {kind}"), "get");
            op.response = Some(Schema::String);
            op.produces = LOG_TYPES;
            let mut p = item_params.to_vec();
            p.extend(params::pod_log());
            out.push(Route { path, params: sorted(p), operations: vec![op] });
        }
        "attach" | "exec" | "portforward" | "proxy" => {
            let methods: Vec<(&str, &'static str, &str)> = [
                ("delete", "delete", "Delete"),
                ("get", "get", "Get"),
                ("patch", "patch", "Patch"),
                ("create", "post", "Post"),
                ("update", "put", "Put"),
            ]
            .into_iter()
            .filter(|(verb, _, _)| sub.verbs.contains(verb))
            .collect();
            let connect_ops = |with_path: bool| -> Vec<Operation> {
                methods
                    .iter()
                    .map(|(_, method, camel)| {
                        let id = format!("connect{gv}{camel}{ns}{kind}{suffix}{}", if with_path { "WithPath" } else { "" });
                        let desc = format!("connect {} requests to {} of {kind}", camel.to_uppercase(), sub.name);
                        let mut op = ctx.op(method, id, desc, "connect");
                        op.response = Some(Schema::String);
                        op.produces = ANY_TYPE;
                        op.gvk = Some(gvk.clone());
                        op
                    })
                    .collect()
            };
            let mut p = item_params.to_vec();
            p.extend(params::connect(sub.name));
            out.push(Route { path: path.clone(), params: sorted(p), operations: connect_ops(false) });
            if sub.name == "proxy" {
                let mut p = item_params.to_vec();
                p.push(params::path_path());
                out.push(Route { path: format!("{path}/{{path}}"), params: sorted(p), operations: connect_ops(true) });
            }
        }
        _ if sub.verbs == ["create"] => {
            let desc = format!("create {} of {}{kind}", sub.name, article(kind));
            let op = create_op(ctx, format!("create{gv}{ns}{kind}{suffix}"), desc, schema, gvk);
            out.push(Route { path, params: with_pretty(Vec::new()), operations: vec![op] });
        }
        _ => {
            let what = format!("{} of ", sub.name);
            let ops = read_replace_patch(ctx, sub.verbs, &suffix, &what, schema, gvk);
            if !ops.is_empty() {
                out.push(Route { path, params: with_pretty(Vec::new()), operations: ops });
            }
        }
    }
}

fn resource_routes(r: &ResourceDef, out: &mut Vec<Route>) {
    let gv = format!("{}{}", group_camel(r.group), capitalize(r.version));
    let ctx = Ctx {
        r,
        gv: gv.clone(),
        ns: if r.namespaced { "Namespaced" } else { "" },
        tag: tag(r.group, r.version),
        gvk: (r.group.to_string(), r.version.to_string(), r.kind.to_string()),
    };
    let (ns, kind, art) = (ctx.ns, r.kind, article(r.kind));
    let base = prefix(r.group, r.version);
    let scope = if r.namespaced { "/namespaces/{namespace}" } else { "" };
    let scope_params: Vec<Param> = if r.namespaced { vec![params::namespace()] } else { Vec::new() };
    let object = def_of(r.group, r.version, r.kind);
    let list = list_name(r.group, r.version, r.kind).map(Schema::Def);

    // The collection: list, create, deletecollection.
    let collection = format!("{base}{scope}/{}", r.plural);
    let mut ops = Vec::new();
    if r.has_verb("deletecollection") {
        let mut op = ctx.op("delete", format!("delete{gv}Collection{ns}{kind}"), format!("delete collection of {kind}"), "deletecollection");
        op.params = params::delete_collection();
        op.body = Some(Body { schema: meta("DeleteOptions"), required: false, media_types: ANY_TYPE });
        op.response = Some(meta("Status"));
        ops.push(op);
    }
    if r.has_verb("list") {
        let mut op = ctx.op("get", format!("list{gv}{ns}{kind}"), format!("list or watch objects of kind {kind}"), "list");
        op.params = params::list();
        op.response = list.clone();
        op.produces = STREAM_TYPES;
        ops.push(op);
    }
    if r.has_verb("create") {
        ops.push(create_op(&ctx, format!("create{gv}{ns}{kind}"), format!("create {art}{kind}"), object.clone(), ctx.gvk.clone()));
    }
    if !ops.is_empty() {
        let mut p = scope_params.clone();
        p.push(params::pretty());
        out.push(Route { path: collection.clone(), params: sorted(p), operations: ops });
    }

    // The object: read, replace, patch, delete.
    let item = format!("{collection}/{{name}}");
    let mut item_params = vec![params::name(kind)];
    item_params.extend(scope_params.clone());
    let mut ops = Vec::new();
    if r.has_verb("delete") {
        let mut op = ctx.op("delete", format!("delete{gv}{ns}{kind}"), format!("delete {art}{kind}"), "delete");
        op.params = params::delete();
        op.body = Some(Body { schema: meta("DeleteOptions"), required: false, media_types: ANY_TYPE });
        op.responses = vec![(200, "OK"), (202, "Accepted"), (401, "Unauthorized")];
        op.response = Some(meta("Status"));
        ops.push(op);
    }
    ops.extend(read_replace_patch(&ctx, r.verbs, "", "", object.clone(), ctx.gvk.clone()));
    if !ops.is_empty() {
        let mut p = item_params.clone();
        p.push(params::pretty());
        out.push(Route { path: item.clone(), params: sorted(p), operations: ops });
    }

    for sub in r.subresources {
        sub_routes(&ctx, &item, &item_params, sub, out);
    }

    // Lists across namespaces, and the deprecated watch paths.
    let list_everywhere = |extra: Vec<Param>| {
        let mut p = params::list();
        p.push(params::pretty());
        p.extend(extra);
        sorted(p)
    };
    if r.namespaced && r.has_verb("list") {
        let mut op = ctx.op("get", format!("list{gv}{kind}ForAllNamespaces"), format!("list or watch objects of kind {kind}"), "list");
        op.response = list.clone();
        op.produces = STREAM_TYPES;
        out.push(Route { path: format!("{base}/{}", r.plural), params: list_everywhere(Vec::new()), operations: vec![op] });
    }
    if r.has_verb("watch") {
        let watch_op = |id: String, description: String, action: &'static str| {
            let mut op = ctx.op("get", id, description, action);
            op.response = Some(meta("WatchEvent"));
            op.produces = STREAM_TYPES;
            op
        };
        let list_desc = format!("watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead.");
        out.push(Route {
            path: format!("{base}/watch{scope}/{}", r.plural),
            params: list_everywhere(scope_params.clone()),
            operations: vec![watch_op(format!("watch{gv}{ns}{kind}List"), list_desc.clone(), "watchlist")],
        });
        out.push(Route {
            path: format!("{base}/watch{scope}/{}/{{name}}", r.plural),
            params: list_everywhere(item_params.clone()),
            operations: vec![watch_op(
                format!("watch{gv}{ns}{kind}"),
                format!("watch changes to an object of kind {kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter."),
                "watch",
            )],
        });
        if r.namespaced {
            out.push(Route {
                path: format!("{base}/watch/{}", r.plural),
                params: list_everywhere(Vec::new()),
                operations: vec![watch_op(format!("watch{gv}{kind}ListForAllNamespaces"), list_desc, "watchlist")],
            });
        }
    }
}

/// Every route of a group version, sorted by path: the resources' paths and the group
/// version's discovery document (`/apis/apps/v1/`).
pub fn group_version(group: &str, version: &str) -> Vec<Route> {
    let mut out = Vec::new();
    let gv_tag = tag(group, version);
    out.push(Route {
        path: format!("{}/", prefix(group, version)),
        params: Vec::new(),
        operations: vec![Operation {
            method: "get",
            id: format!("get{}{}APIResources", group_camel(group), capitalize(version)),
            description: "get available resources".into(),
            action: "",
            params: Vec::new(),
            body: None,
            responses: vec![(200, "OK"), (401, "Unauthorized")],
            response: Some(meta("APIResourceList")),
            produces: OBJECT_TYPES,
            gvk: None,
            tag: gv_tag,
        }],
    });
    for r in RESOURCES.iter().filter(|r| r.group == group && r.version == version) {
        resource_routes(r, &mut out);
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// A route with a single discovery-style `get` (no extensions).
pub fn simple_get(path: &str, id: &str, description: &str, response: &str, tag: &str, produces: &'static [&'static str]) -> Route {
    Route {
        path: path.into(),
        params: Vec::new(),
        operations: vec![Operation {
            method: "get",
            id: id.into(),
            description: description.into(),
            action: "",
            params: Vec::new(),
            body: None,
            responses: vec![(200, "OK"), (401, "Unauthorized")],
            response: Some(Schema::Def(response.into())),
            produces,
            gvk: None,
            tag: tag.into(),
        }],
    }
}
