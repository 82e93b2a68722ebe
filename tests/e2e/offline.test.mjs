import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useWorkbench, selectText } from './harness.mjs';

// The network goes away while a text task is edited: the changes are kept
// in localStorage, the save state says so (离线，已本地保存), a reload while
// offline brings the local draft back, and once the network returns the
// draft reaches the server and the submit goes through with nothing lost.
// The harness: tests/e2e/harness.mjs.
const TEXT = '王五在上海工作';

let project, tasks;

const h = useWorkbench(async ({ ok }) => {
  project = await ok('POST', '/api/v1/projects', {
    name: '断网测试', kind: 'text',
    config: { classes: { choices: ['pos', 'neg'], multiple: false }, spans: { labels: ['PER', 'LOC'], overlap: false } },
  }, 201);
  await ok('POST', `/api/v1/projects/${project.id}/tasks`, [{ key: 'off', data: { text: TEXT } }]);
  tasks = (await ok('GET', `/api/v1/projects/${project.id}/tasks`)).items;
});

test('offline: changes kept locally, reload restores them, the draft and the submit reach the server after', async () => {
  const context = await h.browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  const assignmentId = await h.openStream(page, project.id);
  await page.keyboard.press('1'); // class pos, saved online
  await h.saveState(page, '已保存');

  // the network to the API fails
  await page.route('**/api/**', (r) => r.abort());
  await selectText(page, 0, 2); // 王五
  await page.keyboard.press('1'); // PER
  await selectText(page, 3, 5); // 上海
  await page.keyboard.press('2'); // LOC
  await page.waitForSelector('mark.span[data-label=LOC]');
  await h.saveState(page, '离线，已本地保存');
  const local = JSON.parse(await page.evaluate((id) => localStorage.getItem(`annotd.draft.${id}`), assignmentId));
  assert.deepEqual(local.spans.map((s) => s.label), ['PER', 'LOC']);
  await h.shot(page, 'offline-01-kept-locally');

  // a reload while still offline: the task and the local draft come back
  await page.reload();
  await page.waitForSelector('mark.span[data-label=LOC]');
  assert.equal(Number(await page.getAttribute('.work', 'data-assignment')), assignmentId);
  assert.ok(await page.$('mark.span[data-label=PER]'));
  assert.ok(await page.$('button.choice.on[data-class=pos]'));
  await page.keyboard.press('2'); // class neg, still offline
  await page.waitForSelector('button.choice.on[data-class=neg]');
  await h.saveState(page, '离线，已本地保存');

  // the network comes back: the draft reaches the server
  await page.unroute('**/api/**');
  await h.saveState(page, '已保存');
  const token = await h.annotatorToken();
  const a = await h.ok('GET', `/api/v1/assignments/${assignmentId}`, undefined, 200, token);
  assert.deepEqual(a.draft.classes, ['neg']);
  assert.deepEqual(a.draft.spans.map((s) => [s.label, s.start, s.end]), [['PER', 0, 2], ['LOC', 3, 5]]);

  // and the submit works, with everything in it
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('[data-testid=empty]');
  const anns = (await h.ok('GET', `/api/v1/tasks/${tasks[0].id}/annotations`)).items;
  assert.equal(anns.length, 1);
  assert.deepEqual(anns[0].result.classes, ['neg']);
  assert.deepEqual(anns[0].result.spans.map((s) => [s.label, s.start, s.end]), [['PER', 0, 2], ['LOC', 3, 5]]);
  assert.equal(await page.evaluate((id) => localStorage.getItem(`annotd.draft.${id}`), assignmentId), null);
  await context.close();
});
