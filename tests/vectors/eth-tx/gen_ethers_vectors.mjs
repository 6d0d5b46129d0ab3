// Regenerates ethers_signed.json with ethers 6.17.0 (tests/interop/ethers):
//   bash tests/interop/ensure_deps.sh ethers && node tests/vectors/eth-tx/gen_ethers_vectors.mjs
// Fixed transactions of every type, signed by ethers; the unit tests
// (tests/unit/eth/test_tx.c) check that teekm parses the request, computes the
// same signing hash, signs to the same bytes, and decodes the bytes back to the
// same sender and authorities.
import fs from "node:fs";
const E = await import(new URL("../../interop/ethers/node_modules/ethers/lib.esm/index.js", import.meta.url));
const { Wallet, Transaction, JsonRpcApiProvider, Signature, toQuantity, verifyAuthorization, getAddress } = E;

const key = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
const w = new Wallet(key);
const auth1 = new Wallet("0x" + "11".repeat(32));
const MAX = (1n << 256n) - 1n;
const erc20 = "0xa9059cbb000000000000000000000000" + "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed".toLowerCase() +
    (10n ** 24n).toString(16).padStart(64, "0");

const cases = [
    { name: "legacy-contract-creation", tx: { type: 0, chainId: 1n, nonce: 0, gasPrice: 1n, gasLimit: 53000n, to: null, value: 0n, data: "0x00" } },
    { name: "eip2930-access-list", tx: { type: 1, chainId: 11155111n, nonce: 7, gasPrice: 30000000000n, gasLimit: 100000n, to: "0x000000000000000000000000000000000000dEaD", value: 1n, data: "0x7f",
        accessList: [{ address: "0xde0B295669a9FD93d5F28D9Ec85E40f4cb697BAe", storageKeys: ["0x" + "00".repeat(31) + "03", "0x" + "ff".repeat(32)] }, { address: "0x" + "00".repeat(20), storageKeys: [] }] } },
    { name: "eip1559-erc20-transfer", tx: { type: 2, chainId: 1n, nonce: 42, maxPriorityFeePerGas: 1500000000n, maxFeePerGas: 30000000000n, gasLimit: 65000n, to: "0xdAC17F958D2ee523a2206206994597C13D831ec7", value: 0n, data: erc20, accessList: [] } },
    { name: "eip1559-max-values", tx: { type: 2, chainId: MAX, nonce: Number.MAX_SAFE_INTEGER, maxPriorityFeePerGas: MAX, maxFeePerGas: MAX, gasLimit: 1n, to: "0x" + "ff".repeat(20), value: MAX, data: "0x", accessList: [] } },
    { name: "eip4844-blob", tx: { type: 3, chainId: 1n, nonce: 3, maxPriorityFeePerGas: 1n, maxFeePerGas: 2n, gasLimit: 21000n, to: "0x" + "12".repeat(20), value: 0n, data: "0x", accessList: [],
        maxFeePerBlobGas: 1000n, blobVersionedHashes: ["0x01" + "aa".repeat(31), "0x01" + "00".repeat(31)] } },
    { name: "eip7702-set-code", tx: { type: 4, chainId: 1n, nonce: 1, maxPriorityFeePerGas: 2n, maxFeePerGas: 3n, gasLimit: 90000n, to: "0x" + "34".repeat(20), value: 0n, data: "0x", accessList: [],
        authorizationList: [
            auth1.authorizeSync({ address: "0x" + "56".repeat(20), nonce: 0n, chainId: 1n }),
            auth1.authorizeSync({ address: "0x" + "78".repeat(20), nonce: (1n << 64n) - 2n, chainId: 0n }),
            { address: "0x" + "9a".repeat(20), nonce: 5n, chainId: 1n, signature: Signature.from({ r: "0x" + "01".repeat(32), s: "0x" + "02".repeat(32), yParity: 0 }) },
        ] } },
];

const out = { source: "ethers 6.17.0, tests/vectors/eth-tx/gen_ethers_vectors.mjs", privateKey: key, from: w.address, cases: [] };
for (const c of cases) {
    const t = Transaction.from(c.tx);
    t.signature = w.signingKey.sign(t.unsignedHash);
    const request = JsonRpcApiProvider.prototype.getRpcTransaction.call(null, { ...c.tx, from: w.address });
    if (c.tx.type === 3) request.maxFeePerBlobGas = toQuantity(c.tx.maxFeePerBlobGas);
    const authorities = (c.tx.authorizationList ?? []).map((a) => {
        try { return getAddress(verifyAuthorization({ address: a.address, nonce: a.nonce, chainId: a.chainId }, a.signature)); }
        catch { return null; }
    });
    out.cases.push({ name: c.name, request, signingHash: t.unsignedHash, raw: t.serialized, hash: t.hash, authorities });
}
fs.writeFileSync(new URL("ethers_signed.json", import.meta.url), JSON.stringify(out, null, 2) + "\n");
