// Oracle rate for `teekm bench attest`: loops @phala/dcap-qvl's verify() over
// each case for a time budget and prints one JSON line per case:
// {"name":…, "ops":…, "seconds":…, "ok":true|false, "status":…}.
// Usage: node bench.js SECONDS name=quote,collateral,unixtime ...
'use strict';
const fs = require('fs');
const { verify } = require('@phala/dcap-qvl/src/verify');
const seconds = Number(process.argv[2]);
for (const arg of process.argv.slice(3)) {
  const [name, rest] = arg.split('=');
  const [qf, cf, t] = rest.split(',');
  const quote = new Uint8Array(fs.readFileSync(qf));
  const collateral = JSON.parse(fs.readFileSync(cf, 'utf8'));
  const now = Number(t);
  let ok = true, status = null;
  const once = () => {
    try { status = verify(quote, collateral, now).status; ok = true; } catch (e) { ok = false; status = e.message; }
  };
  once(); // warm-up
  let ops = 0;
  const start = process.hrtime.bigint(), budget = BigInt(Math.round(seconds * 1e9));
  let el = 0n;
  while (el < budget) {
    for (let i = 0; i < 4; i++) once();
    ops += 4;
    el = process.hrtime.bigint() - start;
  }
  console.log(JSON.stringify({ name, ops, seconds: Number(el) / 1e9, ok, status }));
}
