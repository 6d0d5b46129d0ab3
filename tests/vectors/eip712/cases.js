// Hand-written EIP-712 cases: valid edge cases (their hashes are computed by
// ethers, see gen_cases.js) and invalid documents with the teekm error code
// each must produce (teekm's specification, docs/eip712.md) and whether ethers
// rejects it too. Used by gen_cases.js and tests/interop/eip712_ethers.js.
"use strict";
const path = require("path");
const { TypedDataEncoder, getIcapAddress } = require(
  path.join(__dirname, "../../interop/ethers/node_modules/ethers"));

// ethers' view of a JSON typed-data document: types without EIP712Domain
// (ethers derives it from the domain object), primary type derived (it must
// be the declared one), the three hashes.
function ethersVerdict(doc) {
  try {
    if (doc === null || typeof doc !== "object" || !doc.types || typeof doc.types !== "object")
      throw new Error("not a typed-data document");
    const types = Object.assign({}, doc.types);
    delete types.EIP712Domain;
    const enc = TypedDataEncoder.from(types);
    if (enc.primaryType !== doc.primaryType)
      throw new Error(`ethers derives primary type ${enc.primaryType}, document says ${doc.primaryType}`);
    const domainSeparator = TypedDataEncoder.hashDomain(doc.domain);
    const structHash = enc.hash(doc.message);
    const digest = TypedDataEncoder.hash(doc.domain, types, doc.message);
    return { ok: true, hashes: { domainSeparator, structHash, digest } };
  } catch (e) {
    return { ok: false, error: String(e.shortMessage || e.message || e) };
  }
}

const D_FULL = [
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "chainId", type: "uint256" },
  { name: "verifyingContract", type: "address" },
];
const MAIL_TYPES = {
  EIP712Domain: D_FULL,
  Person: [{ name: "name", type: "string" }, { name: "wallet", type: "address" }],
  Mail: [{ name: "from", type: "Person" }, { name: "to", type: "Person" }, { name: "contents", type: "string" }],
};
const MAIL_DOMAIN = { name: "Ether Mail", version: "1", chainId: 1, verifyingContract: "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC" };
const MAIL_MESSAGE = {
  from: { name: "Cow", wallet: "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826" },
  to: { name: "Bob", wallet: "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB" },
  contents: "Hello, Bob!",
};
const mail = () => JSON.parse(JSON.stringify({ types: MAIL_TYPES, primaryType: "Mail", domain: MAIL_DOMAIN, message: MAIL_MESSAGE }));

// One struct of a single field: handy for value tests.
function one(type, value, extraTypes) {
  return {
    types: Object.assign({ EIP712Domain: [{ name: "chainId", type: "uint256" }], V: [{ name: "v", type }] }, extraTypes || {}),
    primaryType: "V",
    domain: { chainId: 1 },
    message: { v: value },
  };
}

const U256_MAX = (1n << 256n) - 1n;
const I256_MIN = -(1n << 255n);
const I256_MAX = (1n << 255n) - 1n;
const hexOf = (n) => "0x" + n.toString(16);
const addrA = "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4";
const addrB = "0xAb8483F64d9C6d1EcF9b849Ae677dD3315835cb2";

function edgeCases() {
  const c = [];
  c.push({ name: "mail", note: "EIP-712 example", typedData: mail() });
  c.push({
    name: "permit-eip2612", note: "EIP-2612 Permit on USDC's domain, max allowance",
    typedData: {
      types: {
        EIP712Domain: D_FULL,
        Permit: [
          { name: "owner", type: "address" }, { name: "spender", type: "address" },
          { name: "value", type: "uint256" }, { name: "nonce", type: "uint256" }, { name: "deadline", type: "uint256" },
        ],
      },
      primaryType: "Permit",
      domain: { name: "USD Coin", version: "2", chainId: 1, verifyingContract: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48" },
      message: { owner: addrA, spender: addrB, value: U256_MAX.toString(), nonce: 0, deadline: "1767225600" },
    },
  });
  c.push({
    name: "permit-dai", note: "DAI-style permit with a bool",
    typedData: {
      types: {
        EIP712Domain: D_FULL,
        Permit: [
          { name: "holder", type: "address" }, { name: "spender", type: "address" }, { name: "nonce", type: "uint256" },
          { name: "expiry", type: "uint256" }, { name: "allowed", type: "bool" },
        ],
      },
      primaryType: "Permit",
      domain: { name: "Dai Stablecoin", version: "1", chainId: 1, verifyingContract: "0x6B175474E89094C44Da98b954EedeAC495271d0F" },
      message: { holder: addrA.toLowerCase(), spender: addrB, nonce: 7, expiry: 0, allowed: true },
    },
  });
  c.push({
    name: "permit2-batch", note: "Uniswap Permit2 PermitBatch: array of structs, uint160/uint48, no version",
    typedData: {
      types: {
        EIP712Domain: [{ name: "name", type: "string" }, { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" }],
        PermitBatch: [{ name: "details", type: "PermitDetails[]" }, { name: "spender", type: "address" }, { name: "sigDeadline", type: "uint256" }],
        PermitDetails: [
          { name: "token", type: "address" }, { name: "amount", type: "uint160" },
          { name: "expiration", type: "uint48" }, { name: "nonce", type: "uint48" },
        ],
      },
      primaryType: "PermitBatch",
      domain: { name: "Permit2", chainId: 137, verifyingContract: "0x000000000022D473030F116dDEE9F6B43aC78BA3" },
      message: {
        details: [
          { token: addrA, amount: hexOf((1n << 160n) - 1n), expiration: 281474976710655, nonce: "0" },
          { token: addrB, amount: "1000000", expiration: "0xffffffffffff", nonce: 1 },
        ],
        spender: "0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD", sigDeadline: "1700000000",
      },
    },
  });
  c.push({
    name: "seaport-bulk", note: "Seaport-style bulk order: a [2][2] tree of structs holding arrays of structs",
    typedData: {
      types: {
        EIP712Domain: D_FULL,
        BulkOrder: [{ name: "tree", type: "OrderComponents[2][2]" }],
        OrderComponents: [
          { name: "offerer", type: "address" }, { name: "offer", type: "OfferItem[]" },
          { name: "consideration", type: "ConsiderationItem[]" }, { name: "salt", type: "uint256" },
        ],
        OfferItem: [{ name: "itemType", type: "uint8" }, { name: "token", type: "address" }, { name: "amount", type: "uint256" }],
        ConsiderationItem: [
          { name: "itemType", type: "uint8" }, { name: "token", type: "address" },
          { name: "amount", type: "uint256" }, { name: "recipient", type: "address" },
        ],
      },
      primaryType: "BulkOrder",
      domain: { name: "Seaport", version: "1.5", chainId: 1, verifyingContract: "0x00000000000000ADc04C56Bf30aC9d3c0aAF14dC" },
      message: {
        tree: [0, 1].map((i) => [0, 1].map((j) => ({
          offerer: addrA,
          offer: i + j === 0 ? [] : [{ itemType: 2, token: addrB, amount: String(i * 2 + j) }],
          consideration: j === 0 ? [] : [{ itemType: 0, token: "0x0000000000000000000000000000000000000000", amount: "1", recipient: addrA }],
          salt: hexOf(BigInt(i * 10 + j) << 200n),
        }))),
      },
    },
  });
  c.push({
    name: "int-extremes", note: "min/max of several widths in every accepted number form",
    typedData: {
      types: {
        EIP712Domain: [{ name: "chainId", type: "uint256" }],
        Ints: [
          { name: "i8min", type: "int8" }, { name: "i8max", type: "int8" }, { name: "u8max", type: "uint8" },
          { name: "i16neg1", type: "int16" }, { name: "i256min", type: "int256" }, { name: "i256max", type: "int256" },
          { name: "u256max", type: "uint256" }, { name: "u256zeroHex", type: "uint256" }, { name: "u256paddedHex", type: "uint256" },
          { name: "u64safe", type: "uint64" }, { name: "i64safeNeg", type: "int64" }, { name: "i64min", type: "int64" },
          { name: "u128upperHex", type: "uint128" }, { name: "i24min", type: "int24" }, { name: "i248max", type: "int248" },
          { name: "u32zero", type: "uint32" },
        ],
      },
      primaryType: "Ints",
      domain: { chainId: "0x1" },
      message: {
        i8min: -128, i8max: "127", u8max: "0xff", i16neg1: "-1", i256min: I256_MIN.toString(), i256max: hexOf(I256_MAX),
        u256max: "0x" + "F".repeat(64), u256zeroHex: "0x0", u256paddedHex: "0x" + "0".repeat(63) + "7",
        u64safe: 9007199254740991, i64safeNeg: -9007199254740991, i64min: "-9223372036854775808",
        u128upperHex: "0xABCDEF0123456789abcdef0123456789", i24min: "-8388608", i248max: hexOf((1n << 247n) - 1n), u32zero: 0,
      },
    },
  });
  const hex = (n, f) => "0x" + Array.from({ length: n }, (_, i) => ((i * 37 + f) & 255).toString(16).padStart(2, "0")).join("");
  c.push({
    name: "bytes-edges", note: "bytes1..bytes32, empty and long dynamic bytes around the keccak rate",
    typedData: {
      types: {
        EIP712Domain: [{ name: "name", type: "string" }],
        B: [
          { name: "b1", type: "bytes1" }, { name: "b20", type: "bytes20" }, { name: "b31", type: "bytes31" }, { name: "b32", type: "bytes32" },
          { name: "empty", type: "bytes" }, { name: "r135", type: "bytes" }, { name: "r136", type: "bytes" },
          { name: "r137", type: "bytes" }, { name: "long", type: "bytes" }, { name: "list", type: "bytes[]" },
        ],
      },
      primaryType: "B",
      domain: { name: "" },
      message: {
        b1: "0x00", b20: hex(20, 1).toUpperCase().replace("0X", "0x"), b31: hex(31, 2), b32: hex(32, 3), empty: "0x",
        r135: hex(135, 4), r136: hex(136, 5), r137: hex(137, 6), long: hex(1000, 7), list: ["0x", "0x01", hex(33, 8)],
      },
    },
  });
  c.push({
    name: "strings", note: "empty, unicode (2-, 3-, 4-byte UTF-8, combining marks, RTL), escapes, rate-boundary lengths",
    typedData: {
      types: {
        EIP712Domain: [{ name: "name", type: "string" }, { name: "version", type: "string" }],
        S: [
          { name: "empty", type: "string" }, { name: "latin", type: "string" }, { name: "cjk", type: "string" },
          { name: "emoji", type: "string" }, { name: "combining", type: "string" }, { name: "rtl", type: "string" },
          { name: "escapes", type: "string" }, { name: "r136", type: "string" }, { name: "r137", type: "string" },
          { name: "long", type: "string" }, { name: "list", type: "string[]" },
        ],
      },
      primaryType: "S",
      domain: { name: "Ünïcödé ✓", version: "v1.0-β" },
      message: {
        empty: "", latin: "naïve café", cjk: "日本語のテキスト", emoji: "🦊🔑🏦", combining: "e\u0301 a\u0308",
        rtl: "עברית العربية", escapes: "\"q\" \\ / \n\t\r\b\f \u0001\u001f\u007f", r136: "x".repeat(136),
        r137: "é".repeat(68) + "y", long: "teekm ".repeat(500), list: ["", "a", "🦊"],
      },
    },
  });
  c.push({
    name: "multi-dim", note: "fixed and dynamic multi-dimensional arrays of atomic types and structs, empty arrays",
    typedData: {
      types: {
        EIP712Domain: [{ name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" }],
        M: [
          { name: "grid", type: "uint8[2][3]" }, { name: "jag", type: "string[][]" }, { name: "pairs", type: "bytes[][2]" },
          { name: "mixed", type: "address[1][][2]" }, { name: "none", type: "bool[]" }, { name: "people", type: "P[][]" },
          { name: "deep", type: "int8[1][1][1][1][1][1][1][1]" },
        ],
        P: [{ name: "n", type: "string" }, { name: "ok", type: "bool" }],
      },
      primaryType: "M",
      domain: { chainId: "137", verifyingContract: addrB.toLowerCase() },
      message: {
        grid: [[1, 2], ["3", "0x4"], [255, 0]], jag: [[], ["a"], ["b", "c"]], pairs: [["0x"], []],
        mixed: [[[addrA], [addrB]], []], none: [], people: [[], [{ n: "x", ok: true }, { n: "y", ok: false }]],
        deep: [[[[[[[["-128"]]]]]]]],
      },
    },
  });
  c.push({
    name: "empty-domain", note: "EIP712Domain with no fields",
    typedData: { types: { EIP712Domain: [], T: [{ name: "x", type: "uint256" }] }, primaryType: "T", domain: {}, message: { x: 1 } },
  });
  c.push({
    name: "full-domain", note: "all five domain fields, chainId above 2^53 as a decimal string",
    typedData: {
      types: {
        EIP712Domain: D_FULL.concat([{ name: "salt", type: "bytes32" }]),
        T: [{ name: "x", type: "bool" }],
      },
      primaryType: "T",
      domain: { name: "n", version: "2", chainId: "18446744073709551617", verifyingContract: addrA.toUpperCase().replace("0X", "0x"), salt: hex(32, 9) },
      message: { x: false },
    },
  });
  c.push({
    name: "salt-only-domain", note: "domain with only a salt (teekm's approval domain style)",
    typedData: {
      types: {
        EIP712Domain: [{ name: "name", type: "string" }, { name: "version", type: "string" }, { name: "salt", type: "bytes32" }],
        Approval: [{ name: "intentHash", type: "bytes32" }, { name: "requestId", type: "string" }, { name: "expiresAt", type: "uint64" }],
      },
      primaryType: "Approval",
      domain: { name: "teekm", version: "1", salt: hex(32, 10) },
      message: { intentHash: hex(32, 11), requestId: "req-42", expiresAt: 1767225600 },
    },
  });
  c.push({
    name: "empty-structs", note: "a primary struct with no fields besides an empty struct",
    typedData: {
      types: { EIP712Domain: [{ name: "chainId", type: "uint256" }], Outer: [{ name: "e", type: "Empty" }, { name: "es", type: "Empty[]" }], Empty: [] },
      primaryType: "Outer", domain: { chainId: 1 }, message: { e: {}, es: [{}, {}] },
    },
  });
  c.push({
    name: "dependency-order", note: "dependencies sorted by name: digits, upper case, _ and lower case",
    typedData: {
      types: {
        EIP712Domain: [{ name: "chainId", type: "uint256" }],
        Root: [{ name: "a", type: "zeta" }, { name: "b", type: "Alpha" }, { name: "c", type: "_under" }, { name: "d", type: "a_1" }, { name: "e", type: "B9" }],
        zeta: [{ name: "x", type: "B9" }],
        Alpha: [{ name: "x", type: "uint8" }],
        _under: [{ name: "x", type: "Alpha[]" }],
        a_1: [{ name: "x", type: "bool" }],
        B9: [{ name: "x", type: "string" }],
      },
      primaryType: "Root", domain: { chainId: 1 },
      message: { a: { x: { x: "s" } }, b: { x: 1 }, c: { x: [{ x: 2 }] }, d: { x: true }, e: { x: "t" } },
    },
  });
  c.push({
    name: "diamond", note: "A uses B and C, both use D: D appears once in encodeType",
    typedData: {
      types: {
        EIP712Domain: [{ name: "chainId", type: "uint256" }],
        A: [{ name: "b", type: "B" }, { name: "c", type: "C" }],
        B: [{ name: "d", type: "D" }], C: [{ name: "d", type: "D[2]" }], D: [{ name: "v", type: "uint16" }],
      },
      primaryType: "A", domain: { chainId: 1 },
      message: { b: { d: { v: 1 } }, c: { d: [{ v: 2 }, { v: "0x3" }] } },
    },
  });
  c.push({
    name: "keyword-field-names", note: "field names that are type names",
    typedData: {
      types: {
        EIP712Domain: [{ name: "chainId", type: "uint256" }],
        K: [{ name: "string", type: "string" }, { name: "address", type: "address" }, { name: "uint256", type: "int8" }, { name: "$", type: "bool" }],
      },
      primaryType: "K", domain: { chainId: 1 }, message: { string: "s", address: addrA, uint256: -5, $: true },
    },
  });
  return c;
}

// Each invalid case: the error name teekm must return. `raw` holds documents
// JSON cannot express as an object (duplicate keys, non-integer numbers).
function invalidCases() {
  const c = [];
  const add = (name, error, why, typedData) => c.push({ name, error, why, typedData });
  const addRaw = (name, error, why, raw) => c.push({ name, error, why, raw });
  const withTypes = (mut) => { const d = mail(); mut(d.types, d); return d; };

  // types
  add("alias-uint", "TYPED_DATA_UNKNOWN_TYPE", "ethers rewrites uint to uint256 (changing encodeType), other wallets do not", one("uint", 1));
  add("alias-int", "TYPED_DATA_UNKNOWN_TYPE", "same for int", one("int", 1));
  add("alias-byte", "TYPED_DATA_UNKNOWN_TYPE", "byte is not an EIP-712 type", one("byte", "0x01"));
  add("uint7", "TYPED_DATA_UNKNOWN_TYPE", "width not a multiple of 8", one("uint7", 1));
  add("uint264", "TYPED_DATA_UNKNOWN_TYPE", "width above 256", one("uint264", 1));
  add("uint08", "TYPED_DATA_UNKNOWN_TYPE", "leading zero in width", one("uint08", 1));
  add("bytes33", "TYPED_DATA_UNKNOWN_TYPE", "bytesN above 32", one("bytes33", "0x00"));
  add("bytes0", "TYPED_DATA_UNKNOWN_TYPE", "bytes0", one("bytes0", "0x"));
  add("fixed", "TYPED_DATA_UNKNOWN_TYPE", "fixed-point types are not supported", one("fixed128x18", 1));
  add("unknown-struct", "TYPED_DATA_UNKNOWN_TYPE", "field type not declared", withTypes((t) => { t.Mail[0].type = "Persn"; }));
  add("self-reference", "TYPED_DATA_CYCLE", "struct contains itself", withTypes((t, d) => { t.Person.push({ name: "friend", type: "Person" }); }));
  add("self-reference-array", "TYPED_DATA_CYCLE", "struct contains an array of itself", withTypes((t) => { t.Person.push({ name: "friends", type: "Person[]" }); }));
  add("cycle", "TYPED_DATA_CYCLE", "A -> B -> A", withTypes((t) => { t.Person.push({ name: "last", type: "Mail[]" }); }));
  add("duplicate-field", "TYPED_DATA_DUPLICATE", "two fields named name", withTypes((t) => { t.Person.push({ name: "name", type: "string" }); }));
  addRaw("duplicate-type", "JSON_DUPLICATE", "two types named Person (JSON.parse keeps the last one silently)",
    JSON.stringify(mail()).replace('"Mail":', '"Person":[{"name":"x","type":"uint8"}],"Mail":'));
  add("unused-type", "TYPED_DATA", "a type the primary type does not use", withTypes((t) => { t.Extra = [{ name: "x", type: "uint8" }]; }));
  add("primary-is-domain", "TYPED_DATA", "primaryType EIP712Domain signs only the domain", Object.assign(mail(), { primaryType: "EIP712Domain" }));
  add("primary-undeclared", "TYPED_DATA_UNKNOWN_TYPE", "primaryType not in types", Object.assign(mail(), { primaryType: "Letter" }));
  add("primary-not-root", "TYPED_DATA", "primaryType is a dependency, Mail is then unused", Object.assign(mail(), { primaryType: "Person", message: MAIL_MESSAGE.from }));
  add("no-domain-type", "JSON_MISSING", "types.EIP712Domain is required", withTypes((t) => { delete t.EIP712Domain; }));
  add("domain-type-unknown-field", "TYPED_DATA_DOMAIN", "only the five EIP-712 domain fields", withTypes((t, d) => { t.EIP712Domain.push({ name: "foo", type: "string" }); d.domain.foo = "x"; }));
  add("domain-type-order", "TYPED_DATA_DOMAIN", "fields out of canonical order: ethers sorts them, other wallets hash them as declared",
    withTypes((t) => { t.EIP712Domain = [t.EIP712Domain[1], t.EIP712Domain[0], t.EIP712Domain[2], t.EIP712Domain[3]]; }));
  add("domain-type-wrong-type", "TYPED_DATA_DOMAIN", "chainId must be uint256", withTypes((t) => { t.EIP712Domain[2].type = "uint64"; }));
  add("domain-as-field-type", "TYPED_DATA", "EIP712Domain used inside the message", withTypes((t, d) => { t.Mail.push({ name: "d", type: "EIP712Domain" }); d.message.d = d.domain; }));
  add("array-len-zero", "TYPED_DATA", "T[0] has no elements (Solidity refuses it)", one("uint8[0]", []));
  add("array-len-leading-zero", "TYPED_DATA", "[01] would change encodeType", one("uint8[01]", [1]));
  add("array-space", "TYPED_DATA", "spaces in a type", one("uint8 []", [1]));
  add("type-name-space", "TYPED_DATA", "type names are identifiers", withTypes((t, d) => { t["Mail Box"] = t.Mail; delete t.Mail; d.primaryType = "Mail Box"; }));
  add("type-name-dollar", "TYPED_DATA", "MetaMask leaves types named with $ out of encodeType (its /^\\w*/ match), ethers does not",
    withTypes((t, d) => { t.$Person = t.Person; delete t.Person; t.Mail[0].type = "$Person"; t.Mail[1].type = "$Person"; }));
  add("field-name-empty", "TYPED_DATA", "field names are identifiers", withTypes((t, d) => { t.Mail[2].name = ""; d.message[""] = d.message.contents; delete d.message.contents; }));
  add("field-name-comma", "TYPED_DATA", "a comma in a field name makes encodeType ambiguous",
    withTypes((t, d) => { t.Mail[2].name = "a,string b"; d.message["a,string b"] = d.message.contents; delete d.message.contents; }));
  add("struct-named-uint256", "TYPED_DATA", "a struct may not shadow an atomic type",
    withTypes((t, d) => { t.uint256 = [{ name: "x", type: "bool" }]; t.Mail.push({ name: "u", type: "uint256" }); d.message.u = 1; }));
  add("too-many-dims", "TOO_LARGE", "more than 24 array dimensions", one("bool" + "[]".repeat(25), []));
  // document shape
  add("root-extra", "JSON_UNKNOWN_FIELD", "unknown top-level field", Object.assign(mail(), { extra: 1 }));
  add("root-no-message", "JSON_MISSING", "message is required", (() => { const d = mail(); delete d.message; return d; })());
  // domain values
  add("domain-extra", "JSON_UNKNOWN_FIELD", "domain field not declared in EIP712Domain", (() => { const d = mail(); d.domain.salt = "0x" + "00".repeat(32); return d; })());
  add("domain-missing", "JSON_MISSING", "declared domain field absent", (() => { const d = mail(); delete d.domain.version; return d; })());
  add("domain-null", "JSON_TYPE", "null is never a value (ethers drops null domain fields)", (() => { const d = mail(); d.domain.version = null; return d; })());
  add("domain-bad-address", "CHECKSUM", "verifyingContract checksum", (() => { const d = mail(); d.domain.verifyingContract = "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccc"; return d; })());
  add("domain-negative-chain", "RANGE", "chainId is uint256", (() => { const d = mail(); d.domain.chainId = -1; return d; })());
  // message structure
  add("message-extra", "JSON_UNKNOWN_FIELD", "ethers ignores undeclared fields; they would not be signed", (() => { const d = mail(); d.message.bcc = "x"; return d; })());
  add("message-missing", "JSON_MISSING", "declared field absent", (() => { const d = mail(); delete d.message.contents; return d; })());
  add("message-missing-bool", "JSON_MISSING", "ethers encodes a missing bool as false", (() => {
    const d = one("bool", true); d.types.V.push({ name: "w", type: "uint8" }); d.message.w = 1; delete d.message.v; return d; })());
  add("message-nested-extra", "JSON_UNKNOWN_FIELD", "undeclared field in a nested struct", (() => { const d = mail(); d.message.to.age = 3; return d; })());
  add("message-null", "JSON_TYPE", "null is not a string", (() => { const d = mail(); d.message.contents = null; return d; })());
  add("struct-as-array", "JSON_TYPE", "struct given as an array", (() => { const d = mail(); d.message.to = ["Bob", addrA]; return d; })());
  add("array-as-object", "JSON_TYPE", "array given as an object", one("uint8[]", { 0: 1 }));
  add("fixed-array-short", "TYPED_DATA", "uint8[3] with 2 elements", one("uint8[3]", [1, 2]));
  add("fixed-array-long", "TYPED_DATA", "uint8[1] with 2 elements", one("uint8[1]", [1, 2]));
  add("inner-fixed-array", "TYPED_DATA", "inner dimension of uint8[2][] wrong", one("uint8[2][]", [[1, 2], [3]]));
  // integers
  add("uint8-256", "RANGE", "above 2^8-1", one("uint8", 256));
  add("uint256-2^256", "RANGE", "above 2^256-1", one("uint256", (1n << 256n).toString()));
  add("uint256-hex-65-digits", "RANGE", "65 hex digits", one("uint256", "0x1" + "0".repeat(64)));
  add("uint-negative", "RANGE", "negative unsigned", one("uint64", "-1"));
  add("int8-128", "RANGE", "above 2^7-1", one("int8", 128));
  add("int8--129", "RANGE", "below -2^7", one("int8", "-129"));
  add("int256-min-minus-1", "RANGE", "below -2^255", one("int256", (I256_MIN - 1n).toString()));
  add("int8-hex-ff", "RANGE", "hex is a magnitude, not two's complement", one("int8", "0xff"));
  add("json-2^53", "RANGE", "JSON numbers above 2^53-1 are not exact", one("uint64", 9007199254740992));
  addRaw("json-real", "JSON_TYPE", "1.5 is not an integer", JSON.stringify(one("uint8", 7)).replace('"v":7', '"v":1.5'));
  addRaw("json-real-integral", "JSON_TYPE", "1.0 and 1e2 are refused: write 1 or \"100\"", JSON.stringify(one("uint8", 7)).replace('"v":7', '"v":1e2'));
  add("dec-leading-zero", "DECIMAL", "ethers reads \"007\" as 7", one("uint8", "007"));
  add("dec-plus", "DECIMAL", "ethers reads \"+5\" as 5", one("uint8", "+5"));
  add("dec-space", "DECIMAL", "ethers reads \" 5\" as 5 and \" \" as 0", one("uint8", " 5"));
  add("dec-empty", "DECIMAL", "empty string", one("uint8", ""));
  add("dec-minus-zero", "DECIMAL", "\"-0\" is not canonical", one("int8", "-0"));
  add("dec-exponent", "DECIMAL", "no exponent notation", one("uint8", "1e2"));
  add("hex-upper-prefix", "DECIMAL", "ethers reads \"0X1f\" as 31", one("uint8", "0X1f"));
  add("hex-empty", "QUANTITY", "\"0x\" has no digits", one("uint8", "0x"));
  add("hex-negative", "QUANTITY", "ethers reads \"-0x5\" as -5, other wallets do not", one("int8", "-0x5"));
  add("binary", "DECIMAL", "ethers reads \"0b101\" as 5", one("uint8", "0b101"));
  add("octal", "DECIMAL", "ethers reads \"0o7\" as 7", one("uint8", "0o7"));
  add("int-as-bool", "JSON_TYPE", "true is not an integer", one("uint8", true));
  // bool
  add("bool-string-false", "JSON_TYPE", "ethers encodes the string \"false\" as TRUE", one("bool", "false"));
  add("bool-zero", "JSON_TYPE", "ethers encodes 0 as false", one("bool", 0));
  add("bool-null", "JSON_TYPE", "null", one("bool", null));
  // address
  add("address-no-prefix", "ADDRESS", "ethers accepts 40 hex digits without 0x", one("address", addrA.slice(2)));
  add("address-checksum", "CHECKSUM", "mixed case with a wrong checksum", one("address", addrA.slice(0, 41) + (addrA[41] === "4" ? "5" : "4")));
  add("address-checksum-case", "CHECKSUM", "one letter's case flipped", one("address", addrA.replace("Da6a", "da6a")));
  add("address-icap", "ADDRESS", "ethers accepts ICAP (XE…) addresses", one("address", getIcapAddress(addrA)));
  add("address-0X", "ADDRESS", "upper-case prefix", one("address", "0X" + addrA.slice(2)));
  add("address-short", "ADDRESS", "39 digits", one("address", addrA.slice(0, 41)));
  add("address-number", "JSON_TYPE", "not a string", one("address", 1));
  // bytes
  add("bytes32-short", "HEX_LENGTH", "bytes32 with 31 bytes", one("bytes32", "0x" + "11".repeat(31)));
  add("bytes32-long", "HEX_LENGTH", "bytes32 with 33 bytes", one("bytes32", "0x" + "11".repeat(33)));
  add("bytes1-empty", "HEX_LENGTH", "bytes1 with no bytes", one("bytes1", "0x"));
  add("bytes-odd", "HEX_ODD", "odd number of digits", one("bytes", "0x123"));
  add("bytes-utf8", "HEX_PREFIX", "MetaMask would hash \"hello\" as UTF-8; ethers refuses it", one("bytes", "hello"));
  add("bytes-non-hex", "HEX", "non-hex digit", one("bytes", "0x12zz"));
  add("bytes-number", "JSON_TYPE", "not a string", one("bytes", 5));
  add("bytesN-no-prefix", "HEX_PREFIX", "bytes4 without 0x", one("bytes4", "12345678"));
  add("string-number", "JSON_TYPE", "string given as a number", one("string", 5));
  addRaw("string-nul", "JSON", "U+0000 in a string (refused by the strict JSON loader)", JSON.stringify(one("string", "a\u0000b")));
  addRaw("message-duplicate-key", "JSON_DUPLICATE", "duplicate key: which value would be signed?", JSON.stringify(one("uint8", 1)).replace('"v":1', '"v":1,"v":2'));
  return c;
}

module.exports = { ethersVerdict, edgeCases, invalidCases, mail, one };
