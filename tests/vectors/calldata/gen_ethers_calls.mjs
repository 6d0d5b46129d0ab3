// Regenerates ethers_calls.json with ethers 6.17.0 (tests/interop/ethers):
//   bash tests/interop/ensure_deps.sh ethers && node tests/vectors/calldata/gen_ethers_calls.mjs
// Every ERC-20 / ERC-3643 function teekm knows, encoded by ethers' ABI coder from
// its human-readable signature; the selector is ethers' (keccak of the signature).
// tests/unit/eth/test_token.c decodes each `data` and compares with `args`.
import fs from "node:fs";
const E = await import(new URL("../../interop/ethers/node_modules/ethers/lib.esm/index.js", import.meta.url));
const { Interface, getAddress } = E;

const A = (b) => getAddress("0x" + b.repeat(20));
const MAX = (1n << 256n) - 1n;
const calls = [
    ["transfer(address to, uint256 value)", [A("35"), 10n ** 18n]],
    ["transfer(address to, uint256 value)", [A("00"), 0n]],
    ["transfer(address to, uint256 value)", [A("ff"), MAX]],
    ["transferFrom(address from, address to, uint256 value)", [A("11"), A("22"), 1n]],
    ["approve(address spender, uint256 value)", [A("33"), MAX]],
    ["increaseAllowance(address spender, uint256 addedValue)", [A("44"), 5n]],
    ["decreaseAllowance(address spender, uint256 subtractedValue)", [A("55"), 6n]],
    ["setName(string name)", ["Tokenised Bond 2030"]],
    ["setName(string name)", [""]],
    ["setSymbol(string symbol)", ["€BOND-🏦-" + "x".repeat(40)]],
    ["setOnchainID(address onchainID)", [A("66")]],
    ["pause()", []],
    ["unpause()", []],
    ["setAddressFrozen(address userAddress, bool freeze)", [A("77"), true]],
    ["setAddressFrozen(address userAddress, bool freeze)", [A("77"), false]],
    ["freezePartialTokens(address userAddress, uint256 amount)", [A("88"), 123456789n]],
    ["unfreezePartialTokens(address userAddress, uint256 amount)", [A("99"), 1n]],
    ["setIdentityRegistry(address identityRegistry)", [A("aa")]],
    ["setCompliance(address compliance)", [A("bb")]],
    ["forcedTransfer(address from, address to, uint256 amount)", [A("cc"), A("dd"), 10n ** 20n]],
    ["mint(address to, uint256 amount)", [A("ee"), 1000n]],
    ["burn(address userAddress, uint256 amount)", [A("12"), 1000n]],
    ["recoveryAddress(address lostWallet, address newWallet, address investorOnchainID)", [A("13"), A("14"), A("15")]],
    ["batchTransfer(address[] toList, uint256[] amounts)", [[A("16"), A("17"), A("18")], [1n, 2n, MAX]]],
    ["batchTransfer(address[] toList, uint256[] amounts)", [[], []]],
    ["batchForcedTransfer(address[] fromList, address[] toList, uint256[] amounts)", [[A("19"), A("1a")], [A("1b"), A("1c")], [7n, 8n]]],
    ["batchMint(address[] toList, uint256[] amounts)", [[A("1d")], [9n]]],
    ["batchBurn(address[] userAddresses, uint256[] amounts)", [[A("1e"), A("1f")], [10n, 11n]]],
    ["batchSetAddressFrozen(address[] userAddresses, bool[] freeze)", [[A("20"), A("21"), A("23")], [true, false, true]]],
    ["batchFreezePartialTokens(address[] userAddresses, uint256[] amounts)", [[A("24")], [12n]]],
    ["batchUnfreezePartialTokens(address[] userAddresses, uint256[] amounts)", [[A("25"), A("26")], [13n, 0n]]],
    ["addAgent(address agent)", [A("27")]],
    ["removeAgent(address agent)", [A("28")]],
    ["transferOwnership(address newOwner)", [A("29")]],
];

const jsonArg = (v) => Array.isArray(v) ? v.map(jsonArg) : typeof v === "bigint" ? v.toString() : v;
const out = { source: "ethers 6.17.0 Interface.encodeFunctionData, tests/vectors/calldata/gen_ethers_calls.mjs", calls: [] };
for (const [sig, args] of calls) {
    const iface = new Interface(["function " + sig]);
    const f = iface.fragments[0];
    out.calls.push({
        signature: f.format("sighash"), selector: f.selector, function: f.name,
        names: f.inputs.map((i) => i.name), types: f.inputs.map((i) => i.type),
        args: args.map(jsonArg), data: iface.encodeFunctionData(f, args),
    });
}
fs.writeFileSync(new URL("ethers_calls.json", import.meta.url), JSON.stringify(out, null, 2) + "\n");
