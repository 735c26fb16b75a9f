"""biscuit-python (PyPI biscuit-python, module biscuit_auth) for tests/interop/python.rs.

Run as `python biscuit_python.py ACTION` with one JSON object on stdin;
prints one JSON object on stdout. Every token is parsed with the root
public key (`ed25519/<hex>`, as `tessera export --public-key` prints it),
so its signature is verified before anything else.

ACTION authorize: {"token", "public_key", "policy", "limits", "requests": [[fact, ...], ...]}
  runs an authorizer per request: the policy text plus that request's facts
  (the ones `tessera check --explain` says Tessera gave), under Tessera's run
  limits {"max_facts", "max_iterations", "max_time_ms"} (biscuit's default
  of 1 ms of wall time trips on a loaded machine); answers
  {"results": [{"allowed": bool, "error": str | null}, ...]}.
ACTION append: {"token", "public_key", "block"}
  appends a block of Datalog; answers {"token": base64, "blocks": n}.
ACTION verify: {"token", "public_key"}
  answers {"verified": bool, "error": str | null, "authority": source}.
"""

import datetime
import json
import sys

from biscuit_auth import AuthorizerBuilder, Biscuit, BlockBuilder, PublicKey


def public_key(text):
    if not text.startswith("ed25519/"):
        raise ValueError(f"expected ed25519/<hex>, got {text!r}")
    return PublicKey(text)


def parse(args):
    return Biscuit.from_base64(args["token"], public_key(args["public_key"]))


def authorize(args):
    token = parse(args)
    results = []
    for facts in args["requests"]:
        builder = AuthorizerBuilder(args["policy"])
        limits = builder.limits()
        limits.max_facts = args["limits"]["max_facts"]
        limits.max_iterations = args["limits"]["max_iterations"]
        limits.max_time = datetime.timedelta(milliseconds=args["limits"]["max_time_ms"])
        builder.set_limits(limits)
        builder.add_code("".join(f"{f};\n" for f in facts))
        try:
            builder.build(token).authorize()
            results.append({"allowed": True, "error": None})
        except Exception as e:  # AuthorizationError: denied, with why
            results.append({"allowed": False, "error": f"{type(e).__name__}: {e}"})
    return {"results": results}


def append(args):
    token = parse(args).append(BlockBuilder(args["block"]))
    return {"token": token.to_base64(), "blocks": token.block_count()}


def verify(args):
    try:
        token = parse(args)
    except Exception as e:
        return {"verified": False, "error": f"{type(e).__name__}: {e}", "authority": None}
    return {"verified": True, "error": None, "authority": token.block_source(0)}


def main():
    actions = {"authorize": authorize, "append": append, "verify": verify}
    if len(sys.argv) != 2 or sys.argv[1] not in actions:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(actions)} < request.json")
    print(json.dumps(actions[sys.argv[1]](json.load(sys.stdin))))


if __name__ == "__main__":
    main()
