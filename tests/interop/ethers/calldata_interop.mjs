// Token calldata: teekm against ethers' ABI coder (the independent oracle).
//
//   node calldata_interop.mjs --teekm PATH [--count N] [--seed S]
//
// Random calls of every ERC-20 / ERC-3643 function teekm knows, encoded by
// ethers from the human-readable signature, must decode in teekm to the same
// function, selector and arguments. Then each encoding is damaged in ways
// the canonical-only rules refuse (a byte appended, a cut, a dirty address
// padding byte, a non-canonical offset) and teekm must refuse each one; and
// random selectors that are not in the table must be reported unknown.
import { spawnSync } from "node:child_process";
import { Interface, getAddress, hexlify } from "ethers";

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1]]);
    return acc;
}, []));
const COUNT = Number(args.count ?? 3000);
let seed = Number(args.seed ?? process.env.TKM_INTEROP_SEED ?? 20241125) >>> 0 || 1;
const next32 = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>>= 0); };
const randInt = (n) => Math.floor((next32() / 4294967296) * n);
const randBytes = (n) => Uint8Array.from({ length: n }, () => next32() & 0xff);
const randAddr = () => getAddress(hexlify(randBytes(20)));
const randU256 = () => {
    const r = randInt(4);
    if (r === 0) return 0n;
    if (r === 1) return (1n << 256n) - 1n;
    let v = 0n;
    const words = 1 + randInt(8);
    for (let i = 0; i < words; i++) v = (v << 32n) | BigInt(next32());
    return v;
};
const randString = () => {
    const alphabet = ["a", "Z", "0", " ", "-", "é", "€", "🏦", "\u0000"];
    return Array.from({ length: randInt(80) }, () => alphabet[randInt(alphabet.length)]).join("");
};

const SIGS = [
    "transfer(address to, uint256 value)", "transferFrom(address from, address to, uint256 value)",
    "approve(address spender, uint256 value)", "increaseAllowance(address spender, uint256 addedValue)",
    "decreaseAllowance(address spender, uint256 subtractedValue)", "setName(string name)", "setSymbol(string symbol)",
    "setOnchainID(address onchainID)", "pause()", "unpause()", "setAddressFrozen(address userAddress, bool freeze)",
    "freezePartialTokens(address userAddress, uint256 amount)", "unfreezePartialTokens(address userAddress, uint256 amount)",
    "setIdentityRegistry(address identityRegistry)", "setCompliance(address compliance)",
    "forcedTransfer(address from, address to, uint256 amount)", "mint(address to, uint256 amount)",
    "burn(address userAddress, uint256 amount)",
    "recoveryAddress(address lostWallet, address newWallet, address investorOnchainID)",
    "batchTransfer(address[] toList, uint256[] amounts)",
    "batchForcedTransfer(address[] fromList, address[] toList, uint256[] amounts)",
    "batchMint(address[] toList, uint256[] amounts)", "batchBurn(address[] userAddresses, uint256[] amounts)",
    "batchSetAddressFrozen(address[] userAddresses, bool[] freeze)",
    "batchFreezePartialTokens(address[] userAddresses, uint256[] amounts)",
    "batchUnfreezePartialTokens(address[] userAddresses, uint256[] amounts)",
    "addAgent(address agent)", "removeAgent(address agent)", "transferOwnership(address newOwner)",
];
const FRAGS = SIGS.map((s) => new Interface(["function " + s]).fragments[0]);
const SELECTORS = new Set(FRAGS.map((f) => f.selector));

function randArgs(f) {
    const len = randInt(4) === 0 ? 0 : 1 + randInt(12); // one length for every array of a batch call
    return f.inputs.map((p) => {
        switch (p.type) {
            case "address": return randAddr();
            case "uint256": return randU256();
            case "bool": return randInt(2) === 1;
            case "string": return randString();
            case "address[]": return Array.from({ length: len }, randAddr);
            case "uint256[]": return Array.from({ length: len }, randU256);
            case "bool[]": return Array.from({ length: len }, () => randInt(2) === 1);
            default: throw new Error(p.type);
        }
    });
}
// what teekm prints for an argument
const view = (type, v) => type === "string" ? null
    : Array.isArray(v) ? v.map((x) => view(type.slice(0, -2), x)) : typeof v === "bigint" ? v.toString() : v;

const cases = [];
for (let i = 0; i < COUNT; i++) {
    const f = FRAGS[randInt(FRAGS.length)];
    const a = randArgs(f);
    cases.push({ f, a, data: new Interface([f]).encodeFunctionData(f, a) });
}

function runBatch(lines) {
    const r = spawnSync(args.teekm, ["calldata", "decode", "--batch"], { input: lines.join("\n") + "\n", maxBuffer: 1 << 30, encoding: "utf8" });
    if (r.error) throw r.error;
    return r.stdout.split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

let failures = 0;
const fail = (msg) => { if (++failures <= 10) console.error("FAIL " + msg); };

// 1. ethers-encoded calls decode to the same call
const out = runBatch(cases.map((c) => c.data));
if (out.length !== cases.length) throw new Error("teekm answered " + out.length);
cases.forEach((c, i) => {
    const o = out[i];
    if (o.error) return fail(`${c.f.format()} ${c.data.slice(0, 200)}: ${o.error} ${o.detail}`);
    if (o.selector !== c.f.selector || o.signature !== c.f.format("sighash") || o.function !== c.f.name)
        return fail(`${c.f.format()}: identified as ${o.signature}`);
    c.f.inputs.forEach((p, k) => {
        const got = o.args[k];
        if (got.name !== p.name || got.type !== p.type) return fail(`${c.f.format()} arg ${k}: ${got.name} ${got.type}`);
        if (p.type === "string") {
            const hex = hexlify(new TextEncoder().encode(c.a[k]));
            if (got.value.hex !== hex || got.value.text !== c.a[k]) fail(`${c.f.format()} string ${JSON.stringify(got.value)}`);
        } else if (JSON.stringify(got.value) !== JSON.stringify(view(p.type, c.a[k]))) {
            fail(`${c.f.format()} arg ${k}: ${JSON.stringify(got.value).slice(0, 200)} != ${JSON.stringify(view(p.type, c.a[k])).slice(0, 200)}`);
        }
    });
});

// 2. damaged encodings are refused with the right code
const damaged = [];
for (const c of cases.slice(0, 1000)) {
    const hex = c.data.slice(2);
    damaged.push([c.data + "00", "TRAILING"]);
    if (hex.length > 8) damaged.push(["0x" + hex.slice(0, hex.length - 2), null]); // any refusal
    const firstAddr = c.f.inputs.findIndex((p) => p.type === "address");
    if (firstAddr >= 0) {
        const at = 8 + 64 * firstAddr + 2 * randInt(12); // a byte of the 12-byte padding
        damaged.push(["0x" + hex.slice(0, at) + "01" + hex.slice(at + 2), "ABI_PADDING"]);
    }
    const firstDyn = c.f.inputs.findIndex((p) => p.type.endsWith("[]") || p.type === "string");
    if (firstDyn >= 0) {
        const at = 8 + 64 * firstDyn + 62; // low byte of the offset word
        const off = parseInt(hex.slice(at, at + 2), 16);
        damaged.push(["0x" + hex.slice(0, at) + ((off + 32) & 0xff).toString(16).padStart(2, "0") + hex.slice(at + 2), null]);
    }
}
const dout = runBatch(damaged.map((d) => d[0]));
damaged.forEach(([data, want], i) => {
    if (!dout[i].error) return fail(`damaged calldata accepted: ${data.slice(0, 200)}`);
    if (want && dout[i].error !== want) fail(`damaged calldata: ${dout[i].error}, want ${want}: ${data.slice(0, 120)}`);
});

// 3. selectors outside the table are unknown, whatever follows
const unknown = [];
while (unknown.length < 500) {
    const sel = hexlify(randBytes(4));
    if (!SELECTORS.has(sel)) unknown.push(sel + hexlify(randBytes(32 * randInt(4))).slice(2));
}
runBatch(unknown).forEach((o, i) => { if (o.error !== "ABI_UNKNOWN_SELECTOR") fail(`unknown selector ${unknown[i].slice(0, 10)}: ${JSON.stringify(o).slice(0, 100)}`); });

if (failures) {
    console.error(`calldata interop: ${failures} failures`);
    process.exit(1);
}
console.log(`calldata interop: ${cases.length} ethers-encoded calls agree, ${damaged.length} damaged encodings refused, ${unknown.length} unknown selectors reported`);
