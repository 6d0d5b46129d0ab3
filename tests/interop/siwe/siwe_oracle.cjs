#!/usr/bin/env node
/*
 * teekm's EIP-4361 parser against SpruceID's reference implementation (siwe 3.0.0 with
 * @spruceid/siwe-parser, the independent oracle; never linked into the product).
 *
 *   node siwe_oracle.cjs --teekm PATH [--count N] [--mutants M] [--seed S]
 *
 *  1. N random valid field combinations (scheme or none; domains with ports, IPv4, IPv6 and IPvFuture
 *     literals, userinfo; statement absent / empty / text; URIs with and without authority, queries,
 *     fragments, percent-escapes; chain ids; nonces; RFC 3339 times with offsets, fractions and "t"/"z";
 *     optional Expiration Time / Not Before / Request ID / Resources) are written by
 *     `new SiweMessage({...}).prepareMessage()`; `teekm siwe parse --batch` must accept every one and
 *     extract exactly the fields the reference parser extracts (and the unix time of each date that
 *     JavaScript's Date reads).
 *  2. M mutants of them (structural edits: CRLF, a final newline, a lower-case address, a 7-character
 *     nonce, Version 2, fields out of order or twice, impossible dates, …; and random single-character
 *     edits) must get the same verdict from both parsers, except where they differ on purpose, each
 *     counted under its name (docs/policy.md "Where teekm and the reference differ"):
 *       leap-second   the reference accepts second 60 at any time; teekm only where RFC 3339 5.7 lets a
 *                     leap second be (23:59:60 UTC on the last day of a month)
 *       ipv4-in-ipv6  the IPv4 part of an IPv6 literal: the reference's dec-octet is any 0-3 digits up to
 *                     255, so it accepts leading zeros and empty octets ("[::ffff:01.2..4]"); RFC 3986's
 *                     dec-octet has neither, teekm refuses them
 *       chain-range   a Chain ID above 2^64-1: the reference reads it as an imprecise float, teekm refuses it
 *     Any other disagreement fails the test and is printed (as a JSON string).
 */
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');
const NM = path.join(__dirname, 'node_modules');
const { SiweMessage } = require(path.join(NM, 'siwe'));
const { ethers } = require(path.join(NM, 'ethers'));

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const COUNT = Number(args.count ?? 600);
const MUTANTS = Number(args.mutants ?? 3000);
let seed = Number(args.seed ?? process.env.TKM_INTEROP_SEED ?? 4361) >>> 0 || 1;
const next32 = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>>= 0); };
const ri = (n) => Math.floor((next32() / 4294967296) * n);
const pick = (a) => a[ri(a.length)];
const chance = (p) => next32() / 4294967296 < p;
const rstr = (alphabet, min, max) => Array.from({ length: min + ri(max - min + 1) }, () => alphabet[ri(alphabet.length)]).join('');

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const HEX = '0123456789abcdefABCDEF';
const UNRES = ALNUM + '-._~';
const SUB = "!$&'()*+,;=";
const pct = () => '%' + pick(HEX) + pick(HEX);
const pstr = (alphabet, min, max) => Array.from({ length: min + ri(max - min + 1) }, () => (chance(0.05) ? pct() : pick(alphabet))).join('');
const PCHAR = UNRES + SUB + ':@';
const STATEMENT = UNRES + SUB + ':/?#[]@ ';

const d2 = (n) => String(n).padStart(2, '0');
function host() {
  switch (ri(9)) {
    case 0: return `${ri(256)}.${ri(256)}.${ri(256)}.${ri(256)}`;
    case 1: return pick(['[::1]', '[2001:db8::8:800:200c:417a]', '[::ffff:192.0.2.1]', '[fe80::1:2:3:4:5]',
      '[1:2:3:4:5:6:7:8]', '[1:2:3:4:5:6:1.2.3.4]', '[::]', '[1::]', '[v1.fe80::a+en1]', '[V7.x:y]']);
    case 2: return 'localhost';
    case 3: return pstr(UNRES + SUB, 1, 12);
    default: return Array.from({ length: 1 + ri(3) }, () => rstr('abcdefghijklmnopqrstuvwxyz0123456789-', 1, 10)).join('.') +
      pick(['.com', '.org', '.example', '.COM', '']);
  }
}
function authority() {
  let a = host();
  if (chance(0.08)) a = pstr(UNRES + SUB + ':', 0, 8) + '@' + a;
  if (chance(0.3)) a += ':' + (chance(0.05) ? '' : String(ri(65536)));
  return a;
}
function uri() {
  const scheme = pick(['https', 'http', 'ipfs', 'urn', 'did', 'a+b-c.d', 'HTTPS']);
  let u;
  if (chance(0.7)) {
    u = scheme + '://' + authority() + Array.from({ length: ri(4) }, () => '/' + pstr(PCHAR, 0, 10)).join('');
  } else {
    u = scheme + ':' + pick(['', '/', '/' + pstr(PCHAR, 1, 8), pstr(PCHAR, 1, 20) + '/' + pstr(PCHAR, 0, 5)]);
  }
  if (chance(0.25)) u += '?' + pstr(PCHAR + '/?', 0, 12);
  if (chance(0.15)) u += '#' + pstr(PCHAR + '/?', 0, 8);
  return u;
}
function time() {
  const y = 1970 + ri(130), mo = 1 + ri(12);
  const dim = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  let s = `${y}-${d2(mo)}-${d2(1 + ri(dim))}${chance(0.1) ? 't' : 'T'}${d2(ri(24))}:${d2(ri(60))}:${d2(ri(60))}`;
  if (chance(0.4)) s += '.' + rstr('0123456789', 1, 9);
  s += chance(0.6) ? (chance(0.1) ? 'z' : 'Z') : pick(['+', '-']) + d2(ri(24)) + ':' + d2(ri(60));
  return s;
}
function fields() {
  const f = {
    domain: authority(),
    address: ethers.getAddress(ethers.hexlify(Uint8Array.from({ length: 20 }, () => ri(256)))),
    uri: uri(),
    version: '1',
    chainId: pick([1, 10, 137, 8453, 11155111, ri(2 ** 31), Number.MAX_SAFE_INTEGER]),
    nonce: rstr(ALNUM, 8, 40),
    issuedAt: time(),
  };
  if (chance(0.3)) f.scheme = pick(['https', 'http', 'wss', 'a+b-c.d']);
  if (chance(0.7)) f.statement = chance(0.1) ? '' : rstr(STATEMENT, 1, 90);
  if (chance(0.6)) f.expirationTime = time();
  if (chance(0.3)) f.notBefore = time();
  if (chance(0.3)) f.requestId = pstr(PCHAR, 1, 20);
  if (chance(0.3)) f.resources = Array.from({ length: ri(4) }, uri);
  return f;
}

function refParse(s) {
  try { return new SiweMessage(s); } catch (e) { return null; }
}
function teekmParse(msgs) {
  const input = msgs.map((m) => ethers.hexlify(ethers.toUtf8Bytes(m)) + '\n').join('');
  const r = spawnSync(args.teekm, ['siwe', 'parse', '--batch'], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  const out = r.stdout.split('\n').filter((l) => l.length).map((l) => JSON.parse(l));
  if (out.length !== msgs.length) throw new Error('teekm siwe parse --batch: ' + out.length + ' lines for ' + msgs.length + ' messages\n' + r.stderr);
  return out;
}

let failures = 0;
const fail = (what, msg, extra) => {
  failures++;
  if (failures <= 25) console.error('FAIL: ' + what + ': ' + JSON.stringify(msg) + (extra ? '\n  ' + extra : ''));
};

/* 1. valid messages: accepted, same fields */
const valid = [];
let refused = 0;
while (valid.length < COUNT) {
  try {
    valid.push(new SiweMessage(fields()).prepareMessage());
  } catch (e) {
    refused++; /* the reference refused a generated combination (its own parser checks every message it writes) */
  }
}
const got = teekmParse(valid);
const unixOf = (t) => { const ms = Date.parse(t); return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined; };
let datesCompared = 0;
for (let i = 0; i < valid.length; i++) {
  const m = valid[i], t = got[i], ref = refParse(m);
  if (!ref) { fail('the reference does not parse what it wrote', m); continue; }
  if (t.error) { fail('teekm refused a valid message (' + t.detail + ')', m); continue; }
  const want = {
    scheme: ref.scheme, domain: ref.domain, address: ref.address, statement: ref.statement, uri: ref.uri,
    version: ref.version, chainId: String(ref.chainId), nonce: ref.nonce, issuedAt: ref.issuedAt,
    expirationTime: ref.expirationTime, notBefore: ref.notBefore, requestId: ref.requestId, resources: ref.resources,
  };
  for (const k of Object.keys(want)) {
    if (JSON.stringify(want[k]) !== JSON.stringify(t[k])) fail('field ' + k + ': teekm ' + JSON.stringify(t[k]) + ', reference ' + JSON.stringify(want[k]), m);
  }
  for (const k of ['issuedAt', 'expirationTime', 'notBefore']) {
    if (!t[k]) continue;
    const u = unixOf(t[k]);
    if (u === undefined) continue;
    datesCompared++;
    if (u !== t[k + 'Unix']) fail(k + ' unix: teekm ' + t[k + 'Unix'] + ', Date.parse ' + u, m);
  }
}
console.log(`ok: ${valid.length} reference-written messages parsed by teekm with the same fields (${datesCompared} dates against Date.parse; ${refused} generated combinations the reference refused to write)`);

/* 2. mutants: the same verdict */
const lineEdit = (m, f) => m.split('\n').map(f).join('\n');
const structural = [
  ['CRLF line ends', (m) => m.replace(/\n/g, '\r\n')],
  ['final newline', (m) => m + '\n'],
  ['leading newline', (m) => '\n' + m],
  ['lower-case address', (m) => lineEdit(m, (l, i) => (i === 1 ? l.toLowerCase() : l))],
  ['upper-case address', (m) => lineEdit(m, (l, i) => (i === 1 ? '0x' + l.slice(2).toUpperCase() : l))],
  ['0X prefix', (m) => lineEdit(m, (l, i) => (i === 1 ? '0X' + l.slice(2) : l))],
  ['short nonce', (m) => m.replace(/\nNonce: ([A-Za-z0-9]{7})[A-Za-z0-9]*/, '\nNonce: $1')],
  ['nonce with a dash', (m) => m.replace(/\nNonce: /, '\nNonce: abcd-')],
  ['Version 2', (m) => m.replace('\nVersion: 1', '\nVersion: 2')],
  ['Version 01', (m) => m.replace('\nVersion: 1', '\nVersion: 01')],
  ['lower-case field name', (m) => m.replace('\nChain ID: ', '\nchain ID: ')],
  ['no space after colon', (m) => m.replace('\nNonce: ', '\nNonce:')],
  ['chain id 0x1', (m) => m.replace(/\nChain ID: \d+/, '\nChain ID: 0x1')],
  ['chain id empty', (m) => m.replace(/\nChain ID: \d+/, '\nChain ID: ')],
  ['chain id 2^64', (m) => m.replace(/\nChain ID: \d+/, '\nChain ID: 18446744073709551616')],
  ['chain id 2^64-1', (m) => m.replace(/\nChain ID: \d+/, '\nChain ID: 18446744073709551615')],
  ['chain id leading zeros', (m) => m.replace(/\nChain ID: (\d+)/, '\nChain ID: 00$1')],
  ['blank line removed', (m) => m.replace('\n\n', '\n')],
  ['blank line added', (m) => m.replace('\n\n', '\n\n\n')],
  ['header changed', (m) => m.replace('wants you to sign in', 'wants you to sign-in')],
  ['header case', (m) => m.replace('Ethereum account', 'ethereum account')],
  ['domain with a space', (m) => m.replace(' wants you', ' x wants you')],
  ['domain removed', (m) => m.replace(/^[^ ]*( wants you)/, '$1')],
  ['scheme only', (m) => m.replace(/^[^ ]*( wants you)/, 'https://$1')],
  ['IPv4 with leading zero in an IPv6 literal', (m) => m.replace(/^[^ ]*( wants you)/, '[::ffff:01.2.3.4]$1')],
  ['IPv4 with an empty octet in an IPv6 literal', (m) => m.replace(/^[^ ]*( wants you)/, '[::ffff:1..3.4]$1')],
  ['Feb 29 of a common year', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 2023-02-29T00:00:00Z')],
  ['Feb 29 of a leap year', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 2024-02-29T00:00:00Z')],
  ['Feb 29 of 1900', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 1900-02-29T00:00:00Z')],
  ['Feb 29 of 2000', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 2000-02-29T00:00:00Z')],
  ['month 13', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 2021-13-01T00:00:00Z')],
  ['hour 24', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 2021-01-01T24:00:00Z')],
  ['offset +24:00', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 2021-01-01T00:00:00+24:00')],
  ['offset +05:60', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 2021-01-01T00:00:00+05:60')],
  ['offset -00:00', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 2021-01-01T00:00:00-00:00')],
  ['no offset', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 2021-01-01T00:00:00')],
  ['offset without colon', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 2021-01-01T00:00:00+0100')],
  ['space for T', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 2021-01-01 00:00:00Z')],
  ['a dot without digits', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 2021-01-01T00:00:00.Z')],
  ['a leap second at month end', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 2016-12-31T23:59:60Z')],
  ['a leap second with an offset', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 2017-01-01T08:59:60+09:00')],
  ['second 60 mid-month', (m) => m.replace(/\nIssued At: [^\n]*/, '\nIssued At: 2021-06-15T12:30:60Z')],
  ['fields out of order', (m) => m.replace(/\n(Expiration Time: [^\n]*)\n(Not Before: [^\n]*)/, '\n$2\n$1')],
  ['a field twice', (m) => m.replace(/\n(Issued At: [^\n]*)/, '\n$1\n$1').replace(/\n(Issued At: [^\n]*)\n\1/, '\n$1\nExpiration Time: 2030-01-01T00:00:00Z\nExpiration Time: 2030-01-01T00:00:00Z')],
  ['unknown field', (m) => m.replace(/\n(Issued At: [^\n]*)/, '\n$1\nColor: blue')],
  ['Resources without entries', (m) => (/\nResources:/.test(m) ? m : m + '\nResources:')],
  ['resource without a dash', (m) => (/\nResources:/.test(m) ? m + '\nhttps://x.example' : m + '\nResources:\nhttps://x.example')],
  ['resource not a URI', (m) => (/\nResources:/.test(m) ? m + '\n- not a uri' : m + '\nResources:\n- not a uri')],
  ['statement with a %', (m) => m.replace(/(0x[0-9a-fA-F]{40}\n\n)/, '$1100% sure\n\n')],
  ['statement with a quote', (m) => m.replace(/(0x[0-9a-fA-F]{40}\n\n)/, '$1say "hi"\n\n')],
  ['statement non-ASCII', (m) => m.replace(/(0x[0-9a-fA-F]{40}\n\n)/, '$1caf\u00e9\n\n')],
  ['URI with a space', (m) => m.replace(/\nURI: /, '\nURI: https://a.example/x y')],
  ['URI relative', (m) => m.replace(/\nURI: [^\n]*/, '\nURI: /login')],
  ['URI IPv6 without ]', (m) => m.replace(/\nURI: [^\n]*/, '\nURI: https://[::1/login')],
  ['URI bad escape', (m) => m.replace(/\nURI: [^\n]*/, '\nURI: https://a.example/%zz')],
  ['URI port letters', (m) => m.replace(/\nURI: [^\n]*/, '\nURI: https://a.example:8x/')],
  ['URI IPv6 9 groups', (m) => m.replace(/\nURI: [^\n]*/, '\nURI: https://[1:2:3:4:5:6:7:8:9]/')],
  ['URI IPv6 two ::', (m) => m.replace(/\nURI: [^\n]*/, '\nURI: https://[1::2::3]/')],
  ['URI IPv6 :: and 8 groups', (m) => m.replace(/\nURI: [^\n]*/, '\nURI: https://[::1:2:3:4:5:6:7:8]/')],
  ['URI IPv6 5 hex digits', (m) => m.replace(/\nURI: [^\n]*/, '\nURI: https://[12345::1]/')],
  ['URI IPv4 octet 256 in IPv6', (m) => m.replace(/\nURI: [^\n]*/, '\nURI: https://[::ffff:1.2.3.256]/')],
  ['Request ID with a space', (m) => m.replace(/\n(Issued At: [^\n]*)(\nExpiration Time: [^\n]*)?(\nNot Before: [^\n]*)?/, '\n$1$2$3\nRequest ID: a b')],
];
const PALETTE = ['\n', '\r', ' ', ':', '/', '%', '@', '[', ']', '#', '?', '-', '0', 'x', 'Z', '.', '\t', '\u00e9', '"', '\\'];
function randomEdit(m) {
  const i = ri(m.length + 1);
  switch (ri(3)) {
    case 0: return m.slice(0, i) + m.slice(i + 1);
    case 1: return m.slice(0, i) + pick(PALETTE) + m.slice(i);
    default: return m.slice(0, i) + pick(PALETTE) + m.slice(i + 1);
  }
}
const mutants = [], names = [];
for (let k = 0; k < MUTANTS; k++) {
  const base = valid[k % valid.length];
  if (k < structural.length * 4) {
    const [name, f] = structural[k % structural.length];
    mutants.push(f(base));
    names.push(name);
  } else {
    mutants.push(randomEdit(base));
    names.push('random edit');
  }
}
const mt = teekmParse(mutants);
const counts = { agree: 0, bothAccept: 0, bothRefuse: 0, 'leap-second': 0, 'ipv4-in-ipv6': 0, 'chain-range': 0 };
const leap = (m) => /(Issued At|Expiration Time|Not Before): \d{4}-\d\d-\d\d[Tt]\d\d:\d\d:60/.test(m);
const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)';
const STRICT4 = new RegExp(`^(${OCTET}\\.){3}${OCTET}$`);
const laxIpv4 = (m) => (m.match(/\[[^\]\n]*\]/g) || []).some((lit) => {
  const tail = lit.slice(1, -1).split(':').pop();
  return tail.includes('.') && !STRICT4.test(tail);
});
for (let i = 0; i < mutants.length; i++) {
  const m = mutants[i];
  const refOk = refParse(m) !== null, tOk = !mt[i].error;
  if (refOk === tOk) {
    counts.agree++;
    counts[tOk ? 'bothAccept' : 'bothRefuse']++;
    continue;
  }
  if (refOk && !tOk && leap(m) && /leap second/.test(mt[i].detail)) counts['leap-second']++;
  else if (refOk && !tOk && laxIpv4(m) && /IP literal/.test(mt[i].detail)) counts['ipv4-in-ipv6']++;
  else if (refOk && !tOk && /Chain ID\): larger than 2\^64-1/.test(mt[i].detail)) counts['chain-range']++;
  else fail(names[i] + ': reference ' + (refOk ? 'accepts' : 'refuses') + ', teekm ' + (tOk ? 'accepts' : 'refuses (' + mt[i].detail + ')'), m);
}
console.log(`ok: ${mutants.length} mutants: ${counts.agree} same verdict (${counts.bothAccept} accepted by both, ${counts.bothRefuse} refused by both); ` +
  `teekm stricter on purpose: leap-second ${counts['leap-second']}, ipv4-in-ipv6 ${counts['ipv4-in-ipv6']}, chain-range ${counts['chain-range']}`);
if (counts.bothRefuse < mutants.length / 2) fail('too few mutants refused: the mutations do not test much', counts);
if (!counts['leap-second'] || !counts['chain-range'] || !counts['ipv4-in-ipv6']) fail('a documented difference was not exercised', counts);

if (failures) {
  console.error(failures + ' failure(s)');
  process.exit(1);
}
console.log('siwe oracle: all checks passed');
