# Helper for runner's interop tests, run by Debian's /usr/bin/python3 (the
# interpreter that has in-toto 1.3.1 and securesystemslib 0.26).
#
#   py_runner.py record REQUEST.json
#       REQUEST holds {"cases": [{"dir", "paths", "kwargs"}]}; for each case
#       prints what in_toto.runlib.record_artifacts_as_dict records when run
#       in dir, as {"results": [{"artifacts": {...}} | {"error": "..."}]}.
#
#   py_runner.py layout OUTDIR FUNCTIONARY_PUB KEYTYPE
#       Makes an owner ed25519 key pair OUTDIR/owner{,.pub} and a layout
#       OUTDIR/root.layout signed by it, with one step "build" that the
#       functionary key (securesystemslib JSON for ed25519/ecdsa, PEM for
#       rsa) must sign: materials only under src/, products only src/ files
#       and a new out/app.

import json
import os
import sys

import securesystemslib.interface as interface
from in_toto import runlib
from in_toto.models.layout import Layout, Step
from in_toto.models.metadata import Metablock


def record(request_path):
    with open(request_path) as f:
        req = json.load(f)
    results = []
    cwd = os.getcwd()
    for case in req["cases"]:
        os.chdir(case["dir"])
        try:
            arts = runlib.record_artifacts_as_dict(case["paths"],
                                                   **case.get("kwargs", {}))
            results.append({"artifacts": arts})
        except Exception as e:  # noqa: BLE001 - reported to the Go side
            results.append({"error": "%s: %s" % (type(e).__name__, e)})
        finally:
            os.chdir(cwd)
    json.dump({"results": results}, sys.stdout)


def layout(out, functionary_pub, keytype):
    owner = os.path.join(out, "owner")
    interface.generate_and_write_unencrypted_ed25519_keypair(owner)
    owner_key = interface.import_ed25519_privatekey_from_file(owner)
    if keytype == "rsa":
        fkey = interface.import_rsa_publickey_from_file(functionary_pub)
    else:
        fkey = interface.import_publickeys_from_file(
            [functionary_pub], [keytype]).popitem()[1]

    lay = Layout()
    lay.set_relative_expiration(days=1)
    fid = lay.add_functionary_key(fkey)["keyid"]
    step = Step(name="build")
    step.pubkeys = [fid]
    step.expected_materials = [["ALLOW", "src/*"], ["DISALLOW", "*"]]
    step.expected_products = [["CREATE", "out/app"], ["ALLOW", "src/*"],
                              ["DISALLOW", "*"]]
    lay.steps = [step]
    mb = Metablock(signed=lay)
    mb.sign(owner_key)
    mb.dump(os.path.join(out, "root.layout"))
    print(json.dumps({"functionary_keyid": fid}))


if __name__ == "__main__":
    if sys.argv[1] == "record":
        record(sys.argv[2])
    elif sys.argv[1] == "layout":
        layout(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("unknown command %r" % sys.argv[1])
