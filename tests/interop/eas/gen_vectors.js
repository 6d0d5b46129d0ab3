// Generates tests/vectors/eas/eas_vectors.json with the EAS SDK 2.10.0 and
// ethers 6.17.0 (independent of teekm): schema UID, SchemaEncoder data,
// Version2 offchain attestation (uid, EIP-712 digest, signature) and the
// calldata of EAS.attest from the EAS contract ABI.
// Run: node tests/interop/eas/gen_vectors.js > tests/vectors/eas/eas_vectors.json
'use strict';
const path = require('path');
const { ethers } = require('ethers');
const { SchemaEncoder, SchemaRegistry, Offchain, OffchainAttestationVersion } =
  require('@ethereum-attestation-service/eas-sdk');
const easAbi = require('@ethereum-attestation-service/eas-contracts/artifacts/contracts/EAS.sol/EAS.json').abi;

const SCHEMA = 'bytes32 instanceId,string institution,string platform,bytes measurement,uint8 tcbStatus,' +
  'bytes32 policyHash,uint64 policyVersion,address auditAddress,address signer,bytes signerPublicKey';
// a throw-away test key: keccak256("teekm eas vector key")
const KEY = ethers.keccak256(ethers.toUtf8Bytes('teekm eas vector key'));

const cases = [
  {
    name: 'secp256k1 signer, mainnet EAS 0.26, revocable, expires',
    config: { chainId: 1, contract: '0xA1207F3BBa224E2c9c3c6D5aF63D0eb1582Ce587', version: '0.26',
              resolver: ethers.ZeroAddress, revocable: true },
    fields: {
      instanceId: '0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
      institution: 'Example Bank AG', platform: 'tdx',
      measurement: '0x' + 'ab'.repeat(48), tcbStatus: 1,
      policyHash: '0x8a5edab282632443219e051e4ade2d1d5bbc671c781051bf1437897cbdfea0f1', policyVersion: 3,
      auditAddress: '0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF',
      signer: '0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf',
      signerPublicKey: '0x0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8',
    },
    time: 1751624924, expirationTime: 1751711324,
    salt: '0x' + '5a'.repeat(32),
  },
  {
    name: 'BLS signer (zero recipient), Sepolia, non-revocable, resolver set, UTF-8 institution, never expires',
    config: { chainId: 11155111, contract: '0xC2679fBD37d54388Ce493F1DB75320D236e1815e', version: '1.3.0',
              resolver: '0x00000000000000000000000000000000000000a1', revocable: false },
    fields: {
      instanceId: '0x' + 'ff'.repeat(32),
      institution: 'Bänk für Tëst — Zürich', platform: 'sim',
      measurement: '0x' + '01'.repeat(48), tcbStatus: 0,
      policyHash: '0x' + '00'.repeat(31) + '01', policyVersion: 9007199254740991,
      auditAddress: '0x0000000000000000000000000000000000000001',
      signer: ethers.ZeroAddress,
      signerPublicKey: '0x97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb',
    },
    time: 1, expirationTime: 0,
    salt: '0x' + 'c3'.repeat(32),
  },
];

async function main() {
  const wallet = new ethers.Wallet(KEY);
  const iface = new ethers.Interface(easAbi);
  const enc = new SchemaEncoder(SCHEMA);
  const out = { schema: SCHEMA, privateKey: KEY, signer: wallet.address,
                attestSelector: iface.getFunction('attest').selector, cases: [] };
  for (const c of cases) {
    const f = c.fields;
    const data = enc.encodeData([
      { name: 'instanceId', type: 'bytes32', value: f.instanceId },
      { name: 'institution', type: 'string', value: f.institution },
      { name: 'platform', type: 'string', value: f.platform },
      { name: 'measurement', type: 'bytes', value: f.measurement },
      { name: 'tcbStatus', type: 'uint8', value: f.tcbStatus },
      { name: 'policyHash', type: 'bytes32', value: f.policyHash },
      { name: 'policyVersion', type: 'uint64', value: BigInt(f.policyVersion) },
      { name: 'auditAddress', type: 'address', value: f.auditAddress },
      { name: 'signer', type: 'address', value: f.signer },
      { name: 'signerPublicKey', type: 'bytes', value: f.signerPublicKey },
    ]);
    const schemaUid = SchemaRegistry.getSchemaUID(SCHEMA, c.config.resolver, c.config.revocable);
    const offchain = new Offchain({ address: c.config.contract, version: c.config.version,
                                    chainId: BigInt(c.config.chainId) }, OffchainAttestationVersion.Version2);
    const params = { schema: schemaUid, recipient: f.signer, time: BigInt(c.time),
                     expirationTime: BigInt(c.expirationTime), revocable: c.config.revocable,
                     refUID: ethers.ZeroHash, data, salt: c.salt };
    const att = await offchain.signOffchainAttestation(params, wallet);
    const digest = ethers.TypedDataEncoder.hash(att.domain, att.types, att.message);
    const calldata = iface.encodeFunctionData('attest', [{
      schema: schemaUid,
      data: { recipient: f.signer, expirationTime: c.expirationTime, revocable: c.config.revocable,
              refUID: ethers.ZeroHash, data, value: 0 } }]);
    const sig = ethers.Signature.from(att.signature);
    out.cases.push({ name: c.name, config: c.config, fields: f, time: c.time, expirationTime: c.expirationTime,
                     salt: c.salt, schemaUid, data, uid: att.uid, digest,
                     signature: sig.r + sig.s.slice(2) + (sig.v === 28 ? '01' : '00'), calldata });
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}
main().catch((e) => { console.error(e); process.exit(1); });
