#!/usr/bin/env python3
"""Seeds the eth fuzz corpora (rlp, tx_raw, tx_json, calldata) from the checked-in vectors.
Run from the repository root: python3 fuzz/eth_seed_corpus.py (idempotent; names are content hashes)."""
import glob, hashlib, json, os

def put(target, data):
    d = f"fuzz/{target}/corpus"
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(f"{d}/{name}", "wb") as f:
        f.write(data)

def unhex(s):
    s = s[2:] if s.startswith("0x") else s
    return bytes.fromhex(s)

for name, c in json.load(open("tests/vectors/rlp/rlptest.json")).items():
    put("rlp", unhex(c["out"]))
for name, c in json.load(open("tests/vectors/rlp/invalidRLPTest.json")).items():
    put("rlp", unhex(c["out"]))
for f in glob.glob("tests/vectors/transaction-tests/*/*.json"):
    for name, c in json.load(open(f)).items():
        put("tx_raw", unhex(c["txbytes"]))
        put("rlp", unhex(c["txbytes"]))
v = json.load(open("tests/vectors/eth-tx/ethers_signed.json"))
for c in v["cases"]:
    put("tx_raw", unhex(c["raw"]))
    put("tx_json", json.dumps(c["request"]).encode())
put("tx_raw", unhex(json.load(open("tests/vectors/eip-155/eip155_example.json"))["signedTx"]))
for j in [
    '{"chainId":"0x1","nonce":"0x0","gas":"0x5208","maxFeePerGas":"0x2","maxPriorityFeePerGas":"0x1","to":null}',
    '{"type":"0x0","chainId":"0x1","nonce":"0x0","gasLimit":"0x5208","gasPrice":"0x1","input":"0x","data":"0x"}',
    '{"gasPrice":"0x1","accessList":[],"chainId":"0x1","nonce":"0x0","gas":"0x1"}',
    '{"type":"0x3","chainId":"0x1","nonce":"0x0","gas":"0x1","maxFeePerGas":"0x2","maxPriorityFeePerGas":"0x1","to":"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed","maxFeePerBlobGas":"0x1","blobVersionedHashes":["0x0100000000000000000000000000000000000000000000000000000000000000"]}',
]:
    put("tx_json", j.encode())
for c in json.load(open("tests/vectors/calldata/ethers_calls.json"))["calls"]:
    put("calldata", unhex(c["data"]))
