#!/usr/bin/env node
// EIP-712 interop: teekm against ethers 6.17.0 (TypedDataEncoder, Wallet,
// verifyTypedData). Usage: node eip712_ethers.js TEEKM WORKDIR
// Env: TKM_EIP712_DOCS (default 1000 random documents), TKM_EIP712_SEED.
//
//  1. N random documents (nested structs, arrays of structs, multi-dimensional
//     fixed/dynamic arrays, every uintN/intN/bytesN, bool, address, string,
//     bytes, edge values, every accepted number form, unicode): teekm's
//     domainSeparator/structHash/digest must equal ethers' byte for byte.
//  2. ethers signs each (Wallet.signTypedData, a fresh key per document):
//     teekm recovers the signer.
//  3. teekm signs each (sign-dev, a development key file): ethers
//     verifyTypedData recovers the key's address, and the signature equals
//     ethers' own for the same key (both are RFC 6979, low s).
//  4. Random corruptions of valid documents: teekm rejects every one; those
//     ethers rejects too are counted, those only teekm rejects are documented
//     strictness (docs/eip712.md).
//  5. The checked-in edge and invalid cases (tests/vectors/eip712) still match
//     ethers and teekm.
// teekm runs in batch mode: a handful of processes for the whole run.
"use strict";
const fs = require("fs");
const path = require("path");
const { spawnSync } = require("child_process");
const ethers = require(path.join(__dirname, "ethers", "node_modules", "ethers"));
const { TypedDataEncoder, Wallet, verifyTypedData, getAddress, hexlify, SigningKey } = ethers;
const cases = require(path.join(__dirname, "..", "vectors", "eip712", "cases.js"));

const [teekm, work] = process.argv.slice(2);
if (!teekm || !work) {
  console.error("usage: eip712_ethers.js TEEKM WORKDIR");
  process.exit(2);
}
const N = parseInt(process.env.TKM_EIP712_DOCS || "1000", 10);
const SEED = parseInt(process.env.TKM_EIP712_SEED || "712", 10);
let failures = 0;
function fail(msg) {
  failures++;
  if (failures <= 20) console.error("FAIL: " + msg);
}

// ---- deterministic randomness ----
function mulberry32(a) {
  return function () {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(SEED);
const rint = (n) => Math.floor(rnd() * n);
const pick = (a) => a[rint(a.length)];
const chance = (p) => rnd() < p;
function rbytes(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rint(256);
  return b;
}
function rbig(bits) {
  let v = 0n;
  for (let i = 0; i < bits; i += 8) v = (v << 8n) | BigInt(rint(256));
  return v & ((1n << BigInt(bits)) - 1n);
}
const randCase = (hex) => hex.replace(/[a-f]/g, (c) => (chance(0.5) ? c.toUpperCase() : c));
function hexOfBytes(b, caseMix) {
  const h = hexlify(b).slice(2);
  return "0x" + (caseMix ? randCase(h) : h);
}

// ---- random types ----
// type names without "$" (see docs/eip712.md), field names with it
const IDSTART = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
const IDCHAR = IDSTART + "0123456789";
function ident(used, dollar) {
  for (;;) {
    let s = pick(dollar ? IDSTART + "$" : IDSTART);
    const n = 1 + rint(10);
    for (let i = 0; i < n; i++) s += pick(dollar ? IDCHAR + "$" : IDCHAR);
    if (/^(u?int\d*|bytes\d*|u?fixed.*|bool|address|string|byte|function|EIP712Domain)$/.test(s)) continue;
    if (used.has(s)) continue;
    used.add(s);
    return s;
  }
}
function atomicType() {
  switch (rint(8)) {
    case 0: return "uint" + 8 * (1 + rint(32));
    case 1: return "int" + 8 * (1 + rint(32));
    case 2: return "bytes" + (1 + rint(32));
    case 3: return "bool";
    case 4: return "address";
    case 5: return "string";
    case 6: return "bytes";
    default: return pick(["uint256", "int256", "uint8", "int8", "bytes32", "address"]);
  }
}
function dims() {
  const r = rnd();
  const k = r < 0.62 ? 0 : r < 0.86 ? 1 : r < 0.96 ? 2 : 3;
  let s = "";
  for (let i = 0; i < k; i++) s += chance(0.6) ? "[]" : `[${1 + rint(3)}]`;
  return s;
}

function randomTypes() {
  const used = new Set();
  const n = 1 + rint(5);
  const names = [];
  for (let i = 0; i < n; i++) names.push(ident(used));
  const types = {};
  for (let i = 0; i < n; i++) {
    const fused = new Set();
    const nf = chance(0.05) ? 0 : 1 + rint(6);
    types[names[i]] = [];
    for (let f = 0; f < nf; f++) {
      // struct fields only point "down" (j > i): no cycles
      const base = i + 1 < n && chance(0.3) ? names[i + 1 + rint(n - i - 1)] : atomicType();
      types[names[i]].push({ name: chance(0.05) ? pick(["string", "uint256", "address", "from", "to"]) : ident(fused, true), type: base + dims() });
      if (new Set(types[names[i]].map((x) => x.name)).size !== types[names[i]].length) types[names[i]].pop();
    }
  }
  // make every type reachable from the primary (names[0])
  for (let j = 1; j < n; j++) {
    const reach = reachable(types, names[0]);
    if (!reach.has(names[j])) {
      const i = rint(j);
      const fused = new Set(types[names[i]].map((x) => x.name));
      types[names[i]].push({ name: ident(fused, true), type: names[j] + dims() });
    }
  }
  return { types, primary: names[0] };
}
function baseOf(t) { return t.replace(/\[.*$/, ""); }
function reachable(types, root) {
  const seen = new Set();
  const walk = (t) => {
    if (seen.has(t) || !types[t]) return;
    seen.add(t);
    for (const f of types[t]) walk(baseOf(f.type));
  };
  walk(root);
  return seen;
}

// ---- random values ----
const STRINGS = [
  "", "a", "Hello, Bob!", "naïve café", "日本語のテキスト", "🦊🔑", "e\u0301", "עברית", "\"q\" \\ /",
  "line\nbreak\ttab", "\u007f\u0001\u001f", "x".repeat(136), "é".repeat(68), "teekm ".repeat(40), "\u2028\u2029", "\uffff",
];
function rstring() {
  if (chance(0.6)) return pick(STRINGS);
  let s = "";
  const n = rint(20);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    let cp = r < 0.5 ? 0x20 + rint(0x5f) : r < 0.7 ? 0x80 + rint(0x780) : r < 0.9 ? 0x800 + rint(0xd000 - 0x800) : 0x10000 + rint(0x100000 - 0x10000);
    s += String.fromCodePoint(cp);
  }
  return s;
}
function intValue(signed, bits) {
  const B = BigInt(bits);
  const max = signed ? (1n << (B - 1n)) - 1n : (1n << B) - 1n;
  const min = signed ? -(1n << (B - 1n)) : 0n;
  let v;
  switch (rint(9)) {
    case 0: v = 0n; break;
    case 1: v = 1n; break;
    case 2: v = max; break;
    case 3: v = min; break;
    case 4: v = max - 1n; break;
    case 5: v = signed ? -1n : min + 1n; break;
    case 6: v = signed ? min + 1n : 2n; break;
    default: {
      const b = 1 + rint(bits);
      v = rbig(b);
      if (v > max) v = max;
      if (signed && chance(0.5)) v = -v;
      if (v < min) v = min;
    }
  }
  const abs = v < 0n ? -v : v;
  const r = rnd();
  if (abs <= 9007199254740991n && r < 0.3) return Number(v);
  if (v >= 0n && r < 0.65) {
    let h = v.toString(16);
    if (chance(0.3)) h = h.padStart(Math.min(64, h.length + 1 + rint(64 - h.length + 1)), "0");
    return "0x" + (chance(0.3) ? randCase(h) : h);
  }
  return v.toString();
}
function addressValue() {
  const a = hexlify(rbytes(20));
  const r = rnd();
  if (r < 0.4) return getAddress(a);
  if (r < 0.7) return a;
  return "0x" + a.slice(2).toUpperCase();
}
let budget = 0;
function value(types, type) {
  budget--;
  const m = type.match(/^(.*)\[(\d*)\]$/);
  if (m) {
    const len = m[2] === "" ? (budget > 0 ? rint(4) : 0) : parseInt(m[2], 10);
    const out = [];
    for (let i = 0; i < len; i++) out.push(value(types, m[1]));
    return out;
  }
  if (types[type]) {
    const o = {};
    const fields = types[type].slice();
    // random key order: order must not matter
    for (let i = fields.length - 1; i > 0; i--) { const j = rint(i + 1); [fields[i], fields[j]] = [fields[j], fields[i]]; }
    for (const f of fields) o[f.name] = value(types, f.type);
    return o;
  }
  let mm;
  if ((mm = type.match(/^(u?)int(\d+)$/))) return intValue(mm[1] === "", parseInt(mm[2], 10));
  if ((mm = type.match(/^bytes(\d+)$/))) return hexOfBytes(rbytes(parseInt(mm[1], 10)), chance(0.3));
  switch (type) {
    case "bool": return chance(0.5);
    case "address": return addressValue();
    case "string": return rstring();
    case "bytes": return hexOfBytes(rbytes(pick([0, 0, 1, 31, 32, 33, 64, 135, 136, 137, rint(300)])), chance(0.3));
  }
  throw new Error("generator: unknown type " + type);
}
const DOMAIN_FIELDS = [
  ["name", "string", () => rstring()],
  ["version", "string", () => pick(["1", "2", "v1.0-β", ""])],
  ["chainId", "uint256", () => intValue(false, pick([8, 32, 64, 256]))],
  ["verifyingContract", "address", () => addressValue()],
  ["salt", "bytes32", () => hexOfBytes(rbytes(32), chance(0.3))],
];
function randomDoc() {
  for (;;) {
    const { types, primary } = randomTypes();
    budget = 200;
    const message = value(types, primary);
    if (budget < -600) continue; // fixed arrays of structs grew too big: try another shape
    const dTypes = [], domain = {};
    for (const [name, type, gen] of DOMAIN_FIELDS) {
      if (chance(0.6)) { dTypes.push({ name, type }); domain[name] = gen(); }
    }
    const allTypes = { EIP712Domain: dTypes };
    const keys = Object.keys(types);
    for (let i = keys.length - 1; i > 0; i--) { const j = rint(i + 1); [keys[i], keys[j]] = [keys[j], keys[i]]; }
    for (const k of keys) allTypes[k] = types[k];
    return { types: allTypes, primaryType: primary, domain, message };
  }
}

// ---- teekm in batch mode ----
function teekmBatch(args, lines) {
  const r = spawnSync(teekm, ["typed-data", ...args, "--batch"], {
    input: lines.map((l) => JSON.stringify(l)).join("\n") + "\n",
    maxBuffer: 1 << 30,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`teekm ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  const out = r.stdout.split("\n").filter((l) => l.length);
  if (out.length !== lines.length) throw new Error(`teekm answered ${out.length} lines for ${lines.length}`);
  return out.map((l) => JSON.parse(l));
}
function teekmBatchRaw(lines) {
  const r = spawnSync(teekm, ["typed-data", "hash", "--batch"], { input: lines.join("\n") + "\n", maxBuffer: 1 << 30, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`teekm exited ${r.status}: ${r.stderr}`);
  return r.stdout.split("\n").filter((l) => l.length).map((l) => JSON.parse(l));
}
const ethersTypes = (doc) => { const t = Object.assign({}, doc.types); delete t.EIP712Domain; return t; };

async function main() {
  fs.mkdirSync(work, { recursive: true });
  // ---- 1. hashes ----
  const docs = [];
  for (let i = 0; i < N; i++) docs.push(randomDoc());
  const want = docs.map((d, i) => {
    const v = cases.ethersVerdict(d);
    if (!v.ok) throw new Error(`generator made a document ethers rejects (#${i}): ${v.error}`);
    return v.hashes;
  });
  // what the documents cover (asserted: every atomic type appears when N >= 1000)
  const atomics = new Set(), cov = { nestedStruct: 0, structArray: 0, multiDim: 0, fixedArray: 0, emptyDomain: 0, fullDomain: 0 };
  for (const d of docs) {
    const f = { nestedStruct: 0, structArray: 0, multiDim: 0, fixedArray: 0 };
    for (const [tn, fields] of Object.entries(d.types)) {
      if (tn === "EIP712Domain") continue;
      for (const fl of fields) {
        const b = baseOf(fl.type), nd = (fl.type.match(/\[/g) || []).length;
        if (d.types[b]) { f.nestedStruct = 1; if (nd) f.structArray = 1; } else atomics.add(b);
        if (nd >= 2) f.multiDim = 1;
        if (/\[\d+\]/.test(fl.type)) f.fixedArray = 1;
      }
    }
    for (const k of Object.keys(f)) cov[k] += f[k];
    if (!d.types.EIP712Domain.length) cov.emptyDomain++;
    if (d.types.EIP712Domain.length === 5) cov.fullDomain++;
  }
  console.log(`documents: ${N}, ${atomics.size} distinct atomic types, ` + Object.entries(cov).map(([k, v]) => `${k} ${v}`).join(", "));
  if (N >= 1000 && atomics.size !== 32 + 32 + 32 + 4) fail(`only ${atomics.size} of the 100 atomic types were generated`);
  const got = teekmBatch(["hash"], docs);
  let same = 0;
  got.forEach((g, i) => {
    const w = want[i];
    if (g.error) return fail(`doc #${i}: teekm error ${g.error}: ${g.detail}\n${JSON.stringify(docs[i]).slice(0, 2000)}`);
    if (g.domainSeparator !== w.domainSeparator || g.structHash !== w.structHash || g.digest !== w.digest)
      return fail(`doc #${i}: hashes differ\n teekm ${JSON.stringify(g)}\n ethers ${JSON.stringify(w)}\n${JSON.stringify(docs[i]).slice(0, 2000)}`);
    same++;
  });
  console.log(`hashes: ${same}/${N} random documents byte-identical to ethers (seed ${SEED})`);

  // ---- 2. ethers signs, teekm recovers ----
  const wallets = docs.map(() => new Wallet(hexlify(rbytes(31)).replace("0x", "0x01")));
  const sigs = await Promise.all(docs.map((d, i) => wallets[i].signTypedData(d.domain, ethersTypes(d), d.message)));
  const rec = teekmBatch(["recover"], docs.map((d, i) => ({ typedData: d, signature: sigs[i] })));
  let recOk = 0;
  rec.forEach((r, i) => {
    if (r.error) return fail(`recover #${i}: ${r.error}: ${r.detail}`);
    if (r.signer !== wallets[i].address) return fail(`recover #${i}: teekm ${r.signer}, signer ${wallets[i].address}`);
    recOk++;
  });
  console.log(`ethers signs, teekm recovers: ${recOk}/${N}`);

  // ---- 3. teekm signs, ethers verifies ----
  const devKey = hexlify(rbytes(32));
  const devWallet = new Wallet(devKey);
  const keyFile = path.join(work, "dev.key");
  fs.writeFileSync(keyFile, "dev:" + devKey + "\n", { mode: 0o600 });
  fs.chmodSync(keyFile, 0o600);
  const tsigs = teekmBatch(["sign-dev", "--key-file", keyFile], docs);
  const esigs = await Promise.all(docs.map((d) => devWallet.signTypedData(d.domain, ethersTypes(d), d.message)));
  let signOk = 0;
  tsigs.forEach((s, i) => {
    if (s.error) return fail(`sign-dev #${i}: ${s.error}: ${s.detail}`);
    const d = docs[i];
    const who = verifyTypedData(d.domain, ethersTypes(d), d.message, s.signature);
    if (who !== devWallet.address) return fail(`sign-dev #${i}: ethers recovers ${who}, key is ${devWallet.address}`);
    if (s.signature !== esigs[i]) return fail(`sign-dev #${i}: teekm ${s.signature} != ethers ${esigs[i]}`);
    signOk++;
  });
  console.log(`teekm signs, ethers verifies (and signs identically): ${signOk}/${N}`);

  // ---- 4. random corruptions ----
  const muts = [];
  for (let i = 0; i < docs.length && muts.length < Math.max(100, N / 2); i++) {
    const m = corrupt(docs[i]);
    if (m) muts.push(m);
  }
  const mres = teekmBatch(["hash"], muts.map((m) => m.doc));
  const tally = {};
  mres.forEach((r, i) => {
    const m = muts[i];
    const ev = cases.ethersVerdict(m.doc);
    const key = `${m.kind} (ethers ${ev.ok ? "accepts" : "rejects"})`;
    tally[key] = (tally[key] || 0) + 1;
    if (!r.error) return fail(`corruption ${m.kind} at ${m.where} accepted by teekm`);
    if (!m.errors.includes(r.error)) return fail(`corruption ${m.kind} at ${m.where}: teekm ${r.error} (${r.detail}), expected ${m.errors}`);
    if (m.ethersRejects && ev.ok) return fail(`corruption ${m.kind} at ${m.where}: ethers accepted it`);
  });
  console.log(`corruptions rejected: ${muts.length} — ` + Object.entries(tally).map(([k, v]) => `${k}: ${v}`).join(", "));

  // ---- 5. checked-in cases ----
  const edge = require(path.join(__dirname, "..", "vectors", "eip712", "edge_cases.json")).cases;
  const fresh = cases.edgeCases();
  if (fresh.length !== edge.length) fail("edge_cases.json is stale: run gen_cases.js");
  const eres = teekmBatch(["hash"], edge.map((c) => c.typedData));
  edge.forEach((c, i) => {
    const v = cases.ethersVerdict(c.typedData);
    if (!v.ok) return fail(`edge ${c.name}: ethers rejects: ${v.error}`);
    if (JSON.stringify(v.hashes) !== JSON.stringify(c.expected)) fail(`edge ${c.name}: edge_cases.json is stale`);
    if (JSON.stringify(fresh[i].typedData) !== JSON.stringify(c.typedData)) fail(`edge ${c.name}: edge_cases.json is stale`);
    const g = eres[i];
    if (g.error) return fail(`edge ${c.name}: teekm ${g.error}: ${g.detail}`);
    if (g.domainSeparator !== v.hashes.domainSeparator || g.structHash !== v.hashes.structHash || g.digest !== v.hashes.digest)
      fail(`edge ${c.name}: teekm ${JSON.stringify(g)} ethers ${JSON.stringify(v.hashes)}`);
  });
  const inv = require(path.join(__dirname, "..", "vectors", "eip712", "invalid_cases.json")).cases;
  const ires = teekmBatchRaw(inv.map((c) => (c.raw !== undefined ? c.raw : JSON.stringify(c.typedData))));
  let stricter = 0;
  inv.forEach((c, i) => {
    const v = cases.ethersVerdict(c.raw !== undefined ? JSON.parse(c.raw) : c.typedData);
    if ((v.ok ? "accepts" : "rejects") !== c.ethers) fail(`invalid ${c.name}: ethers now ${v.ok ? "accepts" : "rejects"} (file says ${c.ethers})`);
    if (v.ok) stricter++;
    if (ires[i].error !== c.error) fail(`invalid ${c.name}: teekm ${ires[i].error || "accepts"} (${ires[i].detail || ""}), want ${c.error}`);
  });
  console.log(`checked-in cases: ${edge.length} edge cases equal ethers; ${inv.length} invalid cases rejected with their codes (${stricter} of them ethers accepts: documented strictness)`);

  if (failures) {
    console.error(`${failures} failure(s)`);
    process.exit(1);
  }
  console.log("eip712 interop: ok");
}

// ---- corruptions: each knows the teekm error(s) it must cause and whether ethers must reject too ----
function* walk(types, type, v, where, parent, key) {
  const m = type.match(/^(.*)\[(\d*)\]$/);
  yield { type, v, where, parent, key, fixed: m && m[2] !== "" ? parseInt(m[2], 10) : 0 };
  if (m) {
    for (let i = 0; i < v.length; i++) yield* walk(types, m[1], v[i], `${where}[${i}]`, v, i);
  } else if (types[type]) {
    for (const f of types[type]) yield* walk(types, f.type, v[f.name], `${where}.${f.name}`, v, f.name);
  }
}
function corrupt(doc0) {
  const doc = JSON.parse(JSON.stringify(doc0));
  const spots = [...walk(doc.types, doc.primaryType, doc.message, "message", null, null)].filter((s) => s.parent);
  if (!spots.length) return null;
  const s = pick(spots);
  const set = (x) => { s.parent[s.key] = x; };
  let mm;
  const kindOf = (kind, errors, ethersRejects) => ({ doc, kind, errors, ethersRejects, where: s.where });
  if (s.type.endsWith("]")) {
    if (s.fixed) { set(s.v.concat([s.v[0]])); return kindOf("fixed array too long", ["TYPED_DATA"], true); }
    set({}); return kindOf("array given as object", ["JSON_TYPE"], true);
  }
  if (doc.types[s.type]) {
    const names = doc.types[s.type].map((f) => f.name);
    if (chance(0.5) || !names.length) { s.v["extra" + rint(100)] = 1; return kindOf("extra struct field", ["JSON_UNKNOWN_FIELD"], false); }
    const n = pick(names);
    const ftype = doc.types[s.type].find((f) => f.name === n).type;
    delete s.v[n];
    return kindOf("missing struct field", ["JSON_MISSING"], ftype !== "bool");
  }
  if ((mm = s.type.match(/^(u?)int(\d+)$/))) {
    const signed = mm[1] === "", B = BigInt(mm[2]);
    const over = signed ? (chance(0.5) ? (1n << (B - 1n)) : -(1n << (B - 1n)) - 1n) : chance(0.5) ? (1n << B) : -1n;
    set(over.toString());
    return kindOf("integer out of range", ["RANGE"], true);
  }
  if ((mm = s.type.match(/^bytes(\d+)$/))) {
    const n = parseInt(mm[1], 10);
    set(hexOfBytes(rbytes(n === 32 || chance(0.5) ? n - 1 : n + 1), false));
    return kindOf("bytesN wrong length", ["HEX_LENGTH"], true);
  }
  if (s.type === "address") {
    const a = getAddress(s.v);
    if (!/[a-f]/i.test(a.slice(2))) { set(a.slice(0, 41)); return kindOf("short address", ["ADDRESS"], true); }
    const i = a.slice(2).search(/[a-fA-F]/) + 2;
    const c = a[i];
    set(a.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + a.slice(i + 1));
    return kindOf("address checksum broken", ["CHECKSUM"], true);
  }
  if (s.type === "bytes") { set(s.v + "0"); return kindOf("odd-length bytes", ["HEX_ODD"], true); }
  if (s.type === "string") { set(7); return kindOf("number for string", ["JSON_TYPE"], true); }
  if (s.type === "bool") { set(pick(["true", 1, null])); return kindOf("non-boolean bool", ["JSON_TYPE"], false); }
  return null;
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
