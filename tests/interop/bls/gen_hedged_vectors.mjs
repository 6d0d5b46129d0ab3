// Generates tests/vectors/secp-hedged/noble_extra_entropy.json: ECDSA secp256k1
// signatures with RFC 6979 §3.6 additional data ("extraEntropy") made by
// @noble/curves (an independent implementation), next to the plain RFC 6979
// signature of the same key and digest. Run: node gen_hedged_vectors.mjs > FILE
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { randomBytes } from 'node:crypto';

const hex = (u) => '0x' + Buffer.from(u).toString('hex');
// noble's 'recovered' format is recid ‖ r ‖ s; teekm's is r ‖ s ‖ recid
const rsv = (sig) => hex(Buffer.concat([sig.subarray(1), sig.subarray(0, 1)]));
const cases = [];
for (let i = 0; i < 32; i++) {
  const sk = secp256k1.utils.randomSecretKey();
  const digest = randomBytes(32);
  const noise = randomBytes(32);
  const hedged = Buffer.from(secp256k1.sign(digest, sk, { prehash: false, extraEntropy: noise, format: 'recovered' }));
  const plain = Buffer.from(secp256k1.sign(digest, sk, { prehash: false, format: 'recovered' }));
  cases.push({ secretKey: hex(sk), digest: hex(digest), noise: hex(noise), hedged: rsv(hedged), rfc6979: rsv(plain) });
}
import { readFileSync } from 'node:fs';
const version = JSON.parse(readFileSync(new URL('./node_modules/@noble/curves/package.json', import.meta.url))).version;
console.log(JSON.stringify({ generator: '@noble/curves ' + version, cases }, null, 1));
