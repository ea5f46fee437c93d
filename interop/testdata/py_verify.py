# Verifies metadata toto signed, with Debian's Python in-toto 1.3.1 and
# securesystemslib 0.26, and reports per file and key what Python concluded.
#
# usage: /usr/bin/python3 py_verify.py REQUEST.json
#
# REQUEST.json: {"checks": [{"file": PATH, "format": "metablock"|"dsse",
#                            "pub": PATH,
#                            "type": "rsa"|"ed25519"|"ecdsa"|"sslib-json"}]}
# ("sslib-json" loads any securesystemslib JSON public key as written.)
# Prints {"results": [{"file", "pub", "keyid", "ok", "error"}]} on stdout,
# one result per check, in order. Loading errors are results, not crashes,
# so the Go side sees every disagreement at once.

import base64
import json
import sys

import securesystemslib.interface as interface
import securesystemslib.keys as sslkeys
from in_toto.models.layout import Layout
from in_toto.models.link import Link
from in_toto.models.metadata import Metablock


def pae(payload_type, payload):
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def verify_metablock(path, key):
    # Metablock.load validates the payload against in-toto's schema, and
    # verify_signature checks over the canonical JSON Python re-encodes.
    mb = Metablock.load(path)
    mb.verify_signature(key)


def verify_dsse(path, key):
    with open(path) as f:
        env = json.load(f)
    payload = base64.b64decode(env["payload"])
    doc = json.loads(payload)
    # The payload must be valid in-toto metadata for Python too.
    if doc.get("_type") == "link":
        Link.read(doc).validate()
    elif doc.get("_type") == "layout":
        Layout.read(doc).validate()
    else:
        raise ValueError("payload _type %r" % doc.get("_type"))
    sigs = [s for s in env["signatures"] if s["keyid"] == key["keyid"]]
    if not sigs:
        raise ValueError("no signature with keyid %s" % key["keyid"])
    sig = {"keyid": sigs[0]["keyid"],
           "sig": base64.b64decode(sigs[0]["sig"]).hex()}
    if not sslkeys.verify_signature(key, sig, pae(env["payloadType"],
                                                  payload)):
        raise ValueError("signature does not verify")


with open(sys.argv[1]) as f:
    request = json.load(f)
results = []
for check in request["checks"]:
    res = {"file": check["file"], "pub": check["pub"], "keyid": None,
           "ok": False, "error": None}
    try:
        if check["type"] == "sslib-json":
            # Any securesystemslib JSON key, whatever its scheme (the CLI
            # loaders force RSA keys to PEM and rsassa-pss-sha256).
            with open(check["pub"]) as f:
                key, _ = sslkeys.format_metadata_to_key(json.load(f))
            keyid = key["keyid"]
        else:
            keydict = interface.import_publickeys_from_file([check["pub"]],
                                                            [check["type"]])
            (keyid, key), = keydict.items()
        res["keyid"] = keyid
        if check["format"] == "dsse":
            verify_dsse(check["file"], key)
        else:
            verify_metablock(check["file"], key)
        res["ok"] = True
    except Exception as e:  # noqa: BLE001 - every failure is reported
        res["error"] = "%s: %s" % (type(e).__name__, e)
    results.append(res)
json.dump({"results": results}, sys.stdout)
