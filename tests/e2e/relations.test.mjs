// Text relations in the workbench: two spans in Chinese text (PER, ORG), a
// relation works_for drawn between them (span → R → target span → label), a
// second one drawn with the button and deleted, submitted; the stored result
// names the spans by id. Same harness as workbench.test.mjs.
const TEXT = '张三在阿里巴巴工作，李四也在。';

async function setup() {
  project = await ok('POST', '/api/v1/projects', {
    name: '关系抽取', kind: 'text',
    config: { spans: { labels: ['PER', 'ORG'], overlap: false }, relations: { labels: ['works_for', 'knows'] } },
  }, 201);
  await ok('POST', `/api/v1/projects/${project.id}/tasks`, [{ key: 'rel', data: { text: TEXT } }]);
  tasks = (await ok('GET', `/api/v1/projects/${project.id}/tasks`)).items;
}
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(ROOT, 'web/package.json'));
const { chromium } = require('playwright-core');

const BIN = path.resolve(ROOT, process.env.ANNOTD_BIN || 'build/annotd');
const WEB = path.join(ROOT, 'web/dist');
const SHOTS = path.join(ROOT, 'screenshots');
const OWNER = 'admin';
const OWNER_PW = 'owner-password-123';
const ANNOTATOR = 'anna';
const ANNOTATOR_PW = 'anna-password-123';

let tmp, proc, base, browser, ownerToken, project, tasks;

let serverLog = '';

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

async function call(method, urlPath, body, token = ownerToken, contentType = 'application/json') {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = contentType;
  const r = await fetch(base + urlPath, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function ok(method, urlPath, body, want = 200, token) {
  const r = await call(method, urlPath, body, token);
  assert.equal(r.status, want, `${method} ${urlPath}: ${JSON.stringify(r.body)}`);
  return r.body;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

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
  base = `http://127.0.0.1:${port}`;
  proc = spawn(BIN, ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--password-cost', 'min',
    '--web', WEB], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr.on('data', (d) => { serverLog += d; });
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      if ((await fetch(base + '/healthz')).status === 200) break;
    } catch { /* not yet */ }
    assert.ok(Date.now() < deadline, 'annotd did not become healthy\n' + serverLog);
    await new Promise((r) => setTimeout(r, 50));
  }

  ownerToken = (await ok('POST', '/api/v1/auth/login', { login: OWNER, password: OWNER_PW }, 200, null)).token;
  await ok('POST', '/api/v1/users', { login: ANNOTATOR, password: ANNOTATOR_PW, name: '安娜', role: 'annotator' }, 201);
  await setup();

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
    // launch() gives the browser a fresh temporary profile (--user-data-dir) of its own
  });
});

after(async () => {
  if (browser) await browser.close();
  if (proc && proc.exitCode === null) {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/* Drag the mouse over the code points [start, end) of the task text. */
async function selectText(page, start, end) {
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


async function openStream(page) {
  await page.goto(`${base}/projects/${project.id}/annotate`);
  await page.fill('input[name=login]', ANNOTATOR);
  await page.fill('input[name=password]', ANNOTATOR_PW);
  await page.click('button[type=submit]');
  await page.click('[data-testid=start]');
  await page.waitForSelector('[data-testid=task-text]');
  return Number(await page.getAttribute('.work', 'data-assignment'));
}

const annotatorToken = async () =>
  (await ok('POST', '/api/v1/auth/login', { login: ANNOTATOR, password: ANNOTATOR_PW }, 200, null)).token;

const saveState = (page, text, timeout = 15000) =>
  page.waitForFunction((want) => document.querySelector('[data-testid=save-state]')?.textContent === want, text, { timeout });

test('relations: label PER and ORG in Chinese text, relate them, delete one, submit', async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await openStream(page);
  assert.equal(await page.textContent('[data-testid=task-text]'), TEXT);

  // 张三 = [0, 2) PER (key 1), 阿里巴巴 = [3, 7) ORG (key 2)
  await selectText(page, 0, 2);
  await page.keyboard.press('1');
  await page.waitForSelector('mark.span[data-label=PER]');
  await selectText(page, 3, 7);
  await page.keyboard.press('2');
  await page.waitForSelector('mark.span[data-label=ORG]');
  assert.equal(await page.textContent('mark[data-span=s1]'), '张三');
  assert.equal(await page.textContent('mark[data-span=s2]'), '阿里巴巴');

  // select 张三, R, click 阿里巴巴, pick works_for
  await page.click('mark[data-span=s1]');
  await page.waitForSelector('mark.span.selected[data-span=s1]');
  await page.keyboard.press('r');
  await page.waitForSelector('mark.span.rel-source[data-span=s1]');
  await page.click('mark[data-span=s2]');
  await page.click('button[data-rel-label=works_for]');
  await page.waitForSelector('.rel-list li[data-from=s1][data-to=s2][data-label=works_for]');
  assert.match(await page.textContent('.rel-list li'), /张三→works_for→阿里巴巴/);
  // hovering the relation highlights its ends
  await page.hover('.rel-list li[data-from=s1]');
  await page.waitForSelector('mark.rel-from[data-span=s1]');
  await page.waitForSelector('mark.rel-to[data-span=s2]');
  await shot(page, 'rel-01-works-for');

  // a second relation with the button and the label key, then deleted
  await page.click('mark[data-span=s2]');
  await page.click('[data-testid=relation]');
  await page.click('mark[data-span=s1]');
  await page.keyboard.press('2'); // knows
  await page.waitForSelector('.rel-list li[data-from=s2][data-to=s1][data-label=knows]');
  await page.click('.rel-list li[data-from=s2] button.remove');
  await page.waitForFunction(() => document.querySelectorAll('.rel-list li').length === 1);

  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('[data-testid=empty]');
  const anns = (await ok('GET', `/api/v1/tasks/${tasks[0].id}/annotations`)).items;
  assert.equal(anns.length, 1);
  const r = anns[0].result;
  assert.deepEqual(r.spans.map((s) => [s.id, s.label, s.start, s.end]), [['s1', 'PER', 0, 2], ['s2', 'ORG', 3, 7]]);
  assert.deepEqual(r.relations, [{ from: 's1', to: 's2', label: 'works_for' }]);
  assert.deepEqual(pageErrors, []);
  await context.close();
});
