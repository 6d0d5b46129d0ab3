// Transactions: teekm against ethers v6 (the independent oracle), both directions.
//
//   node tx_interop.mjs --teekm PATH --workdir DIR [--count N] [--seed S]
//
// A seeded generator makes N random transactions of types 0-4 with edge values
// (zero and max uint256 quantities, the largest legacy chain id, empty / 1-byte
// / long data, contract creation, large access lists, EIP-7702 authorization
// lists with valid and garbage signatures, EIP-4844 versioned hashes).
//  A. ethers signs each one; `teekm tx decode --batch` must report exactly the
//     fields ethers parses from the bytes, the signer's address (recovered by
//     teekm), ethers' hash and signing hash, and each authorization's
//     authority as ethers' verifyAuthorization recovers it.
//  B. the same transaction, as the JSON-RPC request ethers' JsonRpcSigner
//     sends to eth_signTransaction, goes through `teekm tx sign-dev --batch`;
//     the result must be byte-identical to ethers' signed serialization
//     (RFC 6979 on both sides), and ethers must parse it and recover the key's
//     address from it.
// Exit status 0 only when every transaction agrees.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {
    JsonRpcApiProvider, Signature, Transaction, Wallet, getAddress, hexlify, recoverAddress, toQuantity,
    verifyAuthorization,
} from "ethers";

import os from "node:os";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

// The work is split into shards (worker threads, default 2) with derived seeds, so that
// the ethers side (pure-JS secp256k1) uses the machine's cores; every shard is complete
// on its own (generation, A, B).
let COUNT, SEED, TEEKM, WORK;
if (isMainThread) {
    const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
        if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1]]);
        return acc;
    }, []));
    const count = Number(args.count ?? 10000);
    const seed = Number(args.seed ?? process.env.TKM_INTEROP_SEED ?? 20241125);
    if (!args.teekm || !args.workdir) throw new Error("usage: --teekm PATH --workdir DIR [--count N] [--seed S] [--jobs J]");
    const jobs = Math.max(1, Math.min(Number(args.jobs ?? process.env.TKM_INTEROP_JOBS ?? 2), os.availableParallelism()));
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: jobs }, (_, k) => new Promise((resolve, reject) => {
        const w = new Worker(new URL(import.meta.url), {
            workerData: {
                count: Math.floor(count / jobs) + (k < count % jobs ? 1 : 0), seed: seed + 7919 * k,
                teekm: args.teekm, workdir: path.join(args.workdir, `shard${k}`),
            },
        });
        w.on("message", resolve);
        w.on("error", reject);
        w.on("exit", (code) => { if (code !== 0) reject(new Error(`shard ${k} exited with ${code}`)); });
    })));
    const failures = results.reduce((a, r) => a + r.failures, 0);
    const counts = results.reduce((a, r) => a.map((x, i) => x + r.counts[i]), [0, 0, 0, 0, 0]);
    if (failures) {
        console.error(`tx interop: ${failures} failures (seed ${seed}, ${jobs} shards)`);
        process.exit(1);
    }
    console.log(`tx interop: all ${count} transactions (types 0-4: ${counts.join("/")}) agree in both directions ` +
                `(seed ${seed}, ${jobs} shards, ${Date.now() - t0} ms)`);
    process.exit(0);
}
({ count: COUNT, seed: SEED, teekm: TEEKM, workdir: WORK } = workerData);

// ---- seeded PRNG (xoshiro128**) ----
let s0 = SEED >>> 0 || 1, s1 = 0x9e3779b9, s2 = 0x243f6a88, s3 = 0xb7e15162;
function next32() {
    const r = Math.imul(((Math.imul(s1, 5) << 7) | (Math.imul(s1, 5) >>> 25)), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
    return r;
}
for (let i = 0; i < 32; i++) next32();
const randInt = (n) => Math.floor((next32() / 4294967296) * n);
const chance = (p) => next32() / 4294967296 < p;
const pick = (a) => a[randInt(a.length)];
function randBytes(n) {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = next32() & 0xff;
    return b;
}
function randBig(bits) { // uniform below 2^bits
    let v = 0n;
    for (let i = 0; i < bits; i += 32) v = (v << 32n) | BigInt(next32());
    return v & ((1n << BigInt(bits)) - 1n);
}
const MAX256 = (1n << 256n) - 1n;
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
// a quantity with a random bit length, or an edge value
function randQty(maxBits = 256) {
    const edges = [0n, 1n, 127n, 128n, 255n, 256n, (1n << 64n) - 1n, 1n << 64n, (1n << 255n), MAX256]
        .filter((x) => x < (1n << BigInt(maxBits)));
    if (chance(0.25)) return pick(edges);
    return randBig(1 + randInt(maxBits));
}
const below = (max) => (max === 0n ? 0n : randBig(256) % (max + 1n)); // uniform enough in [0, max]

function randAddress() {
    const r = randInt(20);
    if (r === 0) return "0x" + "00".repeat(20);
    if (r === 1) return "0x" + "ff".repeat(20);
    return getAddress(hexlify(randBytes(20)));
}

// ---- keys ----
function randKey() {
    for (;;) {
        const k = randBig(256);
        if (k > 0n && k < N) return "0x" + k.toString(16).padStart(64, "0");
    }
}
const SIGNERS = Array.from({ length: 4 }, () => new Wallet(randKey()));
const AUTHORITIES = Array.from({ length: 6 }, () => new Wallet(randKey()));
const KNOWN_AUTHORITY = new Map(); // signature -> the wallet that made it

// ---- generator ----
const ERC20 = "0xa9059cbb";
function randData() {
    const r = randInt(100);
    if (r < 25) return "0x";
    if (r < 30) return hexlify(randBytes(1)); // the RLP single-byte rule
    if (r < 55) return ERC20 + "000000000000000000000000" + hexlify(randBytes(20)).slice(2) + randBig(256).toString(16).padStart(64, "0");
    if (r < 90) return hexlify(randBytes(2 + randInt(200)));
    if (r < 99) return hexlify(randBytes(200 + randInt(4000)));
    return hexlify(randBytes(4096 + randInt(20480))); // up to 24 KiB (the EIP-170 code size)
}

function randAccessList() {
    const r = randInt(1000);
    let entries, maxKeys;
    if (r < 400) return [];
    if (r < 850) { entries = 1 + randInt(3); maxKeys = 4; }
    else if (r < 995) { entries = 4 + randInt(20); maxKeys = 10; }
    else { entries = 50 + randInt(150); maxKeys = 16; } // large
    return Array.from({ length: entries }, () => ({
        address: randAddress(),
        storageKeys: Array.from({ length: randInt(maxKeys + 1) }, () => hexlify(randBytes(32))),
    }));
}

function randAuthorization(txChainId) {
    const chainId = pick([0n, txChainId, randQty(256), 1n]);
    const nonce = randBig(64) % ((1n << 64n) - 1n); // EIP-7702: nonce < 2^64 - 1
    const address = randAddress();
    if (chance(0.85)) {
        const w = pick(AUTHORITIES);
        const a = w.authorizeSync({ address, nonce, chainId });
        KNOWN_AUTHORITY.set(a.signature.serialized, w.address); // ground truth: no need to recover it
        return a;
    }
    // a garbage (but well-formed, low-s) signature: the transaction stays valid, the authority may not recover
    const r = 1n + below(N - 2n), s = 1n + below(N / 2n - 1n);
    const sig = Signature.from({ r: toHex32(r), s: toHex32(s), yParity: randInt(2) });
    return { address, nonce, chainId, signature: sig };
}
const toHex32 = (x) => "0x" + x.toString(16).padStart(64, "0");

function randTx() {
    const type = randInt(5);
    const tx = { type };
    const legacyMaxChain = (MAX256 - 36n) / 2n; // v = 2 * chainId + 36 must fit 256 bits
    tx.chainId = type === 0 ? pick([1n, 5n, 137n, 1n + below(legacyMaxChain - 1n), legacyMaxChain])
                            : pick([1n, 10n, 8453n, (1n << 64n) - 1n, MAX256, 1n + below(MAX256 - 1n)]);
    tx.nonce = pick([0, 1, 127, 128, randInt(1 << 30), Number.MAX_SAFE_INTEGER, randInt(1e9) * 1000]);
    tx.gasLimit = pick([0n, 1n, 21000n, 65000n, (1n << 64n) - 1n, randBig(64)]);
    // gas * fee must fit 256 bits (teekm refuses an overflowing product, as clients do)
    const feeCap = tx.gasLimit === 0n ? MAX256 : MAX256 / tx.gasLimit;
    const fee = () => { const f = randQty(256); return f <= feeCap ? f : below(feeCap); };
    if (type <= 1) tx.gasPrice = fee();
    else {
        tx.maxFeePerGas = fee();
        tx.maxPriorityFeePerGas = pick([0n, tx.maxFeePerGas, below(tx.maxFeePerGas)]);
    }
    tx.to = type <= 2 && chance(0.1) ? null : randAddress();
    tx.value = randQty(256);
    tx.data = randData();
    if (type >= 1) tx.accessList = randAccessList();
    if (type === 3) {
        tx.maxFeePerBlobGas = randQty(256);
        tx.blobVersionedHashes = Array.from({ length: 1 + randInt(6) }, () => "0x01" + hexlify(randBytes(31)).slice(2));
    }
    if (type === 4) tx.authorizationList = Array.from({ length: 1 + randInt(4) }, () => randAuthorization(tx.chainId));
    return tx;
}

// ---- expected teekm views, from what ethers parses ----
const q = (x) => toQuantity(x);
function authorityOf(a) {
    const known = KNOWN_AUTHORITY.get(a.signature.serialized);
    if (known) return known;
    try { return verifyAuthorization({ address: a.address, nonce: a.nonce, chainId: a.chainId }, a.signature); }
    catch { return null; }
}
function expectedDecode(p, from) {
    const o = { type: q(p.type), chainId: q(p.chainId), nonce: q(p.nonce) };
    if (p.type <= 1) o.gasPrice = q(p.gasPrice);
    else { o.maxPriorityFeePerGas = q(p.maxPriorityFeePerGas); o.maxFeePerGas = q(p.maxFeePerGas); }
    o.gas = q(p.gasLimit);
    o.to = p.to ? getAddress(p.to) : null;
    o.value = q(p.value);
    o.data = p.data.toLowerCase();
    if (p.type !== 0) {
        // ethers' parser already gives EIP-55 addresses and lower-case keys
        o.accessList = p.accessList.map((e) => ({ address: e.address, storageKeys: e.storageKeys }));
    }
    if (p.type === 3) {
        o.maxFeePerBlobGas = q(p.maxFeePerBlobGas);
        o.blobVersionedHashes = p.blobVersionedHashes.map((h) => h.toLowerCase());
    }
    if (p.type === 4) {
        o.authorizationList = p.authorizationList.map((a) => {
            const e = {
                chainId: q(a.chainId), address: getAddress(a.address), nonce: q(a.nonce),
                yParity: q(a.signature.yParity), r: q(a.signature.r), s: q(a.signature.s),
            };
            const who = authorityOf(a);
            e.authority = who ? getAddress(who) : null;
            return e;
        });
    }
    if (p.type === 0) {
        o.eip155 = true;
        o.v = q(BigInt(p.chainId) * 2n + 35n + BigInt(p.signature.yParity));
    }
    o.yParity = q(p.signature.yParity);
    o.r = q(p.signature.r);
    o.s = q(p.signature.s);
    o.from = getAddress(from);
    o.hash = p.hash;
    o.signingHash = p.unsignedHash;
    return o;
}

// The eth_signTransaction request ethers' JsonRpcSigner sends, with the
// spelling variations every client may use.
function rpcRequest(tx, from) {
    const req = { ...tx, from };
    const rpc = JsonRpcApiProvider.prototype.getRpcTransaction.call(null, req);
    // ethers 6.17 leaves maxFeePerBlobGas out of the request; teekm requires it (no default fee).
    if (tx.type === 3) rpc.maxFeePerBlobGas = q(tx.maxFeePerBlobGas);
    const r = randInt(10);
    if (r === 0) { rpc.input = rpc.data; delete rpc.data; }
    else if (r === 1) rpc.input = rpc.data; // both, identical
    if (chance(0.2)) { rpc.gasLimit = rpc.gas; if (chance(0.5)) delete rpc.gas; }
    if (rpc.to && chance(0.3)) rpc.to = getAddress(rpc.to);
    // drop type where it is unambiguous (docs/transactions.md "Type inference")
    if (chance(0.3) && (tx.type === 2 || tx.type === 4 || (tx.type === 1 && rpc.accessList))) delete rpc.type;
    if (chance(0.2)) delete rpc.from;
    return rpc;
}

// ---- run ----
function runTeekm(argv, input) {
    const r = spawnSync(TEEKM, argv, { input, maxBuffer: 1 << 30, encoding: "utf8" });
    if (r.error) throw r.error;
    if (r.stderr) process.stderr.write(r.stderr);
    return r.stdout.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

function deepEqual(a, b) {
    if (a === b) return true;
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    const ka = Object.keys(a), kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
}

fs.mkdirSync(WORK, { recursive: true });
const keyFiles = SIGNERS.map((w, i) => {
    const f = path.join(WORK, `dev${i}.key`);
    fs.writeFileSync(f, `dev:${w.privateKey}\n`, { mode: 0o600 });
    fs.chmodSync(f, 0o600);
    return f;
});

const t0 = Date.now();
const items = [];
const counts = [0, 0, 0, 0, 0];
for (let i = 0; i < COUNT; i++) {
    const tx = randTx();
    const signer = i % SIGNERS.length;
    const t = Transaction.from(tx);
    t.signature = SIGNERS[signer].signingKey.sign(t.unsignedHash);
    items.push({ tx, signer, raw: t.serialized });
    counts[tx.type]++;
}
console.log(`  shard seed ${SEED}: ${COUNT} transactions (types 0-4: ${counts.join("/")}), ethers signed in ${Date.now() - t0} ms`);

let failures = 0;
const fail = (i, what, extra) => {
    failures++;
    if (failures <= 10) console.error(`FAIL #${i} (type ${items[i].tx.type}): ${what}\n  raw ${items[i].raw.slice(0, 400)}\n  ${extra ?? ""}`);
};

// A. ethers signs -> teekm decodes and recovers
let t1 = Date.now();
const decoded = runTeekm(["tx", "decode", "--batch"], items.map((it) => it.raw).join("\n") + "\n");
if (decoded.length !== items.length) throw new Error(`teekm decoded ${decoded.length} of ${items.length}`);
// teekm says why an authority does not recover; ethers only throws: keep the fact, drop the reason
function normalizeAuthorities(d) {
    for (const a of d.authorizationList ?? []) {
        if (a.authority === null && typeof a.authorityError === "string") delete a.authorityError;
    }
    return d;
}
for (let i = 0; i < items.length; i++) {
    const it = items[i];
    normalizeAuthorities(decoded[i]);
    const p = Transaction.from(it.raw);
    const want = expectedDecode(p, SIGNERS[it.signer].address);
    it.unsignedHash = want.signingHash;
    if (!deepEqual(decoded[i], want))
        fail(i, "decode differs", `teekm ${JSON.stringify(decoded[i]).slice(0, 1500)}\n  ethers ${JSON.stringify(want).slice(0, 1500)}`);
}
console.log(`  shard seed ${SEED}: A. ethers-signed -> teekm decode: ${items.length} compared in ${Date.now() - t1} ms`);

// B. teekm signs (the request ethers would send) -> byte-identical, ethers parses and recovers
t1 = Date.now();
const rawByItem = new Array(items.length);
for (let k = 0; k < SIGNERS.length; k++) {
    const idx = items.map((it, i) => (it.signer === k ? i : -1)).filter((i) => i >= 0);
    const reqs = idx.map((i) => JSON.stringify(rpcRequest(items[i].tx, SIGNERS[k].address)));
    const out = runTeekm(["tx", "sign-dev", "--key-file", keyFiles[k], "--batch"], reqs.join("\n") + "\n");
    if (out.length !== idx.length) throw new Error(`teekm signed ${out.length} of ${idx.length}`);
    idx.forEach((i, j) => { rawByItem[i] = out[j].raw ?? out[j]; if (!out[j].raw) fail(i, "teekm refused the request", `${reqs[j].slice(0, 600)} -> ${JSON.stringify(out[j])}`); });
}
for (let i = 0; i < items.length; i++) {
    const raw = rawByItem[i];
    if (typeof raw !== "string") continue;
    if (raw !== items[i].raw) { fail(i, "teekm signature differs from ethers'", `teekm ${raw.slice(0, 400)}`); continue; }
    // ethers parses teekm's bytes and recovers the signer from teekm's signature (the signing
    // hash of these bytes is the one ethers computed in A: the bytes are identical)
    const p = Transaction.from(raw);
    const who = recoverAddress(items[i].unsignedHash, p.signature);
    if (who !== SIGNERS[items[i].signer].address) fail(i, "ethers recovers another address", who);
}
console.log(`  shard seed ${SEED}: B. teekm sign-dev -> ethers parse + recover: ${items.length} in ${Date.now() - t1} ms`);

console.log(`  shard seed ${SEED}: done in ${Date.now() - t0} ms, ${failures} failures`);
parentPort.postMessage({ failures, counts });
