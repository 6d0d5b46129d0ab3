#!/usr/bin/env node
/*
 * e2e_ethers.cjs DIR — a real teekmd driven by ethers v6 (6.17.0, the independent oracle):
 *  - teekm init with a policy (transfers with limits, approvals, typed data, clients), teekmd on a free
 *    loopback port over mutual TLS 1.3 with the operator certificate and certificates from a test CA;
 *  - ethers' JsonRpcProvider / JsonRpcSigner (through a getUrl that presents the client certificate) sign
 *    transactions of types 0, 1 and 2 and EIP-712 typed data; ethers parses every raw transaction and
 *    recovers every signature;
 *  - a denied request carries the documented code and data {reason, rule, detail};
 *  - approvals: teekm_prepare → Approval typed data signed by ethers wallets → teekm_submitApproval
 *    (approver certificate) and inline → signed; teekm_status; idempotent replay;
 *  - client restrictions: a key the client may not use (730), a method its role lacks (701);
 *  - a restart keeps the keys, the window limits and the audit chain; teekm audit export + verify pass and
 *    the exported chain is re-checked here with ethers; teekm_evidence binds its claims (SHA-512 here);
 *    teekm evidence show --tls sees an RA-TLS certificate whose report data matches.
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { ethers } = require(path.join(process.env.ETHERS_DIR, 'node_modules', 'ethers'));
const T = require('./e2e_common.cjs');
const { check } = T;

const dir = process.argv[2];
const log = path.join(dir, 'teekmd.log');
const w = (n) => new ethers.Wallet(ethers.id('teekm-e2e:' + n));
const admin = w('admin'), risk1 = w('risk1'), risk2 = w('risk2');
const addr = (n) => ethers.getAddress(ethers.dataSlice(ethers.id('teekm-e2e-addr:' + n), 12));
const payee = addr('payee'), vault = addr('vault'), stranger = addr('stranger');
const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';

async function main() {
  const ca = T.makeCa(dir, 'clients-ca');
  const app = T.makeClient(dir, ca, 'app');
  const approver = T.makeClient(dir, ca, 'approver');
  const policy = {
    teekm_policy: 1, version: 1, default: 'deny', max_validity_seconds: 3600,
    admins: { threshold: 1, members: [admin.address] },
    groups: { risk: [risk1.address, risk2.address] },
    address_books: { payees: [payee], vaults: [vault] },
    assets: {
      ETH: { chain_id: 1, native: true, decimals: 18 },
      USDC: { chain_id: 1, contract: USDC, standard: 'erc20', decimals: 6 },
    },
    clients: {
      app: { roles: ['sign', 'read'], keys: ['hot'] },
      approver: { roles: ['approve'], fingerprints: [approver.fingerprint] },
    },
    rules: [
      { id: 'small-eth', effect: 'allow', keys: ['hot'], action: 'transfer', asset: 'ETH', to: ['@payees'],
        max_amount: '1', window_limit: { amount: '3', seconds: 86400 }, tx_types: [0, 1, 2] },
      { id: 'cold-eth', effect: 'allow', keys: ['cold'], action: 'transfer', asset: 'ETH', to: ['@payees'],
        max_amount: '1' },
      { id: 'large-eth', effect: 'allow', keys: ['hot'], action: 'transfer', asset: 'ETH', to: ['@vaults'],
        max_amount: '100', approvals: [{ group: 'risk', threshold: 2 }] },
      { id: 'usdc', effect: 'allow', keys: ['hot'], action: 'transfer', asset: 'USDC', to: ['@payees'],
        max_amount: '1000' },
      { id: 'orders', effect: 'allow', keys: ['hot'], action: 'typed_data', chain_ids: [1],
        typed_data: { name: 'Exchange', version: '1' } },
    ],
  };
  fs.writeFileSync(path.join(dir, 'policy.json'), JSON.stringify(policy, null, 2));
  const data = path.join(dir, 'data');
  const init = JSON.parse(T.teekm(['init', '--data-dir', data, '--tee', 'sim', '--policy',
    path.join(dir, 'policy.json'), '--key', 'hot', '--key', 'cold']));
  check(ethers.isAddress(init.keys.hot) && ethers.isAddress(init.keys.cold), 'init: one address per --key');
  check(init.policyHash === ethers.keccak256(ethers.toUtf8Bytes(canonical(policy))), 'init: policyHash = keccak256(JCS(policy)) (computed here)');
  const op = { cert: init.client.cert, key: init.client.key };
  const caFile = init.client.ca;
  /* running init twice is refused and changes nothing */
  const before = fs.readFileSync(path.join(data, 'instance.json'));
  let refused = false;
  try { T.teekm(['init', '--data-dir', data, '--tee', 'sim', '--policy', path.join(dir, 'policy.json')]); } catch (e) {
    refused = e.status !== 0 && /already holds an instance/.test(e.stderr);
  }
  check(refused && before.equals(fs.readFileSync(path.join(data, 'instance.json'))), 'init twice: refused, nothing changed');

  let d = await T.startDaemon(data, ['--client-ca', ca.crt], log);
  const url = d.url;
  const hot = init.keys.hot, cold = init.keys.cold;

  /* ethers' own JSON-RPC client, with the client certificate presented by a custom getUrl */
  function provider(who) {
    return new ethers.JsonRpcProvider(T.fetchRequest(ethers, url, who, caFile), undefined, { batchMaxCount: 10 });
  }
  const prov = provider(op);
  const net = await prov.getNetwork();
  check(net.chainId === 1n, 'eth_chainId through ethers: 1 (the policy names one chain)');
  const accounts = await prov.send('eth_accounts', []);
  check(accounts.length === 2 && accounts.includes(hot) && accounts.includes(cold), 'eth_accounts: both keys for the operator');
  const signer = await prov.getSigner(hot);

  /* transactions of types 0, 1 and 2, signed through JsonRpcSigner, parsed and recovered by ethers */
  const base = { to: payee, value: ethers.parseEther('0.5'), gasLimit: 21000n, chainId: 1n };
  const txs = [
    { ...base, type: 0, nonce: 0, gasPrice: ethers.parseUnits('20', 'gwei') },
    { ...base, type: 1, nonce: 1, gasPrice: ethers.parseUnits('20', 'gwei'),
      accessList: [{ address: USDC, storageKeys: [ethers.zeroPadValue('0x01', 32)] }] },
    { ...base, type: 2, nonce: 2, maxFeePerGas: ethers.parseUnits('30', 'gwei'), maxPriorityFeePerGas: ethers.parseUnits('1', 'gwei') },
  ];
  for (const tx of txs) {
    const raw = await signer.signTransaction(tx);
    const p = ethers.Transaction.from(raw);
    check(p.type === tx.type && p.from === hot && p.to === payee && p.value === tx.value && p.nonce === tx.nonce &&
          p.chainId === 1n, `type ${tx.type}: signed, parsed by ethers, from = hot`);
    check(ethers.recoverAddress(p.unsignedHash, p.signature) === hot, `type ${tx.type}: signature recovers to hot`);
  }
  /* an ERC-20 transfer to a listed token */
  const erc20 = new ethers.Interface(['function transfer(address to, uint256 amount)']);
  const rawUsdc = await signer.signTransaction({ to: USDC, data: erc20.encodeFunctionData('transfer', [payee, 250_000000n]),
    value: 0n, gasLimit: 90000n, chainId: 1n, type: 2, nonce: 3, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 10n ** 9n });
  check(ethers.Transaction.from(rawUsdc).from === hot, 'ERC-20 transfer (decoded as a USDC transfer): signed');

  /* typed data through JsonRpcSigner.signTypedData (eth_signTypedData_v4 with the JSON text) */
  const domain = { name: 'Exchange', version: '1', chainId: 1, verifyingContract: addr('exchange') };
  const types = { Order: [{ name: 'maker', type: 'address' }, { name: 'amount', type: 'uint256' }, { name: 'note', type: 'string' }] };
  const order = { maker: hot, amount: 12345n, note: 'e2e' };
  const sig = await signer.signTypedData(domain, types, order);
  check(ethers.verifyTypedData(domain, types, order, sig) === hot, 'eth_signTypedData_v4: ethers recovers hot');
  /* the alias, with the document as an object */
  const doc = ethers.TypedDataEncoder.getPayload(domain, types, order);
  const alias = await T.rpc(url, op, caFile, 'eth_signTypedData', [hot, doc]);
  check(alias.result && ethers.verifyTypedData(domain, types, order, alias.result) === hot, 'eth_signTypedData (alias): same semantics');
  const otherDomain = { ...domain, name: 'Unknown' };
  const badTd = await T.rpc(url, op, caFile, 'eth_signTypedData_v4', [hot, JSON.stringify(ethers.TypedDataEncoder.getPayload(otherDomain, types, order))]);
  check(badTd.error && badTd.error.code === 400 && badTd.error.data.reason === 'TYPED_DATA_NOT_ALLOWED' &&
        badTd.error.data.rule === 'orders', 'typed data of another domain: 400 TYPED_DATA_NOT_ALLOWED, rule orders');

  /* a denied request: the documented code and data */
  const rpcTx = (tx) => prov.getRpcTransaction({ ...tx, from: hot });
  const denied = await T.rpc(url, op, caFile, 'eth_signTransaction', [rpcTx({ ...txs[2], nonce: 10, to: stranger })]);
  check(denied.error && denied.error.code === 400 && denied.error.message === 'request denied by policy' &&
        denied.error.data.reason === 'DESTINATION_NOT_ALLOWED' && typeof denied.error.data.detail === 'string',
        'denied (destination not listed): code 400, data {reason DESTINATION_NOT_ALLOWED, rule, detail}');
  const over = await T.rpc(url, op, caFile, 'eth_signTransaction', [rpcTx({ ...txs[2], nonce: 11, value: ethers.parseEther('2') })]);
  check(over.error && over.error.data.reason === 'AMOUNT_OVER_MAX' && over.error.data.rule === 'small-eth', 'over max_amount: AMOUNT_OVER_MAX, rule small-eth');
  const raw = await T.rpc(url, op, caFile, 'personal_sign', ['0x68656c6c6f', hot]);
  check(raw.error && raw.error.code === 405 && raw.error.data.reason === 'UNSUPPORTED_PAYLOAD', 'personal_sign: refused (405 UNSUPPORTED_PAYLOAD: the policy has no sign_message rule)');

  /* window: 3 ETH per day by rule small-eth; 1.5 spent above (3 x 0.5) */
  const w1 = await T.rpc(url, op, caFile, 'eth_signTransaction', [rpcTx({ ...txs[2], nonce: 20, value: ethers.parseEther('1') })]);
  const w2 = await T.rpc(url, op, caFile, 'eth_signTransaction', [rpcTx({ ...txs[2], nonce: 21, value: ethers.parseEther('0.5') })]);
  const w3 = await T.rpc(url, op, caFile, 'eth_signTransaction', [rpcTx({ ...txs[2], nonce: 22, value: ethers.parseEther('0.5') })]);
  check(w1.result && w2.result && w3.error && w3.error.data.reason === 'WINDOW_LIMIT_EXCEEDED', 'window limit: 3 ETH a day, the next one refused');

  /* approvals: large-eth needs 2 of group risk */
  const largeTx = { ...txs[2], nonce: 30, to: vault, value: ethers.parseEther('50') };
  const large = rpcTx(largeTx);
  const noApp = await T.rpc(url, op, caFile, 'eth_signTransaction', [large]);
  check(noApp.error && noApp.error.data.reason === 'APPROVALS_MISSING' && noApp.error.data.rule === 'large-eth', 'large payment without approvals: APPROVALS_MISSING');
  const prep = await T.rpc(url, op, caFile, 'teekm_prepare', [large, { requestId: 'e2e-large-1' }]);
  const td = prep.result.approval.typedData;
  check(prep.result.payloadHash === ethers.Transaction.from(largeTx).unsignedHash, 'teekm_prepare: payloadHash = the signing hash ethers computes');
  const appTypes = { Approval: td.types.Approval };
  check(ethers.TypedDataEncoder.hash(td.domain, appTypes, td.message) === prep.result.approval.digest, 'teekm_prepare: the Approval digest is what ethers hashes');
  const s1 = await risk1.signTypedData(td.domain, appTypes, td.message);
  const s2 = await risk2.signTypedData(td.domain, appTypes, td.message);
  const byOp = await T.rpc(url, op, caFile, 'teekm_submitApproval', ['e2e-large-1', s1]);
  check(byOp.result && byOp.result.signer === risk1.address, 'teekm_submitApproval (operator has every role)');
  const byApp = await T.rpc(url, app, caFile, 'teekm_submitApproval', ['e2e-large-1', s2]);
  check(byApp.error && byApp.error.code === 701 && byApp.error.data.reason === 'ROLE_MISSING', 'teekm_submitApproval without role approve: 701 ROLE_MISSING');
  const outsider = w('outsider');
  const s3 = await outsider.signTypedData(td.domain, appTypes, td.message);
  const notMember = await T.rpc(url, approver, caFile, 'teekm_submitApproval', ['e2e-large-1', s3]);
  check(notMember.error && notMember.error.code === 731, 'an approval from a non-member: 731 NOT_APPROVER');
  const st = await T.rpc(url, op, caFile, 'teekm_status', ['e2e-large-1']);
  check(st.result.status === 'pending' && st.result.approvals.length === 1 && st.result.approvals[0].groups[0] === 'risk', 'teekm_status: pending with 1 approval (group risk)');
  const signedLarge = await T.rpc(url, app, caFile, 'eth_signTransaction', [large, { requestId: 'e2e-large-1', approvals: [s2] }]);
  check(signedLarge.result && ethers.Transaction.from(signedLarge.result).from === hot, 'collected + inline approval: signed');
  const st2 = await T.rpc(url, op, caFile, 'teekm_status', ['e2e-large-1']);
  check(st2.result.status === 'signed', 'teekm_status: signed');
  const again = await T.rpc(url, op, caFile, 'eth_signTransaction', [large, { requestId: 'e2e-large-1' }]);
  check(again.result === signedLarge.result, 'same requestId and payload again: the same signed transaction (idempotent)');
  const reuse = await T.rpc(url, op, caFile, 'eth_signTransaction', [rpcTx({ ...txs[2], nonce: 31, to: vault, value: ethers.parseEther('50') }), { requestId: 'e2e-large-1' }]);
  check(reuse.error && reuse.error.code === 402 && reuse.error.data.reason === 'REPLAYED_REQUEST', 'same requestId, other payload: 402 REPLAYED_REQUEST');

  /* client restrictions */
  const appCold = await T.rpc(url, app, caFile, 'eth_signTransaction', [prov.getRpcTransaction({ ...txs[2], nonce: 40, from: cold })]);
  check(appCold.error && appCold.error.code === 730, 'client app may not use key cold: 730 KEY_NOT_ALLOWED');
  const appAcc = await T.rpc(url, app, caFile, 'eth_accounts', []);
  check(appAcc.result.length === 1 && appAcc.result[0] === hot, 'eth_accounts for client app: only hot');
  const apprSign = await T.rpc(url, approver, caFile, 'eth_signTransaction', [rpcTx({ ...txs[2], nonce: 41 })]);
  check(apprSign.error && apprSign.error.code === 701, 'approver signing: 701 ROLE_MISSING');
  const opCold = await T.rpc(url, op, caFile, 'eth_signTransaction', [prov.getRpcTransaction({ ...txs[2], nonce: 0, from: cold })]);
  check(opCold.result && ethers.Transaction.from(opCold.result).from === cold, 'the operator may use cold');
  const batch = await T.request(url, op, caFile, 'POST', '/', [
    { jsonrpc: '2.0', id: 'a', method: 'eth_chainId' },
    { jsonrpc: '2.0', id: 'b', method: 'eth_signTransaction', params: [rpcTx({ ...txs[2], nonce: 50, to: stranger })] },
    { jsonrpc: '2.0', method: 'eth_chainId' },
    { jsonrpc: '2.0', id: 'c', method: 'nope' }]);
  const bj = JSON.parse(batch.body);
  check(bj.length === 3 && bj[0].result === '0x1' && bj[1].error.code === 400 && bj[2].error.code === -32601, 'a batch: each item answered on its own, the notification not at all');

  /* evidence: claims bound into report_data (SHA-512 computed here) */
  const nonce = '0x' + crypto.randomBytes(16).toString('hex');
  const ev = (await T.rpc(url, op, caFile, 'teekm_evidence', [nonce])).result;
  const rd = '0x' + crypto.createHash('sha512').update(Buffer.concat([Buffer.from('teekm/attestation/claims/v1\0'),
    Buffer.from(ev.claims)])).digest('hex');
  const claims = JSON.parse(ev.claims);
  check(ev.reportData === rd && claims.nonce === nonce && claims.instanceId === init.instanceId, 'teekm_evidence: report_data = SHA-512(domain ‖ claims), nonce and instance bound');
  check(ev.evidence.slice(2 + 2 * 96, 2 + 2 * 160) === rd.slice(2), 'teekm_evidence: the sim evidence carries that report_data (bytes 96..159)');
  check(claims.keys.length === 2 && claims.auditAddress === init.auditAddress.toLowerCase(), 'teekm_evidence: both keys and the audit address in the claims');
  const show = JSON.parse(T.teekm(['evidence', 'show', '--tls', '127.0.0.1:' + d.port]));
  check(show.reportDataMatches === true && show.claims.instanceId === init.instanceId, 'teekm evidence show --tls: the RA-TLS certificate binds its claims and TLS key');

  /* metrics */
  const m = await T.request(url, op, caFile, 'GET', '/metrics');
  check(m.status === 200 && /teekm_policy_rejections_total\{reason="WINDOW_LIMIT_EXCEEDED"\} 1/.test(m.body) &&
        /teekm_sign_requests_total\{method="eth_signTransaction",decision="allow"\}/.test(m.body) &&
        /teekm_keys_loaded 2/.test(m.body), 'metrics: decisions, rejections by reason, keys loaded');

  /* restart: keys, limits and the audit chain survive */
  const stop = await T.stopDaemon(d);
  check(stop.code === 0, 'SIGTERM: clean exit');
  d = await T.startDaemon(data, ['--client-ca', ca.crt], log);
  const url2 = d.url;
  const acc2 = await T.rpc(url2, op, caFile, 'eth_accounts', []);
  check(acc2.result.includes(hot) && acc2.result.includes(cold), 'after restart: the same keys');
  const w4 = await T.rpc(url2, op, caFile, 'eth_signTransaction', [rpcTx({ ...txs[2], nonce: 23, value: ethers.parseEther('0.1') })]);
  check(w4.error && w4.error.data.reason === 'WINDOW_LIMIT_EXCEEDED', 'after restart: the window is still spent');
  const again2 = await T.rpc(url2, op, caFile, 'eth_signTransaction', [large, { requestId: 'e2e-large-1' }]);
  check(again2.result === signedLarge.result, 'after restart: the request record is kept (idempotent answer)');
  const auditFile = path.join(dir, 'audit.jsonl');
  T.teekm(['audit', 'export', '--url', url2, '--data-dir', data, '--out', auditFile]);
  let verified = false;
  try { verified = /audit log OK/.test(T.teekm(['audit', 'verify', auditFile, '--audit-address', init.auditAddress])); } catch (e) { console.error(e.stdout, e.stderr); }
  check(verified, 'teekm audit verify passes on the exported log');
  const lines = fs.readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  let prev = ethers.ZeroHash, ok = true, opened = 0, signedBy = 0;
  for (const r of lines) {
    const h = '0x' + crypto.createHash('sha256').update(canonical({ body: r.body, prev: r.prev, seq: r.seq, time: r.time, type: r.type })).digest('hex');
    ok = ok && r.prev === prev && r.hash === h;
    if (r.sig) { ok = ok && ethers.verifyMessage(ethers.getBytes(r.hash), r.sig) === init.auditAddress; signedBy++; }
    if (r.type === 'state_opened') opened++;
    prev = r.hash;
  }
  check(ok && opened >= 3 && lines[lines.length - 1].sig, 'the exported chain re-checked with ethers: hashes, links, signatures (' + lines.length + ' records, ' + signedBy + ' signed)');
  const part = await T.request(url2, op, caFile, 'GET', '/admin/v1/audit?from=' + (lines.length - 1));
  check(part.status === 200 && part.body.trim().split('\n').length >= 2 && JSON.parse(part.body.split('\n')[0]).seq === lines.length - 1, 'audit export from a sequence number');
  check(lines.some((r) => r.type === 'access_denied' && r.body.code === 'ROLE_MISSING'), 'refused callers are audited (access_denied)');
  await T.stopDaemon(d);
}

/* RFC 8785 for the JSON here (strings, integers, objects, arrays, booleans, null). */
function canonical(v) {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (v && typeof v === 'object') return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canonical(v[k])).join(',') + '}';
  return JSON.stringify(v);
}

main().then(() => {
  if (T.failed()) { console.error(T.failed() + ' check(s) failed'); process.exit(1); }
  console.log('e2e ethers: all checks passed');
}, (e) => { console.error(e); process.exit(1); });
