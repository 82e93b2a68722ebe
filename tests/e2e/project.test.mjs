// Browser test of the manager's project page (web/src/screens/Project.tsx):
// a real annotd (fresh data dir, ephemeral port, the built web/dist) driven by
// Debian's Chromium through playwright-core. Run: `node --test tests/e2e/`.
// Env: ANNOTD_BIN (default build/annotd), CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync, rmSync, existsSync } from 'node:fs';
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
const N = 250;
const XSS_TEXT = '<img src=x onerror=window.__xss=1>';

let tmp, proc, base, browser, ownerToken, project;
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

async function ok(method, urlPath, body, want = 200, token = ownerToken) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + urlPath, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.equal(r.status, want, `${method} ${urlPath}: ${text}`);
  return text ? JSON.parse(text) : null;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

before(async () => {
  assert.ok(existsSync(BIN), `no annotd binary at ${BIN} (make build)`);
  assert.ok(existsSync(path.join(WEB, 'index.html')), `no ${WEB}/index.html (make build)`);
  mkdirSync(SHOTS, { recursive: true });
  tmp = mkdtempSync(path.join(tmpdir(), 'annotd-e2e-proj-'));
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
  project = await ok('POST', '/api/v1/projects', {
    name: '管理页测试', kind: 'text',
    config: { classes: { choices: ['pos', 'neg'], multiple: false }, spans: { labels: ['PER'], overlap: false } },
  }, 201);

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
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

const rowCount = (page) => page.$$eval('[data-testid=tasks] tbody tr', (rows) => rows.length);
const firstId = (page) => page.$eval('[data-testid=tasks] tbody tr', (tr) => Number(tr.dataset.task));
async function waitText(page, sel, re) {
  await page.waitForFunction(([s, src]) => {
    const el = document.querySelector(s);
    return el && new RegExp(src).test(el.textContent);
  }, [sel, re.source], { timeout: 10000 });
}

test('project page: import, live counts, filter, paging, export, members', async () => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', (d) => { errors.push('dialog: ' + d.message()); d.dismiss(); });

  // log in as the owner; the project list links to the manager page
  await page.goto(base + '/');
  await page.fill('input[name=login]', OWNER);
  await page.fill('input[name=password]', OWNER_PW);
  await page.click('button[type=submit]');
  const link = `li.project[data-project="${project.id}"] [data-testid=manage-link]`;
  await page.waitForSelector(link);
  assert.equal(await page.textContent(link), '管理');
  await page.click(link);
  await page.waitForSelector('[data-testid=project-page]');
  assert.equal(new URL(page.url()).pathname, `/projects/${project.id}`);
  await waitText(page, '[data-testid=count-total]', /共 0 条/);
  await page.waitForSelector('[data-testid=live].live-sse');

  // import a JSON Lines file through the file input: 250 good lines, one bad
  const lines = [];
  for (let i = 1; i <= N; i++) {
    if (i === 7) lines.push('{"key":"bad","data":{}}'); // line 7: no data.text
    lines.push(JSON.stringify({ key: `k${i}`, data: { text: i === 1 ? XSS_TEXT : `任务 ${i} text` } }));
  }
  const file = path.join(tmp, 'tasks.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  await page.setInputFiles('[data-testid=import-file]', file);
  await page.waitForSelector('[data-testid=import-summary]');
  assert.match(await page.textContent('[data-testid=import-counts]'), /新建 250 条，已存在 0 条/);
  const errs = await page.$$eval('[data-testid=import-errors] li', (li) => li.map((x) => x.textContent));
  assert.equal(errs.length, 1);
  assert.match(errs[0], /^line 7 .*text/);

  // the counts and the table follow
  await waitText(page, '[data-testid=count-total]', /共 250 条/);
  await waitText(page, '[data-testid=count-open]', /未开始 250/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=tasks] tbody tr').length === 100);
  // data previews are text: the XSS payload shows as text and does nothing
  const cell = await page.textContent('[data-testid=tasks] tbody tr:first-child td.preview');
  assert.equal(cell, XSS_TEXT);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  await shot(page, 'proj-01-imported');

  // re-importing the same file: everything exists already (idempotent)
  await page.setInputFiles('[data-testid=import-file]', file);
  await waitText(page, '[data-testid=import-counts]', /新建 0 条，已存在 250 条/);

  // live: a claim and a submit through the API move the counts without a reload
  const claim = await ok('POST', `/api/v1/projects/${project.id}/next`);
  await waitText(page, '[data-testid=count-in_progress]', /进行中 1/);
  await ok('POST', `/api/v1/assignments/${claim.assignment.id}/submit`,
    { result: { classes: ['pos'], spans: [] } }, 201);
  await waitText(page, '[data-testid=count-done]', /已完成 1/);
  assert.ok(await page.$('[data-testid=live].live-sse'), 'counts came over the event stream');
  await shot(page, 'proj-02-live-counts');

  // filter by state
  await page.selectOption('[data-testid=state-filter]', 'done');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=tasks] tbody tr').length === 1);
  assert.equal(await firstId(page), claim.task.id);
  assert.equal(await page.textContent('[data-testid=tasks] tbody tr td .state'), '已完成');
  await page.selectOption('[data-testid=state-filter]', 'open');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=tasks] tbody tr').length === 100);
  await shot(page, 'proj-03-filter-open');
  await page.selectOption('[data-testid=state-filter]', '');

  // page through the 250 tasks, 100 a page, and back
  // (the done task, the first by id, is back: the filter is off)
  await page.waitForFunction((id) => Number(document.querySelector('[data-testid=tasks] tbody tr')?.dataset.task) === id,
    claim.task.id);
  assert.equal(await rowCount(page), 100);
  const p1 = await firstId(page);
  assert.ok(await page.isDisabled('[data-testid=prev]'));
  await page.click('[data-testid=next]');
  await waitText(page, '[data-testid=page-no]', /第 2 页/);
  await page.waitForFunction((id) => Number(document.querySelector('[data-testid=tasks] tbody tr').dataset.task) > id + 99, p1);
  assert.equal(await rowCount(page), 100);
  await page.click('[data-testid=next]');
  await waitText(page, '[data-testid=page-no]', /第 3 页/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=tasks] tbody tr').length === 50);
  await page.waitForFunction(() => document.querySelector('[data-testid=next]').disabled);
  await shot(page, 'proj-04-page-3');
  await page.click('[data-testid=prev]');
  await page.click('[data-testid=prev]');
  await waitText(page, '[data-testid=page-no]', /第 1 页/);
  await page.waitForFunction((id) => Number(document.querySelector('[data-testid=tasks] tbody tr').dataset.task) === id, p1);

  // find a task by key (Enter), then clear the box: every task again
  await page.fill('[data-testid=key-search]', 'k42');
  await page.press('[data-testid=key-search]', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=tasks] tbody tr').length === 1);
  assert.match(await page.textContent('[data-testid=tasks] tbody tr'), /k42/);
  await page.fill('[data-testid=key-search]', 'no-such-key');
  await page.press('[data-testid=key-search]', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=tasks] tbody tr').length === 0);
  await page.fill('[data-testid=key-search]', '');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=tasks] tbody tr').length === 100);

  // the export downloads as JSON Lines, one line per task
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export]')]);
  const exported = readFileSync(await download.path(), 'utf8').split('\n').filter((l) => l !== '');
  assert.equal(exported.length, N);
  assert.equal(JSON.parse(exported[0]).task.data.text, XSS_TEXT);
  assert.ok(exported.some((l) => JSON.parse(l).annotations.length === 1));

  // members: the owner is listed; a bad password shows on its field; then the user is added
  await page.waitForSelector(`[data-testid=members] tr[data-user="${OWNER}"]`);
  await page.fill('[data-testid=add-user] input[name=login]', 'bob');
  await page.fill('[data-testid=add-user] input[name=name]', '鲍勃');
  await page.selectOption('[data-testid=add-user] select[name=role]', 'reviewer');
  await page.fill('[data-testid=add-user] input[name=password]', 'short');
  await page.click('[data-testid=add-user-submit]');
  await waitText(page, '[data-testid=err-password]', /密码至少 10 个字符/);
  await shot(page, 'proj-05-member-error');
  await page.fill('[data-testid=add-user] input[name=password]', 'bob-password-123');
  await page.click('[data-testid=add-user-submit]');
  await page.waitForSelector('[data-testid=members] tr[data-user="bob"]');
  assert.equal(await page.$('[data-testid=err-password]'), null);
  assert.match(await page.textContent('[data-testid=members] tr[data-user="bob"]'), /鲍勃.*审核员/);
  // the same login again: the login field says it is taken
  await page.fill('[data-testid=add-user] input[name=login]', 'bob');
  await page.fill('[data-testid=add-user] input[name=name]', 'Bob 2');
  await page.fill('[data-testid=add-user] input[name=password]', 'bob-password-123');
  await page.click('[data-testid=add-user-submit]');
  await waitText(page, '[data-testid=err-login]', /该账号已被使用/);
  await shot(page, 'proj-06-members');

  // English
  await page.click('[data-testid=lang-switch]');
  await waitText(page, '[data-testid=count-done]', /1 done/);
  await shot(page, 'proj-07-english');

  assert.deepEqual(errors, []);
  await context.close();
});
