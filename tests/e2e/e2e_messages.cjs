#!/usr/bin/env node
/*
 * e2e_messages.cjs DIR — EIP-191 personal messages through a real teekmd, checked with ethers v6 (6.17.0):
 *  - off by default: with a policy that has no sign_message rule, personal_sign, eth_sign and teekm_prepare of
 *    a message are refused (405, data.reason UNSUPPORTED_PAYLOAD), and audited;
 *  - a policy change under the admins' quorum (teekm policy propose/approve/activate) adds sign_message rules;
 *  - ethers' JsonRpcSigner.signMessage (personal_sign with the message as hex) over mutual TLS gets a 65-byte
 *    signature that ethers.verifyMessage recovers to the key; eth_sign (address first) too;
 *  - a message outside the rules (other SIWE domain, too long, not text, 32 raw bytes) gets 400 with
 *    data.reason MESSAGE_NOT_ALLOWED and the rule; a key no rule names gets NO_MATCHING_RULE; a rule with
 *    encoding "bytes" signs 32 raw bytes;
 *  - approvals: teekm_prepare of a message gives payloadHash = ethers.hashMessage and an Approval (action
 *    sign_message, chainId/asset/to/amount zero) that ethers hashes to the same digest; signed by an
 *    approver, inline, then idempotent;
 *  - the audit log carries the digest and length of each message, never its content.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { ethers } = require(path.join(process.env.ETHERS_DIR, 'node_modules', 'ethers'));
const T = require('./e2e_common.cjs');
const { check } = T;

const dir = process.argv[2];
const log = path.join(dir, 'teekmd.log');
const w = (n) => new ethers.Wallet(ethers.id('teekm-e2e-msg:' + n));
const admin = w('admin'), risk1 = w('risk1');
const payee = ethers.getAddress(ethers.dataSlice(ethers.id('teekm-e2e-msg:payee'), 12));
const DOMAIN = 'app.example.com';
const SIWE_PREFIX = DOMAIN + ' wants you to sign in with your Ethereum account:\n';
const siwe = (domain, address, extra = '') => domain + ' wants you to sign in with your Ethereum account:\n' + address +
  '\n\nSign in to the treasury console.\n\nURI: https://' + domain + '/login\nVersion: 1\nChain ID: 1\nNonce: ' +
  ethers.hexlify(ethers.randomBytes(8)).slice(2) + '\nIssued At: 2026-11-25T12:00:00Z' + extra;
const hex = (s) => ethers.hexlify(typeof s === 'string' ? ethers.toUtf8Bytes(s) : s);

async function main() {
  const base = {
    teekm_policy: 1, default: 'deny', max_validity_seconds: 3600,
    admins: { threshold: 1, members: [admin.address] },
    groups: { risk: [risk1.address] },
    assets: { ETH: { chain_id: 1, native: true, decimals: 18 } },
  };
  const transfers = { id: 'small-eth', effect: 'allow', keys: ['hot'], action: 'transfer', asset: 'ETH', to: [payee], max_amount: '1' };
  const policy1 = { ...base, version: 1, rules: [transfers] };
  const policy2 = { ...base, version: 2, rules: [
    transfers,
    { id: 'no-blanket', effect: 'deny', keys: ['*'], action: 'sign_message', message: { prefixes: ['I approve all'] } },
    { id: 'siwe', effect: 'allow', keys: ['hot'], action: 'sign_message', message: { max_length: 1024, prefixes: [SIWE_PREFIX] } },
    { id: 'notes', effect: 'allow', keys: ['hot'], action: 'sign_message', message: { max_length: 200, prefixes: ['ops note: '] },
      approvals: [{ group: 'risk', threshold: 1 }] },
    { id: 'raw-digests', effect: 'allow', keys: ['raw'], action: 'sign_message', message: { encoding: 'bytes', max_length: 32 } },
  ] };
  fs.writeFileSync(path.join(dir, 'policy1.json'), JSON.stringify(policy1));
  fs.writeFileSync(path.join(dir, 'policy2.json'), JSON.stringify(policy2));
  fs.writeFileSync(path.join(dir, 'admin.devkey'), 'dev:' + admin.privateKey + '\n', { mode: 0o600 });
  const data = path.join(dir, 'data');
  const init = JSON.parse(T.teekm(['init', '--data-dir', data, '--tee', 'sim', '--policy', path.join(dir, 'policy1.json'),
    '--key', 'hot', '--key', 'raw', '--key', 'cold']));
  const hot = init.keys.hot, raw = init.keys.raw, cold = init.keys.cold;
  const op = { cert: init.client.cert, key: init.client.key };
  const caFile = init.client.ca;
  const d = await T.startDaemon(data, [], log);
  const url = d.url;
  const rpc = (method, params) => T.rpc(url, op, caFile, method, params);

  /* ---- off by default */
  const m0 = siwe(DOMAIN, hot);
  const off1 = await rpc('personal_sign', [hex(m0), hot]);
  const off2 = await rpc('eth_sign', [hot, hex(m0)]);
  const off3 = await rpc('teekm_prepare', [hex(m0), { from: hot }]);
  check(off1.error && off1.error.code === 405 && off1.error.data.reason === 'UNSUPPORTED_PAYLOAD' && /sign_message/.test(off1.error.data.detail),
    'no sign_message rule: personal_sign refused (405 UNSUPPORTED_PAYLOAD)');
  check(off2.error && off2.error.code === 405 && off2.error.data.reason === 'UNSUPPORTED_PAYLOAD', 'no sign_message rule: eth_sign refused (405)');
  check(off3.error && off3.error.code === 405, 'no sign_message rule: teekm_prepare of a message refused (405)');

  /* ---- a policy change under the admins' quorum turns them on */
  const env = { ...process.env, TEEKM_URL: url, TEEKM_DATA_DIR: data };
  const prop = JSON.parse(T.teekm(['policy', 'propose', path.join(dir, 'policy2.json')], { env }));
  T.teekm(['policy', 'approve', prop.hash, '--approver-key', path.join(dir, 'admin.devkey')], { env });
  const act = JSON.parse(T.teekm(['policy', 'activate', prop.hash], { env }));
  check(act.version === 2, 'policy version 2 with sign_message rules activated by the admins\' quorum');

  /* ---- ethers' JsonRpcSigner.signMessage: personal_sign with hex, over mutual TLS */
  const req = T.fetchRequest(ethers, url, op, caFile);
  const prov = new ethers.JsonRpcProvider(req, 1n, { staticNetwork: true });
  const signer = await prov.getSigner(hot);
  const m1 = siwe(DOMAIN, hot);
  const sig1 = await signer.signMessage(m1);
  check(ethers.dataLength(sig1) === 65 && [27, 28].includes(ethers.getBytes(sig1)[64]), 'signMessage: 65 bytes, v 27/28');
  check(ethers.verifyMessage(m1, sig1) === hot, 'JsonRpcSigner.signMessage (SIWE, EIP-4361) through teekmd: ethers.verifyMessage recovers hot');
  const m2 = siwe(DOMAIN, hot, '\nResources:\n- https://' + DOMAIN + '/terms');
  const sig2 = await rpc('eth_sign', [hot, hex(m2)]);
  check(sig2.result && ethers.verifyMessage(m2, sig2.result) === hot, 'eth_sign (address, data): ethers.verifyMessage recovers hot');

  /* ---- refusals */
  const deny = async (what, method, params, reason, rule, code = 400) => {
    const r = await rpc(method, params);
    check(r.error && r.error.code === code && r.error.data.reason === reason && (rule === undefined || r.error.data.rule === rule),
      what + ': ' + code + ' ' + reason + (rule ? ' (rule ' + rule + ')' : '') + (r.error ? '' : ' — got a result'));
    return r;
  };
  await deny('SIWE for another domain', 'personal_sign', [hex(siwe('evil.example.net', hot)), hot], 'MESSAGE_NOT_ALLOWED', 'siwe');
  await deny('over max_length', 'personal_sign', [hex(siwe(DOMAIN, hot, '\n' + 'x'.repeat(1100))), hot], 'MESSAGE_NOT_ALLOWED', 'siwe');
  await deny('not text (ESC)', 'personal_sign', [hex(siwe(DOMAIN, hot, '\x1b[8m')), hot], 'MESSAGE_NOT_ALLOWED', 'siwe');
  await deny('not UTF-8', 'personal_sign', [ethers.concat([hex(SIWE_PREFIX), '0xff']), hot], 'MESSAGE_NOT_ALLOWED', 'siwe');
  const hash32 = ethers.id('a safeTxHash an attacker wants signed');
  await deny('32 raw bytes (a hash) under text rules', 'eth_sign', [hot, hash32], 'MESSAGE_NOT_ALLOWED', 'siwe');
  await deny('deny rule by prefix', 'personal_sign', [hex('I approve all transfers'), hot], 'DENIED_BY_RULE', 'no-blanket');
  await deny('a key no message rule names', 'personal_sign', [hex(m1), cold], 'NO_MATCHING_RULE');
  const viaEthers = await signer.signMessage('hello').then(() => null, (e) => e);
  check(viaEthers && viaEthers.error && viaEthers.error.code === 400 && viaEthers.error.data.reason === 'MESSAGE_NOT_ALLOWED',
    'JsonRpcSigner.signMessage of a message outside the rules: ethers surfaces 400 MESSAGE_NOT_ALLOWED');
  const bad = await rpc('personal_sign', ['hello', hot]);
  check(bad.error && bad.error.code === -32602 && /params\[0\]/.test(bad.error.data.detail), 'message not 0x hex: -32602 naming params[0]');
  const badOrder = await rpc('personal_sign', [hot, hex(m1)]);
  check(badOrder.error && badOrder.error.code === -32602, 'personal_sign with (address, data): -32602 (params[1] must be the address)');

  /* ---- a bytes rule: 32 raw bytes are signed for the key it names */
  const rawSig = await rpc('eth_sign', [raw, hash32]);
  check(rawSig.result && ethers.verifyMessage(ethers.getBytes(hash32), rawSig.result) === raw, 'encoding "bytes" rule: 32 raw bytes signed, ethers recovers raw');
  await deny('bytes rule: over its max_length', 'eth_sign', [raw, ethers.hexlify(new Uint8Array(33))], 'MESSAGE_NOT_ALLOWED', 'raw-digests');

  /* ---- approvals (rule notes: 1 of group risk) */
  const note = 'ops note: rotating the hot key on ' + new Date(0).toISOString();
  await deny('approvals missing', 'personal_sign', [hex(note), hot], 'APPROVALS_MISSING', 'notes');
  const prep = (await rpc('teekm_prepare', [hex(note), { requestId: 'note-1', from: 'hot' }])).result;
  check(prep && prep.payloadHash === ethers.hashMessage(note), 'teekm_prepare: payloadHash = ethers.hashMessage(message)');
  const td = prep.approval.typedData, at = { Approval: td.types.Approval };
  check(td.message.action === 'sign_message' && td.message.asset === ethers.ZeroAddress && td.message.to === ethers.ZeroAddress &&
        String(td.message.amount) === '0' && String(td.message.chainId) === '0' && td.message.payloadHash === ethers.hashMessage(note),
    'Approval for a message: action sign_message, chainId/asset/to/amount zero, payloadHash the EIP-191 digest');
  check(ethers.TypedDataEncoder.hash(td.domain, at, td.message) === prep.approval.digest, 'the Approval digest is what ethers hashes');
  check(prep.intent.message && prep.intent.message.length === ethers.toUtf8Bytes(note).length && !JSON.stringify(prep).includes('rotating'),
    'the prepared intent carries the length, not the content');
  const asig = await risk1.signTypedData(td.domain, at, td.message);
  const other = await w('outsider').signTypedData(td.domain, at, td.message);
  await deny('approval by a non-member', 'personal_sign', [hex(note), hot, { requestId: 'note-1', approvals: [other] }], 'APPROVAL_INVALID', 'notes');
  const approved = await rpc('personal_sign', [hex(note), hot, { requestId: 'note-1', approvals: [asig] }]);
  check(approved.result && ethers.verifyMessage(note, approved.result) === hot, 'approved by risk1 (inline): signed, ethers recovers hot');
  const again = await rpc('personal_sign', [hex(note), hot, { requestId: 'note-1' }]);
  check(again.result === approved.result, 'same requestId and message again: the same signature (idempotent)');
  await deny('same requestId, another message', 'personal_sign', [hex(note + '!'), hot, { requestId: 'note-1' }], 'REPLAYED_REQUEST', undefined, 402);

  /* ---- the audit log: digest and length, never the content */
  const auditFile = path.join(dir, 'audit.jsonl');
  T.teekm(['audit', 'export', '--out', auditFile], { env });
  let verified = false;
  try { verified = /audit log OK/.test(T.teekm(['audit', 'verify', auditFile, '--audit-address', init.auditAddress])); } catch (e) { console.error(e.stdout, e.stderr); }
  check(verified, 'teekm audit verify passes');
  const text = fs.readFileSync(auditFile, 'utf8');
  const recs = text.trim().split('\n').map((l) => JSON.parse(l));
  const msgRecs = recs.filter((r) => /^sign_/.test(r.type) && r.body.intent && r.body.intent.payload === 'message');
  const allowed1 = msgRecs.find((r) => r.type === 'sign_allowed' && r.body.payloadHash === ethers.hashMessage(m1));
  check(allowed1 && allowed1.body.intent.message.length === ethers.toUtf8Bytes(m1).length && allowed1.body.intent.action === 'sign_message',
    'audit: the allowed SIWE message is recorded with its EIP-191 digest and length');
  check(msgRecs.some((r) => r.type === 'sign_rejected' && r.body.reason === 'UNSUPPORTED_PAYLOAD') &&
        msgRecs.some((r) => r.type === 'sign_rejected' && r.body.reason === 'MESSAGE_NOT_ALLOWED'), 'audit: refusals of messages are recorded');
  check(!text.includes('treasury console') && !text.includes(hex(m1).slice(2, 60)) && !text.includes('rotating') &&
        !text.includes(hash32.slice(2)), 'audit: no message content (text or hex) anywhere in the log');
  await T.stopDaemon(d);
}

main().then(() => {
  if (T.failed()) { console.error(T.failed() + ' check(s) failed'); process.exit(1); }
  console.log('e2e messages: all checks passed');
}, (e) => { console.error(e); process.exit(1); });
