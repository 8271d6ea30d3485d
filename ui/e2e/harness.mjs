// Test harness shared by the end-to-end tests and the benchmark: a real
// odh-server (local engine) on a free loopback port with a temporary state
// dir, and Debian's Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const uiDir = resolve(here, '..');
export const repoDir = resolve(uiDir, '..');
export const artifactsDir = join(repoDir, 'test-results', 'ui');

export function serverBin() {
  const env = process.env.ODH_SERVER_BIN;
  const candidates = env ? [resolve(env), resolve(repoDir, env)] : [join(repoDir, 'bin', 'odh-server')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new Error(`odh-server not found (${candidates.join(', ')}): run "make build" or set ODH_SERVER_BIN`);
  }
  return found;
}

export function chromiumPath() {
  const p = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
  if (!existsSync(p)) throw new Error(`Chromium not found at ${p}: apt-get install -y chromium (or set CHROMIUM_BIN)`);
  return p;
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** startServer starts odh-server and resolves when /healthz answers. */
export async function startServer({ extraArgs = [], tokenFile = true } = {}) {
  const bin = serverBin();
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), 'odh-ui-e2e-'));
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(bin, ['--engine=local', `--listen=127.0.0.1:${port}`, `--state-dir=${stateDir}`, '--log-level=warn', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: repoDir,
  });
  let output = '';
  proc.stdout.on('data', (d) => (output += d));
  proc.stderr.on('data', (d) => (output += d));
  let exited = false;
  proc.on('exit', () => (exited = true));
  // Never leave the server behind, even when the runner dies (Ctrl-C, a closed pipe).
  const kill = () => {
    if (!exited) proc.kill('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  };
  process.once('exit', kill);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGPIPE', 'SIGHUP']) {
    process.once(sig, () => {
      kill();
      process.exit(130);
    });
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`odh-server exited early:\n${output}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`odh-server did not start within 30s:\n${output}`);
    await sleep(100);
  }
  // With --policy-file the tokens are the file's; there is no token file.
  const token = tokenFile ? readFileSync(join(stateDir, 'token'), 'utf8').trim() : '';
  return {
    url,
    token,
    stateDir,
    output: () => output,
    async api(method, path, body) {
      let r;
      let text;
      // The server rate-limits each user; seeding many jobs waits its turn.
      for (let attempt = 0; ; attempt++) {
        r = await fetch(`${url}${path}`, {
          method,
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        text = await r.text();
        if (r.status !== 429 || attempt >= 50) break;
        const after = Number(r.headers.get('Retry-After'));
        await sleep(after > 0 ? after * 1000 : 20 * (attempt + 1));
      }
      if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${text}`);
      return text ? JSON.parse(text) : {};
    },
    async stop() {
      if (!exited) {
        proc.kill('SIGTERM');
        for (let i = 0; i < 50 && !exited; i++) await sleep(100);
        if (!exited) proc.kill('SIGKILL');
      }
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** launchBrowser starts headless Debian Chromium with a fresh profile and no background networking. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export function ensureArtifacts() {
  mkdirSync(artifactsDir, { recursive: true });
  return artifactsDir;
}
