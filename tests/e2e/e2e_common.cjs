/*
 * Shared by the end-to-end tests: a test PKI made with the openssl CLI,
 * `teekm init`, a teekmd child process on a free loopback port, and JSON-RPC
 * / REST over node's https with client certificates.
 */
'use strict';
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const https = require('https');
const path = require('path');

let failures = 0;
function check(cond, what) {
  if (!cond) { console.error('FAIL: ' + what); failures++; } else console.log('ok: ' + what);
}
function failed() { return failures; }

/* A CA and client certificates (clientAuth) signed by it, in dir. */
function makeCa(dir, name) {
  const key = path.join(dir, name + '.key'), crt = path.join(dir, name + '.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', crt, '-days', '2', '-subj', '/CN=' + name,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'], { stdio: 'ignore' });
  return { key, crt };
}
function makeClient(dir, ca, cn) {
  const key = path.join(dir, cn + '.key'), csr = path.join(dir, cn + '.csr'), crt = path.join(dir, cn + '.crt');
  const ext = path.join(dir, cn + '.ext');
  fs.writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', csr, '-subj', '/CN=' + cn], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.crt, '-CAkey', ca.key, '-CAcreateserial',
    '-out', crt, '-days', '2', '-extfile', ext], { stdio: 'ignore' });
  const fpr = execFileSync('openssl', ['x509', '-in', crt, '-noout', '-fingerprint', '-sha256']).toString()
    .split('=')[1].trim().replace(/:/g, '').toLowerCase();
  return { key, cert: crt, fingerprint: '0x' + fpr };
}

function teekm(args, opts = {}) {
  return execFileSync('teekm', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

/* teekmd on 127.0.0.1:0; resolves with {proc, url, port} once it printed its listening line. */
function startDaemon(dataDir, extra = [], logFile) {
  return new Promise((resolve, reject) => {
    const log = fs.openSync(logFile, 'a');
    const proc = spawn('teekmd', ['--data-dir', dataDir, '--listen', '127.0.0.1:0', ...extra],
      { stdio: ['ignore', 'pipe', log] });
    let buf = '';
    const timer = setTimeout(() => reject(new Error('teekmd did not start: see ' + logFile)), 20000);
    proc.stdout.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        const j = JSON.parse(buf.slice(0, nl));
        resolve({ proc, url: j.url, port: Number(j.url.split(':').pop()), ready: j });
      }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error('teekmd exited ' + code + ': see ' + logFile)); });
  });
}
/* SIGTERM and wait; a daemon that does not stop within 15 s is a failure (with its threads' signal state). */
function stopDaemon(d) {
  return new Promise((resolve, reject) => {
    d.proc.removeAllListeners('exit');
    const timer = setTimeout(() => {
      let diag = '';
      try {
        for (const t of fs.readdirSync(`/proc/${d.proc.pid}/task`)) {
          const st = fs.readFileSync(`/proc/${d.proc.pid}/task/${t}/status`, 'utf8');
          diag += t + ' ' + st.split('\n').filter((l) => /^(Name|State|SigPnd|ShdPnd|SigBlk|SigCgt):/.test(l)).join(' ') + '\n';
        }
      } catch (e) { diag += String(e); }
      d.proc.kill('SIGKILL');
      reject(new Error('teekmd did not stop within 15 s of SIGTERM:\n' + diag));
    }, 15000);
    d.proc.on('exit', (code, sig) => { clearTimeout(timer); resolve({ code, sig }); });
    if (!d.proc.kill('SIGTERM')) { clearTimeout(timer); reject(new Error('could not send SIGTERM to teekmd')); }
  });
}

/* One HTTPS request; who = {cert, key} or null; ca = the server certificate file (read now: it changes per start). */
function request(url, who, ca, method, p, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const opts = { host: u.hostname, port: u.port, path: p, method, ca: fs.readFileSync(ca),
      headers: { ...headers }, agent: false };
    if (who) { opts.cert = fs.readFileSync(who.cert); opts.key = fs.readFileSync(who.key); }
    if (body !== undefined && body !== null) {
      const b = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      opts.headers['Content-Type'] = opts.headers['Content-Type'] || 'application/json';
      opts.headers['Content-Length'] = b.length;
      body = b;
    }
    const req = https.request(opts, (res) => {
      const chunks = [];
      let ended = false;
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => { ended = true; resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }); });
      /* an answer cut short must fail the test, not leave it waiting forever */
      res.on('error', reject);
      res.on('close', () => { if (!ended) reject(new Error(method + ' ' + p + ': the answer was cut short (' + Buffer.concat(chunks).length + ' bytes)')); });
    });
    req.setTimeout(60000, () => req.destroy(new Error(method + ' ' + p + ': no answer within 60 s')));
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

/* An ethers FetchRequest that speaks HTTPS with the client's certificate (mutual TLS) to url. */
function fetchRequest(ethers, url, who, ca) {
  const req = new ethers.FetchRequest(url);
  req.getUrlFunc = (r) => new Promise((resolve, reject) => {
    const u = new URL(r.url);
    const body = r.body ? Buffer.from(r.body) : null;
    const hr = https.request({ host: u.hostname, port: u.port, path: u.pathname, method: r.method,
      headers: { ...r.headers, ...(body ? { 'content-length': body.length } : {}) },
      ca: fs.readFileSync(ca), cert: fs.readFileSync(who.cert), key: fs.readFileSync(who.key) }, (res) => {
      const chunks = [];
      let ended = false;
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => { ended = true; resolve({ statusCode: res.statusCode, statusMessage: res.statusMessage,
        headers: res.headers, body: new Uint8Array(Buffer.concat(chunks)) }); });
      /* an answer cut short must fail the test, not leave it waiting forever */
      res.on('error', reject);
      res.on('close', () => { if (!ended) reject(new Error('answer cut short')); });
    });
    hr.setTimeout(60000, () => hr.destroy(new Error('no answer within 60 s')));
    hr.on('error', reject);
    if (body) hr.write(body);
    hr.end();
  });
  return req;
}

let rpcId = 0;
async function rpc(url, who, ca, method, params) {
  const r = await request(url, who, ca, 'POST', '/', { jsonrpc: '2.0', id: ++rpcId, method, params });
  if (r.status !== 200) throw new Error('HTTP ' + r.status + ': ' + r.body);
  return JSON.parse(r.body);
}

module.exports = { check, failed, makeCa, makeClient, teekm, startDaemon, stopDaemon, request, rpc, fetchRequest };
