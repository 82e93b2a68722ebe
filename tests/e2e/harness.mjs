// The shared harness of the workbench's browser tests: a real annotd (fresh
// data dir, ephemeral port, the built web/dist) with an owner and an
// annotator, Debian's Chromium through playwright-core, and the helpers the
// tests share. useWorkbench(setup) registers the before/after hooks of the
// calling test file; setup(h) creates what that file needs through h.ok().
// Env: ANNOTD_BIN (default build/annotd), CHROMIUM (default /usr/bin/chromium).
// Options: useWorkbench(setup, { env }) adds environment variables to the
// server's (for instance ANNOTD_LLM_ALLOW, the operator's allow list of
// model endpoints); `env` may be a function, called just before the start.
// useWorkbench(setup, { launched }) calls launched(h) once the browser is up,
// in the same hook (a file's own root-level before() may run alongside it).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(ROOT, 'web/package.json'));
const { chromium } = require('playwright-core');

const BIN = path.resolve(ROOT, process.env.ANNOTD_BIN || 'build/annotd');
const WEB = path.join(ROOT, 'web/dist');
const SHOTS = path.join(ROOT, 'screenshots');
export const OWNER = 'admin';
export const OWNER_PW = 'owner-password-123';
export const ANNOTATOR = 'anna';
export const ANNOTATOR_PW = 'anna-password-123';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export function useWorkbench(setup, opts = {}) {
  let tmp, proc;
  let serverLog = '';
  const h = { base: '', browser: null, ownerToken: null, log: () => serverLog };

  h.call = async (method, urlPath, body, token = h.ownerToken, contentType = 'application/json') => {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    const raw = Buffer.isBuffer(body); // bytes (a media upload) go as they are, with no Content-Type
    if (body !== undefined && !raw) headers['Content-Type'] = contentType;
    const r = await fetch(h.base + urlPath, {
      method,
      headers,
      body: body === undefined ? undefined : raw || typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  };

  h.ok = async (method, urlPath, body, want = 200, token) => {
    const r = await h.call(method, urlPath, body, token);
    assert.equal(r.status, want, `${method} ${urlPath}: ${JSON.stringify(r.body)}`);
    return r.body;
  };

  h.shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  h.annotatorToken = async () =>
    (await h.ok('POST', '/api/v1/auth/login', { login: ANNOTATOR, password: ANNOTATOR_PW }, 200, null)).token;

  /* Log in as the annotator on the project's stream and start: the assignment id. */
  h.openStream = async (page, projectId) => {
    await page.goto(`${h.base}/projects/${projectId}/annotate`);
    await page.fill('input[name=login]', ANNOTATOR);
    await page.fill('input[name=password]', ANNOTATOR_PW);
    await page.click('button[type=submit]');
    await page.click('[data-testid=start]');
    await page.waitForSelector('[data-testid=task-text]');
    return Number(await page.getAttribute('.work', 'data-assignment'));
  };

  h.saveState = (page, text, timeout = 15000) =>
    page.waitForFunction((want) => document.querySelector('[data-testid=save-state]')?.textContent === want,
      text, { timeout });

  before(async () => {
    assert.ok(existsSync(BIN), `no annotd binary at ${BIN} (make build)`);
    assert.ok(existsSync(path.join(WEB, 'index.html')), `no ${WEB}/index.html (make build)`);
    mkdirSync(SHOTS, { recursive: true });
    tmp = mkdtempSync(path.join(tmpdir(), 'annotd-e2e-'));
    const data = path.join(tmp, 'data');
    writeFileSync(path.join(tmp, 'pw'), OWNER_PW + '\n');
    execFileSync(BIN, ['init', '--data', data, '--owner', OWNER, '--password-file', path.join(tmp, 'pw'),
      '--password-cost', 'min'], { stdio: 'pipe' });
    const port = await freePort();
    h.base = `http://127.0.0.1:${port}`;
    const extra = typeof opts.env === 'function' ? await opts.env() : opts.env;
    proc = spawn(BIN, ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--password-cost', 'min',
      '--web', WEB], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...(extra || {}) } });
    proc.stderr.on('data', (d) => { serverLog += d; });
    const deadline = Date.now() + 20000;
    for (;;) {
      try {
        if ((await fetch(h.base + '/healthz')).status === 200) break;
      } catch { /* not yet */ }
      assert.ok(Date.now() < deadline, 'annotd did not become healthy\n' + serverLog);
      await new Promise((r) => setTimeout(r, 50));
    }
    h.ownerToken = (await h.ok('POST', '/api/v1/auth/login', { login: OWNER, password: OWNER_PW }, 200, null)).token;
    await h.ok('POST', '/api/v1/users',
      { login: ANNOTATOR, password: ANNOTATOR_PW, name: '安娜', role: 'annotator' }, 201);
    await setup(h);
    h.browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
      // launch() gives the browser a fresh temporary profile (--user-data-dir) of its own
    });
    if (opts.launched) await opts.launched(h);
  });

  after(async () => {
    if (h.browser) await h.browser.close();
    if (proc && proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  return h;
}

/* Drag the mouse over the code points [start, end) of the task text. */
export async function selectText(page, start, end) {
  const box = await page.evaluate(([s, e]) => {
    const el = document.querySelector('[data-testid=task-text]');
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const units = []; // UTF-16 position of every code point: [node, offset]
    for (let n = walker.nextNode(); n; n = walker.nextNode())
      for (let i = 0; i < n.data.length; i++) {
        const c = n.data.charCodeAt(i);
        units.push([n, i]);
        if (c >= 0xd800 && c <= 0xdbff) i++;
      }
    const rectOf = (k) => {
      const r = document.createRange();
      const [node, off] = units[k];
      r.setStart(node, off);
      r.setEnd(node, off + (node.data.codePointAt(off) > 0xffff ? 2 : 1));
      return r.getBoundingClientRect();
    };
    const a = rectOf(s);
    const b = rectOf(e - 1);
    return { x1: a.left + 1, y1: a.top + a.height / 2, x2: b.right - 1, y2: b.top + b.height / 2 };
  }, [start, end]);
  await page.mouse.move(box.x1, box.y1);
  await page.mouse.down();
  await page.mouse.move(box.x2, box.y2, { steps: 5 });
  await page.mouse.up();
}
