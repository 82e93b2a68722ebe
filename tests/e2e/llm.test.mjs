// Browser tests of the llm tool (kind "llm": pairwise, ranking, rubric, sft):
// a real annotd (fresh data dir, ephemeral port, the built web/dist) driven
// by Debian's Chromium through playwright-core, set up by the shared harness
// (harness.mjs); the stored annotations are read back through the API and
// compared exactly.
// Run: `node --test tests/e2e/` after `make build` (or cd web && npm run build).
// Env: ANNOTD_BIN (default build/annotd), CHROMIUM (default /usr/bin/chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useWorkbench, ANNOTATOR, ANNOTATOR_PW } from './harness.mjs';

const XSS_PROMPT = '比较两个回答：\n  <img src=x onerror=alert(1)>\n<script>alert(2)</script> & <b>bold</b>';
const XSS_RESPONSE = '<iframe src="javascript:alert(3)"></iframe>\n\n    缩进的第二段';

let context, page;
const projects = {};
const tasks = {}; // project name → { key: task }
const dialogs = [];
const pageErrors = [];
const failed = [];

const h = useWorkbench(async () => {
  await makeProject('pairwise', { mode: 'pairwise', require_reason: true }, [
    { key: 'xss', priority: 20, data: { prompt: XSS_PROMPT, responses: [{ id: 'a', text: XSS_RESPONSE }, { id: 'b', text: '回答 B：\n1. 第一\n2. 第二' }] } },
    { key: 'chat', priority: 10, data: {
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: '你好' },
        { role: 'assistant', content: '你好！' },
        { role: 'user', content: 'What is 2+2?' },
      ],
      responses: [{ id: 'm1', text: '4' }, { id: 'm2', text: 'Four.' }],
    } },
  ]);
  await makeProject('ranking', { mode: 'ranking' }, [
    { key: 'keys', priority: 30, data: { prompt: '排三个', responses: [{ id: 'a', text: 'first A' }, { id: 'b', text: 'second B' }, { id: 'c', text: 'third C' }] } },
    { key: 'drag', priority: 20, data: { prompt: 'rank four', responses: [
      { id: 'x', text: 'response x' }, { id: 'y', text: 'response y\nwith two lines' }, { id: 'z', text: 'response z' }, { id: 'w', text: 'response w' }] } },
    { key: 'confirm', priority: 10, data: { prompt: 'already in order', responses: [{ id: 'p', text: 'good' }, { id: 'q', text: 'worse' }] } },
  ]);
  await makeProject('rubric', { mode: 'rubric', criteria: [
    { name: 'helpful', min: 1, max: 5 }, { name: 'harmless', min: 1, max: 5 }, { name: 'accurate', min: 0, max: 3 }] }, [
    { key: 'r1', data: { prompt: 'Explain DNS in one line.', responses: [{ id: 'only', text: 'DNS maps names to addresses.' }] } },
  ]);
  await makeProject('sft', { mode: 'sft' }, [
    { key: 'given', priority: 20, data: { prompt: '写一句问候', responses: [{ id: 'draft', text: '你好，\n  欢迎！' }] } },
    { key: 'blank', priority: 10, data: { messages: [{ role: 'user', content: 'Say hi' }] } },
  ]);
}, {
  /* One page for every test, logged in as the annotator. */
  launched: async () => {
    context = await h.browser.newContext({ viewport: { width: 1100, height: 900 } });
    page = await context.newPage();
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
    });
    page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`); });
    await page.goto(h.base + '/');
    await page.fill('input[name=login]', ANNOTATOR);
    await page.fill('input[name=password]', ANNOTATOR_PW);
    await page.click('button[type=submit]');
    await page.waitForSelector('li.project');
  },
});

const shot = (name) => h.shot(page, name);

async function makeProject(name, config, records) {
  const p = await h.ok('POST', '/api/v1/projects', { name, kind: 'llm', config }, 201);
  const imported = await h.ok('POST', `/api/v1/projects/${p.id}/tasks`, records);
  assert.equal(imported.created, records.length, JSON.stringify(imported));
  projects[name] = p;
  tasks[name] = {};
  for (const t of (await h.ok('GET', `/api/v1/projects/${p.id}/tasks`)).items) tasks[name][t.key] = t;
  return p;
}

/* The stored annotations of a task (exactly one expected): its result. */
async function storedResult(task) {
  const anns = (await h.ok('GET', `/api/v1/tasks/${task.id}/annotations`)).items;
  assert.equal(anns.length, 1, JSON.stringify(anns));
  return anns[0].result;
}

async function annotationCount(task) {
  return (await h.ok('GET', `/api/v1/tasks/${task.id}/annotations`)).items.length;
}

/* Open a project from the list and claim the first task. */
async function startProject(name) {
  await page.goto(h.base + '/projects');
  const p = projects[name];
  await page.click(`li.project[data-project="${p.id}"] a.button`);
  await page.click('[data-testid=start]');
  await page.waitForSelector('.llm-tool');
}

async function waitTask(task) {
  await page.waitForSelector(`.work[data-task="${task.id}"] .llm-tool`);
}

const waitSaved = () => h.saveState(page, '已保存', 10000);

/* The ids of the ranking, top first, and the positions shown. */
async function rankingShown() {
  return page.$$eval('[data-testid=ranking] > li', (els) => els.map((e) => `${e.querySelector('.pos').textContent}:${e.dataset.id}`));
}

/* Drag the response `id` by its handle to clientY `y`. */
async function dragTo(id, y) {
  const handle = await page.$(`[data-testid=ranking] > li[data-id="${id}"] [data-testid=drag-handle]`);
  const b = await handle.boundingBox();
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
  await page.mouse.down();
  await page.mouse.move(b.x + b.width / 2, y, { steps: 12 });
  await page.mouse.up();
}

async function itemBox(id) {
  return (await page.$(`[data-testid=ranking] > li[data-id="${id}"]`)).boundingBox();
}

test('projects: every llm project has a Start button', async () => {
  for (const p of Object.values(projects)) {
    assert.equal(await page.textContent(`li.project[data-project="${p.id}"] a.button`), '开始标注');
  }
});

test('pairwise: markup inert, A/B/tie by keys, strength, required reason, Ctrl+Enter', async () => {
  const T = tasks.pairwise;
  await startProject('pairwise');
  await waitTask(T.xss);

  // task text as text: markup shown literally, whitespace and newlines kept, nothing run
  assert.equal(await page.textContent('[data-testid=prompt]'), XSS_PROMPT);
  assert.equal(await page.textContent('[data-testid=response-a]'), XSS_RESPONSE);
  assert.equal(await page.$$eval('.llm-tool img, .llm-tool script, .llm-tool iframe, .llm-tool b', (n) => n.length), 0);
  assert.equal(await page.$eval('[data-testid=prompt]', (e) => getComputedStyle(e).whiteSpace), 'pre-wrap');
  assert.equal(await page.$eval('[data-testid=prompt]', (e) => e.innerText), XSS_PROMPT);
  assert.ok(await page.$('[data-testid=reason-required]'));

  // nothing chosen: Ctrl+Enter explains instead of submitting
  assert.equal(await page.textContent('[data-testid=missing]'), '请选择 A 更好、B 更好或一样好。');
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('[data-testid=missing][role=alert]');
  assert.equal(await page.textContent('[data-testid=missing]'), '还不能提交：请选择 A 更好、B 更好或一样好。');
  assert.equal(await annotationCount(T.xss), 0);

  // B by key, then the strength is asked for; Shift+3: much better
  await page.keyboard.press('b');
  await page.waitForSelector('button.choice.on[data-choice=B]');
  assert.ok(await page.$('.resp.chosen[data-response=b]'));
  assert.equal(await page.textContent('[data-testid=missing]'), '还不能提交：请选择好多少。');
  await page.keyboard.press('Shift+Digit3');
  await page.waitForSelector('button.choice.on[data-strength="3"]');
  assert.equal(await page.textContent('[data-testid=missing]'), '还不能提交：请填写理由（本项目要求）。');

  // typing the reason does not trigger the keys
  const reason = 'B 列了步骤 1 2 3，a b t 都不是快捷键\n第二行';
  await page.fill('[data-testid=reason]', '');
  await page.type('[data-testid=reason]', 'B 列了步骤 1 2 3，a b t 都不是快捷键');
  await page.keyboard.press('Shift+Enter');
  await page.type('[data-testid=reason]', '第二行');
  assert.equal(await page.inputValue('[data-testid=reason]'), reason);
  assert.ok(await page.$('button.choice.on[data-choice=B]'));
  assert.ok(await page.$('button.choice.on[data-strength="3"]'));
  assert.equal(await page.$('[data-testid=missing]'), null);
  await waitSaved();
  await shot('llm-01-pairwise');

  await page.keyboard.press('Control+Enter'); // from inside the textarea
  await waitTask(T.chat);
  assert.deepEqual(await storedResult(T.xss), { choice: 'b', strength: 3, reason });

  // a multi-turn conversation with roles; 1 then Shift+2, then a tie drops the strength
  assert.deepEqual(await page.$$eval('[data-testid=message]', (els) => els.map((e) => `${e.dataset.role}|${e.querySelector('.role').textContent}|${e.querySelector('.llm-text').textContent}`)), [
    'system|系统|You are terse.', 'user|用户|你好', 'assistant|助手|你好！', 'user|用户|What is 2+2?',
  ]);
  await page.keyboard.press('1');
  await page.keyboard.press('Shift+Digit2');
  await page.waitForSelector('button.choice.on[data-choice=A]');
  await page.waitForSelector('button.choice.on[data-strength="2"]');
  await page.keyboard.press('t');
  await page.waitForSelector('button.choice.on[data-choice=tie]');
  assert.equal(await page.$$eval('button[data-strength]:disabled', (n) => n.length), 3);
  await page.fill('[data-testid=reason]', '差不多');
  await shot('llm-02-pairwise-tie');
  await page.click('[data-testid=submit]');
  await page.waitForSelector('[data-testid=empty]');
  assert.deepEqual(await storedResult(T.chat), { choice: 'tie', reason: '差不多' });
});

test('ranking: keyboard, draft kept across a reload, drag, confirm', async () => {
  const T = tasks.ranking;
  await startProject('ranking');
  await waitTask(T.keys);
  assert.deepEqual(await rankingShown(), ['第 1:a', '第 2:b', '第 3:c']);

  // the given order is not a ranking until confirmed or changed
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('[data-testid=missing][role=alert]');
  assert.equal(await annotationCount(T.keys), 0);

  // ↓ selects a, ↓ b, Alt+↑ moves b to the top; ↓ a, ↓ c, Alt+↑ c above a
  for (const k of ['ArrowDown', 'ArrowDown', 'Alt+ArrowUp', 'ArrowDown', 'ArrowDown', 'Alt+ArrowUp']) await page.keyboard.press(k);
  assert.deepEqual(await rankingShown(), ['第 1:b', '第 2:c', '第 3:a']);
  assert.equal(await page.getAttribute('li.rank-item.selected', 'data-id'), 'c');
  await page.waitForSelector('[data-testid=rank-state]');
  await waitSaved();
  await page.reload();
  await waitTask(T.keys);
  assert.deepEqual(await rankingShown(), ['第 1:b', '第 2:c', '第 3:a']);
  await shot('llm-03-ranking-keys');
  await page.keyboard.press('Control+Enter');
  await waitTask(T.drag);
  assert.deepEqual(await storedResult(T.keys), { ranking: ['b', 'c', 'a'] });

  // drag w to the top, then x to the bottom
  assert.deepEqual(await rankingShown(), ['第 1:x', '第 2:y', '第 3:z', '第 4:w']);
  await dragTo('w', (await itemBox('x')).y + 4);
  assert.deepEqual(await rankingShown(), ['第 1:w', '第 2:x', '第 3:y', '第 4:z']);
  const z = await itemBox('z');
  await dragTo('x', z.y + z.height - 4);
  assert.deepEqual(await rankingShown(), ['第 1:w', '第 2:y', '第 3:z', '第 4:x']);
  // a drop where it started changes nothing
  const y = await itemBox('y');
  await dragTo('y', y.y + y.height / 2 + 2);
  assert.deepEqual(await rankingShown(), ['第 1:w', '第 2:y', '第 3:z', '第 4:x']);
  await shot('llm-04-ranking-drag');
  await page.click('[data-testid=submit]');
  await waitTask(T.confirm);
  assert.deepEqual(await storedResult(T.drag), { ranking: ['w', 'y', 'z', 'x'] });

  // the order as given, confirmed
  await page.click('[data-testid=rank-confirm]');
  await page.waitForSelector('[data-testid=rank-state]');
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('[data-testid=empty]');
  assert.deepEqual(await storedResult(T.confirm), { ranking: ['p', 'q'] });
});

test('rubric: number keys per criterion, a click, a comment', async () => {
  const T = tasks.rubric;
  await startProject('rubric');
  await waitTask(T.r1);
  assert.equal(await page.textContent('[data-testid=missing]'), '还有评分项未打分：helpful、harmless、accurate');
  await page.keyboard.press('4'); // helpful, then on to harmless
  await page.keyboard.press('9'); // out of range: ignored
  await page.keyboard.press('5'); // harmless
  await page.keyboard.press('7'); // accurate is 0..3: ignored
  assert.equal(await page.textContent('[data-testid=missing]'), '还有评分项未打分：accurate');
  await page.click('[data-criterion=accurate] button[data-score="0"]');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('3'); // helpful again: 4 → 3
  await page.fill('[data-testid=comment]', '简洁 <ok>');
  await shot('llm-05-rubric');
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('[data-testid=empty]');
  assert.deepEqual(await storedResult(T.r1), { scores: { helpful: 3, harmless: 5, accurate: 0 }, comment: '简洁 <ok>' });
});

test('sft: a given response starts the draft; a blank one must be written', async () => {
  const T = tasks.sft;
  await startProject('sft');
  await waitTask(T.given);
  assert.equal(await page.inputValue('[data-testid=sft-response]'), '你好，\n  欢迎！');
  assert.equal(await page.$('[data-testid=missing]'), null);
  await page.keyboard.press('Control+Enter'); // accepted as it is
  await waitTask(T.blank);
  assert.deepEqual(await storedResult(T.given), { response: '你好，\n  欢迎！' });

  assert.equal(await page.inputValue('[data-testid=sft-response]'), '');
  assert.equal(await page.textContent('[data-testid=missing]'), '请写出回答。');
  await page.fill('[data-testid=sft-response]', '   ');
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('[data-testid=missing][role=alert]');
  await page.fill('[data-testid=sft-response]', 'Hi!\nHow can I help?');
  await shot('llm-06-sft');
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('[data-testid=empty]');
  assert.deepEqual(await storedResult(T.blank), { response: 'Hi!\nHow can I help?' });
});

test('no dialogs, page errors or failed requests', () => {
  assert.deepEqual(dialogs, []);
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(failed, []);
});
