"""A did:plc directory just big enough for the reference PDS on loopback.

It keeps each DID's operations in memory as they were posted (it does not verify them: the PDS
under test signs them, and skyhold's own directory is the one that validates) and answers the reads
a PDS makes: the DID document, /data, /log, /log/audit and /log/last.

usage: python3 plc.py PORT
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

operations = {}  # did -> list of operations, oldest first


def did_document(did, op):
    methods = [
        {"id": f"{did}#{name}", "type": "Multikey", "controller": did,
         "publicKeyMultibase": key[len("did:key:"):]}
        for name, key in op.get("verificationMethods", {}).items()
    ]
    services = [
        {"id": f"#{name}", "type": svc["type"], "serviceEndpoint": svc["endpoint"]}
        for name, svc in op.get("services", {}).items()
    ]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "alsoKnownAs": op.get("alsoKnownAs", []),
        "verificationMethod": methods,
        "service": services,
    }


class Directory(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def path_parts(self):
        return unquote(urlsplit(self.path).path).strip("/").split("/")

    def do_POST(self):
        did = self.path_parts()[0]
        length = int(self.headers.get("content-length") or 0)
        operations.setdefault(did, []).append(json.loads(self.rfile.read(length)))
        self.reply(200, {})

    def do_GET(self):
        did, *rest = self.path_parts()
        ops = operations.get(did)
        if not ops:
            return self.reply(404, {"message": f"DID not registered: {did}"})
        last = ops[-1]
        route = "/".join(rest)
        if route == "":
            return self.reply(200, did_document(did, last))
        if route == "data":
            data = {k: v for k, v in last.items() if k not in ("type", "prev", "sig")}
            return self.reply(200, dict(data, did=did))
        if route == "log/last":
            return self.reply(200, last)
        if route == "log":
            return self.reply(200, ops)
        if route == "log/audit":
            return self.reply(200, [{"did": did, "operation": op, "nullified": False} for op in ops])
        self.reply(404, {"message": f"no route {route}"})


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Directory).serve_forever()
