# Makes in-toto metadata with Debian's Python in-toto 1.3.1 and
# securesystemslib 0.26, for the Go tests in this package to verify.
#
# usage: /usr/bin/python3 py_make.py DIR
#
# DIR must hold the key pairs in-toto-keygen wrote: rsa/rsa.pub (PEM),
# ed25519/ed25519.pub and ecdsa/ecdsa.pub (securesystemslib JSON). The script
# adds keys made with the securesystemslib module, signs links and layouts
# with every key (classic Metablock via Metablock.sign, DSSE via
# securesystemslib.keys.create_signature over the PAE), writes an unsigned
# layout for in-toto-sign, and prints a JSON manifest on stdout.

import base64
import json
import os
import sys

import attr
import securesystemslib.formats
import securesystemslib.interface as interface
import securesystemslib.keys as sslkeys
from in_toto.models.layout import Layout, Step, Inspection
from in_toto.models.link import Link, FILENAME_FORMAT
from in_toto.models.metadata import Metablock

out = sys.argv[1]
manifest = {"entries": [], "unsupported": {}}


def write_public_json(key, name):
    """Writes the public part of a module-generated key as a .pub JSON file,
    the way in-toto-keygen does."""
    meta = sslkeys.format_keyval_to_metadata(
        key["keytype"], key["scheme"], key["keyval"], private=False)
    path = os.path.join(out, name + ".pub")
    with open(path, "w") as f:
        json.dump(meta, f)
    return path


# Keys written by in-toto-keygen, loaded the way the CLIs load them.
keys = []
for name, ktype in (("rsa", "rsa"), ("ed25519", "ed25519"),
                    ("ecdsa", "ecdsa")):
    k = interface.import_privatekey_from_file(os.path.join(out, name),
                                              key_type=ktype)
    keys.append({"name": name, "key": k,
                 "pub": os.path.join(out, name + ".pub"),
                 "priv": os.path.join(out, name)})

# Keys made with the module. PKCS#1 v1.5 is a securesystemslib RSA scheme the
# CLIs never choose but the module emits on request.
for name, make in (
        ("ecdsa-module", lambda: sslkeys.generate_ecdsa_key(
            scheme="ecdsa-sha2-nistp256")),
        ("rsa-pkcs1v15", lambda: sslkeys.generate_rsa_key(
            bits=2048, scheme="rsa-pkcs1v15-sha256")),
        ("ed25519-module", sslkeys.generate_ed25519_key),
):
    k = make()
    keys.append({"name": name, "key": k, "pub": write_public_json(k, name),
                 "priv": None})

# securesystemslib 0.26 cannot make (or sign with) P-384 keys; record why so
# the Go side can say so instead of silently not testing it.
try:
    k = sslkeys.generate_ecdsa_key(scheme="ecdsa-sha2-nistp384")
    sig = sslkeys.create_signature(k, b"probe")
    manifest["unsupported"].pop("ecdsa-sha2-nistp384", None)
except Exception as e:  # noqa: BLE001 - any failure means "unsupported"
    manifest["unsupported"]["ecdsa-sha2-nistp384"] = "%s: %s" % (
        type(e).__name__, e)


def key_ref(entry):
    k = entry["key"]
    return {"name": entry["name"], "pub": entry["pub"], "priv": entry["priv"],
            "keyid": k["keyid"], "keytype": k["keytype"],
            "scheme": k["scheme"]}


def new_link(name):
    return Link(
        name=name,
        materials={"src/a.py": {
            "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
        products={"dist/a.tar.gz": {
            "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
            "sha512": "f7fbba6e0636f890e56fbbf3283e524c6fa3204ae298382d624741d0dc6638326e282c41be5e4254d8820772c5518a2c5a8c0c7f7eda19594a7eb539453e1ed7"}},
        command=["tar", "czf", "dist/a.tar.gz", "src"],
        byproducts={"stdout": "", "stderr": "", "return-value": 0},
        environment={"workdir": "/build"})


def pae(payload_type, payload):
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


# One classic link per key, named like in-toto-run names it.
for entry in keys:
    k = entry["key"]
    mb = Metablock(signed=new_link("py-%s" % entry["name"]))
    sig = mb.sign(k)
    path = os.path.join(out, FILENAME_FORMAT.format(
        step_name=mb.signed.name, keyid=sig["keyid"]))
    mb.dump(path)
    manifest["entries"].append({"file": path, "kind": "link",
                                "format": "metablock",
                                "keys": [key_ref(entry)]})

# One DSSE link per key. in-toto 1.3.1 cannot write DSSE itself, so the
# envelope is built here from the spec and signed by securesystemslib.
for entry in keys:
    k = entry["key"]
    link = new_link("py-dsse-%s" % entry["name"])
    payload = securesystemslib.formats.encode_canonical(
        attr.asdict(link)).encode("utf-8")
    ptype = "application/vnd.in-toto+json"
    s = sslkeys.create_signature(k, pae(ptype, payload))
    env = {"payloadType": ptype,
           "payload": base64.b64encode(payload).decode("ascii"),
           "signatures": [{"keyid": s["keyid"], "sig": base64.b64encode(
               bytes.fromhex(s["sig"])).decode("ascii")}]}
    path = os.path.join(out, FILENAME_FORMAT.format(
        step_name=link.name, keyid=s["keyid"]))
    with open(path, "w") as f:
        json.dump(env, f, indent=1, sort_keys=True)
    manifest["entries"].append({"file": path, "kind": "link",
                                "format": "dsse",
                                "keys": [key_ref(entry)]})


def new_layout():
    layout = Layout()
    layout.set_relative_expiration(days=30)
    layout.readme = "made by py_make.py"
    ids = []
    for entry in keys:
        pub = dict(entry["key"])
        pub["keyval"] = {"public": pub["keyval"]["public"]}
        layout.add_functionary_key(pub)
        ids.append(pub["keyid"])
    build = Step(name="build", pubkeys=ids, threshold=2,
                 expected_command=["tar", "czf", "dist/a.tar.gz", "src"])
    build.add_material_rule_from_string("ALLOW src/*")
    build.add_product_rule_from_string("CREATE dist/a.tar.gz")
    build.add_product_rule_from_string("DISALLOW *")
    check = Inspection(name="untar", run=["tar", "xzf", "dist/a.tar.gz"])
    check.add_material_rule_from_string(
        "MATCH dist/a.tar.gz WITH PRODUCTS FROM build")
    layout.steps = [build]
    layout.inspect = [check]
    layout.validate()
    return layout


# A layout signed by every key with Metablock.sign.
mb = Metablock(signed=new_layout())
for entry in keys:
    mb.sign(entry["key"])
path = os.path.join(out, "py-multi.layout")
mb.dump(path)
manifest["entries"].append({"file": path, "kind": "layout",
                            "format": "metablock",
                            "keys": [key_ref(e) for e in keys]})

# An unsigned layout for in-toto-sign to sign with the CLI keys.
path = os.path.join(out, "py-unsigned.layout")
Metablock(signed=new_layout()).dump(path)
manifest["cli_keys"] = [key_ref(e) for e in keys if e["priv"]]

json.dump(manifest, sys.stdout)
