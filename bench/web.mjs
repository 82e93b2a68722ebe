#!/usr/bin/env node
// The workbench benchmark: `make bench-web` (= node bench/web.mjs build).
//
// Starts annotd (fresh data dir under /tmp, 127.0.0.1, an ephemeral port,
// --password-cost min) with the built web/dist (built first when missing),
// drives Debian's Chromium headless through playwright-core and measures:
//   1. JS+CSS of the app shell and of each tool chunk (text, image, llm):
//      every script/stylesheet response of opening a task of that kind, each
//      body gzipped with zlib (level 9) — what a gzip-serving proxy would send;
//      the shell is what all three kinds load, a tool is the rest.
//   2. submit → next task interactive: Ctrl+Enter (a keydown on window, as the
//      key handler sees it) until the next task's text is in the DOM, the stream
//      is back in phase "working" (the submit button enabled) and a frame has
//      been painted; 20 submits after 3 warm-ups, p50/p95/max. Before each
//      submit (untimed) the bench waits until the stream's prefetch of the next
//      task has landed (`.annotate[data-next]` not "pending"), as it has for an
//      annotator who spends more than a few milliseconds on a task; the plain
//      /next requests (no ?after=: a claim the new task waits for) sent inside
//      the timed windows are counted.
//   3. a pan step with 5,000 polygons: the method of tests/e2e/image.test.mjs
//      (middle-button drag, one step per animation frame, 60 steps).
// Prints a table; with --write (make bench-web passes it) it also replaces
// the "Workbench" section of bench/README.md. It asserts nothing.
// Env: CHROMIUM (default /usr/bin/chromium); WEB_DIST (default web/dist).
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { gzipSync, deflateSync } from 'node:zlib';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(ROOT, 'web/package.json'));
const { chromium } = require('playwright-core');
const args = process.argv.slice(2);
const WRITE = args.includes('--write');
const BUILD = args.find((a) => !a.startsWith('--')) || 'build';
const BIN = path.resolve(ROOT, BUILD, 'annotd');
const WEB = process.env.WEB_DIST ? path.resolve(process.env.WEB_DIST) : path.join(ROOT, 'web/dist'); /* another build of the UI (e.g. a before/after comparison) */
const OWNER_PW = 'owner-password-123';
const PW = 'bench-password-123';
const SUBMITS = 20;
const WARMUP = 3;

if (!existsSync(BIN)) throw new Error(`no annotd binary at ${BIN} (ninja -C ${BUILD})`);
if (!existsSync(path.join(WEB, 'index.html'))) execFileSync('npm', ['run', 'build'], { cwd: path.join(ROOT, 'web'), stdio: 'inherit' });

const freePort = () => new Promise((resolve, reject) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  s.on('error', reject);
});

let base, ownerToken;
async function ok(method, p, body, want, token = ownerToken) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined && !Buffer.isBuffer(body)) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body) });
  const text = await r.text();
  if (r.status !== want) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/* a W×H RGB PNG, one colour */
function makePng(w, h) {
  const table = new Int32Array(256).map((_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c; });
  const crc32 = (buf) => { let c = 0xffffffff; for (const b of buf) c = table[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set([120, 170, 210], y * (w * 3 + 1) + 1 + x * 3);
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const pct = (a, p) => { const s = a.slice().sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
const kb = (n) => (n / 1024).toFixed(1);

const tmp = mkdtempSync(path.join(tmpdir(), 'annotd-bench-web-'));
let proc, browser;
try {
  const data = path.join(tmp, 'data');
  writeFileSync(path.join(tmp, 'pw'), OWNER_PW + '\n');
  execFileSync(BIN, ['init', '--data', data, '--owner', 'admin', '--password-file', path.join(tmp, 'pw'), '--password-cost', 'min'], { stdio: 'pipe' });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  proc = spawn(BIN, ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--password-cost', 'min', '--web', WEB], { stdio: ['ignore', 'ignore', 'ignore'] });
  for (const deadline = Date.now() + 20000; ; ) {
    try { if ((await fetch(base + '/healthz')).status === 200) break; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error('annotd did not become healthy');
    await new Promise((r) => setTimeout(r, 50));
  }
  ownerToken = (await ok('POST', '/api/v1/auth/login', { login: 'admin', password: OWNER_PW }, 200, null)).token;
  await ok('POST', '/api/v1/users', { login: 'bench', password: PW, name: 'Bench', role: 'annotator' }, 201);

  const W = 1280, H = 960;
  const text = await ok('POST', '/api/v1/projects', { name: 'bench text', kind: 'text',
    config: { classes: { choices: ['pos', 'neg'] }, spans: { labels: ['PER', 'LOC'] }, relations: { labels: ['rel'] } } }, 201);
  const texts = Array.from({ length: SUBMITS + WARMUP + 1 }, (_, i) => `第 ${i + 1} 条：张三在北京工作。Task ${i + 1}.`);
  await ok('POST', `/api/v1/projects/${text.id}/tasks`, texts.map((t, i) => ({ key: `t${i}`, priority: 1000 - i, data: { text: t } })), 200);
  const image = await ok('POST', '/api/v1/projects', { name: 'bench image', kind: 'image',
    config: { tools: ['box', 'polygon'], labels: [{ name: 'car' }, { name: 'person' }] } }, 201);
  const media = await ok('POST', '/api/v1/media', makePng(W, H), 201);
  await ok('POST', `/api/v1/projects/${image.id}/tasks`, [{ key: 'img', data: { image: media.id, width: W, height: H } }], 200);
  const llm = await ok('POST', '/api/v1/projects', { name: 'bench llm', kind: 'llm', config: { mode: 'pairwise' } }, 201);
  await ok('POST', `/api/v1/projects/${llm.id}/tasks`, [{ key: 'l', data: { prompt: '哪个更好？', responses: [{ id: 'a', text: 'A' }, { id: 'b', text: 'B' }] } }], 200);

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });

  /* open the stream of project p logged in, in a fresh context; the JS+CSS it fetched */
  async function open(p, ready) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const assets = new Map();
    page.on('response', async (r) => {
      const type = r.request().resourceType();
      if (type !== 'script' && type !== 'stylesheet') return;
      try { const body = await r.body(); assets.set(new URL(r.url()).pathname, { raw: body.length, gz: gzipSync(body, { level: 9 }).length }); } catch { /* gone */ }
    });
    await page.goto(`${base}/projects/${p.id}/annotate`);
    await page.fill('input[name=login]', 'bench');
    await page.fill('input[name=password]', PW);
    await page.click('button[type=submit]');
    await page.click('[data-testid=start]');
    await page.waitForSelector(ready);
    await page.waitForLoadState('networkidle');
    return { context, page, assets };
  }

  // 1. sizes
  const opened = {
    text: await open(text, '[data-testid=task-text]'),
    image: await open(image, '[data-testid=image-stage][data-loaded="1"] canvas'),
    llm: await open(llm, '.work'),
  };
  const kinds = Object.keys(opened);
  const shellPaths = [...opened.text.assets.keys()].filter((k) => kinds.every((n) => opened[n].assets.has(k)));
  const sum = (m, keys) => keys.reduce((a, k) => ({ raw: a.raw + m.get(k).raw, gz: a.gz + m.get(k).gz }), { raw: 0, gz: 0 });
  const shell = sum(opened.text.assets, shellPaths);
  const sizes = { shell };
  for (const n of kinds) sizes[n] = sum(opened[n].assets, [...opened[n].assets.keys()].filter((k) => !shellPaths.includes(k)));
  await opened.image.context.close();
  await opened.llm.context.close();

  // 2. submit → next task interactive
  const page = opened.text.page;
  const lat = [];
  let timing = false, nextsTimed = 0;
  page.on('request', (r) => { if (timing && /\/api\/v1\/projects\/\d+\/next$/.test(r.url())) nextsTimed++; });
  for (let i = 0; i < WARMUP + SUBMITS; i++) {
    /* the annotator's "think time": the prefetch has landed (no-op without prefetch) */
    await page.waitForFunction(() => document.querySelector('.annotate')?.dataset.next !== 'pending', null, { timeout: 10000 });
    timing = i >= WARMUP;
    const ms = await page.evaluate(() => new Promise((resolve) => {
      const old = document.querySelector('.work')?.dataset.task;
      const t0 = performance.now();
      const ready = () => {
        const w = document.querySelector('.work');
        const btn = document.querySelector('[data-testid=submit]');
        return w && w.dataset.task !== old && document.querySelector('.annotate')?.dataset.phase === 'working' &&
          btn && !btn.disabled && document.querySelector('[data-testid=task-text]')?.textContent;
      };
      const obs = new MutationObserver(() => {
        if (!ready()) return;
        obs.disconnect();
        requestAnimationFrame(() => resolve(performance.now() - t0)); /* the new task painted */
      });
      obs.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
      window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', ctrlKey: true, bubbles: true, cancelable: true }));
    }));
    timing = false;
    if (i >= WARMUP) lat.push(ms);
  }
  await opened.text.context.close();

  // 3. pan with 5,000 polygons
  const img = await open(image, '[data-testid=image-stage][data-loaded="1"] canvas');
  const ipage = img.page;
  const assignment = Number(await ipage.getAttribute('.work', 'data-assignment'));
  await ipage.evaluate(([id, w, h]) => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const objects = [];
    for (let i = 0; i < 5000; i++) {
      const cx = 20 + rnd() * (w - 40), cy = 20 + rnd() * (h - 40);
      const points = [];
      for (let k = 0; k < 6; k++) {
        const a = (k / 6) * Math.PI * 2, r = 4 + rnd() * 14;
        points.push([Math.round((cx + Math.cos(a) * r) * 100) / 100, Math.round((cy + Math.sin(a) * r) * 100) / 100]);
      }
      objects.push({ id: `p${i + 1}`, type: 'polygon', label: i % 3 ? 'car' : 'person', points });
    }
    localStorage.setItem(`annotd.draft.${id}`, JSON.stringify({ objects }));
  }, [assignment, W, H]);
  await ipage.reload();
  await ipage.waitForSelector('[data-testid=image-stage][data-loaded="1"] canvas');
  await ipage.waitForFunction(() => document.querySelector('.img-side h2 .muted')?.textContent === '(5000)');
  const pan = await ipage.evaluate(async () => {
    const host = document.querySelector('[data-testid=image-stage]');
    const cv = host.__imageCanvas;
    const target = host.querySelector('.konvajs-content');
    const r = host.getBoundingClientRect();
    const x0 = r.left + r.width / 2, y0 = r.top + r.height / 2;
    const opts = (x, y, buttons) => ({ clientX: x, clientY: y, button: 1, buttons, bubbles: true, cancelable: true });
    const frame = () => new Promise((res) => requestAnimationFrame(res));
    await frame();
    target.dispatchEvent(new MouseEvent('mousedown', opts(x0, y0, 4)));
    const stamps = [], draws = [], steps = [];
    for (let i = 1; i <= 60; i++) {
      const t0 = performance.now();
      window.dispatchEvent(new MouseEvent('mousemove', opts(x0 + i * 3, y0 + i * 2, 4)));
      stamps.push(await frame());
      steps.push(performance.now() - t0);
      draws.push(cv.lastDrawMs);
    }
    window.dispatchEvent(new MouseEvent('mouseup', opts(x0 + 180, y0 + 120, 0)));
    return { intervals: stamps.slice(1).map((t, i) => t - stamps[i]), steps, draws, cache: cv.lastCacheMs };
  });
  await img.context.close();

  // the report
  const load = loadavg();
  const f1 = (x) => x.toFixed(1);
  const target = (v, lim) => (v < lim ? 'yes' : '**no**');
  const rows = [
    ['JS+CSS, app shell (gzip)', `${kb(shell.gz)} KB (${kb(shell.raw)} KB raw)`, '', ''],
  ];
  for (const n of kinds) {
    const tot = shell.gz + sizes[n].gz;
    rows.push([`JS+CSS, shell + ${n} tool (gzip)`, `${kb(tot)} KB (tool ${kb(sizes[n].gz)} KB)`, '< 150 KB', target(tot / 1024, 150)]);
  }
  const p50 = pct(lat, 0.5), p95 = pct(lat, 0.95);
  rows.push([`submit → next task interactive (${SUBMITS} submits) p50`, `${f1(p50)} ms`, '< 100 ms', target(p50, 100)]);
  rows.push(['submit → next task interactive p95 / max', `${f1(p95)} / ${f1(Math.max(...lat))} ms`, '< 100 ms', target(p95, 100)]);
  rows.push(['plain /next (a claim the next task waits for) inside the timed windows', `${nextsTimed} in ${SUBMITS} submits`, '', '']);
  const fi = pan.intervals, st = pan.steps;
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  rows.push(['pan step, 5,000 polygons: frame interval mean / p95', `${f1(mean(fi))} / ${f1(pct(fi, 0.95))} ms`, '< 33 ms', target(pct(fi, 0.95), 33)]);
  rows.push(['pan step, 5,000 polygons: event → drawn frame p95 / max', `${f1(pct(st, 0.95))} / ${f1(Math.max(...st))} ms`, '< 33 ms', target(pct(st, 0.95), 33)]);
  rows.push(['pan step: objects layer draw p95', `${f1(pct(pan.draws, 0.95))} ms`, '', '']);
  rows.push(['5,000 polygons: full redraw of the objects bitmap', `${f1(pan.cache)} ms`, '', '']);
  const table = ['| measure | value | target | met |', '|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const date = new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  const ctx = `${cpus().length} CPUs (${cpus()[0]?.model.trim()}), load average ${load.map((x) => x.toFixed(2)).join(' ')}` +
    (load[0] > cpus().length * 0.7 ? ' — **the machine is shared and was busy: the timings are noisy**' : '');
  const chunks = [...opened.text.assets.keys(), ...opened.image.assets.keys(), ...opened.llm.assets.keys()];
  console.log(table);
  console.log(`\n${date}; ${ctx}`);
  console.log(`shell files: ${shellPaths.join(', ')}`);
  console.log(`submit latencies (ms): ${lat.map(f1).join(' ')}`);
  void chunks;

  if (WRITE) {
    const readme = path.join(ROOT, 'bench/README.md');
    const section = `## Workbench (\`bench/web.mjs\`)

\`\`\`sh
make bench-web                  # = node bench/web.mjs build --write (builds web/dist when missing)
make bench-web BUILD=build-rel  # another build dir
node bench/web.mjs build-rel
\`\`\`

annotd on 127.0.0.1 (fresh data dir, \`--password-cost min\`) with the built
\`web/dist\`, headless Chromium (\`/usr/bin/chromium\`) through playwright-core.
Sizes: every script and stylesheet the page fetched to show a task of that
kind, each body gzipped with zlib level 9 (annotd itself serves them
uncompressed); the shell is what all three kinds load, the tool is the rest
(its chunk, its CSS and the chunks only it imports). Submit → next: a Ctrl+Enter
keydown on \`window\` until the next task's text is shown, the stream is back
in phase \`working\` with the submit button enabled and a frame is painted; ${SUBMITS}
submits after ${WARMUP} warm-ups, loopback; before each submit (untimed) the
bench waits until the prefetch of the next task has landed, and it counts the
plain \`/next\` requests (no \`?after=\`: a claim the next task waits for)
sent inside the timed windows. Pan: the method of
\`tests/e2e/image.test.mjs\` (a ${W}×${H} image, 5,000 six-point polygons from a
local draft, a middle-button drag of 60 steps, one per animation frame).
The bench asserts nothing; the e2e tests hold no wall-clock assertions.

Run ${date}, \`node bench/web.mjs ${BUILD} --write\`; ${ctx}.

${table}
`;
    let md = readFileSync(readme, 'utf8');
    const at = md.indexOf('\n## Workbench');
    if (at >= 0) {
      const next = md.indexOf('\n## ', at + 5);
      md = md.slice(0, at + 1) + section + (next >= 0 ? md.slice(next) : '');
    } else md = md.replace(/\n*$/, '\n\n') + section;
    writeFileSync(readme, md);
    console.log(`\nwritten to ${path.relative(ROOT, readme)}`);
  }
} finally {
  if (browser) await browser.close();
  if (proc && proc.exitCode === null) { proc.kill('SIGTERM'); await new Promise((r) => proc.once('exit', r)); }
  rmSync(tmp, { recursive: true, force: true });
}
