import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { useWorkbench, OWNER, OWNER_PW } from './harness.mjs';

// Issue 5's "Done when", walked in the browser as a new team would: the
// owner creates a storyboard project with the config editor (target
// minutes, a custom field; the live preview is the real storyboard tool),
// lands on the project page and uploads a novel of three chapters on the
// "小说与角色" tab; the report shows the chapters and the sync counts. The
// annotator opens the stream, finds the drafted shots, edits a shot's
// picture and size in chapters 1 and 2 and submits every scene; the
// reviewer accepts them in the review screen. The owner uploads the novel
// again with chapters 4 and 5 appended and one sentence of chapter 2
// changed: the report shows shots added, and every edited shot is intact
// (same id, same picture and size; the chapter-2 one flagged). Finally the
// storyboard downloads in every format from the export picker.

const REVIEWER = 'rita';
const REVIEWER_PW = 'rita-password-123';

const CH1 = `第一章 雨夜来客

青石镇的雨下了整整三天。客栈掌柜周伯正要关门，门外忽然传来一阵急促的敲门声。
周伯拉开门闩，只见一个浑身湿透的少年站在檐下。
“掌柜的，还有空房吗？”少年问道。
周伯打量了他一眼，说道：“楼上还有一间，进来吧。”
少年道了声谢，把背上的木匣小心地放在桌上。
`;
const CHANGED = '周伯不再多问，放下粥碗便下楼去了。';
const CH2 = `第二章 木匣之谜

天亮以后，周伯端着热粥上楼。少年正坐在窗边擦拭那只木匣。
“这匣子里装的是什么？”周伯笑道。
少年沉默片刻，低声道：“是我师父留下的一封信。”
${CHANGED}
窗外传来一阵马蹄声，少年脸色一变。
`;
const CH3 = `第三章 追兵

三个黑衣人闯进客栈，为首的大汉喝道：“把木匣交出来！”
周伯挡在楼梯口，怒道：“这里是客栈，不是你们撒野的地方。”
少年从楼上一跃而下，抱着木匣冲进了雨里。
黑衣人紧追不舍，青石镇的长街上溅起一片水花。
`;
const CH4 = `第四章 竹林

少年一路跑进了后山的竹林。雨渐渐停了，林中雾气弥漫。
一个白发老人拄着竹杖站在小路尽头，缓缓说道：“你来迟了。”
少年跪倒在地，哭道：“师叔，师父他……”
老人叹道：“起来吧，先把信给我看看。”
`;
const CH5 = `第五章 书信

老人拆开信，看了很久，一言不发。
少年忍不住问道：“信上写了什么？”
老人把信收进袖中，说道：“明日一早，随我下山。”
远处的青石镇上，钟声响了三下。
`;
const TITLE = '《青石镇》\n\n';
const V1 = TITLE + [CH1, CH2, CH3].join('\n');
const V2 = TITLE + [CH1, CH2.replace(CHANGED, '周伯点了点头，放下粥碗，轻轻带上了房门。'), CH3, CH4, CH5].join('\n');

const tmp = mkdtempSync(path.join(tmpdir(), 'annotd-e2e-story-flow-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const h = useWorkbench(async ({ ok }) => {
  await ok('POST', '/api/v1/users', { login: REVIEWER, password: REVIEWER_PW, name: '丽塔', role: 'reviewer' }, 201);
});

async function waitText(page, sel, re, timeout = 10000) {
  await page.waitForFunction(([s, src]) => {
    const el = document.querySelector(s);
    return !!el && new RegExp(src).test(el.textContent);
  }, [sel, re.source], { timeout });
}

async function login(page, user, pw) {
  await page.fill('input[name=login]', user);
  await page.fill('input[name=password]', pw);
  await page.click('button[type=submit]');
}

function watch(page, errors) {
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', (d) => { errors.push('dialog: ' + d.message()); d.dismiss(); });
}

/* The newest annotation's shots of a task. */
async function currentShots(taskId) {
  const items = (await h.ok('GET', `/api/v1/tasks/${taskId}/annotations`)).items;
  assert.ok(items.length > 0, `task ${taskId} has annotations`);
  return items.reduce((x, y) => (y.version > x.version ? y : x)).result.shots;
}

test('novel -> storyboard: create, upload, draft, edit, review, append chapters, export every format', async () => {
  const errors = [];

  // ---- the owner: a new storyboard project through the config editor ----
  const octx = await h.browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  const page = await octx.newPage();
  watch(page, errors);
  await page.goto(h.base + '/');
  await login(page, OWNER, OWNER_PW);
  await page.click('[data-testid=new-project-link]');
  await page.waitForSelector('[data-testid=new-project]');
  await page.fill('[data-testid=np-name]', '青石镇分镜');
  await page.selectOption('[data-testid=cfg-kind]', 'storyboard');
  assert.equal(await page.$eval('[data-testid=cfg-kind]', (e) => e.selectedOptions[0].textContent), '小说分镜');
  await page.waitForSelector('[data-testid=np-sb-next]');

  // the preview is the storyboard tool with a sample scene and its shots; `{}` is the config so far
  await page.waitForSelector('[data-testid=cfg-preview] [data-testid=task-text]');
  assert.match(await page.textContent('[data-testid=cfg-preview] [data-testid=task-text]'), /林冲/);
  assert.equal(await page.$$eval('[data-testid=cfg-preview] .sb-card', (c) => c.length), 3);
  assert.equal(await page.textContent('[data-testid=cfg-json]'), '{}');
  assert.match(await page.textContent('[data-testid=cfg-sb-note]'), /目标 150 分钟/);

  // target minutes; the note follows
  await page.fill('[data-testid=cfg-sb-target]', '90');
  await waitText(page, '[data-testid=cfg-sb-note]', /目标 90 分钟/);

  // the LLM drafter form: the key is an env var NAME, the endpoint needs the operator's allow list
  await page.check('[data-testid=cfg-sb-drafter-llm]');
  assert.match(await page.textContent('[data-testid=cfg-sb-allow]'), /ANNOTD_LLM_ALLOW/);
  await page.fill('[data-testid=cfg-sb-base-url]', 'https://llm.example.com/v1');
  await page.fill('[data-testid=cfg-sb-model]', 'qwen2.5-72b-instruct');
  await page.fill('[data-testid=cfg-sb-key-env]', 'sk-not-a-name');
  await page.waitForSelector('[data-testid=cfg-sb-key-env-bad]');
  await page.fill('[data-testid=cfg-sb-key-env]', 'ANNOTD_LLM_KEY');
  await page.waitForSelector('[data-testid=cfg-sb-key-env-bad]', { state: 'detached' });
  let cfg = JSON.parse(await page.textContent('[data-testid=cfg-json]'));
  assert.deepEqual(cfg.drafter, { kind: 'llm', base_url: 'https://llm.example.com/v1', model: 'qwen2.5-72b-instruct', api_key_env: 'ANNOTD_LLM_KEY' });
  await h.shot(page, 'story-flow-01-llm-drafter');
  await page.check('[data-testid=cfg-sb-drafter-rules]'); /* no model in this test */
  await page.waitForSelector('[data-testid=cfg-sb-base-url]', { state: 'detached' });

  // a custom field: a Chinese name is refused by the server at the field, an ASCII one goes
  await page.click('[data-testid=cfg-sb-add-field]');
  await page.fill('[data-testid=cfg-sb-field-name]', '情绪');
  await page.fill('[data-testid=cfg-sb-field-label]', '情绪');
  await page.selectOption('[data-testid=cfg-sb-field-type]', 'choice');
  await page.fill('[data-testid=cfg-sb-field-options]', '紧张，平静');
  await page.waitForSelector('[data-testid=cfg-preview] .sb-card select[data-custom="情绪"]');
  await page.click('[data-testid=np-create]');
  await page.waitForSelector('[data-testid="cfg-err-custom_fields[0]"]');
  await page.fill('[data-testid=cfg-sb-field-name]', 'mood');
  await page.waitForSelector('[data-testid=cfg-preview] .sb-card select[data-custom=mood]');
  cfg = JSON.parse(await page.textContent('[data-testid=cfg-json]'));
  const wantConfig = { target_minutes: 90, custom_fields: [{ name: 'mood', label: '情绪', type: 'choice', options: ['紧张', '平静'] }] };
  assert.deepEqual(cfg, wantConfig);
  await h.shot(page, 'story-flow-02-new-project');
  await page.click('[data-testid=np-create]');
  await page.waitForSelector('[data-testid=project-page]');
  const projectId = Number(/^\/projects\/(\d+)$/.exec(new URL(page.url()).pathname)?.[1]);
  assert.ok(projectId > 0, page.url());
  const project = await h.ok('GET', `/api/v1/projects/${projectId}`);
  assert.equal(project.kind, 'storyboard');
  assert.deepEqual(project.config, wantConfig);

  // the settings tab shows the same form, and an unchanged form changes nothing
  await page.click('[data-testid=tab-settings]');
  await page.waitForSelector('[data-testid=settings] [data-testid=cfg-sb-target]');
  assert.equal(await page.inputValue('[data-testid=settings] [data-testid=cfg-sb-target]'), '90');
  assert.equal(await page.inputValue('[data-testid=settings] [data-testid=cfg-sb-field-name]'), 'mood');
  await page.click('[data-testid=set-save]');
  await waitText(page, '[data-testid=set-status]', /没有改动/);

  // ---- the novel tab: upload chapters 1-3 ----
  await page.click('[data-testid=tab-story]');
  await page.waitForSelector('[data-testid=novel-none]');
  const v1 = path.join(tmp, '青石镇.txt');
  writeFileSync(v1, V1);
  await page.setInputFiles('[data-testid=novel-file]', v1);
  await page.waitForSelector('[data-testid=novel-report], [data-testid=novel-error]');
  assert.equal(await page.$('[data-testid=novel-error]'), null, await page.textContent('[data-testid=novel]'));
  const report1 = await page.$$eval('[data-testid=novel-report] tbody tr', (rows) => rows.map((r) => r.children[1].textContent));
  assert.deepEqual(report1, ['第一章 雨夜来客', '第二章 木匣之谜', '第三章 追兵']);
  const sync1 = await page.textContent('[data-testid=novel-sync]');
  const added1 = Number(/新增 (\d+)/.exec(sync1)?.[1]);
  assert.ok(added1 > 0, sync1);
  assert.match(sync1, /保留 0，重新起草 0，标记待查 0/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=novel-view] [data-testid=novel-chapters] tbody tr').length === 3);
  assert.match(await page.textContent('[data-testid=novel-duration]'), /目标 1:30:00/);
  await waitText(page, '[data-testid=count-total]', /共 3 条/);
  // the roster panel re-reads the characters the import found
  const roster = (await h.ok('GET', `/api/v1/projects/${projectId}/characters`)).characters;
  if (roster.length) await waitText(page, '[data-testid=characters]', new RegExp(roster[0].name));
  await h.shot(page, 'story-flow-03-novel');

  // ---- the annotator: the drafted shots, edits in chapters 1 and 2, every scene submitted ----
  const actx = await h.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const apage = await actx.newPage();
  watch(apage, errors);
  await h.openStream(apage, projectId);
  const edits = {}; /* chapter -> {task, id, picture, size} */
  for (let n = 0; n < 3; n++) {
    await apage.waitForSelector('.work [data-testid=task-text]');
    const taskId = Number(await apage.getAttribute('.work', 'data-task'));
    const heading = await apage.textContent('.sb-left h2');
    const chapter = /第一章/.test(heading) ? 1 : /第二章/.test(heading) ? 2 : /第三章/.test(heading) ? 3 : 0;
    assert.ok(chapter > 0, heading);
    const cards = await apage.$$eval('.sb-card', (els) => els.map((e) => ({
      id: e.getAttribute('data-shot'),
      range: e.querySelector('[data-testid=range]')?.textContent ?? '',
    })));
    assert.ok(cards.length >= 2, `drafted shots in chapter ${chapter}: ${JSON.stringify(cards)}`);
    assert.ok(cards.every((c) => c.id), 'every drafted shot has its id');
    // the custom field is on every shot
    assert.equal(await apage.$$eval('.sb-card select[data-custom=mood]', (s) => s.length), cards.length);
    let pick = null;
    if (chapter === 1) pick = { no: 1, picture: '雨夜，客栈门前，周伯提灯开门', size: 'long' };
    if (chapter === 2) {
      // the shot over the sentence that the second upload changes
      const text = await apage.textContent('[data-testid=task-text]');
      const at = Array.from(text.slice(0, text.indexOf(CHANGED))).length;
      const no = cards.findIndex((c) => {
        const m = /^\[(\d+), (\d+)\)$/.exec(c.range);
        return m && Number(m[1]) <= at && at < Number(m[2]);
      }) + 1;
      assert.ok(no > 0, `a shot over "${CHANGED}" (${at}): ${JSON.stringify(cards)}`);
      pick = { no, picture: '周伯摇头不语，端着空碗退出房门', size: 'close' };
    }
    if (pick) {
      const card = `.sb-card[data-no="${pick.no}"]`;
      const id = await apage.getAttribute(card, 'data-shot');
      const before = await apage.inputValue(`${card} textarea[data-field=picture]`);
      assert.notEqual(before, pick.picture);
      await apage.fill(`${card} textarea[data-field=picture]`, pick.picture);
      await apage.selectOption(`${card} select[data-field=size]`, pick.size);
      await apage.selectOption(`${card} select[data-custom=mood]`, '紧张');
      await apage.keyboard.press('Escape');
      edits[chapter] = { task: taskId, id, picture: pick.picture, size: pick.size };
      await h.shot(apage, `story-flow-04-annotate-ch${chapter}`);
    }
    await h.saveState(apage, '已保存');
    await apage.click('[data-testid=submit]');
    await apage.waitForFunction((id) => document.querySelector('[data-testid=empty]')
      || (document.querySelector('.work') && document.querySelector('.work').getAttribute('data-task') !== String(id)), taskId);
    if (pick) {
      const stored = (await currentShots(taskId)).find((s) => s.id === edits[chapter].id);
      assert.ok(stored, `shot ${edits[chapter].id} stored`);
      assert.equal(stored.picture, pick.picture);
      assert.equal(stored.size, pick.size);
      assert.deepEqual(stored.custom, { mood: '紧张' });
    }
  }
  await apage.waitForSelector('[data-testid=empty]');
  assert.deepEqual(Object.keys(edits).sort(), ['1', '2']);
  await actx.close();

  // ---- the reviewer accepts every scene in the review screen ----
  const rctx = await h.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const rpage = await rctx.newPage();
  watch(rpage, errors);
  await rpage.goto(`${h.base}/projects/${projectId}/review`);
  await login(rpage, REVIEWER, REVIEWER_PW);
  for (let n = 0; n < 3; n++) {
    await rpage.waitForSelector('.work [data-testid=task-text]');
    const taskId = await rpage.getAttribute('.work', 'data-task');
    const edit = Object.values(edits).find((e) => String(e.task) === taskId);
    if (edit) {
      // the reviewer sees the annotator's edit
      assert.equal(await rpage.inputValue(`.sb-card[data-shot="${edit.id}"] textarea[data-field=picture]`), edit.picture);
      if (n === 0) await h.shot(rpage, 'story-flow-05-review');
    }
    await rpage.click('[data-testid=review-accept]');
    await rpage.waitForFunction((id) => document.querySelector('[data-testid=review-empty]')
      || (document.querySelector('.work') && document.querySelector('.work').getAttribute('data-task') !== id), taskId);
  }
  await rpage.waitForSelector('[data-testid=review-empty]');
  await rctx.close();
  const reviewed = await h.ok('GET', `/api/v1/projects/${projectId}`);
  assert.equal(reviewed.counts.accepted, 3, JSON.stringify(reviewed.counts));

  // ---- the owner appends chapters 4-5 and changes one sentence of chapter 2 ----
  const v2 = path.join(tmp, '青石镇-续.txt');
  writeFileSync(v2, V2);
  await page.setInputFiles('[data-testid=novel-file]', v2);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=novel-report] tbody tr').length === 5
    || document.querySelector('[data-testid=novel-error]'));
  assert.equal(await page.$('[data-testid=novel-error]'), null, await page.textContent('[data-testid=novel]'));
  const sync2 = await page.textContent('[data-testid=novel-sync]');
  const [, added2, kept2, , flagged2] = /新增 (\d+)，保留 (\d+)，重新起草 (\d+)，标记待查 (\d+)/.exec(sync2).map(Number);
  assert.ok(added2 > 0, sync2);
  assert.ok(kept2 > 0, sync2);
  assert.ok(flagged2 >= 1, sync2);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=novel-view] [data-testid=novel-chapters] tbody tr').length === 5);
  await waitText(page, '[data-testid=count-total]', /共 5 条/);
  await h.shot(page, 'story-flow-06-sync');

  // not a single edit lost: same id, same picture and size; the chapter-2 shot is flagged with the diff
  for (const e of Object.values(edits)) {
    const shot = (await currentShots(e.task)).find((s) => s.id === e.id);
    assert.ok(shot, `shot ${e.id} of task ${e.task} survived the sync`);
    assert.equal(shot.picture, e.picture);
    assert.equal(shot.size, e.size);
    assert.deepEqual(shot.custom, { mood: '紧张' });
  }
  const flags = (await h.ok('GET', `/api/v1/tasks/${edits[2].task}/flags`)).flags;
  assert.ok(flags.some((f) => f.shot_id === edits[2].id && !f.resolved), JSON.stringify(flags));
  assert.deepEqual((await h.ok('GET', `/api/v1/tasks/${edits[1].task}/flags`)).flags, []);
  // the flags panel on the page shows it too
  await page.waitForSelector(`[data-testid=flags] li[data-flag]`);
  assert.match(await page.textContent('[data-testid=flags]'), new RegExp(edits[2].id));

  // ---- every export format from the picker ----
  const formats = await page.$$eval('[data-testid=export-format] option', (o) => o.map((x) => x.value));
  const want = {
    'storyboard-json': { ext: 'json', type: /^application\/json/ },
    'storyboard-csv': { ext: 'csv', type: /^text\/csv/ },
    fountain: { ext: 'fountain', type: /^text\/plain/ },
    srt: { ext: 'srt', type: /^application\/x-subrip/ },
    'storyboard-html': { ext: 'html', type: /^text\/html/ },
  };
  for (const f of Object.keys(want)) assert.ok(formats.includes(f), `${f} in ${formats}`);
  const files = {};
  for (const [f, w] of Object.entries(want)) {
    await page.selectOption('[data-testid=export-format]', f);
    const href = await page.getAttribute('[data-testid=export]', 'href');
    assert.equal(href, `/api/v1/projects/${projectId}/export?format=${f}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export]')]);
    assert.ok(download.suggestedFilename().endsWith(`.${w.ext}`), `${f}: ${download.suggestedFilename()}`);
    assert.equal(await download.failure(), null);
    const bytes = readFileSync(await download.path());
    // the same URL in the page's session: status and headers
    const head = await page.evaluate(async (u) => {
      const r = await fetch(u);
      return { status: r.status, type: r.headers.get('content-type'), csp: r.headers.get('content-security-policy') };
    }, href);
    assert.equal(head.status, 200, `${f}: ${head.status}`);
    assert.match(head.type, w.type, f);
    files[f] = { bytes, head };
  }
  const text = (f) => files[f].bytes.toString('utf8');

  const doc = JSON.parse(text('storyboard-json'));
  assert.equal(doc.format, 'annotd-storyboard');
  assert.equal(doc.chapters.length, 5);
  const docShots = doc.chapters.flatMap((c) => c.scenes.flatMap((s) => s.shots));
  for (const e of Object.values(edits)) {
    const s = docShots.find((x) => x.id === e.id);
    assert.ok(s, `${e.id} in the JSON export`);
    assert.equal(s.picture, e.picture);
  }
  assert.equal(doc.chapters[0].scenes[0].status, 'accepted');
  assert.equal(doc.totals.shots, docShots.length);

  const csv = files['storyboard-csv'].bytes;
  assert.deepEqual([...csv.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the CSV starts with the UTF-8 BOM');
  const csvText = csv.subarray(3).toString('utf8');
  const header = csvText.split('\r\n')[0];
  assert.match(header, /^镜号,/);
  assert.match(header, /情绪/, 'the custom field is a column');
  assert.ok(csvText.includes(edits[1].picture));
  assert.equal(csvText.split('\r\n').filter(Boolean).length, 1 + docShots.length);

  assert.match(text('fountain'), /^Title: 青石镇/);
  assert.ok(text('fountain').includes(edits[2].picture));

  const srt = text('srt');
  assert.match(srt, /^1\r\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\r\n/);
  assert.ok(srt.includes('掌柜的，还有空房吗？'));

  const html = text('storyboard-html');
  assert.match(html, /^<!DOCTYPE html>/i);
  assert.ok(!/<script/i.test(html), 'no script in the printable sheet');
  assert.match(html, /@media print/);
  assert.ok(html.includes(edits[1].picture));
  assert.ok(files['storyboard-html'].head.csp, 'the sheet is sent with a CSP');

  await h.shot(page, 'story-flow-07-export');
  assert.deepEqual(errors, []);
  await octx.close();
});
