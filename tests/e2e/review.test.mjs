// Browser test of review in the workbench: an annotation rejected by a
// reviewer in the browser comes back to its author as rework (with the
// comment and the previous result), is resubmitted as version 2, and is
// accepted by the reviewer. A real annotd (fresh data dir, ephemeral port,
// the built web/dist) driven by Debian's Chromium through playwright-core,
// set up by the shared harness (harness.mjs).
// Run: `node --test tests/e2e/` after `make build`.
// Env: ANNOTD_BIN (default build/annotd), CHROMIUM (default /usr/bin/chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useWorkbench, selectText, ANNOTATOR, ANNOTATOR_PW } from './harness.mjs';

const REVIEWER = 'rui';
const REVIEWER_PW = 'rui-password-123';
const TEXT = '李四住在上海';
const COMMENT = '上海是地名，请标出来';

let annotatorToken, project, task;

const h = useWorkbench(async ({ ok, annotatorToken: loginAnnotator }) => {
  await ok('POST', '/api/v1/users', { login: REVIEWER, password: REVIEWER_PW, name: '瑞', role: 'reviewer' }, 201);
  project = await ok('POST', '/api/v1/projects', {
    name: '审核测试', kind: 'text',
    config: { classes: { choices: ['pos', 'neg'], multiple: false }, spans: { labels: ['PER', 'LOC'], overlap: false } },
  }, 201);
  await ok('POST', `/api/v1/projects/${project.id}/tasks`, [{ key: 'rev', data: { text: TEXT } }]);
  task = (await ok('GET', `/api/v1/projects/${project.id}/tasks`)).items[0];
  annotatorToken = await loginAnnotator();
});

async function openPage(who, pw) {
  const context = await h.browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('dialog', (d) => { errors.push(`dialog: ${d.message()}`); d.dismiss(); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${new URL(r.url()).pathname}`); });
  await page.goto(h.base + '/');
  await page.fill('input[name=login]', who);
  await page.fill('input[name=password]', pw);
  await page.click('button[type=submit]');
  await page.waitForSelector(`li.project[data-project="${project.id}"]`);
  return { context, page, errors };
}

test('review: reject with a comment, rework with the comment and the draft, version 2, accept', async () => {
  // the annotator submits version 1 through the API: class pos, no spans
  const claim = await h.ok('POST', `/api/v1/projects/${project.id}/next`, undefined, 200, annotatorToken);
  assert.equal(claim.task.id, task.id);
  const v1 = await h.ok('POST', `/api/v1/assignments/${claim.assignment.id}/submit`,
    { result: { classes: ['pos'], spans: [] } }, 201, annotatorToken);
  assert.equal(v1.version, 1);

  // the reviewer: Review from the project list, the result shown by the text tool
  const rev = await openPage(REVIEWER, REVIEWER_PW);
  const link = `li.project[data-project="${project.id}"] [data-testid=review-link]`;
  assert.match(await rev.page.textContent(link), /审核/);
  await h.shot(rev.page, 'review-01-projects');
  await rev.page.click(link);
  await rev.page.waitForSelector(`.work[data-annotation="${v1.id}"]`);
  assert.equal(new URL(rev.page.url()).pathname, `/projects/${project.id}/review`);
  assert.equal(await rev.page.textContent('[data-testid=task-text]'), TEXT);
  assert.ok(await rev.page.$('button.choice.on[data-class=pos]'));
  assert.ok(await rev.page.$('[data-testid=review-accept]'));
  assert.equal(await rev.page.$('[data-testid=review-fix]'), null);
  await h.shot(rev.page, 'review-02-annotation');

  // a rejection needs a comment (R with none goes to the comment box)
  await rev.page.keyboard.press('r');
  await rev.page.waitForSelector('[data-testid=review-message]');
  assert.equal(await rev.page.textContent('[data-testid=review-message]'), '退回需要填写审核意见。');
  assert.equal(await rev.page.evaluate(() => document.activeElement?.dataset.testid), 'review-comment');
  await rev.page.fill('[data-testid=review-comment]', COMMENT);
  await h.shot(rev.page, 'review-03-reject-comment');
  await rev.page.click('[data-testid=review-reject]');
  await rev.page.waitForSelector('[data-testid=review-empty]');
  assert.equal(await rev.page.textContent('[data-testid=review-empty]'), '没有待审核的标注。');
  await h.shot(rev.page, 'review-04-nothing-left');
  const reviews1 = (await h.ok('GET', `/api/v1/annotations/${v1.id}/reviews`)).items;
  assert.equal(reviews1.length, 1);
  assert.equal(reviews1[0].verdict, 'reject');
  assert.equal(reviews1[0].comment, COMMENT);

  // the annotator: the rework first, with the comment and the rejected result
  const ann = await openPage(ANNOTATOR, ANNOTATOR_PW);
  assert.equal(await ann.page.$(`li.project[data-project="${project.id}"] [data-testid=review-link]`), null);
  await ann.page.click(`li.project[data-project="${project.id}"] a.button`);
  await ann.page.click('[data-testid=start]');
  await ann.page.waitForSelector('[data-testid=rework]');
  assert.equal(await ann.page.textContent('[data-testid=rework]'), `退回修改：${COMMENT}`);
  assert.equal(await ann.page.getAttribute('.work', 'data-task'), String(task.id));
  assert.equal(Number(await ann.page.getAttribute('.work', 'data-assignment')), claim.assignment.id);
  assert.ok(await ann.page.$('button.choice.on[data-class=pos]'), 'the rejected result is restored');
  assert.equal(await ann.page.$('[data-testid=skip]'), null, 'a rework cannot be skipped');
  await h.shot(ann.page, 'review-05-rework');
  // label 上海 (code points 4..6) as LOC, then submit
  await selectText(ann.page, 4, 6);
  await ann.page.keyboard.press('2');
  await ann.page.waitForSelector('mark.span[data-label=LOC]');
  await ann.page.click('[data-testid=submit]');
  await ann.page.waitForSelector('[data-testid=empty]');

  // version 2 exists and waits for review
  const versions = (await h.ok('GET', `/api/v1/tasks/${task.id}/annotations`)).items;
  assert.equal(versions.length, 2);
  const v2 = versions[1];
  assert.equal(v2.version, 2);
  assert.deepEqual(v2.result.classes, ['pos']);
  assert.deepEqual(v2.result.spans.map((s) => [s.start, s.end, s.label]), [[4, 6, 'LOC']]);
  assert.deepEqual((await h.ok('GET', `/api/v1/annotations/${v2.id}/reviews`)).items, []);
  let counts = (await h.ok('GET', `/api/v1/projects/${project.id}`)).counts;
  assert.equal(counts.to_review, 1);
  assert.equal(counts.rejected, 1);

  // the reviewer checks again and accepts version 2 with the A key
  await rev.page.click('[data-testid=review-again]');
  await rev.page.waitForSelector(`.work[data-annotation="${v2.id}"]`);
  assert.equal(await rev.page.textContent('mark.span[data-label=LOC]'), '上海');
  await h.shot(rev.page, 'review-06-version-2');
  await rev.page.keyboard.press('a');
  await rev.page.waitForSelector('[data-testid=review-empty]');
  assert.match(await rev.page.textContent('[data-testid=reviewed]'), /已审核 2 条/);
  const reviews2 = (await h.ok('GET', `/api/v1/annotations/${v2.id}/reviews`)).items;
  assert.equal(reviews2.length, 1);
  assert.equal(reviews2[0].verdict, 'accept');
  counts = (await h.ok('GET', `/api/v1/projects/${project.id}`)).counts;
  assert.equal(counts.to_review, 0);
  assert.equal(counts.accepted, 1);

  assert.deepEqual(rev.errors, []);
  assert.deepEqual(ann.errors, []);
  await rev.context.close();
  await ann.context.close();
});

test('review: an edit in the tool turns the verdict into a fix, stored as a new version', async () => {
  await h.ok('POST', `/api/v1/projects/${project.id}/tasks`, [{ key: 'fix', data: { text: '王五去了广州' } }]);
  const claim = await h.ok('POST', `/api/v1/projects/${project.id}/next`, undefined, 200, annotatorToken);
  const v1 = await h.ok('POST', `/api/v1/assignments/${claim.assignment.id}/submit`,
    { result: { classes: ['neg'], spans: [] } }, 201, annotatorToken);

  const rev = await openPage(REVIEWER, REVIEWER_PW);
  await rev.page.goto(`${h.base}/projects/${project.id}/review`);
  await rev.page.waitForSelector(`.work[data-annotation="${v1.id}"]`);
  assert.ok(await rev.page.$('button.choice.on[data-class=neg]'));
  await rev.page.keyboard.press('1'); // the text tool: class pos instead of neg
  await rev.page.waitForSelector('[data-testid=review-fix]');
  assert.equal(await rev.page.$('[data-testid=review-accept]'), null);
  assert.ok(await rev.page.$('[data-testid=review-edited]'));
  // undo the edit: back to accept; edit again
  await rev.page.click('[data-testid=review-revert]');
  await rev.page.waitForSelector('[data-testid=review-accept]');
  assert.ok(await rev.page.$('button.choice.on[data-class=neg]'));
  await rev.page.keyboard.press('1');
  await rev.page.waitForSelector('button.choice.on[data-class=pos]');
  await h.shot(rev.page, 'review-07-fix');
  await rev.page.click('[data-testid=review-fix]');
  await rev.page.waitForSelector('[data-testid=review-empty]');

  const reviews = (await h.ok('GET', `/api/v1/annotations/${v1.id}/reviews`)).items;
  assert.equal(reviews.length, 1);
  assert.equal(reviews[0].verdict, 'fix');
  const versions = (await h.ok('GET', `/api/v1/tasks/${claim.task.id}/annotations`)).items;
  assert.equal(versions.length, 2);
  assert.equal(versions[1].version, 2);
  assert.equal(versions[1].source, 'review');
  assert.deepEqual(versions[1].result.classes, ['pos']);
  assert.equal(reviews[0].fixed_annotation, versions[1].id);

  // the English catalogue on the same screen
  await rev.page.click('[data-testid=lang-switch]');
  await rev.page.waitForSelector('[data-testid=review-empty]:has-text("Nothing to review.")');
  assert.deepEqual(rev.errors, []);
  await rev.context.close();
});
