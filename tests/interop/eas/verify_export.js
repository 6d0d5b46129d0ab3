// Verifies teekm-verifier's EAS export (teekm-verifier eas / GET /admin/v1/instances/{id}/eas)
// with the EAS SDK 2.10.0 and ethers 6.17.0, independently of teekm:
//  - every offchain attestation verifies with Offchain(Version2).verifyOffchainAttestationSignature
//    for the configured EAS contract/version/chain (the uid is recomputed by the SDK too),
//    also after the SDK's own share-URL compaction round trip;
//  - the schema UID is SchemaRegistry.getSchemaUID(schema, resolver, revocable);
//  - the data decodes with SchemaEncoder and re-encodes to the same bytes;
//  - the onchain calldata parses with the EAS contract ABI as attest(...) carrying the same record;
//  - a changed byte of the data, a changed time or another attester makes verification fail.
// Usage: node verify_export.js EXPORT.json CHAIN_ID CONTRACT VERSION INSTITUTION REGISTRATION.json
'use strict';
const fs = require('fs');
const { ethers } = require('ethers');
const { Offchain, OffchainAttestationVersion, SchemaEncoder, SchemaRegistry, zipAndEncodeToBase64,
        decodeBase64ZippedBase64 } = require('@ethereum-attestation-service/eas-sdk');
const easAbi = require('@ethereum-attestation-service/eas-contracts/artifacts/contracts/EAS.sol/EAS.json').abi;

const [exportFile, chainId, contract, version, institution, regFile] = process.argv.slice(2);
const exp = JSON.parse(fs.readFileSync(exportFile));
const reg = JSON.parse(fs.readFileSync(regFile));
let failures = 0;
const check = (ok, what) => { if (!ok) { console.error('FAIL: ' + what); failures++; } };

const offchain = new Offchain({ address: ethers.getAddress(contract), version, chainId: BigInt(chainId) },
                              OffchainAttestationVersion.Version2);
check(exp.schemaUid === SchemaRegistry.getSchemaUID(exp.schema, ethers.ZeroAddress, true), 'schema UID');
const enc = new SchemaEncoder(exp.schema);
const iface = new ethers.Interface(easAbi);
check(exp.attestations.length === reg.keys.length && exp.attestations.length > 0, 'one attestation per signer key');

exp.attestations.forEach((a, i) => {
  const sig = a.offchain.sig;
  check(a.offchain.signer === exp.attester, `#${i} signer field`);
  check(offchain.verifyOffchainAttestationSignature(exp.attester, sig) === true, `#${i} SDK verification`);
  const again = decodeBase64ZippedBase64(zipAndEncodeToBase64(a.offchain));
  check(offchain.verifyOffchainAttestationSignature(exp.attester, again.sig) === true, `#${i} after share-URL round trip`);
  check(sig.uid === a.uid, `#${i} uid`);
  check(sig.message.schema === exp.schemaUid, `#${i} schema in message`);
  check(ethers.verifyTypedData(sig.domain, sig.types, sig.message,
        ethers.Signature.from({ r: sig.signature.r, s: sig.signature.s, v: sig.signature.v })) === exp.attester,
        `#${i} ethers recovers the attester`);
  // the data
  const dec = Object.fromEntries(enc.decodeData(sig.message.data).map((d) => [d.name, d.value.value]));
  const key = reg.keys[i];
  check(dec.instanceId === reg.instanceId, `#${i} instanceId`);
  check(dec.institution === institution, `#${i} institution`);
  check(dec.platform === reg.platform, `#${i} platform`);
  check(dec.measurement === reg.measurement, `#${i} measurement`);
  check(Number(dec.tcbStatus) === 0, `#${i} tcbStatus (sim: none)`);
  check(dec.policyHash === reg.policyHash && BigInt(dec.policyVersion) === BigInt(reg.policyVersion), `#${i} policy`);
  check(dec.auditAddress === reg.auditAddress, `#${i} auditAddress`);
  check(dec.signerPublicKey === key.publicKey, `#${i} signerPublicKey`);
  check(dec.signer === (key.address || ethers.ZeroAddress), `#${i} signer address`);
  check(sig.message.recipient === dec.signer, `#${i} recipient is the signer`);
  check(sig.message.time === reg.appraisedAt, `#${i} time is the appraisal time`);
  const reenc = enc.encodeData(enc.decodeData(sig.message.data).map((d) => ({ name: d.name, type: d.type, value: d.value.value })));
  check(reenc === sig.message.data, `#${i} SchemaEncoder re-encodes the same bytes`);
  // the onchain call
  const tx = iface.parseTransaction({ data: a.onchain.data });
  check(tx && tx.name === 'attest', `#${i} calldata is attest(...)`);
  const r = tx.args[0];
  check(r.schema === exp.schemaUid, `#${i} calldata schema`);
  check(r.data.recipient === sig.message.recipient && r.data.expirationTime === BigInt(sig.message.expirationTime) &&
        r.data.revocable === sig.message.revocable && r.data.refUID === ethers.ZeroHash &&
        r.data.data === sig.message.data && r.data.value === 0n, `#${i} calldata request data`);
  check(ethers.getAddress(a.onchain.to) === ethers.getAddress(contract), `#${i} calldata target`);
  // tampering
  const t1 = JSON.parse(JSON.stringify(sig));
  t1.message.data = t1.message.data.slice(0, -2) + (t1.message.data.endsWith('00') ? '01' : '00');
  let ok1;
  try { ok1 = offchain.verifyOffchainAttestationSignature(exp.attester, t1); } catch (e) { ok1 = false; }
  check(ok1 === false, `#${i} changed data must not verify`);
  const t2 = JSON.parse(JSON.stringify(sig));
  t2.message.time += 1;
  let ok2;
  try { ok2 = offchain.verifyOffchainAttestationSignature(exp.attester, t2); } catch (e) { ok2 = false; }
  check(ok2 === false, `#${i} changed time must not verify`);
  check(offchain.verifyOffchainAttestationSignature(ethers.Wallet.createRandom().address, sig) === false,
        `#${i} another attester must not verify`);
});
if (failures) process.exit(1);
console.log(`EAS SDK: ${exp.attestations.length} attestations verified`);
