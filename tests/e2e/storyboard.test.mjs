import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useWorkbench, selectText, OWNER, OWNER_PW } from './harness.mjs';

// The storyboard tool (web/src/tools/storyboard/) in the workbench: a
// storyboard project whose scene (Chinese, with an emoji before the cut
// points so that code points and UTF-16 units differ) is imported as a task
// (POST /tasks, JSON Lines of task data per issue 5's contract); the
// annotator inserts a shot, gives it the whole text as source, edits size,
// picture, duration, a custom field and characters, splits it twice at text
// selections, merges two, inserts one more, moves it up, deletes it and
// undoes that, and submits with Ctrl+Enter. The stored result keeps the
// first shot's id through the split, new shots have new unique ids, and the
// source ranges are code points. The reviewer then opens the same result
// in the review screen (the same tool), changes a shot and fixes it.
// A second test imports a novel as raw text (POST /novel): the drafted
// shots arrive pre-filled, the chapter and series totals follow the edits,
// and a re-import that changes an edited shot's sentence flags that shot,
// which the reviewer sees (with the diff) and resolves.
const TEXT = '😀宋江走进酒店，四下张望。\n“小二，打两角酒来！”宋江喝道。\n店小二连忙应声：“客官稍等。”窗外忽然下起雨来。';
const CPS = Array.from(TEXT);
const N = CPS.length;
const cp = (s) => Array.from(TEXT.slice(0, TEXT.indexOf(s))).length; /* code-point offset of s */
const P1 = cp('“小二'); /* 2nd sentence */
const P2 = cp('店小二'); /* 3rd */
const P3 = cp('窗外'); /* the last clause */
const tenth = (x) => Math.round(x * 10) / 10;

// A novel imported as a raw .txt (POST /novel): the rules drafter's shots
// arrive as the annotator's draft; the running totals come from GET /novel.
const NOVEL = '《水浒》\n\n第一回 宋江沽酒\n\n宋江走进酒店，四下张望。😀\n“小二，打两角酒来！”宋江喝道。\n'
  + '店小二连忙应声：“客官稍等。”\n\n第二回 雨夜\n\n窗外忽然下起雨来。宋江独坐窗前，叹道：“何时是个头。”\n';

let project, task, songjiang, novelProject;

const h = useWorkbench(async ({ ok }) => {
  project = await ok('POST', '/api/v1/projects', {
    name: '水浒分镜', kind: 'storyboard',
    config: { custom_fields: [{ name: 'mood', label: '情绪', type: 'choice', options: ['紧张', '平静'] }] },
  }, 201);
  const data = { novel: 1, chapter: { index: 1, title: '第一回 宋江沽酒', volume: null }, scene: 1, text: TEXT };
  const r = await h.call('POST', `/api/v1/projects/${project.id}/tasks`,
    JSON.stringify({ key: 'c1-s1', data }) + '\n', undefined, 'application/x-ndjson');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  task = (await ok('GET', `/api/v1/projects/${project.id}/tasks`)).items[0];
  songjiang = await ok('POST', `/api/v1/projects/${project.id}/characters`, { name: '宋江', aliases: ['公明'] }, 201);
  novelProject = await ok('POST', '/api/v1/projects', { name: '水浒（导入）', kind: 'storyboard', config: {} }, 201);
  const imp = await h.call('POST', `/api/v1/projects/${novelProject.id}/novel`, NOVEL, undefined, 'text/plain; charset=utf-8');
  assert.equal(imp.status, 200, JSON.stringify(imp.body));
});

/* a click on the first line of an inline element (its box centre may lie on other text) */
async function clickAt(page, sel) {
  const r = await page.$eval(sel, (e) => {
    const b = e.getClientRects()[0];
    return { x: b.left + Math.min(8, b.width / 2), y: b.top + b.height / 2 };
  });
  await page.mouse.click(r.x, r.y);
}

const card = (n) => `.sb-card[data-no="${n}"]`;
const ids = (page) => page.$$eval('.sb-card', (els) => els.map((e) => e.getAttribute('data-shot')));
const range = (page, n) => page.textContent(`${card(n)} [data-testid=range]`);

test('storyboard: edit, split, merge, insert, reorder, delete/undo, submit; then review', async () => {
  assert.notEqual(P1, TEXT.indexOf('“小二'), 'the emoji makes code points and UTF-16 units differ');
  const context = await h.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await h.openStream(page, project.id);
  assert.equal(await page.textContent('[data-testid=task-text]'), TEXT);

  // I: a first shot; T: the whole text as its source
  await page.keyboard.press('i');
  await page.waitForSelector(card(1));
  const [a] = await ids(page);
  assert.match(a, /^u-[0-9a-z]+$/);
  await selectText(page, 0, N);
  await page.keyboard.press('t');
  await page.waitForFunction((want) => document.querySelector('.sb-card [data-testid=range]')?.textContent === want,
    `[0, ${N})`);

  // fields: size, picture, duration, a custom field
  await page.selectOption(`${card(1)} select[data-field=size]`, 'long');
  await page.fill(`${card(1)} textarea[data-field=picture]`, '酒店内景，宋江入门张望');
  await page.fill(`${card(1)} [data-testid=duration]`, '9');
  await page.selectOption(`${card(1)} select[data-custom=mood]`, '紧张');
  await page.keyboard.press('Escape'); /* out of the field: the keys are the tool's again */
  assert.equal(await page.$eval(`${card(1)} select[data-field=size]`, (e) => e.selectedOptions[0].textContent), '远景');
  // the roster: a click adds 宋江 to the shot; a new character added from the panel joins it too
  await page.click(`.sb-person[data-char="${songjiang.id}"]`);
  await page.waitForSelector(`${card(1)} .sb-chip[data-char="${songjiang.id}"]`);
  await page.fill('.sb-newchar input', '店小二');
  await page.click('.sb-newchar button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('.sb-card[data-no="1"] .sb-chip').length === 2);
  await page.keyboard.press('Escape');
  assert.match(await page.textContent('[data-testid=sb-scene-total]'), /00:09/);

  // S at the 2nd sentence: the first part keeps the id
  await selectText(page, P1, P1 + 2);
  await page.keyboard.press('s');
  await page.waitForSelector(card(2));
  let now = await ids(page);
  assert.equal(now[0], a);
  const b = now[1];
  assert.match(b, /^u-/);
  assert.notEqual(b, a);
  assert.equal(await range(page, 1), `[0, ${P1})`);
  assert.equal(await range(page, 2), `[${P1}, ${N})`);
  // the new shot is selected: S again at the 3rd sentence
  await page.waitForSelector(`${card(2)}.on`);
  await selectText(page, P2, P2 + 1);
  await page.keyboard.press('s');
  await page.waitForSelector(card(3));
  now = await ids(page);
  const c = now[2];
  assert.deepEqual(now, [a, b, c]);
  assert.equal(new Set(now).size, 3);
  await h.shot(page, 'storyboard-01-split');

  // K back to shot 2, M merges it with shot 3 (shot 2's id stays)
  await page.keyboard.press('k');
  await page.waitForSelector(`${card(2)}.on`);
  await page.keyboard.press('m');
  await page.waitForFunction(() => document.querySelectorAll('.sb-card').length === 2);
  assert.deepEqual(await ids(page), [a, b]);
  assert.equal(await range(page, 2), `[${P1}, ${N})`);

  // I after shot 2, T sets its source; Alt+Shift+↑ moves it before shot 2
  await page.keyboard.press('i');
  await page.waitForSelector(card(3));
  const d = (await ids(page))[2];
  assert.ok(![a, b, c].includes(d), 'a new id, never reused');
  await selectText(page, P3, N);
  await page.keyboard.press('t');
  await page.waitForFunction(([sel, want]) => document.querySelector(sel)?.textContent === want,
    [`${card(3)} [data-testid=range]`, `[${P3}, ${N})`]);
  await page.keyboard.press('Alt+Shift+ArrowUp');
  await page.waitForFunction((want) => document.querySelector('.sb-card[data-no="2"]')?.getAttribute('data-shot') === want, d);
  assert.deepEqual(await ids(page), [a, d, b]);
  // clicking a shot's text selects it
  await clickAt(page, `.sb-seg[data-start="${P1}"]`);
  await page.waitForSelector(`.sb-card.on[data-shot="${b}"]`);
  // Delete (shot 3 = b), then undo
  await page.keyboard.press('Delete');
  await page.waitForFunction(() => document.querySelectorAll('.sb-card').length === 2);
  assert.match(await page.textContent('[data-testid=sb-msg]'), /镜 3/);
  await page.keyboard.press('Control+z');
  await page.waitForFunction(() => document.querySelectorAll('.sb-card').length === 3);
  assert.deepEqual(await ids(page), [a, d, b]);
  // J/K and Alt+↓ move the selection
  await page.keyboard.press('Alt+ArrowUp');
  await page.waitForSelector(`.sb-card.on[data-shot="${d}"]`);
  await page.keyboard.press('j');
  await page.waitForSelector(`.sb-card.on[data-shot="${b}"]`);
  await h.shot(page, 'storyboard-02-edited');

  await h.saveState(page, '已保存');
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('[data-testid=empty]');
  const anns = (await h.ok('GET', `/api/v1/tasks/${task.id}/annotations`)).items;
  assert.equal(anns.length, 1);
  const shots = anns[0].result.shots;
  assert.deepEqual(shots.map((s) => s.id), [a, d, b]);
  assert.deepEqual(shots.map((s) => [s.source.start, s.source.end]), [[0, P1], [P3, N], [P1, N]]);
  const [sa, sd, sb] = shots;
  assert.equal(sa.size, 'long');
  assert.equal(sa.picture, '酒店内景，宋江入门张望');
  assert.deepEqual(sa.custom, { mood: '紧张' });
  assert.equal(sa.characters.length, 2);
  assert.equal(sa.characters[0], songjiang.id);
  assert.equal(sd.size, 'medium');
  assert.equal(sd.duration, 3);
  // durations: 9 s shared by source length at the split, the two halves of b summed back by the merge
  assert.equal(sa.duration, tenth((9 * P1) / N));
  assert.ok(Math.abs(sa.duration + sb.duration - 9) < 0.11, `${sa.duration} + ${sb.duration}`);
  assert.deepEqual(sb.characters, sa.characters);
  assert.deepEqual(pageErrors, []);
  await context.close();

  // review: the same tool; the reviewer changes shot 2's size and fixes
  const rctx = await h.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const rpage = await rctx.newPage();
  rpage.on('pageerror', (e) => pageErrors.push(String(e)));
  await rpage.goto(`${h.base}/projects/${project.id}/review`);
  await rpage.fill('input[name=login]', OWNER);
  await rpage.fill('input[name=password]', OWNER_PW);
  await rpage.click('button[type=submit]');
  await rpage.waitForSelector('[data-testid=task-text]');
  assert.deepEqual(await ids(rpage), [a, d, b]);
  await rpage.keyboard.press('j');
  await rpage.waitForSelector(`.sb-card.on[data-shot="${d}"]`);
  await rpage.selectOption(`${card(2)} select[data-field=size]`, 'closeup');
  await rpage.waitForSelector('[data-testid=review-edited]');
  await h.shot(rpage, 'storyboard-03-review');
  await rpage.click('[data-testid=review-fix]');
  await rpage.waitForSelector('[data-testid=review-empty]');
  const after = (await h.ok('GET', `/api/v1/tasks/${task.id}/annotations`)).items;
  const last = after.reduce((x, y) => (y.version > x.version ? y : x));
  assert.deepEqual(last.result.shots.map((s) => [s.id, s.size]), [[a, 'long'], [d, 'closeup'], [b, 'long']]);
  assert.deepEqual(pageErrors, []);
  await rctx.close();
});

test('storyboard: a drafted scene arrives pre-filled; totals move live; a re-import flags an edited shot', async () => {
  const context = await h.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await h.openStream(page, novelProject.id);
  const taskId = Number(await page.getAttribute('.work', 'data-task'));
  const drafted = await ids(page);
  assert.ok(drafted.length >= 2, `drafted shots: ${drafted}`);
  const roster = (await h.ok('GET', `/api/v1/projects/${novelProject.id}/characters`)).characters;
  const sj = roster.find((c) => c.name === '宋江');
  assert.ok(sj, JSON.stringify(roster));
  await page.waitForSelector(`${card(1)} .sb-chip[data-char="${sj.id}"]`);
  assert.match(await page.textContent(`${card(1)} .sb-chip`), /宋江/);
  // totals: this chapter and the series from GET /novel, plus this scene's edits
  const novel = await h.ok('GET', `/api/v1/projects/${novelProject.id}/novel`);
  const clock = (x, hours) => {
    const t = Math.round(x);
    const p = (n) => String(n).padStart(2, '0');
    return hours ? `${p(Math.floor(t / 3600))}:${p(Math.floor(t / 60) % 60)}:${p(t % 60)}` : `${p(Math.floor(t / 60))}:${p(t % 60)}`;
  };
  const ch = novel.chapters[0].duration;
  const all = novel.totals.duration;
  await page.waitForSelector('[data-testid=sb-series]');
  assert.equal(await page.textContent('[data-testid=sb-series]'),
    `本章 ${clock(ch)} · 全剧 ${clock(all, true)} / 目标 ${novel.totals.target_seconds / 60} 分钟`);
  const d1 = Number(await page.inputValue(`${card(1)} [data-testid=duration]`));
  await page.fill(`${card(1)} [data-testid=duration]`, String(d1 + 2));
  await page.waitForFunction((want) => document.querySelector('[data-testid=sb-series]')?.textContent.startsWith(want),
    `本章 ${clock(ch + 2)} · 全剧 ${clock(all + 2, true)}`);
  // a human edit of shot 2's picture, submitted
  await page.fill(`${card(2)} textarea[data-field=picture]`, '宋江拍案叫酒');
  await page.keyboard.press('Escape');
  await h.shot(page, 'storyboard-04-drafted');
  await page.keyboard.press('Control+Enter');
  await page.waitForFunction((id) => document.querySelector('.work')?.getAttribute('data-task') !== String(id)
    || document.querySelector('[data-testid=empty]'), taskId);
  const stored = (await h.ok('GET', `/api/v1/tasks/${taskId}/annotations`)).items[0].result.shots;
  assert.deepEqual(stored.map((x) => x.id), drafted, 'the drafted ids are kept');
  assert.equal(stored[1].picture, '宋江拍案叫酒');
  await context.close();

  // re-import with shot 2's sentence changed: the edited shot is kept and flagged
  const changed = NOVEL.replace('宋江喝道', '宋江大声喝道');
  const sync = await h.call('POST', `/api/v1/projects/${novelProject.id}/novel`, changed, undefined, 'text/plain; charset=utf-8');
  assert.equal(sync.status, 200, JSON.stringify(sync.body));
  const flags = (await h.ok('GET', `/api/v1/tasks/${taskId}/flags`)).flags;
  const flag = flags.find((f) => f.shot_id === drafted[1] && !f.resolved);
  assert.ok(flag, `a flag on ${drafted[1]}: ${JSON.stringify(sync.body.sync)} ${JSON.stringify(flags)}`);

  // the reviewer sees the flag on that shot with the diff, and resolves it
  const rctx = await h.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const rpage = await rctx.newPage();
  rpage.on('pageerror', (e) => pageErrors.push(String(e)));
  await rpage.goto(`${h.base}/projects/${novelProject.id}/review`);
  await rpage.fill('input[name=login]', OWNER);
  await rpage.fill('input[name=password]', OWNER_PW);
  await rpage.click('button[type=submit]');
  await rpage.waitForSelector('[data-testid=task-text]');
  assert.equal(Number(await rpage.getAttribute('.work', 'data-task')), taskId);
  const flagged = `.sb-card[data-shot="${drafted[1]}"]`;
  await rpage.click(`${flagged} [data-testid=sb-flag]`);
  assert.match(await rpage.textContent(`${flagged} .sb-difftext`), /大声/);
  await h.shot(rpage, 'storyboard-05-flag');
  await rpage.click(`${flagged} [data-testid=sb-resolve]`);
  await rpage.waitForSelector(`${flagged} [data-testid=sb-flag]`, { state: 'detached' });
  assert.ok((await h.ok('GET', `/api/v1/tasks/${taskId}/flags`)).flags.every((f) => f.resolved));
  assert.deepEqual(pageErrors, []);
  await rctx.close();
});
