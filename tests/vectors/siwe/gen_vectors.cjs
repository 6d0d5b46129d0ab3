#!/usr/bin/env node
/*
 * Writes cases.json: EIP-4361 messages with what an independent parser reads in them.
 *   node gen_vectors.cjs > cases.json    (needs tests/interop/siwe's node_modules: tests/interop/ensure_deps.sh siwe)
 *
 * valid[]:   messages (the EIP's three examples and edge forms of every field) with the fields SpruceID's
 *            reference parser (siwe 3.0.0 / @spruceid/siwe-parser 3.0.0) extracts, and the unix seconds
 *            JavaScript's Date.parse gives each time (floor).
 * invalid[]: one defect each, with the field teekm must name (the line's field in its detail) and the error
 *            code; the reference must refuse each one too, except those marked "referenceAccepts" (where it is
 *            laxer than RFC 3339 / RFC 3986: docs/policy.md "Where teekm and the reference differ").
 */
'use strict';
const path = require('path');
const NM = path.join(__dirname, '..', '..', 'interop', 'siwe', 'node_modules');
const { SiweMessage } = require(path.join(NM, 'siwe'));

const A = '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2'; /* the EIP's examples' address (EIP-55) */
const HDR = ' wants you to sign in with your Ethereum account:\n';
const msg = (o = {}) => {
  const d = { prefix: 'example.com', address: A, statement: '\nI accept the ExampleOrg Terms of Service: https://example.com/tos\n',
    uri: 'https://example.com/login', version: '1', chain: '1', nonce: '32891756', issued: '2021-09-30T16:25:24Z', tail: '', ...o };
  return d.prefix + HDR + d.address + '\n' + d.statement + '\nURI: ' + d.uri + '\nVersion: ' + d.version + '\nChain ID: ' + d.chain +
    '\nNonce: ' + d.nonce + '\nIssued At: ' + d.issued + d.tail;
};
const RES = '\nResources:\n- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n- https://example.com/my-web2-claim.json';

const valid = [
  ['EIP example: implicit scheme', msg({ tail: RES })],
  ['EIP example: implicit scheme, explicit port', msg({ prefix: 'example.com:3388', tail: RES })],
  ['EIP example: explicit scheme', msg({ prefix: 'https://example.com', tail: RES })],
  ['no statement (three LFs after the address)', msg({ statement: '\n' })],
  ['empty statement (four LFs after the address)', msg({ statement: '\n\n' })],
  ['statement with every reserved character', msg({ statement: "\n:/?#[]@!$&'()*+,;= -._~ AZaz09\n" })],
  ['all optional fields', msg({ tail: '\nExpiration Time: 2021-09-30T16:35:24Z\nNot Before: 2021-09-30T16:25:00Z\nRequest ID: req-1%20a:b@c' + RES })],
  ['empty Request ID', msg({ tail: '\nRequest ID: ' })],
  ['Resources with no entry', msg({ tail: '\nResources:' })],
  ['scheme with + - .', msg({ prefix: 'a+b-c.d://example.com' })],
  ['domain: IPv4 with a port', msg({ prefix: '192.0.2.1:8080', uri: 'http://192.0.2.1:8080/' })],
  ['domain: IPv6 literal', msg({ prefix: '[2001:db8::8:800:200c:417a]:443', uri: 'https://[2001:db8::8:800:200c:417a]/' })],
  ['domain: IPv6 literal with an IPv4 tail', msg({ prefix: '[::ffff:192.0.2.1]' })],
  ['domain: IPv6 literal of 8 groups', msg({ prefix: '[1:2:3:4:5:6:7:8]' })],
  ['domain: IPv6 literal with :: at the end', msg({ prefix: '[1:2:3:4:5:6:7::]' })],
  ['domain: IPvFuture literal', msg({ prefix: '[v1.fe80::a+en1]' })],
  ['domain: userinfo', msg({ prefix: 'user:pw@example.com' })],
  ['domain: empty port', msg({ prefix: 'example.com:' })],
  ['domain: percent-escape and sub-delims', msg({ prefix: "ex%41mple.com!$&'()*+,;=" })],
  ['URI without authority (urn)', msg({ uri: 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66' })],
  ['URI with query and fragment', msg({ uri: 'https://example.com/login?a=1&b=/?#frag/?' })],
  ['URI path-absolute', msg({ uri: 'did:/a//b' })],
  ['URI scheme only', msg({ uri: 'about:' })],
  ['Chain ID with leading zeros', msg({ chain: '0001' })],
  ['Chain ID 2^64-1', msg({ chain: '18446744073709551615' })],
  ['long nonce', msg({ nonce: 'aZ09'.repeat(16) })],
  ['time: fraction of 9 digits', msg({ issued: '2021-09-30T16:25:24.123456789Z' })],
  ['time: offset +05:30', msg({ issued: '2021-09-30T21:55:24+05:30' })],
  ['time: offset -08:00 across midnight', msg({ issued: '2021-09-30T23:30:00-08:00' })],
  ['time: offset -00:00', msg({ issued: '2021-09-30T16:25:24-00:00' })],
  ['time: lower-case t and z', msg({ issued: '2021-09-30t16:25:24z' })],
  ['time: Feb 29 of a leap year', msg({ issued: '2024-02-29T12:00:00Z' })],
  ['time: Feb 29 of 2000', msg({ issued: '2000-02-29T12:00:00Z' })],
  ['time: before 1970', msg({ issued: '1969-12-31T23:59:59.5Z' })],
  ['time: year 9999', msg({ issued: '9999-12-31T23:59:59Z' })],
  ['time: a leap second at the end of June', msg({ issued: '2015-06-30T23:59:60Z' })],
  ['time: a leap second with an offset', msg({ issued: '2017-01-01T08:59:60+09:00' })],
];

const invalid = [
  // [name, message, field teekm names, error code]
  ['empty message', '', 'header', 'FORMAT'],
  ['header only', 'example.com' + HDR.slice(0, -1), 'address', 'FORMAT'],
  ['header text changed', msg().replace('sign in with', 'sign-in with'), 'header', 'FORMAT'],
  ['header case', msg().replace('Ethereum account', 'ethereum account'), 'header', 'FORMAT'],
  ['no domain', msg({ prefix: '' }), 'header', 'FORMAT'],
  ['scheme without domain', msg({ prefix: 'https://' }), 'domain', 'FORMAT'],
  ['domain with a space', msg({ prefix: 'example .com' }), 'domain', 'FORMAT'],
  ['domain with a path', msg({ prefix: 'example.com/login' }), 'domain', 'FORMAT'],
  ['domain port with a letter', msg({ prefix: 'example.com:44a' }), 'domain', 'FORMAT'],
  ['scheme starting with a digit', msg({ prefix: '1https://example.com' }), 'scheme', 'FORMAT'],
  ['IPv6: 9 groups', msg({ prefix: '[1:2:3:4:5:6:7:8:9]' }), 'domain', 'FORMAT'],
  ['IPv6: two ::', msg({ prefix: '[1::2::3]' }), 'domain', 'FORMAT'],
  ['IPv6: :: with 8 groups', msg({ prefix: '[::1:2:3:4:5:6:7:8]' }), 'domain', 'FORMAT'],
  ['IPv6: 5 hex digits', msg({ prefix: '[12345::1]' }), 'domain', 'FORMAT'],
  ['IPv6: IPv4 tail with 7 groups', msg({ prefix: '[1:2:3:4:5:6:7:1.2.3.4]' }), 'domain', 'FORMAT'],
  ['IPv6: octet 256', msg({ prefix: '[::ffff:1.2.3.256]' }), 'domain', 'FORMAT'],
  ['IPv6: no closing bracket', msg({ prefix: '[::1' }), 'domain', 'FORMAT'],
  ['IPv6: a leading zero in the IPv4 tail', msg({ prefix: '[::ffff:01.2.3.4]' }), 'domain', 'FORMAT', 'referenceAccepts'],
  ['IPv6: an empty octet in the IPv4 tail', msg({ prefix: '[::ffff:1..3.4]' }), 'domain', 'FORMAT', 'referenceAccepts'],
  ['address lower-case', msg({ address: A.toLowerCase() }), 'address', 'CHECKSUM'],
  ['address upper-case', msg({ address: '0x' + A.slice(2).toUpperCase() }), 'address', 'CHECKSUM'],
  ['address with 0X', msg({ address: '0X' + A.slice(2) }), 'address', 'CHECKSUM'],
  ['address 39 digits', msg({ address: A.slice(0, -1) }), 'address', 'FORMAT'],
  ['address not hex', msg({ address: A.slice(0, -1) + 'g' }), 'address', 'FORMAT'],
  ['no blank line after the address', msg().replace(A + '\n\n', A + '\n'), 'blank line', 'FORMAT'],
  ['text on the blank line after the address', msg({ statement: 'x\n' }), 'blank line', 'FORMAT'],
  ['statement not followed by a blank line', msg({ statement: '\nhello' }), 'blank line', 'FORMAT'],
  ['statement with %', msg({ statement: '\n100% sure\n' }), 'statement', 'FORMAT'],
  ['statement with a quote', msg({ statement: '\nsay "hi"\n' }), 'statement', 'FORMAT'],
  ['statement non-ASCII', msg({ statement: '\ncaf\u00e9\n' }), 'statement', 'FORMAT'],
  ['statement with a tab', msg({ statement: '\na\tb\n' }), 'statement', 'FORMAT'],
  ['URI missing', msg().replace(/\nURI: [^\n]*/, ''), 'URI', 'FORMAT'],
  ['URI relative', msg({ uri: '/login' }), 'URI', 'FORMAT'],
  ['URI with a space', msg({ uri: 'https://example.com/a b' }), 'URI', 'FORMAT'],
  ['URI bad escape', msg({ uri: 'https://example.com/%zz' }), 'URI', 'FORMAT'],
  ['URI two fragments', msg({ uri: 'https://example.com/#a#b' }), 'URI', 'FORMAT'],
  ['Version 2', msg({ version: '2' }), 'Version', 'FORMAT'],
  ['Version 1.0', msg({ version: '1.0' }), 'Version', 'FORMAT'],
  ['Chain ID empty', msg({ chain: '' }), 'Chain ID', 'FORMAT'],
  ['Chain ID hex', msg({ chain: '0x1' }), 'Chain ID', 'FORMAT'],
  ['Chain ID negative', msg({ chain: '-1' }), 'Chain ID', 'FORMAT'],
  ['Chain ID 2^64', msg({ chain: '18446744073709551616' }), 'Chain ID', 'RANGE', 'referenceAccepts'],
  ['nonce of 7', msg({ nonce: '3289175' }), 'Nonce', 'FORMAT'],
  ['nonce with a dash', msg({ nonce: '3289-1756' }), 'Nonce', 'FORMAT'],
  ['field name lower-case', msg().replace('Chain ID: ', 'chain ID: '), 'Chain ID', 'FORMAT'],
  ['no space after the colon', msg().replace('Nonce: ', 'Nonce:'), 'Nonce', 'FORMAT'],
  ['Issued At missing', msg().replace(/\nIssued At: [^\n]*/, ''), 'Issued At', 'FORMAT'],
  ['time without offset', msg({ issued: '2021-09-30T16:25:24' }), 'Issued At', 'FORMAT'],
  ['time with a space for T', msg({ issued: '2021-09-30 16:25:24Z' }), 'Issued At', 'FORMAT'],
  ['time offset without colon', msg({ issued: '2021-09-30T16:25:24+0530' }), 'Issued At', 'FORMAT'],
  ['time "." without digits', msg({ issued: '2021-09-30T16:25:24.Z' }), 'Issued At', 'FORMAT'],
  ['time: Feb 29 of a common year', msg({ issued: '2023-02-29T00:00:00Z' }), 'Issued At', 'RANGE'],
  ['time: Feb 29 of 1900', msg({ issued: '1900-02-29T00:00:00Z' }), 'Issued At', 'RANGE'],
  ['time: April 31', msg({ issued: '2021-04-31T00:00:00Z' }), 'Issued At', 'RANGE'],
  ['time: month 13', msg({ issued: '2021-13-01T00:00:00Z' }), 'Issued At', 'RANGE'],
  ['time: day 00', msg({ issued: '2021-01-00T00:00:00Z' }), 'Issued At', 'RANGE'],
  ['time: hour 24', msg({ issued: '2021-01-01T24:00:00Z' }), 'Issued At', 'RANGE'],
  ['time: minute 60', msg({ issued: '2021-01-01T00:60:00Z' }), 'Issued At', 'RANGE'],
  ['time: second 61', msg({ issued: '2021-01-01T00:00:61Z' }), 'Issued At', 'RANGE'],
  ['time: offset +24:00', msg({ issued: '2021-01-01T00:00:00+24:00' }), 'Issued At', 'RANGE'],
  ['time: offset +05:60', msg({ issued: '2021-01-01T00:00:00+05:60' }), 'Issued At', 'RANGE'],
  ['time: second 60 mid-month', msg({ issued: '2021-06-15T12:30:60Z' }), 'Issued At', 'RANGE', 'referenceAccepts'],
  ['time: second 60 at 23:59 local time but not UTC', msg({ issued: '2016-12-31T23:59:60+01:00' }), 'Issued At', 'RANGE', 'referenceAccepts'],
  ['Expiration Time invalid', msg({ tail: '\nExpiration Time: tomorrow' }), 'Expiration Time', 'FORMAT'],
  ['Not Before invalid', msg({ tail: '\nNot Before: 2021-02-30T00:00:00Z' }), 'Not Before', 'RANGE'],
  ['final newline', msg() + '\n', 'end', 'FORMAT'],
  ['final newline after resources', msg({ tail: RES }) + '\n', 'end', 'FORMAT'],
  ['CRLF line ends', msg().replace(/\n/g, '\r\n'), 'header', 'FORMAT'],
  ['CR before one LF', msg().replace('\nVersion', '\r\nVersion'), 'URI', 'FORMAT'],
  ['fields out of order', msg({ tail: '\nNot Before: 2021-09-30T16:25:00Z\nExpiration Time: 2021-09-30T16:35:24Z' }), 'optional field', 'FORMAT'],
  ['a field twice', msg({ tail: '\nExpiration Time: 2021-09-30T16:35:24Z\nExpiration Time: 2021-09-30T16:35:24Z' }), 'optional field', 'FORMAT'],
  ['an unknown field', msg({ tail: '\nColor: blue' }), 'optional field', 'FORMAT'],
  ['an empty line in the middle', msg({ tail: '\n\nResources:' }), 'optional field', 'FORMAT'],
  ['Request ID with a space', msg({ tail: '\nRequest ID: a b' }), 'Request ID', 'FORMAT'],
  ['resource without "- "', msg({ tail: '\nResources:\nhttps://example.com' }), 'resource', 'FORMAT'],
  ['resource not a URI', msg({ tail: '\nResources:\n- not a uri' }), 'resource', 'FORMAT'],
  ['Resources with a space after the colon', msg({ tail: '\nResources: ' }), 'optional field', 'FORMAT'],
];

const unix = (t) => { const ms = Date.parse(t); if (!Number.isFinite(ms)) throw new Error('Date.parse: ' + t); return Math.floor(ms / 1000); };
const out = { generator: 'tests/vectors/siwe/gen_vectors.cjs', oracle: 'siwe 3.0.0 (@spruceid/siwe-parser 3.0.0), Date.parse (node ' + process.version + ')', valid: [], invalid: [] };
for (const [name, m] of valid) {
  let ref;
  try { ref = new SiweMessage(m); } catch (e) { throw new Error('the reference refuses valid case "' + name + '": ' + e.message); }
  const f = {};
  for (const k of ['scheme', 'domain', 'address', 'statement', 'uri', 'version', 'nonce', 'issuedAt', 'expirationTime', 'notBefore', 'requestId', 'resources'])
    if (ref[k] !== undefined) f[k] = ref[k];
  /* the reference reads the Chain ID as a JS number (exact up to 2^53): the value as a BigInt, checked against it there */
  f.chainId = BigInt(m.match(/\nChain ID: (\d+)/)[1]).toString();
  if (BigInt(f.chainId) <= BigInt(Number.MAX_SAFE_INTEGER) && String(ref.chainId) !== f.chainId) throw new Error('chainId ' + name);
  for (const k of ['issuedAt', 'expirationTime', 'notBefore']) {
    if (f[k] === undefined) continue;
    if (/:60(\.\d+)?([Zz+-]|$)/.test(f[k])) f[k + 'Unix'] = unix(f[k].replace(/:60(?=[.Zz+-])/, ':59')); /* Date.parse has no leap seconds */
    else f[k + 'Unix'] = unix(f[k]);
  }
  out.valid.push({ name, message: m, fields: f });
}
for (const [name, m, field, code, flag] of invalid) {
  let refOk = true;
  try { new SiweMessage(m); } catch (e) { refOk = false; }
  if (refOk !== (flag === 'referenceAccepts')) throw new Error('the reference ' + (refOk ? 'accepts' : 'refuses') + ' invalid case "' + name + '"');
  const c = { name, message: m, field, code };
  if (flag) c.referenceAccepts = true;
  out.invalid.push(c);
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
