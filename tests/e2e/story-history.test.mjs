import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { useWorkbench, ROOT, OWNER, OWNER_PW } from './harness.mjs';

// Shot history, guessed speakers and roster merge suggestions in the
// storyboard workbench. A short original novel is imported (POST /novel):
// a bare quote after narration (twice) leaves the drafter unsure of the
// speaker (notes 说话人待确认…), and 俊义 / 卢俊义 both speak, so the roster
// proposes merging the first into the second.
// The annotator sees the 待确认 badges, jumps between them with U / Shift+U
// and the 下一个待确认 button, sets a speaker (the badge goes), sees that a
// shot inserted in the browser has no history yet, edits one shot's picture
// and submits. The reviewer opens that shot's history (machine draft, then
// the human version with the picture highlighted), restores the draft's
// fields (undo / redo work), fixes, and the stored result has the draft's
// picture back. The owner dismisses and then accepts the merge suggestion.
const NOVEL = '《夜话》\n\n第一回 叩门\n\n'
  + '卢俊义坐在堂上读书，忽听门外有人叩门。卢俊义道：“是谁？”\n'
  + '门外那人并不答话，只是推门进来。\n'
  + '“员外，小人有要事相告。”\n'
  + '俊义道：“深更半夜，有何要事？”\n'
  + '燕青道：“主人小心，此人来路不明。”\n'
  + '俊义道：“你且退下。”\n'
  + '窗外风声大作，烛火摇晃不定。\n'
  + '“员外莫怕，是我。”\n'
  + '卢俊义道：“说罢。”\n';
const EDIT = '卢俊义放下书卷，厉声发问';

let project;

const h = useWorkbench(async ({ ok }) => {
  project = await ok('POST', '/api/v1/projects', { name: '夜话分镜', kind: 'storyboard', config: {} }, 201);
  const imp = await h.call('POST', `/api/v1/projects/${project.id}/novel`, NOVEL, undefined, 'text/plain; charset=utf-8');
  assert.equal(imp.status, 200, JSON.stringify(imp.body));
});

const card = (n) => `.sb-card[data-no="${n}"]`;
const byId = (id) => `.sb-card[data-shot="${id}"]`;
const ids = (page) => page.$$eval('.sb-card', (els) => els.map((e) => e.getAttribute('data-shot')));
const onId = (page) => page.getAttribute('.sb-card.on', 'data-shot');
const unsureIds = (page) =>
  page.$$eval('.sb-card', (els) => els.filter((e) => e.querySelector('[data-testid=sb-unsure]')).map((e) => e.getAttribute('data-shot')));

async function login(page, url) {
  await page.goto(url);
  await page.fill('input[name=login]', OWNER);
  await page.fill('input[name=password]', OWNER_PW);
  await page.click('button[type=submit]');
}

test('storyboard: guessed speakers, shot history and restore, roster merge suggestions', async () => {
  const pageErrors = [];
  const context = await h.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await h.openStream(page, project.id);
  const taskId = Number(await page.getAttribute('.work', 'data-task'));
  const drafted = await ids(page);
  assert.ok(drafted.length >= 5, `drafted: ${drafted}`);

  // ---- guessed speakers: badges, U / Shift+U / the button ----
  const unsure = await unsureIds(page);
  assert.ok(unsure.length >= 2, `two bare quotes, two unsure shots: ${unsure}`);
  for (const id of unsure)
    assert.match(await page.inputValue(`${byId(id)} input[data-field=notes]`), /^说话人待确认/);
  for (const id of drafted.filter((x) => !unsure.includes(x)))
    assert.doesNotMatch(await page.inputValue(`${byId(id)} input[data-field=notes]`), /说话人待确认/);
  assert.equal(await page.textContent('[data-testid=sb-unsure-count]'), `${unsure.length} 镜说话人待确认`);
  assert.equal(await onId(page), drafted[0]);
  await page.keyboard.press('u');
  await page.waitForSelector(`.sb-card.on[data-shot="${unsure[0]}"]`);
  await page.keyboard.press('u');
  await page.waitForSelector(`.sb-card.on[data-shot="${unsure[1]}"]`);
  await page.keyboard.press('Shift+U');
  await page.waitForSelector(`.sb-card.on[data-shot="${unsure[0]}"]`);
  await page.click('[data-testid=sb-next-unsure]');
  await page.waitForSelector(`.sb-card.on[data-shot="${unsure[1]}"]`);
  await h.shot(page, 'story-history-01-unsure');
  await page.locator(byId(unsure[1])).screenshot({ path: path.join(ROOT, 'screenshots', 'story-history-01-card.png') });
  // a speaker for the first unsure shot's line: its note and badge go, U skips it now
  const roster = (await h.ok('GET', `/api/v1/projects/${project.id}/characters`)).characters;
  const lu = roster.find((c) => c.name === '卢俊义');
  const jy = roster.find((c) => c.name === '俊义');
  assert.ok(lu && jy, JSON.stringify(roster));
  await page.selectOption(`${byId(unsure[0])} .sb-line select >> nth=0`, lu.id);
  await page.waitForSelector(`${byId(unsure[0])} [data-testid=sb-unsure]`, { state: 'detached' });
  assert.equal(await page.inputValue(`${byId(unsure[0])} input[data-field=notes]`), '');
  await page.keyboard.press('Escape');
  await page.click(`${card(1)} .sb-head .sb-no`);
  await page.waitForSelector(`${card(1)}.on`);
  await page.keyboard.press('u');
  await page.waitForSelector(`.sb-card.on[data-shot="${unsure[1]}"]`);

  // ---- history on the annotator's side: a drafted shot has the machine draft; an inserted one none ----
  const edited = drafted[1];
  await page.click(`${byId(edited)} [data-testid=sb-history-btn]`);
  await page.waitForSelector(`${byId(edited)} [data-testid=sb-history] li`);
  assert.deepEqual(await page.$$eval(`${byId(edited)} [data-testid=sb-history] li`, (els) => els.map((e) => e.dataset.source)),
    ['prediction']);
  assert.match(await page.textContent(`${byId(edited)} [data-testid=sb-history] li`), /机器草稿.*模型 annotd-rules.*与当前相同/);
  const draftPicture = await page.inputValue(`${byId(edited)} textarea[data-field=picture]`);
  assert.ok(draftPicture, 'the draft has a picture');
  await page.click(card(drafted.length));
  await page.keyboard.press('Escape');
  await page.keyboard.press('i');
  await page.waitForSelector(card(drafted.length + 1));
  const inserted = (await ids(page))[drafted.length];
  await page.click(`${byId(inserted)} [data-testid=sb-history-btn]`);
  await page.waitForSelector(`${byId(inserted)} [data-testid=sb-history-unsaved]`);
  assert.match(await page.textContent(`${byId(inserted)} [data-testid=sb-history-unsaved]`), /还没有保存过/);
  await page.keyboard.press('Control+z');
  await page.waitForFunction((n) => document.querySelectorAll('.sb-card').length === n, drafted.length);

  // ---- a human edit of one shot's picture, submitted ----
  await page.fill(`${byId(edited)} textarea[data-field=picture]`, EDIT);
  await page.keyboard.press('Escape');
  await h.saveState(page, '已保存');
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('[data-testid=empty]');
  const ann = (await h.ok('GET', `/api/v1/tasks/${taskId}/annotations`)).items[0];
  const human = ann.result.shots;
  assert.deepEqual(human.map((s) => s.id), drafted);
  assert.equal(human[1].picture, EDIT);
  assert.equal(human.find((s) => s.id === unsure[0]).dialogue[0].speaker, lu.id);
  assert.equal(human.find((s) => s.id === unsure[0]).notes, '');
  await context.close();

  // ---- the reviewer: the history shows the draft and the human version, picture highlighted ----
  const rctx = await h.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const rpage = await rctx.newPage();
  rpage.on('pageerror', (e) => pageErrors.push(String(e)));
  await login(rpage, `${h.base}/projects/${project.id}/review`);
  await rpage.waitForSelector('[data-testid=task-text]');
  assert.equal(Number(await rpage.getAttribute('.work', 'data-task')), taskId);
  const hist = `${byId(edited)} [data-testid=sb-history]`;
  await rpage.click(`${byId(edited)} [data-testid=sb-history-btn]`);
  await rpage.waitForFunction((sel) => document.querySelectorAll(`${sel} li`).length === 2, hist);
  const rows = await rpage.$$eval(`${hist} li`, (els) => els.map((e) => ({
    source: e.dataset.source,
    text: e.textContent,
    changed: [...e.querySelectorAll('.sb-hist-f')].map((f) => f.dataset.field),
    marked: [...e.querySelectorAll('.sb-hist-f mark')].map((m) => m.textContent),
    restore: !!e.querySelector('[data-testid=sb-restore]'),
  })));
  assert.equal(rows[0].source, 'prediction');
  assert.match(rows[0].text, /机器草稿/);
  assert.ok(rows[0].restore, 'the draft can be restored');
  assert.equal(rows[1].source, 'human');
  assert.match(rows[1].text, /人工.*第 1 版/);
  assert.deepEqual(rows[1].changed, ['picture']);
  assert.deepEqual(rows[1].marked, ['画面内容']);
  assert.match(rows[1].text, new RegExp(`${draftPicture}.*→.*${EDIT}`));
  assert.match(rows[1].text, /与当前相同/);
  assert.ok(!rows[1].restore, 'the current version has nothing to restore');
  await h.shot(rpage, 'story-history-02-history');
  await rpage.locator(byId(edited)).screenshot({ path: path.join(ROOT, 'screenshots', 'story-history-02-card.png') });

  // restore the draft's fields: one undoable edit; the id and the source range stay
  const rangeBefore = await rpage.textContent(`${byId(edited)} [data-testid=range]`);
  await rpage.click(`${hist} li[data-source=prediction] [data-testid=sb-restore]`);
  await rpage.waitForFunction(([sel, want]) => document.querySelector(sel)?.value === want,
    [`${byId(edited)} textarea[data-field=picture]`, draftPicture]);
  assert.match(await rpage.textContent('[data-testid=sb-msg]'), /镜 2 已恢复为机器草稿/);
  assert.equal(await rpage.textContent(`${byId(edited)} [data-testid=range]`), rangeBefore);
  await rpage.waitForSelector('[data-testid=review-edited]');
  await rpage.waitForSelector(`${hist} li[data-source=prediction].sb-hist-now`);
  await rpage.keyboard.press('Control+z');
  await rpage.waitForFunction(([sel, want]) => document.querySelector(sel)?.value === want,
    [`${byId(edited)} textarea[data-field=picture]`, EDIT]);
  await rpage.keyboard.press('Control+Shift+Z');
  await rpage.waitForFunction(([sel, want]) => document.querySelector(sel)?.value === want,
    [`${byId(edited)} textarea[data-field=picture]`, draftPicture]);
  await rpage.waitForSelector('[data-testid=review-edited]');
  await h.shot(rpage, 'story-history-03-restored');
  await rpage.click('[data-testid=review-fix]');
  await rpage.waitForSelector('[data-testid=review-empty]');
  const anns = (await h.ok('GET', `/api/v1/tasks/${taskId}/annotations`)).items;
  const last = anns.reduce((x, y) => (y.version > x.version ? y : x));
  const fixed = last.result.shots.find((s) => s.id === edited);
  assert.equal(fixed.picture, draftPicture);
  assert.deepEqual(last.result.shots.map((s) => s.id), drafted);
  const versions = (await h.ok('GET', `/api/v1/tasks/${taskId}/shots/${edited}/history`)).versions;
  assert.deepEqual(versions.map((v) => v.source), ['prediction', 'human', 'review']);
  assert.equal(versions[2].shot.picture, draftPicture);

  // ---- roster merge suggestions: 俊义 → 卢俊义？ dismissed here, then back, then merged ----
  const before = await h.ok('GET', `/api/v1/projects/${project.id}/characters`);
  assert.ok(before.suggestions.some((s) => s.from === jy.id && s.into === lu.id), JSON.stringify(before.suggestions));
  await rpage.goto(`${h.base}/projects/${project.id}`);
  await rpage.click('[data-testid=tab-story]');
  const sug = `[data-testid=char-suggestion][data-from="${jy.id}"][data-into="${lu.id}"]`;
  await rpage.waitForSelector(sug);
  assert.match(await rpage.textContent(sug), /俊义 → 卢俊义？/);
  await h.shot(rpage, 'story-history-04-suggestion');
  await rpage.locator('[data-testid=characters]').screenshot({ path: path.join(ROOT, 'screenshots', 'story-history-04-panel.png') });
  await rpage.click(`${sug} [data-testid=char-suggest-dismiss]`);
  await rpage.waitForSelector(sug, { state: 'detached' });
  await rpage.reload();
  await rpage.click('[data-testid=tab-story]');
  await rpage.waitForSelector(`[data-testid=char-table] tr[data-char="${jy.id}"]`);
  assert.equal(await rpage.$(sug), null, 'a dismissed suggestion stays dismissed in this browser');
  assert.ok((await h.ok('GET', `/api/v1/projects/${project.id}/characters`)).characters.every((c) => !c.merged_into),
    'dismissing changes nothing on the server');
  await rpage.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('annotd.sb.dismissed.')).forEach((k) => localStorage.removeItem(k)));
  await rpage.reload();
  await rpage.click('[data-testid=tab-story]');
  await rpage.waitForSelector(sug);
  await rpage.click(`${sug} [data-testid=char-suggest-merge]`);
  await rpage.waitForSelector(sug, { state: 'detached' });
  await rpage.waitForFunction((id) => document.querySelector(`[data-testid=char-table] tr[data-char="${id}"]`)?.classList.contains('merged'), jy.id);
  assert.match(await rpage.textContent(`[data-testid=char-table] tr[data-char="${jy.id}"]`), /→ 卢俊义/);
  await h.shot(rpage, 'story-history-05-merged');
  const afterMerge = await h.ok('GET', `/api/v1/projects/${project.id}/characters`);
  assert.equal(afterMerge.characters.find((c) => c.id === jy.id).merged_into, lu.id);
  assert.ok(afterMerge.characters.find((c) => c.id === lu.id).aliases.includes('俊义'));
  assert.deepEqual(afterMerge.suggestions, []);
  assert.deepEqual(pageErrors, []);
  await rctx.close();
});
