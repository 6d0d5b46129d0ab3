// Generates tests/vectors/bls-oracle/eip2334_noble.json from two implementations
// that share no code with blst:
//  - @chainsafe/bls-hd-key: EIP-2333 derive_master_SK / derive_child_SK and EIP-2334
//    path parsing (pathToIndices), written over @noble/hashes;
//  - @noble/curves bls12_381 (longSignatures = public keys in G1): SkToPk and Sign
//    with the POP ciphersuite DST.
// Run:  tests/interop/ensure_deps.sh bls && node tests/interop/bls/gen_oracle_vectors.mjs > tests/vectors/bls-oracle/eip2334_noble.json
// The output is deterministic (no randomness); re-running must give the same file.
import { deriveMasterSK, deriveChildSKMultiple, pathToIndices } from '@chainsafe/bls-hd-key';
import { bls12_381 } from '@noble/curves/bls12-381.js';

const DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';
const bls = bls12_381.longSignatures;
const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => Uint8Array.from(Buffer.from(s.replace(/^0x/, ''), 'hex'));

// ERC-2333 test case 0 seed (the BIP-39 seed of "abandon x11 about" / "TREZOR") and test case 3 seed.
const seeds = [
  'c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04',
  'd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3',
];
const paths = [
  'm/12381/3600/0/0/0',
  'm/12381/3600/0/0',
  'm/12381/3600/1/0/0',
  'm/12381/3600/7/0/0',
  'm/12381/3600/4294967295/0/0',
  'm/12381/3600/0/0/0/12',
  'm/12381/60/3/0/0',
];

const cases = [];
for (const seed of seeds) {
  const master = deriveMasterSK(unhex(seed));
  for (const path of paths) {
    const sk = deriveChildSKMultiple(master, pathToIndices(path, null));
    const msg = new TextEncoder().encode(`teekm oracle ${path}`);
    const pk = bls.getPublicKey(sk);
    const sig = bls.sign(bls.hash(msg, DST), sk);
    if (!bls.verify(sig, bls.hash(msg, DST), pk)) throw new Error('noble does not verify its own signature');
    cases.push({
      seed,
      path,
      sk: hex(sk),
      pubkey: hex(pk.toBytes(true)),
      message: hex(msg),
      signature: hex(sig.toBytes(true)),
    });
  }
}
process.stdout.write(
  JSON.stringify(
    {
      source: 'tests/interop/bls/gen_oracle_vectors.mjs: @chainsafe/bls-hd-key 0.3.0 + @noble/curves 2.4.0 (see package-lock.json)',
      dst: DST,
      cases,
    },
    null,
    1,
  ) + '\n',
);
