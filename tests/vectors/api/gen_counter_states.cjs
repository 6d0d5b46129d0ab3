// Generates counter_states.json: teekm-verifier CounterState answers signed by ethers v6 (the
// independent side), for tests/unit/api/test_vcounter.c. Run from the repository root:
//   tests/interop/ensure_deps.sh ethers && node tests/vectors/api/gen_counter_states.cjs > tests/vectors/api/counter_states.json
// The keys are fixed test keys (never used elsewhere); the output is deterministic (RFC 6979).
const { ethers } = require('../../interop/ethers/node_modules/ethers');

const domain = { name: 'teekm-verifier', version: '1' };
const types = {
  CounterState: [
    { name: 'instanceId', type: 'bytes32' },
    { name: 'value', type: 'uint64' },
    { name: 'time', type: 'uint64' },
    { name: 'challenge', type: 'bytes32' },
  ],
};
const verifier = new ethers.Wallet('0x' + '11'.repeat(32));
const other = new ethers.Wallet('0x' + '22'.repeat(32));
const instanceA = '0x' + 'a1'.repeat(32);
const instanceB = '0x' + 'b2'.repeat(32);
const challenge = '0x' + 'c3'.repeat(32);

function state(key, instanceId, value, time, ch) {
  const msg = { instanceId, value, time, challenge: ch };
  const digest = ethers.TypedDataEncoder.hash(domain, types, msg);
  const sig = key.signingKey.sign(digest).serialized; // r ‖ s ‖ v, v 27/28, low s
  return {
    digest,
    state: { instanceId, value, time, challenge: ch, signature: sig, verifier: verifier.address },
  };
}

const out = {
  comment: 'CounterState answers signed with ethers v6 ' + ethers.version + ' (tests/vectors/api/gen_counter_states.cjs)',
  signer: verifier.address,
  otherSigner: other.address,
  instanceId: instanceA,
  challenge,
  cases: {
    valid: state(verifier, instanceA, 41, 1750000000, challenge),
    big: state(verifier, instanceA, 9007199254740991, 4102444800, challenge),
    otherSigner: state(other, instanceA, 41, 1750000000, challenge),
    otherInstance: state(verifier, instanceB, 41, 1750000000, challenge),
    otherChallenge: state(verifier, instanceA, 41, 1750000000, '0x' + 'c4'.repeat(32)),
    above: state(verifier, instanceA, 50, 1750000003, challenge),
  },
};
console.log(JSON.stringify(out, null, 1));
