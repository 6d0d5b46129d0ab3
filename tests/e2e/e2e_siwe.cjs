#!/usr/bin/env node
/*
 * e2e_siwe.cjs DIR — Sign-In with Ethereum (EIP-4361) through a real teekmd, with ethers v6 (6.17.0) and
 * SpruceID's siwe (3.0.0) as the relying party:
 *  - a policy whose only message rule is a siwe rule for key hot (domain app.example.com, chain 1, at most
 *    600 s of validity);
 *  - a message written by `new SiweMessage({...}).prepareMessage()` for hot's own address, signed by ethers'
 *    JsonRpcSigner.signMessage (personal_sign over mutual TLS): SiweMessage.verify({signature, domain, nonce})
 *    accepts it, and ethers.verifyMessage recovers hot; eth_sign of the same message too;
 *  - refused with 400, data.reason MESSAGE_NOT_ALLOWED, data.rule "login" and a detail naming the field: a
 *    message for another address, for another domain (the phishing case: the URI still points at the
 *    genuine site), with a URI on another host, for another chain, expired, without Expiration Time, valid
 *    for longer than the rule allows, issued in the future, not valid yet, a lower-case address, a final
 *    newline, CRLF line ends; a plain text message is not SIWE; a key no rule names gets NO_MATCHING_RULE;
 *  - the audit log records the allowed sign-in's domain, chain, nonce and times with the EIP-191 digest,
 *    and never the statement or URI.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { ethers } = require(path.join(process.env.SIWE_DIR, 'node_modules', 'ethers'));
const { SiweMessage, generateNonce } = require(path.join(process.env.SIWE_DIR, 'node_modules', 'siwe'));
const T = require('./e2e_common.cjs');
const { check } = T;

const dir = process.argv[2];
const log = path.join(dir, 'teekmd.log');
const admin = new ethers.Wallet(ethers.id('teekm-e2e-siwe:admin'));
const DOMAIN = 'app.example.com';
const STATEMENT = 'Sign in to the custody portal.';
const hex = (s) => ethers.hexlify(ethers.toUtf8Bytes(s));
const iso = (t) => new Date(t * 1000).toISOString();

async function main() {
  const policy = {
    teekm_policy: 1, version: 1, default: 'deny', max_validity_seconds: 3600,
    admins: { threshold: 1, members: [admin.address] },
    assets: { ETH: { chain_id: 1, native: true, decimals: 18 } },
    rules: [
      { id: 'login', effect: 'allow', keys: ['hot'], action: 'sign_message',
        message: { siwe: { domains: [DOMAIN], chain_ids: [1], max_validity_seconds: 600 } } },
    ],
  };
  fs.writeFileSync(path.join(dir, 'policy.json'), JSON.stringify(policy));
  const data = path.join(dir, 'data');
  const init = JSON.parse(T.teekm(['init', '--data-dir', data, '--tee', 'sim', '--policy', path.join(dir, 'policy.json'),
    '--key', 'hot', '--key', 'cold']));
  const hot = ethers.getAddress(init.keys.hot), cold = ethers.getAddress(init.keys.cold);
  const op = { cert: init.client.cert, key: init.client.key };
  const d = await T.startDaemon(data, [], log);
  const rpc = (method, params) => T.rpc(d.url, op, init.client.ca, method, params);

  const now = Math.floor(Date.now() / 1000);
  const fields = (o = {}) => ({ domain: DOMAIN, address: hot, statement: STATEMENT, uri: 'https://' + DOMAIN + '/login',
    version: '1', chainId: 1, nonce: generateNonce(), issuedAt: iso(now - 5), expirationTime: iso(now + 300), ...o });

  /* ---- the key's own sign-in: signed, and the relying party accepts it */
  const f1 = fields();
  const m1 = new SiweMessage(f1).prepareMessage();
  const req = T.fetchRequest(ethers, d.url, op, init.client.ca);
  const prov = new ethers.JsonRpcProvider(req, 1n, { staticNetwork: true });
  const signer = await prov.getSigner(hot);
  const sig1 = await signer.signMessage(m1);
  check(ethers.verifyMessage(m1, sig1) === hot, 'JsonRpcSigner.signMessage of a SIWE message for hot: ethers.verifyMessage recovers hot');
  const verified = await new SiweMessage(m1).verify({ signature: sig1, domain: DOMAIN, nonce: f1.nonce }).catch((e) => e);
  check(verified && verified.success === true, 'SiweMessage.verify({signature, domain, nonce}) accepts the signature (the relying party\'s check)');
  const m2 = new SiweMessage(fields({ scheme: 'https', requestId: 'login-7' })).prepareMessage();
  const sig2 = await rpc('eth_sign', [hot, hex(m2)]);
  check(sig2.result && ethers.verifyMessage(m2, sig2.result) === hot, 'eth_sign of a SIWE message with an explicit https scheme: signed');

  /* ---- refusals: 400 MESSAGE_NOT_ALLOWED, rule login, the field named */
  const refuse = async (what, message, re, key = hot) => {
    const r = await rpc('personal_sign', [hex(message), key]);
    const e = r.error;
    check(e && e.code === 400 && e.data.reason === 'MESSAGE_NOT_ALLOWED' && e.data.rule === 'login' && re.test(e.data.detail),
      what + ': 400 MESSAGE_NOT_ALLOWED (' + (e ? e.data.detail : 'signed!') + ')');
    check(!e || !e.data.detail.includes(STATEMENT), what + ': the detail does not echo the message');
  };
  const msg = (o) => new SiweMessage(fields(o)).prepareMessage();
  await refuse('a sign-in for another address (cold) signed by hot', msg({ address: cold }), /^SIWE address 0x[0-9a-fA-F]{40} is not the signing key/);
  await refuse('a phishing domain (URI still the genuine site)', msg({ domain: 'app-example.com.evil.example' }), /^SIWE domain app-example\.com\.evil\.example is not one of rule login's domains/);
  await refuse('the genuine domain with a URI on another host', msg({ uri: 'https://evil.example/login' }), /^SIWE URI's host is not the domain's host/);
  await refuse('another chain', msg({ chainId: 10 }), /^SIWE Chain ID 10 is not allowed by rule login/);
  await refuse('expired', msg({ issuedAt: iso(now - 400), expirationTime: iso(now - 100) }), /^SIWE message expired at /);
  await refuse('no Expiration Time', msg({ expirationTime: undefined }), /^SIWE message has no Expiration Time/);
  await refuse('valid for 3600 s', msg({ expirationTime: iso(now + 3595) }), /^SIWE validity \(Expiration Time - Issued At\) is 3600 s, over rule login's max_validity_seconds 600/);
  await refuse('issued in the future', msg({ issuedAt: iso(now + 3600), expirationTime: iso(now + 3700) }), /^SIWE Issued At \d+ is ahead of now/);
  await refuse('not valid yet', msg({ notBefore: iso(now + 3600), expirationTime: iso(now + 500) }), /^SIWE Not Before \d+ is ahead of now/);
  await refuse('a lower-case address', m1.replace(hot, hot.toLowerCase()), /^not a Sign-In with Ethereum \(EIP-4361\) message: line 2 \(address\)/);
  await refuse('a final newline', m1 + '\n', /^not a Sign-In with Ethereum \(EIP-4361\) message: line \d+ \(end\)/);
  await refuse('CRLF line ends (CR is no text: the text check comes first)', m1.replace(/\n/g, '\r\n'), /^message is not text/);
  await refuse('plain text', 'hello', /^not a Sign-In with Ethereum \(EIP-4361\) message: line 1 \(header\)/);
  const viaEthers = await signer.signMessage(msg({ domain: 'evil.example' })).then(() => null, (e) => e);
  check(viaEthers && viaEthers.error && viaEthers.error.code === 400 && viaEthers.error.data.reason === 'MESSAGE_NOT_ALLOWED',
    'JsonRpcSigner.signMessage for another domain: ethers surfaces 400 MESSAGE_NOT_ALLOWED');
  const coldSig = await rpc('personal_sign', [hex(msg({ address: cold })), cold]);
  check(coldSig.error && coldSig.error.code === 400 && coldSig.error.data.reason === 'NO_MATCHING_RULE', 'a key no siwe rule names (cold): 400 NO_MATCHING_RULE');

  /* ---- the audit log */
  const env = { ...process.env, TEEKM_URL: d.url, TEEKM_DATA_DIR: data };
  const auditFile = path.join(dir, 'audit.jsonl');
  T.teekm(['audit', 'export', '--out', auditFile], { env });
  let ok = false;
  try { ok = /audit log OK/.test(T.teekm(['audit', 'verify', auditFile, '--audit-address', init.auditAddress])); } catch (e) { console.error(e.stdout, e.stderr); }
  check(ok, 'teekm audit verify passes');
  const text = fs.readFileSync(auditFile, 'utf8');
  const recs = text.trim().split('\n').map((l) => JSON.parse(l));
  const a1 = recs.find((r) => r.type === 'sign_allowed' && r.body.payloadHash === ethers.hashMessage(m1));
  const s1 = a1 && a1.body.intent.message.siwe;
  check(s1 && s1.domain === DOMAIN && s1.chainId === 1 && s1.nonce === f1.nonce && s1.issuedAt === f1.issuedAt &&
        s1.expirationTime === f1.expirationTime && s1.resources === 0,
    'audit: the allowed sign-in is recorded with its digest, domain, chain, nonce and times');
  check(recs.some((r) => r.type === 'sign_rejected' && r.body.reason === 'MESSAGE_NOT_ALLOWED' && /^SIWE domain/.test(r.body.detail)),
    'audit: the refused phishing sign-in is recorded with its reason');
  check(!text.includes(STATEMENT) && !text.includes('/login'), 'audit: no statement and no URI in the log');
  await T.stopDaemon(d);
}

main().then(() => {
  if (T.failed()) { console.error(T.failed() + ' check(s) failed'); process.exit(1); }
  console.log('e2e siwe: all checks passed');
}, (e) => { console.error(e); process.exit(1); });
