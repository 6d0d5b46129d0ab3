#!/usr/bin/env node
/*
 * policy_interop.cjs DIR — teekm policy eval and audit export against ethers 6:
 *  - an EIP-2612 Permit built and hashed by ethers becomes an approve intent
 *    whose payloadHash is ethers' TypedDataEncoder.hash;
 *  - approvals are signed by ethers wallets (Wallet.signTypedData over
 *    Approval in the teekm domain) and counted by teekm;
 *  - the exported audit log is re-verified here without teekm code: SHA-256
 *    of the canonical record, the prev chain, and every signature with
 *    ethers.verifyMessage against the audit address named by record 1.
 */
'use strict';
const { execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { ethers } = require('ethers');

const dir = process.argv[2];
const NOW = 1750000000;
const INSTANCE = ethers.id('teekm-interop-instance');
const w = (n) => new ethers.Wallet(ethers.id('teekm-interop:' + n));
const hot = w('hot'), risk1 = w('risk1'), risk2 = w('risk2'), outsider = w('outsider'), admin = w('admin');
const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';
const spender = ethers.getAddress(ethers.dataSlice(ethers.id('spender'), 12));
let failures = 0;
const check = (cond, what) => { if (!cond) { console.error('FAIL: ' + what); failures++; } else console.log('ok: ' + what); };

const policy = {
  teekm_policy: 1, version: 1, default: 'deny', max_validity_seconds: 3600,
  admins: { threshold: 1, members: [admin.address] },
  groups: { risk: [risk1.address, risk2.address] },
  assets: { USDC: { chain_id: 1, contract: USDC, standard: 'erc20', decimals: 6 } },
  rules: [{ id: 'permit-spender', effect: 'allow', keys: ['hot'], action: 'approve', asset: 'USDC', to: [spender],
    max_amount: '1000', window_limit: { amount: '1200', seconds: 86400 }, approvals: [{ group: 'risk', threshold: 2 }] }],
};
fs.writeFileSync(path.join(dir, 'policy.json'), JSON.stringify(policy, null, 2));

const permitTypes = { Permit: [
  { name: 'owner', type: 'address' }, { name: 'spender', type: 'address' }, { name: 'value', type: 'uint256' },
  { name: 'nonce', type: 'uint256' }, { name: 'deadline', type: 'uint256' } ] };
const permitDomain = { name: 'USD Coin', version: '2', chainId: 1, verifyingContract: USDC };
const approvalTypes = { Approval: [
  { name: 'requestId', type: 'string' }, { name: 'key', type: 'address' }, { name: 'chainId', type: 'uint256' },
  { name: 'action', type: 'string' }, { name: 'asset', type: 'address' }, { name: 'to', type: 'address' },
  { name: 'amount', type: 'uint256' }, { name: 'payloadHash', type: 'bytes32' }, { name: 'expiresAt', type: 'uint64' } ] };
const tkmDomain = { name: 'teekm', version: '1', salt: INSTANCE };

async function request(id, value, nonce, signers) {
  const message = { owner: hot.address, spender, value: ethers.parseUnits(value, 6).toString(), nonce, deadline: NOW + 86400 };
  const payloadHash = ethers.TypedDataEncoder.hash(permitDomain, permitTypes, message);
  const notAfter = NOW + 600;
  const approvals = [];
  for (const s of signers)
    approvals.push(await s.signTypedData(tkmDomain, approvalTypes, { requestId: id, key: hot.address, chainId: 1,
      action: 'approve', asset: USDC, to: spender, amount: message.value, payloadHash, expiresAt: notAfter }));
  const typedData = { types: { EIP712Domain: [
      { name: 'name', type: 'string' }, { name: 'version', type: 'string' }, { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' } ], ...permitTypes },
    primaryType: 'Permit', domain: permitDomain, message };
  return { doc: { requestId: id, key: 'hot', typedData, approvals, notAfter }, payloadHash };
}

function evalOne(doc, now) {
  const f = path.join(dir, 'req.json');
  fs.writeFileSync(f, JSON.stringify(doc));
  let out;
  try {
    out = execFileSync('teekm', ['policy', 'eval', '--policy', path.join(dir, 'policy.json'), '--key', 'hot=' + hot.address,
      '--request', f, '--state', path.join(dir, 'state'), '--now', String(now), '--instance-id', INSTANCE], { encoding: 'utf8' });
  } catch (e) { out = e.stdout; }
  return JSON.parse(out);
}

/* RFC 8785 for our records: sorted keys, JSON.stringify escapes (records hold no floats). */
const canon = (v) => Array.isArray(v) ? '[' + v.map(canon).join(',') + ']'
  : (v && typeof v === 'object') ? '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}'
  : JSON.stringify(v);

async function main() {
  let r = await request('permit-1', '500', 0, [risk1, risk2]);
  let d = evalOne(r.doc, NOW);
  check(d.decision === 'allow' && d.rule === 'permit-spender', 'ethers-signed approvals allow a permit (' + d.reason + ' ' + (d.detail || '') + ')');
  check(d.intent && d.intent.payloadHash === r.payloadHash, 'payloadHash equals ethers TypedDataEncoder.hash');
  check(d.intent && d.intent.action === 'approve' && d.intent.to === spender && d.intent.amount === '500000000', 'permit read as approve of 500 USDC to the spender');
  d = evalOne(r.doc, NOW + 1);
  check(d.decision === 'allow' && d.idempotent === true, 'same request again is idempotent');
  r = await request('permit-2', '600', 1, [risk1, risk2]);
  d = evalOne(r.doc, NOW + 2);
  check(d.decision === 'allow', 'second permit within the window');
  r = await request('permit-3', '200', 2, [risk1, risk2]);
  d = evalOne(r.doc, NOW + 3);
  check(d.decision === 'deny' && d.reason === 'WINDOW_LIMIT_EXCEEDED', 'window limit counts both permits (' + d.reason + ')');
  r = await request('permit-4', '10', 3, [risk1]);
  d = evalOne(r.doc, NOW + 4);
  check(d.decision === 'deny' && d.reason === 'APPROVALS_MISSING', 'one approval is not enough (' + d.reason + ')');
  r = await request('permit-5', '10', 4, [risk1, outsider]);
  d = evalOne(r.doc, NOW + 5);
  check(d.decision === 'deny' && d.reason === 'APPROVAL_INVALID', 'an outsider approval is invalid (' + d.reason + ')');

  /* the audit log, verified with node's crypto and ethers only */
  const log = execFileSync('teekm', ['audit', 'export', '--state', path.join(dir, 'state')], { encoding: 'utf8' });
  const lines = log.split('\n');
  check(lines.pop() === '', 'export ends with a newline');
  let prev = ethers.ZeroHash, auditAddress = null, signed = 0, pendingUnsigned = 0, ok = true;
  lines.forEach((line, i) => {
    const rec = JSON.parse(line);
    if (canon(rec) !== line) { ok = false; console.error('record ' + (i + 1) + ' not canonical'); }
    if (rec.seq !== i + 1 || rec.prev !== prev) { ok = false; console.error('record ' + (i + 1) + ' chain'); }
    const { hash, sig, ...pre } = rec;
    const h = '0x' + crypto.createHash('sha256').update(canon(pre)).digest('hex');
    if (h !== hash) { ok = false; console.error('record ' + (i + 1) + ' hash'); }
    if (i === 0) auditAddress = rec.body.auditAddress;
    if (sig !== null) {
      signed++;
      pendingUnsigned = 0;
      if (ethers.verifyMessage(ethers.getBytes(hash), sig) !== auditAddress) { ok = false; console.error('record ' + (i + 1) + ' signature'); }
    } else pendingUnsigned++;
    prev = hash;
  });
  check(ok && pendingUnsigned === 0 && signed > 0, 'audit log verified independently (' + lines.length + ' records, ' + signed + ' signed)');
  const types = lines.map((l) => JSON.parse(l).type);
  check(types.filter((t) => t === 'sign_allowed').length === 3 && types.filter((t) => t === 'sign_rejected').length === 3,
    'audit log has 3 allowed (one idempotent) and 3 rejected decisions');
  fs.writeFileSync(path.join(dir, 'audit.jsonl'), log);
  const v = execFileSync('teekm', ['audit', 'verify', path.join(dir, 'audit.jsonl'), '--audit-address', auditAddress], { encoding: 'utf8' });
  check(/audit log OK/.test(v), 'teekm audit verify agrees');
  process.exit(failures ? 1 : 0);
}
main().catch((e) => { console.error(e); process.exit(1); });
