import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useWorkbench, selectText } from './harness.mjs';

// Text relations in the workbench: two spans in Chinese text (PER, ORG), a
// relation works_for drawn between them (span → R → target span → label), a
// second one drawn with the button and deleted, submitted; the stored result
// names the spans by id. Same harness as workbench.test.mjs.
const TEXT = '张三在阿里巴巴工作，李四也在。';

let project, tasks;

const h = useWorkbench(async ({ ok }) => {
  project = await ok('POST', '/api/v1/projects', {
    name: '关系抽取', kind: 'text',
    config: { spans: { labels: ['PER', 'ORG'], overlap: false }, relations: { labels: ['works_for', 'knows'] } },
  }, 201);
  await ok('POST', `/api/v1/projects/${project.id}/tasks`, [{ key: 'rel', data: { text: TEXT } }]);
  tasks = (await ok('GET', `/api/v1/projects/${project.id}/tasks`)).items;
});

test('relations: label PER and ORG in Chinese text, relate them, delete one, submit', async () => {
  const context = await h.browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await h.openStream(page, project.id);
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
  await h.shot(page, 'rel-01-works-for');

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
  const anns = (await h.ok('GET', `/api/v1/tasks/${tasks[0].id}/annotations`)).items;
  assert.equal(anns.length, 1);
  const r = anns[0].result;
  assert.deepEqual(r.spans.map((s) => [s.id, s.label, s.start, s.end]), [['s1', 'PER', 0, 2], ['s2', 'ORG', 3, 7]]);
  assert.deepEqual(r.relations, [{ from: 's1', to: 's2', label: 'works_for' }]);
  assert.deepEqual(pageErrors, []);
  await context.close();
});
