# Signs a link with each given private key, using Debian's Python in-toto
# 1.3.1 the way in-toto-run and in-toto-sign load keys.
#
# usage: /usr/bin/python3 py_sign.py OUTDIR KEYFILE:TYPE...
#
# TYPE is rsa (PEM), ed25519 or ecdsa (securesystemslib JSON). Writes
# OUTDIR/<step>.<keyid[:8]>.link per key, with step "py-<basename>", and
# prints [{"key", "file", "keyid", "error"}] on stdout; a key Python cannot
# load or sign with is reported, not fatal.

import json
import os
import sys

import securesystemslib.interface as interface
from in_toto.models.link import Link, FILENAME_FORMAT
from in_toto.models.metadata import Metablock

out = sys.argv[1]
results = []
for arg in sys.argv[2:]:
    path, ktype = arg.rsplit(":", 1)
    res = {"key": path, "file": None, "keyid": None, "error": None}
    try:
        key = interface.import_privatekey_from_file(path, key_type=ktype)
        link = Link(name="py-" + os.path.basename(path),
                    materials={"in.txt": {"sha256": "ab" * 32}},
                    products={"out.txt": {"sha256": "cd" * 32}},
                    command=["true"], byproducts={"return-value": 0},
                    environment={})
        mb = Metablock(signed=link)
        sig = mb.sign(key)
        res["keyid"] = sig["keyid"]
        res["file"] = os.path.join(out, FILENAME_FORMAT.format(
            step_name=link.name, keyid=sig["keyid"]))
        mb.dump(res["file"])
    except Exception as e:  # noqa: BLE001 - every failure is reported
        res["error"] = "%s: %s" % (type(e).__name__, e)
    results.append(res)
json.dump(results, sys.stdout)
