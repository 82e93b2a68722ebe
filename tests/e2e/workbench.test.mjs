// Browser tests of the workbench: a real annotd (fresh data dir, ephemeral
// port, the built web/dist) driven by Debian's Chromium through
// playwright-core, set up by the shared harness (harness.mjs).
// Run: `node --test tests/e2e/` after `make build`.
// Env: ANNOTD_BIN (default build/annotd), CHROMIUM (default /usr/bin/chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useWorkbench, selectText, ANNOTATOR, ANNOTATOR_PW } from './harness.mjs';

const CJK_TEXT = '张三在😀北京工作';
const XSS_TEXT = '<img src=x onerror=alert(1)><script>alert(2)</script>';

let project, tasks;

const h = useWorkbench(async ({ ok }) => {
  project = await ok('POST', '/api/v1/projects', {
    name: '人名地名 NER', kind: 'text',
    config: { classes: { choices: ['pos', 'neg'], multiple: false }, spans: { labels: ['PER', 'LOC'], overlap: false } },
  }, 201);
  const records = [
    { key: 'cjk', priority: 30, data: { text: CJK_TEXT } },
    { key: 'xss', priority: 20, data: { text: XSS_TEXT } },
    { key: 'third', priority: 10, data: { text: 'third task 第三条' } },
  ];
  const imported = await ok('POST', `/api/v1/projects/${project.id}/tasks`, records);
  assert.equal(imported.created, 3);
  tasks = (await ok('GET', `/api/v1/projects/${project.id}/tasks`)).items;
});

test('workbench: login, stream, CJK+emoji span, drafts, submit, next task, XSS inert', async () => {
  const context = await h.browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
  });
  const failed = [];
  page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`); });

  // the UI is served, with its CSP
  const resp = await page.goto(h.base + '/');
  assert.equal(resp.status(), 200);
  assert.match(resp.headers()['content-security-policy'], /script-src 'self'/);

  // login: a wrong password shows a clear error (Chinese by default)
  await page.fill('input[name=login]', ANNOTATOR);
  await page.fill('input[name=password]', 'wrong-password');
  await page.click('button[type=submit]');
  await page.waitForSelector('form.login .error');
  assert.equal(await page.textContent('form.login .error'), '账号或密码错误。');
  await h.shot(page, '01-login-error');
  await page.fill('input[name=password]', ANNOTATOR_PW);
  await page.click('button[type=submit]');

  // projects with progress
  await page.waitForSelector(`li.project[data-project="${project.id}"]`);
  assert.match(await page.textContent(`li.project[data-project="${project.id}"]`), /已完成 0 \/ 3/);
  // the session: the CSRF token in sessionStorage, nothing in localStorage
  const stored = await page.evaluate(() => ({ s: sessionStorage.getItem('annotd.csrf'), l: JSON.stringify(localStorage) }));
  assert.ok(stored.s && stored.s.length > 10);
  assert.ok(!stored.l.includes(stored.s));
  await h.shot(page, '02-projects');

  // the stream
  await page.click(`li.project[data-project="${project.id}"] a.button`);
  await page.waitForSelector('[data-testid=start]');
  await h.shot(page, '03-annotate-start');
  await page.click('[data-testid=start]');
  await page.waitForSelector('[data-testid=task-text]');
  const first = tasks.find((t) => t.key === 'cjk');
  assert.equal(await page.getAttribute('.work', 'data-task'), String(first.id));
  assert.equal(await page.textContent('[data-testid=task-text]'), CJK_TEXT);

  // select 北京 (code points 4..6; UTF-16 5..7) with the mouse, label it LOC (key 2)
  await selectText(page, 4, 6);
  assert.equal(await page.evaluate(() => String(window.getSelection())), '北京');
  await page.keyboard.press('2');
  await page.waitForSelector('mark.span[data-label=LOC]');
  assert.equal(await page.textContent('mark.span[data-label=LOC]'), '北京');
  // no selection: key 1 picks the class "pos"
  await page.keyboard.press('1');
  await page.waitForSelector('button.choice.on[data-class=pos]');
  // autosave reaches the server
  await h.saveState(page, '已保存', 10000);
  const assignmentId = Number(await page.getAttribute('.work', 'data-assignment'));
  await h.shot(page, '04-annotate-span');

  // a reload restores the task and its draft
  await page.reload();
  await page.waitForSelector('mark.span[data-label=LOC]');
  assert.equal(Number(await page.getAttribute('.work', 'data-assignment')), assignmentId);
  assert.ok(await page.$('button.choice.on[data-class=pos]'));

  // the next task is prefetched while this one is open (POST /next?after=<this assignment>)
  const nexts = []; // every /next the page asks for, in order
  page.on('request', (r) => { if (/\/api\/v1\/projects\/\d+\/next/.test(r.url())) nexts.push(new URL(r.url()).search); });
  await page.waitForSelector('.annotate[data-next=ready]');

  // submit with Ctrl+Enter: the prefetched task replaces it without a reload, and without
  // a /next between the submit and the new task on screen; then the one after is prefetched
  await page.evaluate(() => { window.__noReload = 42; });
  const xss = tasks.find((t) => t.key === 'xss');
  const sent = nexts.length;
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector(`.work[data-task="${xss.id}"]`);
  assert.equal(await page.evaluate(() => window.__noReload), 42);
  const xssAssignment = Number(await page.getAttribute('.work', 'data-assignment'));
  // what was asked after the submit: at most the prefetch past the new task, sent once it was shown
  assert.ok(nexts.slice(sent).every((q) => q === `?after=${xssAssignment}`), JSON.stringify(nexts.slice(sent)));

  // the stored annotation has code-point offsets
  const anns = (await h.ok('GET', `/api/v1/tasks/${first.id}/annotations`)).items;
  assert.equal(anns.length, 1);
  assert.deepEqual(anns[0].result.classes, ['pos']);
  assert.equal(anns[0].result.spans.length, 1);
  const span = anns[0].result.spans[0];
  assert.equal(span.label, 'LOC');
  assert.equal(span.start, 4);
  assert.equal(span.end, 6);
  assert.equal(Array.from(CJK_TEXT).slice(span.start, span.end).join(''), '北京');

  // markup in task data is shown as text, never run
  await page.waitForSelector('[data-testid=task-text]');
  assert.equal(await page.textContent('[data-testid=task-text]'), XSS_TEXT);
  assert.equal(await page.$$eval('[data-testid=task-text] img, [data-testid=task-text] script', (n) => n.length), 0);
  await h.shot(page, '05-annotate-xss-inert');

  // skip: on to the third task, the prefetched one, with no /next in between either
  await page.waitForSelector('.annotate[data-next=ready]');
  const skipSent = nexts.length;
  await page.click('[data-testid=skip]');
  const third = tasks.find((t) => t.key === 'third');
  await page.waitForSelector(`.work[data-task="${third.id}"]`);
  const thirdAssignment = Number(await page.getAttribute('.work', 'data-assignment'));
  assert.ok(nexts.slice(skipSent).every((q) => q === `?after=${thirdAssignment}`), JSON.stringify(nexts.slice(skipSent)));
  // nothing left past the third: the page knows (204) and a submit asks /next once more
  await page.waitForSelector('.annotate[data-next=none]');

  // the language switch, kept across a reload
  await page.click('[data-testid=lang-switch]');
  await page.waitForSelector('[data-testid=submit]:has-text("Submit")');
  await page.reload();
  await page.waitForSelector('[data-testid=submit]:has-text("Submit")');
  await h.shot(page, '06-annotate-english');
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('[data-testid=empty]');
  await h.shot(page, '07-stream-empty');

  assert.deepEqual(dialogs, []);
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(failed, ['401 /api/v1/auth/login']); // the wrong password, nothing else
  await context.close();
});

test('an expired session asks for a login in place, then the pending draft is saved', async () => {
  await h.ok('POST', `/api/v1/projects/${project.id}/tasks`, [{ key: 'relogin', data: { text: '会话过期测试' } }]);
  const context = await h.browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  const assignmentId = await h.openStream(page, project.id);

  // the session ends behind the page's back (as when it expires)
  await page.evaluate(() => fetch('/api/v1/auth/logout', {
    method: 'POST', headers: { 'X-CSRF-Token': sessionStorage.getItem('annotd.csrf') },
  }));
  await page.keyboard.press('1'); // a change: kept locally, the server save gets 401
  await page.waitForSelector('[data-testid=relogin] input[name=password]');
  assert.equal(await page.textContent('[data-testid=save-state]'), '需要重新登录，已本地保存');
  assert.ok((await page.evaluate((id) => localStorage.getItem(`annotd.draft.${id}`), assignmentId)).includes('pos'));
  await h.shot(page, '08-relogin');
  await page.fill('[data-testid=relogin] input[name=password]', ANNOTATOR_PW);
  await page.click('[data-testid=relogin] button[type=submit]');
  await h.saveState(page, '已保存', 10000);
  assert.equal(await page.$('[data-testid=relogin]'), null);
  const a = await h.ok('GET', `/api/v1/assignments/${assignmentId}`, undefined, 200, await h.annotatorToken());
  assert.deepEqual(a.draft.classes, ['pos']);
  await context.close();
});
