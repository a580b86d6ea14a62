#!/usr/bin/env python3
"""A loopback stand-in API server that records the request bodies kubectl sends,
used to capture crates/apiserver/src/protobuf/testdata/kubectl/*.pb.

    python3 tools/protoschema/capture.py 18765 /tmp/bodies &
    # kubeconfig: server http://127.0.0.1:18765, namespace default
    kubectl create configmap cm1 --from-literal=a=1
    # /tmp/bodies/01-POST-_api_v1_namespaces_default_configmaps.pb

It serves just enough discovery for `kubectl create ...` of the resources below
and answers every write with a small JSON object. Listens on 127.0.0.1 only.
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

GROUPS = {
    "": [("configmaps", "ConfigMap"), ("secrets", "Secret"), ("services", "Service"), ("pods", "Pod"),
         ("namespaces", "Namespace"), ("serviceaccounts", "ServiceAccount"), ("resourcequotas", "ResourceQuota")],
    "apps": [("deployments", "Deployment"), ("statefulsets", "StatefulSet"), ("daemonsets", "DaemonSet")],
    "batch": [("jobs", "Job"), ("cronjobs", "CronJob")],
    "rbac.authorization.k8s.io": [("roles", "Role"), ("rolebindings", "RoleBinding"),
                                  ("clusterroles", "ClusterRole"), ("clusterrolebindings", "ClusterRoleBinding")],
    "networking.k8s.io": [("ingresses", "Ingress")],
    "policy": [("poddisruptionbudgets", "PodDisruptionBudget")],
    "scheduling.k8s.io": [("priorityclasses", "PriorityClass")],
}
CLUSTER_SCOPED = {"namespaces", "clusterroles", "clusterrolebindings", "priorityclasses"}
SUBRESOURCES = {"": [{"name": "serviceaccounts/token", "singularName": "", "namespaced": True,
                      "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest",
                      "verbs": ["create"]}]}


def resource_list(group):
    gv = f"{group}/v1" if group else "v1"
    res = [{"name": n, "singularName": k.lower(), "namespaced": n not in CLUSTER_SCOPED, "kind": k,
            "verbs": ["create", "get", "list", "delete", "update", "patch"]} for n, k in GROUPS[group]]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": res + SUBRESOURCES.get(group, [])}


class Handler(BaseHTTPRequestHandler):
    count = 0

    def reply(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_GET(self):
        p = self.path.split("?")[0]
        if p == "/api":
            return self.reply(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
        if p == "/apis":
            gvs = [{"groupVersion": f"{g}/v1", "version": "v1"} for g in GROUPS if g]
            return self.reply(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": gv["groupVersion"][:-3], "versions": [gv], "preferredVersion": gv} for gv in gvs]})
        if p == "/api/v1":
            return self.reply(200, resource_list(""))
        for g in GROUPS:
            if g and p == f"/apis/{g}/v1":
                return self.reply(200, resource_list(g))
        self.reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})

    def record(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Handler.count += 1
        ext = "pb" if "protobuf" in self.headers.get("Content-Type", "") else "json"
        name = f"{Handler.count:02d}-{self.command}-{self.path.split('?')[0].replace('/', '_')}.{ext}"
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(body)

    def do_POST(self):
        self.record()
        self.reply(201, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}})

    do_PUT = do_POST

    def do_DELETE(self):
        self.record()
        self.reply(200, {"apiVersion": "v1", "kind": "Status", "status": "Success", "metadata": {}})

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    OUT = sys.argv[2]
    os.makedirs(OUT, exist_ok=True)
    HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
