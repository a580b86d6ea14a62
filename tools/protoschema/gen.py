#!/usr/bin/env python3
"""Generates crates/apiserver/src/protobuf/schema.txt, the wire-format facts the
API server needs to decode Kubernetes protobuf request bodies into JSON.

It reads the upstream `generated.proto` files (message names, field numbers and
wire types) and the Go `types*.go` files beside them (JSON names, `omitempty`,
pointer-ness and `json:",inline"`, which the .proto files do not carry), and
writes only those facts, in a compact line format (described in the header of
the output and in crates/apiserver/src/protobuf/mod.rs).

Each source is either a directory (a checkout) or GITDIR@REV (a git directory
without a work tree, read with `git show`), e.g.:

    python3 tools/protoschema/gen.py \
        --api /work/.mirror/kubernetes+api/repo@v0.33.9 \
        --apimachinery /work/.mirror/kubernetes+apimachinery/repo@v0.33.9 \
        --apiextensions /work/.mirror/kubernetes+apiextensions-apiserver/repo@v0.33.9 \
        -o crates/apiserver/src/protobuf/schema.txt

The output depends only on the sources' content (and REV names), so it is
deterministic.
"""

import argparse
import os
import re
import subprocess
import sys

# (source, directory inside it, alias used in the schema file)
PACKAGES = [
    ("apimachinery", "pkg/apis/meta/v1", "metav1"),
    ("apimachinery", "pkg/runtime", "runtime"),
    ("apimachinery", "pkg/util/intstr", "intstr"),
    ("apimachinery", "pkg/api/resource", "resource"),
] + [
    ("api", d, d.replace("/", ""))
    for d in [
        "core/v1", "apps/v1", "batch/v1", "autoscaling/v1", "autoscaling/v2",
        "rbac/v1", "networking/v1", "policy/v1", "storage/v1", "coordination/v1",
        "discovery/v1", "events/v1", "scheduling/v1", "node/v1",
        "admissionregistration/v1", "certificates/v1", "flowcontrol/v1",
        "authentication/v1", "authorization/v1",
    ]
] + [
    ("apiextensions", "pkg/apis/apiextensions/v1", "apiextensionsv1"),
]

# Messages whose Go types have custom (un)marshalers rather than tagged fields.
EXPECTED_WITHOUT_GO_FIELDS = {"Time", "MicroTime", "Quantity", "QuantityValue"}

SCALARS = {"string", "bool", "bytes", "int32", "int64", "uint32", "uint64",
           "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64",
           "double", "float"}


class Source:
    def __init__(self, spec):
        self.gitdir = self.rev = self.root = None
        if "@" in spec and not os.path.isdir(spec):
            self.gitdir, self.rev = spec.rsplit("@", 1)
        else:
            self.root = spec

    def label(self):
        return self.rev if self.rev else "(directory)"

    def read(self, path):
        if self.root:
            full = os.path.join(self.root, path)
            if not os.path.exists(full):
                return None
            with open(full, encoding="utf-8") as f:
                return f.read()
        r = subprocess.run(["git", "--git-dir", self.gitdir, "show", f"{self.rev}:{path}"],
                           capture_output=True)
        if r.returncode != 0:
            return None
        return r.stdout.decode("utf-8")

    def list_dir(self, path):
        if self.root:
            return sorted(os.listdir(os.path.join(self.root, path)))
        r = subprocess.run(["git", "--git-dir", self.gitdir, "ls-tree", "--name-only",
                            f"{self.rev}:{path}"], capture_output=True, check=True)
        return sorted(r.stdout.decode().split())


FIELD_RE = re.compile(r"^\s*(optional|repeated|required)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;")
MAP_RE = re.compile(r"^\s*map<\s*(\w+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)\s*;")


def parse_proto(text):
    """Returns (package, [(message, nullable_wrapper, [(label, type, name, number)])])."""
    package = None
    messages = []
    cur = None
    pending_nullable = False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("//"):
            if "+protobuf.nullable=true" in s:
                pending_nullable = True
            continue
        if not s:
            continue
        m = re.match(r"package\s+([\w.]+)\s*;", s)
        if m:
            package = m.group(1)
            continue
        m = re.match(r"message\s+(\w+)\s*\{\s*(\})?", s)
        if m:
            if cur is not None:
                sys.exit(f"nested message {m.group(1)} not supported")
            cur = (m.group(1), pending_nullable, [])
            pending_nullable = False
            if m.group(2):
                messages.append(cur)
                cur = None
            continue
        if s == "}":
            if cur is None:
                sys.exit("unbalanced }")
            messages.append(cur)
            cur = None
            continue
        if cur is None:
            pending_nullable = False
            continue
        m = MAP_RE.match(s)
        if m:
            if m.group(1) != "string":
                sys.exit(f"map key type {m.group(1)} not supported")
            cur[2].append(("map", m.group(2), m.group(3), int(m.group(4))))
            continue
        m = FIELD_RE.match(s)
        if m:
            cur[2].append((m.group(1), m.group(2), m.group(3), int(m.group(4))))
            continue
        if s.startswith(("oneof", "enum", "message", "extend", "group")):
            sys.exit(f"unsupported proto construct: {s}")
    return package, messages


GO_TYPE_RE = re.compile(r"^type\s+(\w+)\s+struct\s*\{")
GO_FIELD_RE = re.compile(r"^\s*(?:(\w+)\s+)?(\S+)\s+`([^`]*)`")


def parse_go_structs(text):
    """Returns {struct: [(number, json_name, omitempty, pointer, inline)]} in declaration order."""
    structs = {}
    cur = None
    depth = 0
    for line in text.splitlines():
        s = line.strip()
        if cur is None:
            m = GO_TYPE_RE.match(line)
            if m:
                cur = m.group(1)
                structs[cur] = []
                depth = line.count("{") - line.count("}")
                if depth <= 0:  # `type X struct{}`
                    cur = None
            continue
        if s.startswith("//"):
            continue
        depth += s.count("{") - s.count("}")
        if depth <= 0:
            cur = None
            continue
        if depth != 1:
            continue
        m = GO_FIELD_RE.match(line)
        if not m:
            continue
        tags = m.group(3)
        pb = re.search(r'protobuf:"([^"]*)"', tags)
        js = re.search(r'json:"([^"]*)"', tags)
        if not pb:
            continue
        parts = pb.group(1).split(",")
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        number = int(parts[1])
        jparts = js.group(1).split(",") if js else [""]
        jname = jparts[0]
        inline = "inline" in jparts[1:]
        omit = "omitempty" in jparts[1:]
        gotype = m.group(2)
        if m.group(1) is None:  # embedded field: the type is its name
            if not jname and not inline:
                jname = gotype.split(".")[-1]
        elif not jname and js is None:
            jname = m.group(1)
        pointer = gotype.startswith("*")
        structs[cur].append((number, jname, omit, pointer, inline))
    return structs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--api", required=True, help="kubernetes/api: DIR or GITDIR@REV")
    ap.add_argument("--apimachinery", required=True, help="kubernetes/apimachinery: DIR or GITDIR@REV")
    ap.add_argument("--apiextensions", required=True,
                    help="kubernetes/apiextensions-apiserver: DIR or GITDIR@REV")
    ap.add_argument("-o", "--output", default="-")
    args = ap.parse_args()
    sources = {"api": Source(args.api), "apimachinery": Source(args.apimachinery),
               "apiextensions": Source(args.apiextensions)}

    pkg_alias = {}   # proto package -> alias
    parsed = []      # (alias, api_version, proto package, messages, go structs)
    for src_name, d, alias in PACKAGES:
        src = sources[src_name]
        text = src.read(f"{d}/generated.proto")
        if text is None:
            sys.exit(f"{src_name}: {d}/generated.proto not found")
        package, messages = parse_proto(text)
        pkg_alias[package] = alias
        structs = {}
        for name in src.list_dir(d):
            if (name.endswith(".go") and not name.endswith("_test.go")
                    and not name.startswith("zz_generated") and name != "generated.pb.go"):
                structs.update(parse_go_structs(src.read(f"{d}/{name}")))
        group = None
        doc = src.read(f"{d}/doc.go") or ""
        m = re.search(r"^// \+groupName=(\S*)\s*$", doc, re.M)
        if m:
            group = m.group(1)
        else:
            reg = src.read(f"{d}/register.go") or ""
            m = re.search(r'GroupName\s*=\s*"([^"]*)"', reg)
            if m:
                group = m.group(1)
        version = d.rsplit("/", 1)[-1]
        api_version = "-" if group is None else (version if group == "" else f"{group}/{version}")
        parsed.append((alias, api_version, package, messages, structs))

    out = []
    out.append("# Kubernetes protobuf wire schema. Generated by tools/protoschema/gen.py; do not edit.")
    out.append("# sources: k8s.io/api %s, k8s.io/apimachinery %s, k8s.io/apiextensions-apiserver %s" % (
        sources["api"].label(), sources["apimachinery"].label(), sources["apiextensions"].label()))
    out.append("# G alias apiVersion|-      T alias.Message [w=list wrapper]")
    out.append("# field: number jsonName|_ type flags(r=repeated m=map<string,type> o=omitempty p=pointer i=inline x=not in JSON, - none)")

    def resolve(typ, package):
        if typ in SCALARS:
            return typ
        if typ.startswith("."):
            pkg, _, name = typ[1:].rpartition(".")
            if pkg not in pkg_alias:
                sys.exit(f"type {typ} is in a package that is not generated")
            return f"{pkg_alias[pkg]}.{name}"
        if "." in typ:
            sys.exit(f"unsupported type reference {typ}")
        return f"{pkg_alias[package]}.{typ}"

    for alias, api_version, package, messages, structs in parsed:
        out.append(f"G {alias} {api_version}")
    for alias, api_version, package, messages, structs in parsed:
        for name, nullable, fields in sorted(messages, key=lambda m: m[0]):
            out.append(f"T {alias}.{name}" + (" w" if nullable else ""))
            go = structs.get(name)
            if go is None and fields and not nullable and name not in EXPECTED_WITHOUT_GO_FIELDS:
                print(f"warning: {alias}.{name} has no Go struct", file=sys.stderr)
            gofields = {g[0]: g for g in go} if go else {}
            order = {g[0]: i for i, g in enumerate(go)} if go else {}
            ordered = sorted(fields, key=lambda f: (order.get(f[3], len(order) + f[3]), f[3]))
            for label, typ, fname, number in ordered:
                jname, omit, pointer, inline = fname, False, False, False
                if number in gofields:
                    _, gj, omit, pointer, inline = gofields[number]
                    jname = gj
                elif go is not None and name not in EXPECTED_WITHOUT_GO_FIELDS:
                    print(f"warning: {alias}.{name}.{fname} has no Go field", file=sys.stderr)
                flags = ""
                if label == "repeated":
                    flags += "r"
                if label == "map":
                    flags += "m"
                if omit:
                    flags += "o"
                if pointer:
                    flags += "p"
                if inline:
                    flags += "i"
                    jname = "_"
                if jname == "-":
                    flags += "x"
                    jname = fname
                if not jname:
                    sys.exit(f"{alias}.{name}.{fname}: empty JSON name")
                out.append(f"{number} {jname} {resolve(typ, package)} {flags or '-'}")
    data = "\n".join(out) + "\n"
    if args.output == "-":
        sys.stdout.write(data)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(data)


if __name__ == "__main__":
    main()
