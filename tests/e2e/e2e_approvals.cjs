#!/usr/bin/env node
/*
 * e2e_approvals.cjs DIR — approvals collected by a real teekmd survive a restart and a crash.
 * Approvals are EIP-712 signatures made by ethers 6.17.0 wallets (the independent oracle) over the typed
 * data teekmd hands out; ethers parses the signed transactions and recovers their signer.
 *  1. a transfer that needs 2 of 3 risk approvers is prepared, one approval is submitted; a policy change
 *     (admins: 2 of 2) is proposed and one admin approves it; SIGTERM;
 *  2. after the restart teekm_status still lists that approval and the proposal still has its admin; the
 *     second approval is submitted and eth_signTransaction without inline approvals is signed (ethers
 *     recovers the key); the second admin approves and the proposal activates; another request is prepared,
 *     approved once, and teekmd is SIGKILLed right after that answer;
 *  3. after the crash the approval is there; a third approver completes it and it is signed; the signed
 *     request is not pending any more (its record went with the decision), the activated proposal is gone;
 *     the exported audit log verifies and names each approval (signer, digest, a signature ethers recovers).
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { ethers } = require(path.join(process.env.ETHERS_DIR, 'node_modules', 'ethers'));
const T = require('./e2e_common.cjs');
const { check } = T;

const dir = process.argv[2];
const log = path.join(dir, 'teekmd.log');
const w = (n) => new ethers.Wallet(ethers.id('teekm-e2e-approvals:' + n));
const admin1 = w('admin1'), admin2 = w('admin2');
const risk = [w('risk1'), w('risk2'), w('risk3')];
const vault = ethers.getAddress(ethers.dataSlice(ethers.id('teekm-e2e-approvals:vault'), 12));

function policy(version) {
  return {
    teekm_policy: 1, version, default: 'deny', max_validity_seconds: 3600,
    admins: { threshold: 2, members: [admin1.address, admin2.address] },
    groups: { risk: risk.map((x) => x.address) },
    address_books: { vaults: [vault] },
    assets: { ETH: { chain_id: 1, native: true, decimals: 18 } },
    rules: [{ id: 'large-eth', effect: 'allow', keys: ['hot'], action: 'transfer', asset: 'ETH', to: ['@vaults'],
      max_amount: version === 1 ? '100' : '200', approvals: [{ group: 'risk', threshold: 2 }] }],
  };
}

/* A type-2 transfer of 50 ETH from `from` to the vault, in the JSON-RPC shape (hex quantities). */
function transfer(from, nonce) {
  const tx = { type: 2, chainId: 1n, nonce, to: vault, value: ethers.parseEther('50'), gasLimit: 21000n,
    maxFeePerGas: ethers.parseUnits('30', 'gwei'), maxPriorityFeePerGas: ethers.parseUnits('1', 'gwei') };
  const q = ethers.toQuantity;
  return { tx, rpc: { from, to: vault, type: '0x2', chainId: '0x1', nonce: q(nonce), value: q(tx.value), gas: q(tx.gasLimit),
    maxFeePerGas: q(tx.maxFeePerGas), maxPriorityFeePerGas: q(tx.maxPriorityFeePerGas) } };
}

async function approve(url, who, caFile, requestId, wallet, td) {
  const sig = await wallet.signTypedData(td.domain, { Approval: td.types.Approval }, td.message);
  return T.rpc(url, who, caFile, 'teekm_submitApproval', [requestId, sig]);
}

async function adminApprove(url, op, caFile, prop, wallet) {
  const td = prop.approval.typedData;
  const sig = await wallet.signTypedData(td.domain, { PolicyUpdate: td.types.PolicyUpdate }, td.message);
  return T.request(url, op, caFile, 'POST', `/admin/v1/policy/proposals/${prop.hash}/approvals`, { signature: sig });
}

function killDaemon(d) {
  return new Promise((resolve) => {
    d.proc.removeAllListeners('exit');
    d.proc.on('exit', (code, sig) => resolve({ code, sig }));
    d.proc.kill('SIGKILL');
  });
}

async function main() {
  const ca = T.makeCa(dir, 'clients-ca');
  const approver = T.makeClient(dir, ca, 'approver');
  const p1 = policy(1);
  p1.clients = { approver: { roles: ['approve'], fingerprints: [approver.fingerprint] } };
  fs.writeFileSync(path.join(dir, 'policy.json'), JSON.stringify(p1));
  const data = path.join(dir, 'data');
  const init = JSON.parse(T.teekm(['init', '--data-dir', data, '--tee', 'sim', '--policy', path.join(dir, 'policy.json'),
    '--key', 'hot']));
  const hot = init.keys.hot;
  const op = { cert: init.client.cert, key: init.client.key };
  const caFile = init.client.ca;

  /* ---- 1: one approval collected, one admin approval of a proposal; SIGTERM ---- */
  let d = await T.startDaemon(data, ['--client-ca', ca.crt], log);
  const a = transfer(hot, 7);
  const prep = await T.rpc(d.url, op, caFile, 'teekm_prepare', [a.rpc, { requestId: 'e2e-restart-1' }]);
  check(prep.result && prep.result.payloadHash === ethers.Transaction.from(a.tx).unsignedHash,
    'teekm_prepare: payloadHash = the signing hash ethers computes');
  const far = await T.rpc(d.url, op, caFile, 'teekm_prepare', [transfer(hot, 9).rpc,
    { requestId: 'e2e-far', notAfter: Math.floor(Date.now() / 1000) + 7200 }]);
  check(far.error && far.error.code === 404 && far.error.data.reason === 'EXPIRED',
    'teekm_prepare with notAfter beyond max_validity_seconds: 404 EXPIRED (nothing kept that could not be signed)');
  const td = prep.result.approval.typedData;
  check(ethers.TypedDataEncoder.hash(td.domain, { Approval: td.types.Approval }, td.message) === prep.result.approval.digest,
    'teekm_prepare: the Approval digest is what ethers hashes');
  const s1 = await approve(d.url, approver, caFile, 'e2e-restart-1', risk[0], td);
  check(s1.result && s1.result.signer === risk[0].address && s1.result.approvals === 1, 'teekm_submitApproval: risk1 collected (1 of 2)');
  const p2 = policy(2);
  p2.clients = p1.clients;
  const prop = await T.request(d.url, op, caFile, 'POST', '/admin/v1/policy/proposals', { policy: p2 });
  const pj = JSON.parse(prop.body);
  check(prop.status === 201 && pj.version === 2, 'policy proposal: 201, version 2');
  const ap1 = await adminApprove(d.url, op, caFile, pj, admin1);
  check(ap1.status === 200 && JSON.parse(ap1.body).approvals.length === 1, 'proposal: admin1 approved (1 of 2)');
  const act0 = await T.request(d.url, op, caFile, 'POST', `/admin/v1/policy/proposals/${pj.hash}/activate`, {});
  check(act0.status === 403 && /QUORUM/.test(act0.body), 'activation with one admin: 403 QUORUM');
  const stop = await T.stopDaemon(d);
  check(stop.code === 0, 'SIGTERM: clean exit');

  /* ---- 2: after the restart ---- */
  d = await T.startDaemon(data, ['--client-ca', ca.crt], log);
  const st = await T.rpc(d.url, op, caFile, 'teekm_status', ['e2e-restart-1']);
  check(st.result && st.result.status === 'pending' && st.result.approvals.length === 1 &&
    st.result.approvals[0].signer === risk[0].address && st.result.notAfter === prep.result.notAfter,
    'after SIGTERM and restart: teekm_status still pending with risk1\'s approval and the prepared notAfter');
  const show = await T.request(d.url, op, caFile, 'GET', `/admin/v1/policy/proposals/${pj.hash}`);
  const shown = JSON.parse(show.body);
  check(show.status === 200 && shown.approvals.length === 1 && shown.approvals[0] === admin1.address,
    'after restart: the proposal still has admin1\'s approval');
  const s2 = await approve(d.url, approver, caFile, 'e2e-restart-1', risk[1], td);
  check(s2.result && s2.result.approvals === 2, 'teekm_submitApproval: risk2 collected (2 of 2)');
  const signed = await T.rpc(d.url, op, caFile, 'eth_signTransaction', [a.rpc, { requestId: 'e2e-restart-1' }]);
  const ptx = signed.result ? ethers.Transaction.from(signed.result) : null;
  check(ptx && ptx.from === hot && ethers.recoverAddress(ptx.unsignedHash, ptx.signature) === hot && ptx.to === vault &&
    ptx.value === a.tx.value, 'eth_signTransaction without inline approvals: signed, ethers recovers hot');
  const ap2 = await adminApprove(d.url, op, caFile, pj, admin2);
  check(ap2.status === 200 && JSON.parse(ap2.body).approvals.length === 2, 'proposal: admin2 approved (2 of 2)');
  const act = await T.request(d.url, op, caFile, 'POST', `/admin/v1/policy/proposals/${pj.hash}/activate`, {});
  check(act.status === 200 && JSON.parse(act.body).version === 2 && JSON.parse(act.body).hash === pj.hash,
    'the proposal approved across the restart activates: version 2');
  /* a request approved once, then a crash right after the answer */
  const b = transfer(hot, 8);
  const prep2 = await T.rpc(d.url, op, caFile, 'teekm_prepare', [b.rpc, { requestId: 'e2e-kill-1' }]);
  const td2 = prep2.result.approval.typedData;
  const k1 = await approve(d.url, approver, caFile, 'e2e-kill-1', risk[0], td2);
  const killed = await killDaemon(d);
  check(k1.result && k1.result.approvals === 1 && killed.sig === 'SIGKILL', 'teekm_submitApproval answered, then SIGKILL');

  /* ---- 3: after the crash ---- */
  d = await T.startDaemon(data, ['--client-ca', ca.crt], log);
  const st2 = await T.rpc(d.url, op, caFile, 'teekm_status', ['e2e-kill-1']);
  check(st2.result && st2.result.status === 'pending' && st2.result.approvals.length === 1 &&
    st2.result.approvals[0].signer === risk[0].address, 'after SIGKILL and restart: the approval answered before the crash is there');
  const k3 = await approve(d.url, approver, caFile, 'e2e-kill-1', risk[2], td2);
  check(k3.result && k3.result.approvals === 2, 'teekm_submitApproval: risk3 collected (2 of 2)');
  const signed2 = await T.rpc(d.url, op, caFile, 'eth_signTransaction', [b.rpc, { requestId: 'e2e-kill-1' }]);
  const ptx2 = signed2.result ? ethers.Transaction.from(signed2.result) : null;
  check(ptx2 && ethers.recoverAddress(ptx2.unsignedHash, ptx2.signature) === hot && ptx2.nonce === 8,
    'eth_signTransaction without inline approvals after the crash: signed, ethers recovers hot');
  const st3 = await T.rpc(d.url, op, caFile, 'teekm_status', ['e2e-restart-1']);
  check(st3.result && st3.result.status === 'signed', 'a signed request is no longer pending after a restart (its record went with the decision)');
  const gone = await T.request(d.url, op, caFile, 'GET', `/admin/v1/policy/proposals/${pj.hash}`);
  check(gone.status === 404, 'the activated proposal is gone after a restart');
  const late = await approve(d.url, approver, caFile, 'e2e-restart-1', risk[2], td);
  check(late.error && late.error.data && late.error.data.reason === 'NOT_FOUND', 'an approval for a signed request: NOT_FOUND');

  /* the audit log: who approved what and when */
  const auditFile = path.join(dir, 'audit.jsonl');
  T.teekm(['audit', 'export', '--url', d.url, '--data-dir', data, '--out', auditFile]);
  let verified = false;
  try { verified = /audit log OK/.test(T.teekm(['audit', 'verify', auditFile, '--audit-address', init.auditAddress])); } catch (e) { console.error(e.stdout, e.stderr); }
  check(verified, 'teekm audit verify passes on the exported log');
  const recs = fs.readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const got = recs.filter((r) => r.type === 'approval_received');
  const reqApprovals = got.filter((r) => r.body.subject === 'request');
  const polApprovals = got.filter((r) => r.body.subject === 'policy');
  const ok = reqApprovals.length === 4 && reqApprovals.every((r) =>
    ethers.recoverAddress(r.body.digest, r.body.signature) === r.body.signer &&
    risk.some((x) => x.address === r.body.signer) && r.body.groups[0] === 'risk' && typeof r.time === 'number');
  check(ok, 'audit: 4 approval_received records for requests, each signature recovers (ethers) to its signer');
  const first = reqApprovals[0].body;
  check(first.requestId === 'e2e-restart-1' && first.payloadHash === prep.result.payloadHash && first.digest === prep.result.approval.digest,
    'audit: the first names the request, its payload hash and the Approval digest it signed');
  check(polApprovals.length === 2 && polApprovals.map((r) => r.body.signer).join() === [admin1.address, admin2.address].join() &&
    polApprovals.every((r) => r.body.hash === pj.hash && ethers.recoverAddress(r.body.digest, r.body.signature) === r.body.signer),
    'audit: both admin approvals of the proposal, recoverable');
  check(recs.filter((r) => r.type === 'request_prepared').length === 2 && recs.filter((r) => r.type === 'policy_proposed').length === 1,
    'audit: request_prepared for both requests, policy_proposed once');
  await T.stopDaemon(d);
}

main().then(() => {
  if (T.failed()) { console.error(T.failed() + ' check(s) failed'); process.exit(1); }
  console.log('e2e approvals: all checks passed');
}, (e) => { console.error(e); process.exit(1); });
