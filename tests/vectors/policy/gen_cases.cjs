#!/usr/bin/env node
/*
 * gen_cases.cjs — writes cases.json, the table-driven policy suite.
 *
 * The cases below (intents, approvals, expected decisions) are written by hand
 * from docs/policy.md; this script only expands the symbolic names into
 * addresses and produces every approval signature with ethers 6.17.0
 * (Wallet.signTypedData, EIP-712), an implementation independent of teekm.
 *
 *   tests/interop/ensure_deps.sh ethers
 *   node tests/vectors/policy/gen_cases.cjs > tests/vectors/policy/cases.json
 */
'use strict';
const path = require('path');
const { ethers } = require(path.join(__dirname, '../../interop/ethers/node_modules/ethers'));

const wallet = (name) => new ethers.Wallet(ethers.id('teekm-test:' + name));
const addr = (name) => ethers.getAddress(ethers.dataSlice(ethers.id('teekm-addr:' + name), 12));
const W = {};
for (const n of ['admin1', 'admin2', 'admin3', 'risk1', 'risk2', 'risk3', 'ops1', 'ops2', 'outsider'])
  W[n] = wallet(n);
const A = {
  hot: wallet('key-hot').address, treasury: wallet('key-treasury').address, test: wallet('key-test').address,
  cold: wallet('key-cold').address, ex1: addr('exchange-1'), ex2: addr('exchange-2'), vault: addr('cold-vault'),
  bad: addr('sanctioned-1'), inv1: addr('investor-1'), inv2: addr('investor-2'), dex: addr('dex-router'),
  inbox: addr('rollup-inbox'), seaport: addr('seaport'), rando: addr('random'),
  usdc: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48', bond: addr('bond-token'),
};
const INSTANCE = ethers.id('teekm-test-instance');
const OTHER_INSTANCE = ethers.id('teekm-other-instance');
const NOW = 1750000000;
const SIWE_PREFIX = 'app.example.com wants you to sign in with your Ethereum account:\n';
const FREEZE_FROM = NOW + 100000, FREEZE_UNTIL = NOW + 110000;

const policy = {
  teekm_policy: 1, version: 3, default: 'deny', max_validity_seconds: 3600,
  admins: { threshold: 2, members: [W.admin1.address, W.admin2.address, W.admin3.address] },
  groups: { risk: [W.risk1.address, W.risk2.address, W.risk3.address], ops: [W.ops1.address, W.ops2.address] },
  address_books: { exchanges: [A.ex1, A.ex2], cold: [A.vault], sanctioned: [A.bad], investors: [A.inv1, A.inv2] },
  assets: {
    ETH: { chain_id: 1, native: true, decimals: 18 },
    USDC: { chain_id: 1, contract: A.usdc, standard: 'erc20', decimals: 6 },
    BOND: { chain_id: 1, contract: A.bond, standard: 'erc3643', decimals: 0 },
    SepETH: { chain_id: 11155111, native: true, decimals: 18 },
  },
  rules: [
    { id: 'deny-sanctioned', effect: 'deny', keys: ['*'], to: ['@sanctioned'] },
    { id: 'freeze-hot', effect: 'deny', keys: ['hot'], action: 'transfer', valid_from: FREEZE_FROM, valid_until: FREEZE_UNTIL },
    { id: 'hot-eth-small', effect: 'allow', keys: ['hot'], action: 'transfer', asset: 'ETH', to: ['@exchanges', '@cold'],
      max_amount: '10', window_limit: { amount: '25', seconds: 86400 } },
    { id: 'hot-eth-big', effect: 'allow', keys: ['hot'], action: 'transfer', asset: 'ETH', to: ['@cold'],
      max_amount: '1000', approvals: [{ group: 'risk', threshold: 2 }] },
    { id: 'usdc-payouts', effect: 'allow', keys: ['hot', A.treasury], action: 'transfer', asset: 'USDC', to: ['@exchanges'],
      max_amount: '50000.5', window_limit: { amount: '100000', seconds: 3600 } },
    { id: 'usdc-approve-dex', effect: 'allow', keys: ['hot'], action: 'approve', asset: 'USDC', to: [A.dex], max_amount: '1000000' },
    { id: 'bond-transfer', effect: 'allow', keys: ['treasury'], action: 'transfer', asset: 'BOND', to: ['@investors'],
      max_amount: '500', approvals: [{ group: 'risk', threshold: 1 }, { group: 'ops', threshold: 1 }] },
    { id: 'dex-swap', effect: 'allow', keys: ['hot'], action: 'contract_call', to: [A.dex],
      selectors: ['0x38ed1739', '0x7ff36ab5'], max_value: '0.5' },
    { id: 'seaport-orders', effect: 'allow', keys: ['hot'], action: 'typed_data', chain_ids: [1],
      typed_data: { name: 'Seaport', version: '1.5', primary_type: 'OrderComponents', verifying_contract: A.seaport } },
    { id: 'testnet-any', effect: 'allow', keys: ['test'], action: 'transfer', asset: 'SepETH', max_amount: '100' },
    { id: 'deploy-sepolia', effect: 'allow', keys: ['treasury'], action: 'deploy', chain_ids: [11155111] },
    { id: 'blobs', effect: 'allow', keys: ['hot'], action: 'contract_call', to: [A.inbox], tx_types: [3], chain_ids: [1] },
    { id: 'cold-window', effect: 'allow', keys: ['treasury'], action: 'transfer', asset: 'ETH', to: ['@cold'],
      valid_from: '2025-06-16T00:00:00Z', valid_until: '2025-06-17T00:00:00Z', max_amount: '5000' },
    // EIP-191 personal messages (docs/policy.md "Messages")
    { id: 'no-blanket-approvals', effect: 'deny', keys: ['*'], action: 'sign_message', message: { prefixes: ['I approve all', '\u0019\u0001'] } },
    { id: 'siwe-login', effect: 'allow', keys: ['hot'], action: 'sign_message',
      message: { encoding: 'utf8', max_length: 1024, prefixes: [SIWE_PREFIX] } },
    { id: 'ops-notes', effect: 'allow', keys: ['hot'], action: 'sign_message',
      message: { max_length: 200, prefixes: ['teekm ops note: '] }, approvals: [{ group: 'ops', threshold: 1 }] },
    { id: 'attest-bytes', effect: 'allow', keys: ['treasury'], action: 'sign_message', message: { encoding: 'bytes', max_length: 64 } },
    { id: 'text-any', effect: 'allow', keys: ['test'], action: 'sign_message' },
  ],
};

const ETH = (s) => ethers.parseUnits(s, 18).toString();
const USDC = (s) => ethers.parseUnits(s, 6).toString();

let counter = 0;
function intent(o) {
  counter++;
  const it = {
    requestId: 'req-' + counter, key: 'hot', keyAddress: A.hot, payload: 'tx', txType: 2, chainId: 1,
    action: 'transfer', asset: 'native', to: A.ex1, amount: ETH('1'), value: ETH('1'), nonce: counter,
    notAfter: NOW + 600,
  };
  Object.assign(it, o);
  for (const k of Object.keys(it)) if (it[k] === undefined) delete it[k];
  if (!it.payloadHash) it.payloadHash = ethers.id('payload:' + it.requestId + ':' + (o.variant || ''));
  delete it.variant;
  return it;
}
const usdcTx = (o) => intent({ action: 'transfer', asset: A.usdc, value: '0', selector: '0xa9059cbb',
  calldataHash: ethers.id('cd' + counter), ...o });

const types = { Approval: [
  { name: 'requestId', type: 'string' }, { name: 'key', type: 'address' }, { name: 'chainId', type: 'uint256' },
  { name: 'action', type: 'string' }, { name: 'asset', type: 'address' }, { name: 'to', type: 'address' },
  { name: 'amount', type: 'uint256' }, { name: 'payloadHash', type: 'bytes32' }, { name: 'expiresAt', type: 'uint64' } ] };

function approvalValue(it, expiresAt) {
  return {
    requestId: it.requestId, key: it.keyAddress, chainId: it.chainId || 0, action: it.action,
    asset: it.asset && it.asset !== 'native' ? it.asset : ethers.ZeroAddress, to: it.to || ethers.ZeroAddress,
    amount: it.amount || '0', payloadHash: it.payloadHash, expiresAt,
  };
}

/* spec: {by, expiresAt?, tamper?: {field: value}, claim?: name|true, instance?, v01?, highS?} */
async function approval(it, spec) {
  const expiresAt = spec.expiresAt !== undefined ? spec.expiresAt : it.notAfter;
  const value = { ...approvalValue(it, expiresAt), ...(spec.tamper || {}) };
  const domain = { name: 'teekm', version: '1', salt: spec.instance || INSTANCE };
  let sig = await W[spec.by].signTypedData(domain, types, value);
  if (spec.v01 || spec.highS) {
    const s = ethers.Signature.from(sig);
    let bytes = ethers.getBytes(sig);
    if (spec.highS) {
      const n = BigInt('0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141');
      const hs = n - BigInt(s.s);
      bytes.set(ethers.getBytes(ethers.toBeHex(hs, 32)), 32);
      bytes[64] = s.v === 27 ? 28 : 27;
    }
    if (spec.v01) bytes[64] = bytes[64] - 27;
    sig = ethers.hexlify(bytes);
  }
  const claim = spec.claim === true ? spec.by : spec.claim;
  if (spec.expiresAt === undefined && !claim) return sig;
  const o = { signature: sig, expiresAt };
  if (claim) o.signer = W[claim].address;
  return o;
}

/* A case: a name and steps run in order against one fresh state. */
const cases = [];
function add(name, steps) { cases.push({ name, steps }); }
const one = (name, it, expect, extra = {}) => add(name, [{ now: NOW, intent: it, expect, ...extra }]);
const allow = (rule) => ({ decision: 'allow', reason: 'OK', rule });
const deny = (reason, rule) => ({ decision: 'deny', reason, rule: rule || null });

// ---- request level
one('unknown key', intent({ key: 'ghost', keyAddress: addr('ghost') }), deny('UNKNOWN_KEY'), { keyStatus: 'unknown' });
one('retired key', intent({}), deny('UNKNOWN_KEY'), { keyStatus: 'retired' });
one('expired request', intent({ notAfter: NOW - 1 }), deny('OUTSIDE_VALIDITY'));
one('notAfter equal to now is still valid', intent({ notAfter: NOW }), allow('hot-eth-small'));
one('notAfter at max_validity_seconds', intent({ notAfter: NOW + 3600 }), allow('hot-eth-small'));
one('notAfter beyond max_validity_seconds', intent({ notAfter: NOW + 3601 }), deny('OUTSIDE_VALIDITY'));
one('type 4 named by no rule', intent({ txType: 4 }), deny('UNSUPPORTED_PAYLOAD'));
one('type 3 where a rule names it', intent({ txType: 3, action: 'contract_call', asset: undefined, to: A.inbox,
  amount: '0', value: '0', selector: '0x12345678' }), allow('blobs'));
one('type 3 transfer: only the blob rule names type 3', intent({ txType: 3 }), deny('NO_MATCHING_RULE'));
one('type 1 and 0 are allowed by default', intent({ txType: 1 }), allow('hot-eth-small'));
one('type 0', intent({ txType: 0 }), allow('hot-eth-small'));
{
  const a = intent({ requestId: 'idem-1' });
  add('idempotency and replay', [
    { now: NOW, intent: a, expect: allow('hot-eth-small') },
    { now: NOW + 1, intent: a, expect: { ...allow('hot-eth-small'), idempotent: true } },
    { now: NOW + 2, intent: { ...a, payloadHash: ethers.id('other payload') }, expect: deny('REPLAYED_REQUEST') },
    { now: NOW + 3, intent: { ...a, keyAddress: A.cold, key: 'cold' }, expect: deny('REPLAYED_REQUEST') },
    { now: NOW + 700, intent: a, expect: { ...allow('hot-eth-small'), idempotent: true }, note: 'replay after expiry returns the recorded result' },
  ]);
}
{
  const a = intent({ requestId: 'n-1', nonce: 7 });
  add('nonce records', [
    { now: NOW, intent: a, expect: allow('hot-eth-small') },
    { now: NOW, intent: intent({ requestId: 'n-2', nonce: 7 }), expect: deny('NONCE_CONFLICT') },
    { now: NOW, intent: { ...a, requestId: 'n-3' }, expect: allow('hot-eth-small'), note: 'same payload, new id' },
    { now: NOW, intent: intent({ requestId: 'n-4', nonce: 7, txType: 2, asset: 'native', chainId: 11155111, key: 'test', keyAddress: A.test }), expect: allow('testnet-any') },
    { now: NOW, intent: intent({ requestId: 'n-5', nonce: 8 }), expect: allow('hot-eth-small') },
    { now: NOW, intent: intent({ requestId: 'n-6', nonce: 6 }), expect: allow('hot-eth-small'), note: 'a lower unused nonce is fine' },
  ]);
}
one('rejected request is not recorded: same id may come back', intent({ requestId: 'again', to: A.rando }), deny('DESTINATION_NOT_ALLOWED', 'hot-eth-small'));
add('a rejected request id can be retried with another payload', [
  { now: NOW, intent: intent({ requestId: 'retry', to: A.rando }), expect: deny('DESTINATION_NOT_ALLOWED', 'hot-eth-small') },
  { now: NOW, intent: intent({ requestId: 'retry', variant: 'b' }), expect: allow('hot-eth-small') },
]);

// ---- deny rules
one('sanctioned destination', intent({ to: A.bad }), deny('DENIED_BY_RULE', 'deny-sanctioned'));
one('sanctioned: any key, any asset', intent({ key: 'test', keyAddress: A.test, chainId: 11155111, to: A.bad }), deny('DENIED_BY_RULE', 'deny-sanctioned'));
one('sanctioned: approve too', usdcTx({ action: 'approve', to: A.bad, amount: USDC('1'), selector: '0x095ea7b3' }), deny('DENIED_BY_RULE', 'deny-sanctioned'));
one('freeze window: deny in effect', intent({ notAfter: FREEZE_FROM + 10 }), deny('DENIED_BY_RULE', 'freeze-hot'), { now: FREEZE_FROM });
one('freeze window: ends at valid_until', intent({ notAfter: FREEZE_UNTIL + 10 }), allow('hot-eth-small'), { now: FREEZE_UNTIL });
one('freeze window: only transfers', usdcTx({ action: 'approve', to: A.dex, amount: USDC('5'), notAfter: FREEZE_FROM + 10, selector: '0x095ea7b3' }), allow('usdc-approve-dex'), { now: FREEZE_FROM });

// ---- ETH from the hot key
one('small ETH to an exchange', intent({ amount: ETH('5'), value: ETH('5') }), allow('hot-eth-small'));
one('ETH to the cold vault', intent({ to: A.vault }), allow('hot-eth-small'));
one('max_amount is inclusive', intent({ amount: ETH('10'), value: ETH('10') }), allow('hot-eth-small'));
one('one wei over max_amount', intent({ amount: ETH('10.000000000000000001'), value: ETH('10.000000000000000001') }), deny('AMOUNT_OVER_MAX', 'hot-eth-small'));
one('destination not listed: tie goes to the first rule', intent({ to: A.rando }), deny('DESTINATION_NOT_ALLOWED', 'hot-eth-small'));
one('over max to cold without approvals: approvals come later than amount', intent({ to: A.vault, amount: ETH('50'), value: ETH('50') }), deny('APPROVALS_MISSING', 'hot-eth-big'));
one('over max to an exchange: only the small rule gets past destination', intent({ amount: ETH('50'), value: ETH('50') }), deny('AMOUNT_OVER_MAX', 'hot-eth-small'));
one('ETH on an unlisted chain', intent({ chainId: 5 }), deny('NO_MATCHING_RULE'));
one('a key no rule names', intent({ key: 'cold', keyAddress: A.cold }), deny('NO_MATCHING_RULE'));
one('key matched by address', usdcTx({ key: 'tre', keyAddress: A.treasury, amount: USDC('10') }), allow('usdc-payouts'));
one('key label is not an address', usdcTx({ key: 'treasury', keyAddress: A.cold, amount: USDC('10') }), deny('NO_MATCHING_RULE'));
one('over the big rule max too', intent({ to: A.vault, amount: ETH('1000.5'), value: ETH('1000.5') }), deny('AMOUNT_OVER_MAX', 'hot-eth-small'));

// ---- approvals (rule hot-eth-big: 2 of risk)
const big = (o = {}) => intent({ to: A.vault, amount: ETH('50'), value: ETH('50'), ...o });
const withApprovals = (name, specs, expect, o = {}) => add('approvals: ' + name, [{ now: NOW, intent: big(o), approvals: specs, expect }]);
withApprovals('two risk members', [{ by: 'risk1' }, { by: 'risk2' }], allow('hot-eth-big'));
withApprovals('three risk members', [{ by: 'risk1' }, { by: 'risk2' }, { by: 'risk3' }], allow('hot-eth-big'));
withApprovals('one is not enough', [{ by: 'risk1' }], deny('APPROVALS_MISSING', 'hot-eth-big'));
withApprovals('the same signer twice counts once', [{ by: 'risk1' }, { by: 'risk1', expiresAt: NOW + 900 }], deny('APPROVALS_MISSING', 'hot-eth-big'));
withApprovals('non-member', [{ by: 'risk1' }, { by: 'outsider' }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('member of another group', [{ by: 'risk1' }, { by: 'ops1' }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('admins are not approvers', [{ by: 'risk1' }, { by: 'admin1' }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('expired approval', [{ by: 'risk1' }, { by: 'risk2', expiresAt: NOW - 1 }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('expiring exactly now still counts', [{ by: 'risk1' }, { by: 'risk2', expiresAt: NOW }], allow('hot-eth-big'));
withApprovals('expiry later than notAfter', [{ by: 'risk1', expiresAt: NOW + 86400 }, { by: 'risk2' }], allow('hot-eth-big'));
withApprovals('wrong amount signed', [{ by: 'risk1' }, { by: 'risk2', tamper: { amount: ETH('5') } }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('wrong amount signed, claimed signer', [{ by: 'risk1' }, { by: 'risk2', claim: true, tamper: { amount: ETH('5') } }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('wrong payload hash', [{ by: 'risk1' }, { by: 'risk2', tamper: { payloadHash: ethers.id('x') } }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('wrong destination', [{ by: 'risk1' }, { by: 'risk2', tamper: { to: A.ex1 } }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('wrong request id', [{ by: 'risk1' }, { by: 'risk2', tamper: { requestId: 'other' } }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('wrong chain id', [{ by: 'risk1' }, { by: 'risk2', tamper: { chainId: 5 } }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('wrong action', [{ by: 'risk1' }, { by: 'risk2', tamper: { action: 'approve' } }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('wrong key', [{ by: 'risk1' }, { by: 'risk2', tamper: { key: A.cold } }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('wrong expiry (signed one value, presented another)', [{ by: 'risk1' }, { by: 'risk2', tamper: { expiresAt: NOW + 5 } }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('another instance', [{ by: 'risk1' }, { by: 'risk2', instance: OTHER_INSTANCE }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('claimed signer is someone else', [{ by: 'risk1' }, { by: 'risk2', claim: 'risk3' }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('claimed signer matches', [{ by: 'risk1', claim: true }, { by: 'risk2', claim: true }], allow('hot-eth-big'));
withApprovals('v as 0/1', [{ by: 'risk1', v01: true }, { by: 'risk2', v01: true }], allow('hot-eth-big'));
withApprovals('high-s twin is refused', [{ by: 'risk1' }, { by: 'risk2', highS: true }], deny('APPROVAL_INVALID', 'hot-eth-big'));
withApprovals('extra invalid approvals do not block a met threshold', [{ by: 'risk1' }, { by: 'outsider' }, { by: 'risk2' }, { by: 'risk3', expiresAt: NOW - 5 }], allow('hot-eth-big'));
withApprovals('approvals do not rescue an earlier failing condition', [{ by: 'risk1' }, { by: 'risk2' }], deny('AMOUNT_OVER_MAX', 'hot-eth-small'), { to: A.vault, amount: ETH('1001'), value: ETH('1001') });
withApprovals('no approvals at all', [], deny('APPROVALS_MISSING', 'hot-eth-big'));

// ---- the ETH window (25 ETH / 86400 s, charged per allowed request)
{
  const T = NOW;
  const s = (dt, amt, expect, note) => ({ now: T + dt, intent: intent({ amount: ETH(amt), value: ETH(amt), notAfter: T + dt + 60 }), expect, note });
  add('window limit across its edge', [
    s(0, '10', allow('hot-eth-small')),
    s(100, '10', allow('hot-eth-small')),
    s(200, '5', allow('hot-eth-small'), 'exactly at the limit'),
    s(300, '0.000000000000000001', deny('WINDOW_LIMIT_EXCEEDED', 'hot-eth-small')),
    s(86399, '0.000000000000000001', deny('WINDOW_LIMIT_EXCEEDED', 'hot-eth-small'), 'one second before the first spend leaves'),
    s(86400, '10', allow('hot-eth-small'), 'the spend at T left the window at T+86400'),
    s(86401, '0.1', deny('WINDOW_LIMIT_EXCEEDED', 'hot-eth-small')),
    s(86500, '10', allow('hot-eth-small'), 'the spend at T+100 left'),
  ]);
  add('rejected requests are not charged', [
    s(0, '20', deny('AMOUNT_OVER_MAX', 'hot-eth-small')),
    s(1, '10', allow('hot-eth-small')),
    s(2, '10', allow('hot-eth-small')),
    s(3, '5', allow('hot-eth-small')),
    s(4, '1', deny('WINDOW_LIMIT_EXCEEDED', 'hot-eth-small')),
  ]);
  add('idempotent replay is not charged twice', [
    { now: T, intent: intent({ requestId: 'w-1', amount: ETH('10'), value: ETH('10') }), expect: allow('hot-eth-small') },
    { now: T, intent: intent({ requestId: 'w-1', amount: ETH('10'), value: ETH('10') }), expect: { ...allow('hot-eth-small'), idempotent: true } },
    { now: T, intent: intent({ requestId: 'w-1', amount: ETH('10'), value: ETH('10') }), expect: { ...allow('hot-eth-small'), idempotent: true } },
    s(5, '10', allow('hot-eth-small')),
    s(6, '5', allow('hot-eth-small')),
    s(7, '1', deny('WINDOW_LIMIT_EXCEEDED', 'hot-eth-small')),
  ]);
  add('the big rule has no window: approvals let it go on', [
    s(0, '10', allow('hot-eth-small')), s(1, '10', allow('hot-eth-small')), s(2, '5', allow('hot-eth-small')),
    { now: T + 3, intent: intent({ to: A.vault, amount: ETH('1'), value: ETH('1') }), expect: deny('APPROVALS_MISSING', 'hot-eth-big'), note: 'small rule fails at window (8) < approvals (9)' },
  ]);
}

// ---- USDC (erc20): max 50000.5 per transfer, 100000 per hour
{
  const T = NOW;
  const u = (dt, amt, expect, o = {}) => ({ now: T + dt, intent: usdcTx({ amount: USDC(amt), notAfter: T + dt + 60, ...o }), expect });
  add('USDC payouts and their hourly window', [
    u(0, '50000.5', allow('usdc-payouts')),
    u(10, '50000.5', deny('WINDOW_LIMIT_EXCEEDED', 'usdc-payouts')),
    u(20, '49999.5', allow('usdc-payouts'), {}),
    u(30, '0.000001', deny('WINDOW_LIMIT_EXCEEDED', 'usdc-payouts')),
    u(3600, '50000.5', allow('usdc-payouts')),
    u(3619, '0.000001', deny('WINDOW_LIMIT_EXCEEDED', 'usdc-payouts')),
    u(3620, '49999.5', allow('usdc-payouts')),
  ]);
  add('USDC window is shared by the rule\'s keys', [
    u(0, '50000', allow('usdc-payouts')),
    u(1, '50000', allow('usdc-payouts'), { key: 'treasury', keyAddress: A.treasury }),
    u(2, '1', deny('WINDOW_LIMIT_EXCEEDED', 'usdc-payouts'), { key: 'treasury', keyAddress: A.treasury }),
  ]);
}
one('USDC over max_amount', usdcTx({ amount: USDC('50000.500001') }), deny('AMOUNT_OVER_MAX', 'usdc-payouts'));
one('USDC to a non-exchange', usdcTx({ amount: USDC('1'), to: A.vault }), deny('DESTINATION_NOT_ALLOWED', 'usdc-payouts'));
one('USDC on another chain is not the listed asset', usdcTx({ amount: USDC('1'), chainId: 10 }), deny('NO_MATCHING_RULE'));
one('USDC approve to the DEX router', usdcTx({ action: 'approve', to: A.dex, amount: USDC('1000000'), selector: '0x095ea7b3' }), allow('usdc-approve-dex'));
one('USDC approve over max', usdcTx({ action: 'approve', to: A.dex, amount: USDC('1000000.000001'), selector: '0x095ea7b3' }), deny('AMOUNT_OVER_MAX', 'usdc-approve-dex'));
one('USDC approve to someone else', usdcTx({ action: 'approve', to: A.ex1, amount: USDC('1'), selector: '0x095ea7b3' }), deny('DESTINATION_NOT_ALLOWED', 'usdc-approve-dex'));
one('USDC unlimited approve', usdcTx({ action: 'approve', to: A.dex, amount: (2n ** 256n - 1n).toString(), selector: '0x095ea7b3' }), deny('AMOUNT_OVER_MAX', 'usdc-approve-dex'));
const permit = (o = {}) => intent({ payload: 'typed_data', txType: undefined, nonce: undefined, value: undefined,
  action: 'approve', asset: A.usdc, to: A.dex, amount: USDC('500'),
  typedData: { name: 'USD Coin', version: '2', verifyingContract: A.usdc, primaryType: 'Permit' }, ...o });
one('EIP-2612 permit becomes an approve', permit(), allow('usdc-approve-dex'));
one('permit over max', permit({ amount: USDC('1000001') }), deny('AMOUNT_OVER_MAX', 'usdc-approve-dex'));
one('permit to another spender', permit({ to: A.rando }), deny('DESTINATION_NOT_ALLOWED', 'usdc-approve-dex'));
one('permit by a key without approve rights', permit({ key: 'test', keyAddress: A.test }), deny('NO_MATCHING_RULE'));
one('permit of an unlisted token', permit({ asset: A.rando, typedData: { name: 'X', version: '1', verifyingContract: A.rando, primaryType: 'Permit' } }), deny('NO_MATCHING_RULE'));

// ---- BOND (erc3643): risk 1 + ops 1
const bond = (o = {}) => intent({ key: 'treasury', keyAddress: A.treasury, action: 'transfer', asset: A.bond, to: A.inv1,
  amount: '100', value: '0', selector: '0xa9059cbb', ...o });
const bondCase = (name, o, specs, expect) => add('ERC-3643: ' + name, [{ now: NOW, intent: bond(o), approvals: specs, expect }]);
bondCase('with both groups', {}, [{ by: 'risk1' }, { by: 'ops2' }], allow('bond-transfer'));
bondCase('risk only', {}, [{ by: 'risk1' }, { by: 'risk2' }], deny('APPROVALS_MISSING', 'bond-transfer'));
bondCase('ops only', {}, [{ by: 'ops1' }], deny('APPROVALS_MISSING', 'bond-transfer'));
bondCase('over max', { amount: '501' }, [{ by: 'risk1' }, { by: 'ops2' }], deny('AMOUNT_OVER_MAX', 'bond-transfer'));
bondCase('at max', { amount: '500' }, [{ by: 'risk1' }, { by: 'ops2' }], allow('bond-transfer'));
bondCase('to a non-investor', { to: A.ex1 }, [{ by: 'risk1' }, { by: 'ops2' }], deny('DESTINATION_NOT_ALLOWED', 'bond-transfer'));
bondCase('by the hot key', { key: 'hot', keyAddress: A.hot }, [], deny('NO_MATCHING_RULE'));
bondCase('approve is another action', { action: 'approve', selector: '0x095ea7b3' }, [{ by: 'risk1' }, { by: 'ops2' }], deny('NO_MATCHING_RULE'));
bondCase('approvals for another investor', {}, [{ by: 'risk1', tamper: { to: A.inv2 } }, { by: 'ops2' }], deny('APPROVAL_INVALID', 'bond-transfer'));

// ---- contract calls
const call = (o = {}) => intent({ action: 'contract_call', asset: undefined, to: A.dex, amount: '0', value: '0',
  selector: '0x38ed1739', calldataHash: ethers.id('swap' + counter), ...o });
one('swap on the DEX', call(), allow('dex-swap'));
one('second allowed selector with value', call({ selector: '0x7ff36ab5', value: ETH('0.5'), amount: ETH('0.5') }), allow('dex-swap'));
one('value over max_value', call({ value: ETH('0.500000000000000001'), amount: ETH('0.500000000000000001') }), deny('VALUE_OVER_MAX', 'dex-swap'));
one('selector not allowed', call({ selector: '0xdeadbeef' }), deny('SELECTOR_NOT_ALLOWED', 'dex-swap'));
one('calldata without a selector', call({ selector: undefined }), deny('SELECTOR_NOT_ALLOWED', 'dex-swap'));
one('another contract', call({ to: A.rando }), deny('DESTINATION_NOT_ALLOWED', 'dex-swap'));
one('unknown call to a token contract', call({ to: A.usdc, asset: A.usdc, selector: '0x40c10f19' }), deny('DESTINATION_NOT_ALLOWED', 'dex-swap'));
one('contract call by a key without call rights', call({ key: 'test', keyAddress: A.test }), deny('NO_MATCHING_RULE'));
one('blob rule: wrong chain', intent({ txType: 3, action: 'contract_call', asset: undefined, to: A.inbox, amount: '0', value: '0', chainId: 10 }), deny('CHAIN_NOT_ALLOWED', 'blobs'));
one('blob rule: value without max_value', intent({ txType: 3, action: 'contract_call', asset: undefined, to: A.inbox, amount: '1', value: '1' }), deny('VALUE_OVER_MAX', 'blobs'));

// ---- typed data
const order = (o = {}) => intent({ payload: 'typed_data', txType: undefined, nonce: undefined, value: undefined,
  action: 'typed_data', asset: undefined, amount: undefined, to: A.seaport,
  typedData: { name: 'Seaport', version: '1.5', verifyingContract: A.seaport, primaryType: 'OrderComponents' }, ...o });
one('Seaport order', order(), allow('seaport-orders'));
one('Seaport order: wrong version', order({ typedData: { name: 'Seaport', version: '1.4', verifyingContract: A.seaport, primaryType: 'OrderComponents' } }), deny('TYPED_DATA_NOT_ALLOWED', 'seaport-orders'));
one('Seaport order: wrong primary type', order({ typedData: { name: 'Seaport', version: '1.5', verifyingContract: A.seaport, primaryType: 'Order' } }), deny('TYPED_DATA_NOT_ALLOWED', 'seaport-orders'));
one('Seaport order: wrong verifying contract', order({ to: A.rando, typedData: { name: 'Seaport', version: '1.5', verifyingContract: A.rando, primaryType: 'OrderComponents' } }), deny('TYPED_DATA_NOT_ALLOWED', 'seaport-orders'));
one('Seaport order: no domain name', order({ typedData: { version: '1.5', verifyingContract: A.seaport, primaryType: 'OrderComponents' } }), deny('TYPED_DATA_NOT_ALLOWED', 'seaport-orders'));
one('Seaport order: other chain', order({ chainId: 137 }), deny('CHAIN_NOT_ALLOWED', 'seaport-orders'));
one('Seaport order: domain without chainId', order({ chainId: undefined }), deny('CHAIN_NOT_ALLOWED', 'seaport-orders'));
one('typed data by another key', order({ key: 'treasury', keyAddress: A.treasury }), deny('NO_MATCHING_RULE'));
one('typed data: request validity still applies', order({ notAfter: NOW - 10 }), deny('OUTSIDE_VALIDITY'));

// ---- deployments and testnet
const deploy = (o = {}) => intent({ key: 'treasury', keyAddress: A.treasury, chainId: 11155111, action: 'deploy', asset: undefined,
  to: undefined, amount: '0', value: '0', calldataHash: ethers.id('initcode'), ...o });
one('deploy on Sepolia', deploy(), allow('deploy-sepolia'));
one('deploy on mainnet', deploy({ chainId: 1 }), deny('CHAIN_NOT_ALLOWED', 'deploy-sepolia'));
one('deploy with value and no max_value', deploy({ value: '1', amount: '1' }), deny('VALUE_OVER_MAX', 'deploy-sepolia'));
one('deploy by the hot key', deploy({ key: 'hot', keyAddress: A.hot }), deny('NO_MATCHING_RULE'));
const sep = (o = {}) => intent({ key: 'test', keyAddress: A.test, chainId: 11155111, to: A.rando, ...o });
one('testnet: any destination', sep({ amount: ETH('100'), value: ETH('100') }), allow('testnet-any'));
one('testnet: over max', sep({ amount: ETH('100.1'), value: ETH('100.1') }), deny('AMOUNT_OVER_MAX', 'testnet-any'));
one('testnet key on mainnet', sep({ chainId: 1 }), deny('NO_MATCHING_RULE'));

// ---- rule validity dates (cold-window: 2025-06-16 .. 2025-06-17 UTC)
const D0 = 1750032000, D1 = 1750118400;
const tw = (now, expect) => ({ now, intent: intent({ key: 'treasury', keyAddress: A.treasury, to: A.vault, amount: ETH('100'), value: ETH('100'), notAfter: now + 60 }), expect });
add('rule validity dates', [
  tw(D0 - 1, deny('RULE_NOT_IN_EFFECT', 'cold-window')),
  tw(D0, allow('cold-window')),
  tw(D1 - 1, allow('cold-window')),
  tw(D1, deny('RULE_NOT_IN_EFFECT', 'cold-window')),
]);
add('dates come after amount in the order', [
  { now: D0 - 10, intent: intent({ key: 'treasury', keyAddress: A.treasury, to: A.vault, amount: ETH('5001'), value: ETH('5001'), notAfter: D0 }), expect: deny('AMOUNT_OVER_MAX', 'cold-window') },
  { now: D0 - 10, intent: intent({ key: 'treasury', keyAddress: A.treasury, to: A.ex1, amount: ETH('1'), value: ETH('1'), notAfter: D0 }), expect: deny('DESTINATION_NOT_ALLOWED', 'cold-window') },
]);

// ---- a second policy for ranking ties and used approvals
const policy2 = {
  teekm_policy: 1, version: 1, default: 'deny', max_validity_seconds: 600,
  admins: { threshold: 1, members: [W.admin1.address] },
  groups: { risk: [W.risk1.address, W.risk2.address] },
  assets: { ETH: { chain_id: 1, native: true, decimals: 18 } },
  rules: [
    { id: 'a-window', effect: 'allow', keys: ['hot'], action: 'transfer', asset: 'ETH', window_limit: { amount: '1', seconds: 60 } },
    { id: 'b-approvals', effect: 'allow', keys: ['hot'], action: 'transfer', asset: 'ETH', approvals: [{ group: 'risk', threshold: 1 }] },
    { id: 'c-dest', effect: 'allow', keys: ['hot'], action: 'transfer', asset: 'ETH', to: [A.vault] },
    { id: 'd-approvals', effect: 'allow', keys: ['hot'], action: 'transfer', asset: 'ETH', max_amount: '100', approvals: [{ group: 'risk', threshold: 2 }] },
  ],
};
const p2 = (o) => intent({ to: A.ex1, amount: ETH('2'), value: ETH('2'), notAfter: NOW + 60, ...o });
add('ranking: approvals (9) beat window (8); first of two at rank 9', [
  { now: NOW, policy: 'second', intent: p2({}), expect: deny('APPROVALS_MISSING', 'b-approvals') },
]);
add('ranking: first rule whose conditions hold wins, even if a later one also would', [
  { now: NOW, policy: 'second', intent: p2({ to: A.vault }), expect: allow('c-dest') },
  { now: NOW, policy: 'second', intent: p2({}), approvals: [{ by: 'risk1' }], expect: allow('b-approvals') },
]);
add('ranking: invalid approval reported by the first rule at rank 9', [
  { now: NOW, policy: 'second', intent: p2({}), approvals: [{ by: 'outsider' }], expect: deny('APPROVAL_INVALID', 'b-approvals') },
]);
add('window rule allows small amounts before later rules', [
  { now: NOW, policy: 'second', intent: p2({ amount: ETH('1'), value: ETH('1') }), expect: allow('a-window') },
  { now: NOW + 1, policy: 'second', intent: p2({ amount: ETH('0.5'), value: ETH('0.5') }), approvals: [{ by: 'risk2' }], expect: allow('b-approvals') },
  { now: NOW + 59, policy: 'second', intent: p2({ amount: ETH('1'), value: ETH('1') }), approvals: [], expect: deny('APPROVALS_MISSING', 'b-approvals') },
  { now: NOW + 60, policy: 'second', intent: p2({ amount: ETH('1'), value: ETH('1') }), expect: allow('a-window') },
]);
// ---- real transactions: the request carries a JSON-RPC tx; ethers gives the signing hash
const erc20 = new ethers.Interface([
  'function transfer(address to, uint256 amount)', 'function approve(address spender, uint256 amount)',
  'function transferFrom(address from, address to, uint256 amount)',
  'function forcedTransfer(address from, address to, uint256 amount)',
  'function batchTransfer(address[] toList, uint256[] amounts)']);
const router = new ethers.Interface([
  'function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline)',
  'function swapExactETHForTokens(uint256 amountOutMin, address[] path, address to, uint256 deadline)']);
const KEYS = { hot: A.hot, treasury: A.treasury, test: A.test, cold: A.cold };
const q = (v) => ethers.toQuantity(v);
let txNonce = 100;
/*
 * A transaction request. o: {id, key, type, chainId, to, value (wei string), data, nonce, from, extra},
 * intent: what teekm must read from it (for the approvals and the expectation).
 */
function txStep(name, o, intentFields, expect, approvals = []) {
  const type = o.type === undefined ? 2 : o.type;
  const t = { type, chainId: o.chainId || 1, nonce: o.nonce === undefined ? txNonce++ : o.nonce, gasLimit: 100000n,
    to: o.to === undefined ? A.ex1 : o.to, value: BigInt(o.value || '0'), data: o.data || '0x' };
  if (type === 0 || type === 1) t.gasPrice = 30000000000n; else { t.maxFeePerGas = 30000000000n; t.maxPriorityFeePerGas = 1000000000n; }
  if (type === 1) t.accessList = [];
  Object.assign(t, o.ethersExtra || {});
  const payloadHash = ethers.Transaction.from(t).unsignedHash;
  const tx = { type: q(type), chainId: q(t.chainId), nonce: q(t.nonce), gas: q(t.gasLimit), value: q(t.value), data: t.data };
  if (t.to !== null) tx.to = t.to;
  if (t.gasPrice !== undefined) tx.gasPrice = q(t.gasPrice);
  else { tx.maxFeePerGas = q(t.maxFeePerGas); tx.maxPriorityFeePerGas = q(t.maxPriorityFeePerGas); }
  if (type === 1) tx.accessList = [];
  Object.assign(tx, o.rpcExtra || {});
  if (o.from) tx.from = o.from;
  const key = o.key || 'hot';
  const it = { requestId: o.id || ('tx-' + (counter++)), key, keyAddress: KEYS[key], chainId: t.chainId,
    payloadHash, notAfter: NOW + 600, ...intentFields };
  add('tx: ' + name, [{ now: NOW, request: { requestId: it.requestId, key, tx, notAfter: it.notAfter },
    expectIntent: { payloadHash, ...intentFields }, intent: it, approvals, expect }]);
}
const tr = (to, amt) => erc20.encodeFunctionData('transfer', [to, amt]);
txStep('native ETH, type 2', { value: ETH('5') }, { action: 'transfer', to: A.ex1, amount: ETH('5') }, allow('hot-eth-small'));
txStep('native ETH, legacy type 0 (EIP-155)', { type: 0, value: ETH('1') }, { action: 'transfer', to: A.ex1, amount: ETH('1') }, allow('hot-eth-small'));
txStep('native ETH, type 1', { type: 1, value: ETH('1') }, { action: 'transfer', to: A.ex1, amount: ETH('1') }, allow('hot-eth-small'));
txStep('native ETH to a sanctioned address', { to: A.bad, value: ETH('1') }, { action: 'transfer', to: A.bad }, deny('DENIED_BY_RULE', 'deny-sanctioned'));
txStep('native ETH over max to cold, ethers approvals', { to: A.vault, value: ETH('50') },
  { action: 'transfer', to: A.vault, amount: ETH('50') }, allow('hot-eth-big'), [{ by: 'risk1' }, { by: 'risk2' }]);
txStep('ERC-20 transfer decoded', { to: A.usdc, data: tr(A.ex1, USDC('100')) }, { action: 'transfer', asset: A.usdc, to: A.ex1, amount: USDC('100') }, allow('usdc-payouts'));
txStep('ERC-20 transfer over max', { to: A.usdc, data: tr(A.ex2, USDC('60000')) }, { action: 'transfer', to: A.ex2, amount: USDC('60000') }, deny('AMOUNT_OVER_MAX', 'usdc-payouts'));
txStep('ERC-20 transfer to a non-exchange', { to: A.usdc, data: tr(A.vault, USDC('1')) }, { action: 'transfer', to: A.vault }, deny('DESTINATION_NOT_ALLOWED', 'usdc-payouts'));
txStep('ERC-20 approve decoded', { to: A.usdc, data: erc20.encodeFunctionData('approve', [A.dex, USDC('1000')]) }, { action: 'approve', to: A.dex, amount: USDC('1000') }, allow('usdc-approve-dex'));
txStep('ERC-20 transferFrom is a contract call', { to: A.usdc, data: erc20.encodeFunctionData('transferFrom', [A.hot, A.ex1, 5n]) }, { action: 'contract_call', to: A.usdc }, deny('DESTINATION_NOT_ALLOWED', 'dex-swap'));
txStep('token call with value is a contract call', { to: A.usdc, value: '1', data: tr(A.ex1, 5n) }, { action: 'contract_call', to: A.usdc, amount: '1' }, deny('DESTINATION_NOT_ALLOWED', 'dex-swap'));
txStep('malformed ERC-20 transfer', { to: A.usdc, data: tr(A.ex1, 5n).slice(0, 60) }, {}, deny('UNSUPPORTED_PAYLOAD'));
txStep('ERC-20 transfer with dirty address padding', { to: A.usdc, data: '0xa9059cbb' + 'ff'.repeat(12) + A.ex1.slice(2).toLowerCase() + '0'.repeat(63) + '5' }, {}, deny('UNSUPPORTED_PAYLOAD'));
txStep('ERC-3643 transfer with both groups', { key: 'treasury', to: A.bond, data: tr(A.inv1, 100n) },
  { action: 'transfer', asset: A.bond, to: A.inv1, amount: '100' }, allow('bond-transfer'), [{ by: 'risk2' }, { by: 'ops1' }]);
txStep('ERC-3643 forcedTransfer is a contract call', { key: 'treasury', to: A.bond, data: erc20.encodeFunctionData('forcedTransfer', [A.inv1, A.inv2, 5n]) }, { action: 'contract_call', to: A.bond }, deny('NO_MATCHING_RULE'));
txStep('ERC-3643 batchTransfer is a contract call', { key: 'treasury', to: A.bond, data: erc20.encodeFunctionData('batchTransfer', [[A.inv1], [5n]]) }, { action: 'contract_call', to: A.bond }, deny('NO_MATCHING_RULE'));
txStep('router swap', { to: A.dex, data: router.encodeFunctionData('swapExactTokensForTokens', [1000n, 900n, [A.usdc, A.bond], A.hot, NOW + 60]) },
  { action: 'contract_call', to: A.dex, selector: '0x38ed1739' }, allow('dex-swap'));
txStep('router swap with too much ETH', { to: A.dex, value: ETH('0.6'), data: router.encodeFunctionData('swapExactETHForTokens', [900n, [A.usdc], A.hot, NOW + 60]) },
  { action: 'contract_call', to: A.dex, amount: ETH('0.6') }, deny('VALUE_OVER_MAX', 'dex-swap'));
txStep('deployment on Sepolia', { key: 'treasury', chainId: 11155111, to: null, data: '0x6080604052' }, { action: 'deploy' }, allow('deploy-sepolia'));
txStep('from is not the key', { value: '1', from: A.cold }, {}, deny('UNSUPPORTED_PAYLOAD'));
txStep('blob transaction where a rule names type 3', { type: 3, to: A.inbox, data: '0x12345678',
  ethersExtra: { maxFeePerBlobGas: 5n, blobVersionedHashes: ['0x01' + 'ab'.repeat(31)] },
  rpcExtra: { maxFeePerBlobGas: '0x5', blobVersionedHashes: ['0x01' + 'ab'.repeat(31)] } }, { action: 'contract_call', to: A.inbox }, allow('blobs'));
txStep('EIP-7702 set-code transaction, named by no rule', { type: 4, to: A.inbox,
  ethersExtra: { authorizationList: [{ chainId: 1n, address: A.dex, nonce: 0n, signature: { r: '0x' + '33'.repeat(32), s: '0x' + '44'.repeat(32), yParity: 0 } }] },
  rpcExtra: { authorizationList: [{ chainId: '0x1', address: A.dex, nonce: '0x0', yParity: '0x0', r: '0x' + '33'.repeat(32), s: '0x' + '44'.repeat(32) }] } },
  {}, deny('UNSUPPORTED_PAYLOAD'));
{
  const n = 555;
  txStep('nonce: first payload', { id: 'nn-1', nonce: n, value: ETH('1') }, { action: 'transfer' }, allow('hot-eth-small'));
  const c = cases.pop(), d = (txStep('nonce: second payload', { id: 'nn-2', nonce: n, value: ETH('2') }, { action: 'transfer' }, deny('NONCE_CONFLICT')), cases.pop());
  add('tx: a second payload at a signed nonce', [c.steps[0], d.steps[0]]);
}

// ---- EIP-191 personal messages: the request carries the message as hex; ethers.hashMessage gives the digest
/* A message request. o: {id, key, msg (string: UTF-8; or bytes), policy}. */
function msgStep(name, o, expect, approvals = []) {
  const bytes = typeof o.msg === 'string' ? ethers.toUtf8Bytes(o.msg) : o.msg;
  const key = o.key || 'hot';
  const payloadHash = ethers.hashMessage(bytes);
  const it = { requestId: o.id || ('msg-' + (counter++)), key, keyAddress: KEYS[key], action: 'sign_message',
    payloadHash, notAfter: NOW + 600 };
  add('message: ' + name, [{ now: NOW, policy: o.policy, request: { requestId: it.requestId, key, message: ethers.hexlify(bytes),
    notAfter: it.notAfter }, expectIntent: { payloadHash, action: 'sign_message', messageLength: bytes.length }, intent: it,
    approvals, expect }]);
}
const siwe = (domain, extra = '') => domain + ' wants you to sign in with your Ethereum account:\n' + A.hot +
  '\n\nSign in to the treasury console.\n\nURI: https://' + domain + '/login\nVersion: 1\nChain ID: 1\nNonce: 32891756\n' +
  'Issued At: 2025-06-15T14:06:40Z' + extra;
const hash32 = ethers.getBytes(ethers.id('a safeTxHash or any other 32-byte digest'));
const bytesOf = (...parts) => ethers.getBytes(ethers.concat(parts.map((x) => typeof x === 'string' ? ethers.toUtf8Bytes(x) : Uint8Array.from(x))));
msgStep('SIWE sign-in with the listed domain', { msg: siwe('app.example.com') }, allow('siwe-login'));
msgStep('SIWE sign-in for another domain', { msg: siwe('evil.example.net') }, deny('MESSAGE_NOT_ALLOWED', 'siwe-login'));
msgStep('the prefix must be at the start', { msg: ' ' + siwe('app.example.com') }, deny('MESSAGE_NOT_ALLOWED', 'siwe-login'));
msgStep('over max_length', { msg: siwe('app.example.com', '\nResources:\n- ' + 'x'.repeat(1000)) }, deny('MESSAGE_NOT_ALLOWED', 'siwe-login'));
msgStep('max_length is inclusive', { msg: siwe('app.example.com', '\n' + 'x'.repeat(1024 - siwe('app.example.com').length - 1)) }, allow('siwe-login'));
msgStep('invalid UTF-8 after the prefix', { msg: bytesOf(siwe('app.example.com'), [0xff]) }, deny('MESSAGE_NOT_ALLOWED', 'siwe-login'));
msgStep('overlong UTF-8 (C0 AF for /)', { msg: bytesOf(siwe('app.example.com'), [0xc0, 0xaf]) }, deny('MESSAGE_NOT_ALLOWED', 'siwe-login'));
msgStep('UTF-8 surrogate (ED A0 80)', { msg: bytesOf(siwe('app.example.com'), [0xed, 0xa0, 0x80]) }, deny('MESSAGE_NOT_ALLOWED', 'siwe-login'));
msgStep('carriage return is a control character', { msg: siwe('app.example.com').replace(/\n/g, '\r\n') }, deny('MESSAGE_NOT_ALLOWED', 'siwe-login'));
msgStep('tab is a control character', { msg: siwe('app.example.com', '\t') }, deny('MESSAGE_NOT_ALLOWED', 'siwe-login'));
msgStep('C1 control U+0085', { msg: siwe('app.example.com', '\u0085') }, deny('MESSAGE_NOT_ALLOWED', 'siwe-login'));
msgStep('bidi override U+202E', { msg: siwe('app.example.com', '\u202e') }, deny('MESSAGE_NOT_ALLOWED', 'siwe-login'));
msgStep('32 raw bytes (a hash) under a text rule', { msg: hash32 }, deny('MESSAGE_NOT_ALLOWED', 'siwe-login'));
msgStep('32 raw bytes, any-text rule', { key: 'test', msg: hash32 }, deny('MESSAGE_NOT_ALLOWED', 'text-any'));
msgStep('32 bytes of ASCII text still have the shape of a hash', { key: 'test', msg: 'abcdefghijklmnopqrstuvwxyz012345' }, deny('MESSAGE_NOT_ALLOWED', 'text-any'));
msgStep('31 bytes of text', { key: 'test', msg: 'abcdefghijklmnopqrstuvwxyz01234' }, allow('text-any'));
msgStep('multi-byte UTF-8 text', { key: 'test', msg: 'Grüße aus Zürich 👋\nLine two' }, allow('text-any'));
msgStep('the empty message', { key: 'test', msg: new Uint8Array(0) }, allow('text-any'));
msgStep('default max_length 1024', { key: 'test', msg: 'y'.repeat(1024) }, allow('text-any'));
msgStep('default max_length 1024, one over', { key: 'test', msg: 'y'.repeat(1025) }, deny('MESSAGE_NOT_ALLOWED', 'text-any'));
msgStep('a very long message', { key: 'test', msg: 'z'.repeat(5000) }, deny('MESSAGE_NOT_ALLOWED', 'text-any'));
msgStep('32 raw bytes where a rule allows bytes', { key: 'treasury', msg: hash32 }, allow('attest-bytes'));
msgStep('bytes rule: invalid UTF-8 is fine', { key: 'treasury', msg: bytesOf([0xff, 0x00, 0x19, 0x01]) }, allow('attest-bytes'));
msgStep('bytes rule: over its max_length', { key: 'treasury', msg: new Uint8Array(65) }, deny('MESSAGE_NOT_ALLOWED', 'attest-bytes'));
msgStep('deny rule by prefix, any key', { key: 'test', msg: 'I approve all transfers from this account' }, deny('DENIED_BY_RULE', 'no-blanket-approvals'));
msgStep('deny rule by prefix, bytes rule key', { key: 'treasury', msg: 'I approve all' }, deny('DENIED_BY_RULE', 'no-blanket-approvals'));
msgStep('deny rule with a non-text prefix catches a bytes rule\'s message', { key: 'treasury', msg: bytesOf([0x19, 0x01], hash32) }, deny('DENIED_BY_RULE', 'no-blanket-approvals'));
msgStep('a key no message rule names', { key: 'cold', msg: 'hello' }, deny('NO_MATCHING_RULE'));
msgStep('default off: a policy without sign_message rules', { policy: 'second', msg: siwe('app.example.com') }, deny('UNSUPPORTED_PAYLOAD'));
msgStep('default off: even 32 bytes', { policy: 'second', msg: hash32 }, deny('UNSUPPORTED_PAYLOAD'));
const note = 'teekm ops note: hot key rotation planned for 2025-06-20';
msgStep('approvals: missing', { msg: note }, deny('APPROVALS_MISSING', 'ops-notes'));
msgStep('approvals: an ops member', { msg: note }, allow('ops-notes'), [{ by: 'ops1' }]);
msgStep('approvals: signed for another message', { msg: note }, deny('APPROVAL_INVALID', 'ops-notes'), [{ by: 'ops1', tamper: { payloadHash: ethers.hashMessage(note + '!') } }]);
msgStep('approvals: signed as a transfer', { msg: note }, deny('APPROVAL_INVALID', 'ops-notes'), [{ by: 'ops1', tamper: { action: 'transfer' } }]);
msgStep('approvals: a risk member is not ops', { msg: note }, deny('APPROVAL_INVALID', 'ops-notes'), [{ by: 'risk1' }]);
msgStep('approvals do not rescue a failing prefix', { msg: 'teekm ops note:' }, deny('MESSAGE_NOT_ALLOWED', 'siwe-login'), [{ by: 'ops1' }]);
{
  msgStep('idempotent message', { id: 'm-idem', msg: siwe('app.example.com') }, allow('siwe-login'));
  const a = cases.pop();
  msgStep('idempotent message', { id: 'm-idem', msg: siwe('app.example.com') }, { ...allow('siwe-login'), idempotent: true });
  const b = cases.pop();
  msgStep('idempotent message', { id: 'm-idem', msg: siwe('app.example.com', '\nResources:\n- x') }, deny('REPLAYED_REQUEST'));
  const c = cases.pop();
  add('message: same id, same message is idempotent; another message is a replay', [a.steps[0], b.steps[0], c.steps[0]]);
}

/* RFC 8785 for documents of ASCII strings, integers, booleans: sorted keys (UTF-16 order), no spaces. */
const canon = (v) => Array.isArray(v) ? '[' + v.map(canon).join(',') + ']'
  : (v && typeof v === 'object') ? '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}'
  : JSON.stringify(v);
const policyHash = (p) => ethers.keccak256(ethers.toUtf8Bytes(canon(p)));

/* Admin structs: digests computed by ethers (TypedDataEncoder.hash) for the unit tests. */
function adminDigests() {
  const domain = { name: 'teekm', version: '1', salt: INSTANCE };
  const pu = { version: 4, policyHash: ethers.id('new policy'), previousVersion: 3, previousPolicyHash: ethers.id('old policy'), expiresAt: NOW + 600 };
  const puTypes = { PolicyUpdate: [
    { name: 'version', type: 'uint64' }, { name: 'policyHash', type: 'bytes32' }, { name: 'previousVersion', type: 'uint64' },
    { name: 'previousPolicyHash', type: 'bytes32' }, { name: 'expiresAt', type: 'uint64' } ] };
  const keTypes = { KeyEvent: [
    { name: 'requestId', type: 'string' }, { name: 'action', type: 'string' }, { name: 'label', type: 'string' },
    { name: 'key', type: 'address' }, { name: 'policyVersion', type: 'uint64' }, { name: 'expiresAt', type: 'uint64' } ] };
  const ke = [
    { requestId: 'k-1', action: 'generate', label: 'hot', key: ethers.ZeroAddress, policyVersion: 3, expiresAt: NOW + 600 },
    { requestId: 'k-2', action: 'retire', label: 'cold', key: A.vault, policyVersion: 7, expiresAt: NOW + 1 },
  ];
  const ap = { requestId: 'r-1', key: A.hot, chainId: 1, action: 'transfer', asset: ethers.ZeroAddress, to: A.ex1,
    amount: ETH('1.5'), payloadHash: ethers.id('p'), expiresAt: NOW + 60 };
  return {
    domainSeparator: ethers.TypedDataEncoder.hashDomain(domain),
    policyUpdate: { value: pu, digest: ethers.TypedDataEncoder.hash(domain, puTypes, pu) },
    keyEvents: ke.map((v) => ({ value: v, digest: ethers.TypedDataEncoder.hash(domain, keTypes, v) })),
    approval: { value: ap, digest: ethers.TypedDataEncoder.hash(domain, types, ap) },
  };
}

async function main() {
  const out = { _comment: 'Generated by gen_cases.cjs with ethers ' + ethers.version + '; expectations written by hand from docs/policy.md.',
    instanceId: INSTANCE, policies: { main: policy, second: policy2 },
    policyHashes: { main: policyHash(policy), second: policyHash(policy2) }, addresses: A, keys: KEYS,
    adminDigests: adminDigests(),
    approvers: Object.fromEntries(Object.entries(W).map(([k, w]) => [k, w.address])), cases: [] };
  let steps = 0;
  for (const c of cases) {
    const oc = { name: c.name, steps: [] };
    for (const s of c.steps) {
      if (!s.expect) throw new Error('case ' + c.name + ' has a step without expectation');
      const o = { now: s.now, policy: s.policy || 'main', expect: s.expect };
      if (s.request) { o.request = s.request; o.expectIntent = s.expectIntent; } else o.intent = s.intent;
      if (s.keyStatus) o.keyStatus = s.keyStatus;
      if (s.note) o.note = s.note;
      if (s.approvals) {
        const signed = await Promise.all(s.approvals.map((a) => approval(s.intent, a)));
        if (s.request) s.request.approvals = signed; else o.approvals = signed;
      }
      oc.steps.push(o);
      steps++;
    }
    out.cases.push(oc);
  }
  out.stepCount = steps;
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}
main().catch((e) => { console.error(e); process.exit(1); });
