#!/usr/bin/env python3
"""Generates crates/api/src/schema/markers.txt: the OpenAPI-relevant comment markers of
the built-in Go types, which k8s-openapi's schemas do not carry.

kube-openapi turns these markers of the Go types into schema extensions:

  field comments  `+listType=X`          -> x-kubernetes-list-type: X
                  `+listMapKey=K` (each) -> x-kubernetes-list-map-keys: [K, ...]
                  `+mapType=X`           -> x-kubernetes-map-type: X
                  `+structType=X`        -> x-kubernetes-map-type: X
  type comments   `+structType=X`        -> x-kubernetes-map-type: X (on the definition)
                  `+union` with a field marked `+unionDiscriminator`
                                         -> x-kubernetes-unions

(`patchStrategy`/`patchMergeKey` come from struct tags and are already described by
api::patch's type graph, so they are not repeated here.)

Output, one record a line (`#` starts a comment line):

    <definition> <jsonField> key=value ...     a property of a definition
    <definition> - key=value ...               the definition itself

keys: listType, listMapKey (repeated, in order), mapType (from `+mapType` and
`+structType`), unionDiscriminator, unionMember (repeated, `json:GoName`), and
`doc=<JSON string>` (the rest of the line) for the `*List` types, their `items` and
`metadata`, which k8s-openapi has no schemas for.
Fields of structs embedded with `json:",inline"` are listed under the embedding type,
as OpenAPI flattens them.

Each source is a directory (a checkout) or GITDIR@REV (read with `git show`):

    python3 tools/openapi/gen_markers.py \\
        --api /work/.mirror/kubernetes+api/repo@v0.33.9 \\
        --apimachinery /work/.mirror/kubernetes+apimachinery/repo@v0.33.9 \\
        --apiextensions /work/.mirror/kubernetes+apiextensions-apiserver/repo@v0.33.9 \\
        -o crates/api/src/schema/markers.txt

The output depends only on the sources' content, so it is deterministic.
"""

import argparse
import json
import os
import re
import subprocess
import sys

# (source, directory, definition-name prefix). Only the versions the server serves.
API_GROUPS = [
    "admissionregistration/v1", "apps/v1", "authentication/v1", "authorization/v1",
    "autoscaling/v1", "autoscaling/v2", "batch/v1", "certificates/v1", "coordination/v1",
    "core/v1", "discovery/v1", "events/v1", "flowcontrol/v1", "networking/v1", "node/v1",
    "policy/v1", "rbac/v1", "scheduling/v1", "storage/v1",
]
PACKAGES = [("api", d, "io.k8s.api." + d.replace("/", ".")) for d in API_GROUPS] + [
    ("apimachinery", "pkg/apis/meta/v1", "io.k8s.apimachinery.pkg.apis.meta.v1"),
    ("apiextensions", "pkg/apis/apiextensions/v1",
     "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1"),
]


class Source:
    def __init__(self, spec):
        if "@" in spec:
            self.gitdir, self.rev = spec.rsplit("@", 1)
            self.dir = None
        else:
            self.dir = spec

    def list(self, d):
        if self.dir:
            p = os.path.join(self.dir, d)
            return sorted(f for f in os.listdir(p) if os.path.isfile(os.path.join(p, f)))
        out = subprocess.run(["git", "--git-dir", self.gitdir, "ls-tree", "--name-only",
                              f"{self.rev}:{d}"], check=True, capture_output=True, text=True)
        return sorted(out.stdout.split())

    def read(self, path):
        if self.dir:
            with open(os.path.join(self.dir, path)) as f:
                return f.read()
        out = subprocess.run(["git", "--git-dir", self.gitdir, "show", f"{self.rev}:{path}"],
                             check=True, capture_output=True, text=True)
        return out.stdout


MARKER = re.compile(r"^\s*//\s*\+(listType|listMapKey|mapType|structType|union|unionDiscriminator)(?:=(\S+))?\s*$")
TYPE_STRUCT = re.compile(r"^type (\w+) struct \{")
FIELD = re.compile(r"^\s+(\w+)\s+([^\s`]+)\s+`([^`]*)`")
EMBED = re.compile(r"^\s+(\*?[\w.]+)\s+`([^`]*)`")
JSON_TAG = re.compile(r'json:"([^"]*)"')


def markers(comments):
    out = []
    for line in comments:
        m = MARKER.match(line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def doc(comments):
    """The description kube-openapi makes of a Go doc comment (gengo's fmtRawDoc):
    marker and TODO lines dropped, lines joined with spaces, paragraphs kept, indented
    lines kept on lines of their own, nothing after a `---` line."""
    text = "\n".join(re.sub(r"^\s*// ?", "", c) for c in comments)
    text = text.split("---")[0]
    buf = ""
    for line in text.split("\n"):
        line = line.rstrip(" ")
        leading = line.lstrip(" ")
        if line == "":
            buf = buf[:-1] + "\n\n" if buf else "\n\n"
        elif leading.startswith("TODO") or leading.startswith("+"):
            continue
        elif line.startswith(" ") or line.startswith("\t"):
            buf = buf[:-1] + "\n" + line + "\n" if buf else "\n" + line + "\n"
        else:
            buf += line + " "
    return buf.strip()


def parse_file(text, structs):
    """Fills structs[name] = {"type": [markers], "fields": [(json, goName, markers, optional)],
    "inline": [typeName]} in source order."""
    lines = text.split("\n")
    comments, prev_block = [], []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("//"):
            comments.append(line)
            i += 1
            continue
        m = TYPE_STRUCT.match(line)
        if m:
            name = m.group(1)
            st = {"type": markers(comments) + markers(prev_block), "doc": doc(comments),
                  "fields": [], "inline": [], "fdocs": {}}
            fcomments = []
            i += 1
            while i < len(lines) and not lines[i].startswith("}"):
                fl = lines[i]
                if fl.strip().startswith("//"):
                    fcomments.append(fl)
                elif fl.strip() == "":
                    fcomments = []
                else:
                    fm = FIELD.match(fl)
                    em = EMBED.match(fl) if not fm else None
                    tag = fm.group(3) if fm else (em.group(2) if em else "")
                    jm = JSON_TAG.search(tag)
                    jname = jm.group(1).split(",") if jm else None
                    if (fm or em) and jname and jname[0] not in ("", "-"):
                        go_name = fm.group(1) if fm else em.group(1).lstrip("*").split(".")[-1]
                        optional = "omitempty" in jname or any("+optional" in c for c in fcomments)
                        st["fields"].append((jname[0], go_name, markers(fcomments), optional))
                        st["fdocs"][jname[0]] = doc(fcomments)
                    elif jname is not None and jname[0] == "" and "inline" in jname:
                        typ = (fm.group(2) if fm else em.group(1)).lstrip("*")
                        st["inline"].append(typ)
                    fcomments = []
                i += 1
            structs[name] = st
            comments, prev_block = [], []
            i += 1
            continue
        if line.strip() == "":
            if comments:
                prev_block = comments
            comments = []
        else:
            comments, prev_block = [], []
        i += 1


def flattened_fields(structs, name, seen=()):
    st = structs.get(name)
    if st is None or name in seen:
        return []
    out = []
    for typ in st["inline"]:
        if "." not in typ:
            out.extend(flattened_fields(structs, typ, seen + (name,)))
    out.extend(st["fields"])
    return out


def render(prefix, structs):
    out = []
    for name in sorted(structs):
        st = structs[name]
        defname = f"{prefix}.{name}"
        type_keys = []
        for key, value in st["type"]:
            if key == "structType" and value:
                type_keys.append(f"mapType={value}")
        fields = flattened_fields(structs, name)
        if any(k == "union" for k, _ in st["type"]):
            for json_name, go_name, ms, optional in fields:
                if any(k == "unionDiscriminator" for k, _ in ms):
                    type_keys.append(f"unionDiscriminator={json_name}")
            for json_name, go_name, ms, optional in fields:
                if not any(k == "unionDiscriminator" for k, _ in ms) and optional:
                    type_keys.append(f"unionMember={json_name}:{go_name}")
        if type_keys:
            out.append(f"{defname} - " + " ".join(type_keys))
        # List types are not in k8s-openapi's schemas: keep their docs to build them.
        if name.endswith("List") and "items" in st["fdocs"]:
            out.append(f"{defname} - doc=" + json.dumps(st["doc"]))
            for field in ("items", "metadata"):
                if st["fdocs"].get(field):
                    out.append(f"{defname} {field} doc=" + json.dumps(st["fdocs"][field]))
        for json_name, go_name, ms, optional in fields:
            keys = []
            for key, value in ms:
                if key in ("listType", "listMapKey", "mapType") and value:
                    keys.append(f"{key}={value}")
                elif key == "structType" and value:
                    keys.append(f"mapType={value}")
            if keys:
                out.append(f"{defname} {json_name} " + " ".join(keys))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--apimachinery", required=True)
    ap.add_argument("--apiextensions", required=True)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    sources = {"api": Source(args.api), "apimachinery": Source(args.apimachinery),
               "apiextensions": Source(args.apiextensions)}
    lines = [
        "# Generated by tools/openapi/gen_markers.py from the comment markers of the Go types",
        "# (k8s.io/api, k8s.io/apimachinery, k8s.io/apiextensions-apiserver). Do not edit.",
        "# <definition> <jsonField|-> key=value ...",
    ]
    for src, d, prefix in PACKAGES:
        s = sources[src]
        structs = {}
        for f in s.list(d):
            if not f.endswith(".go") or f.endswith("_test.go") or f.startswith("zz_generated") \
                    or f.startswith("generated") or f.endswith("_generated.go"):
                continue
            parse_file(s.read(f"{d}/{f}"), structs)
        lines.extend(render(prefix, structs))
    with open(args.output, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{len(lines) - 3} records", file=sys.stderr)


if __name__ == "__main__":
    main()
