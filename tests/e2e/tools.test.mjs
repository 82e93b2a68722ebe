// Browser tests of the tools' editing gestures (web/src/tools/image/,
// web/src/tools/text/), each checked through the API after submit:
//   - image: a polygon's vertex inserted (edge midpoint click, Alt+click on an
//     edge) and deleted (pick + Delete, right-click), undo/redo of a vertex
//     edit, a polyline never going below 2 vertices; keypoints' visibility
//     cycled with V, the side panel and undo, the skeleton following a drag;
//   - text: undo/redo (keys and buttons) of spans and a relation changes what
//     is submitted.
// Same harness as relations.test.mjs. Run: `node --test tests/e2e/tools.test.mjs`
// after `make build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { useWorkbench, selectText, ANNOTATOR, ANNOTATOR_PW } from './harness.mjs';

const W = 640;
const H = 480;
const TEXT = '张三在阿里巴巴工作，李四也在。';

/* CRC-32 (PNG chunks); zlib.crc32 is not in Node 18 */
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/* A w×h grey RGB PNG. */
function makePng(w, h) {
  const raw = Buffer.alloc((w * 3 + 1) * h, 150);
  for (let y = 0; y < h; y++) raw[y * (w * 3 + 1)] = 0; /* filter: none */
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

let imgProject, imgTask, textProject, textTask;

const h = useWorkbench(async ({ ok }) => {
  imgProject = await ok('POST', '/api/v1/projects', {
    name: '顶点与关键点', kind: 'image',
    config: {
      tools: ['polygon', 'polyline', 'keypoints'],
      labels: [
        { name: 'car', hotkey: '1' },
        { name: 'person', keypoints: ['nose', 'neck', 'hip'], skeleton: [[0, 1], [1, 2]] },
      ],
    },
  }, 201);
  const up = await fetch(`${h.base}/api/v1/media`, {
    method: 'POST', headers: { Authorization: `Bearer ${h.ownerToken}` }, body: makePng(W, H),
  });
  assert.equal(up.status, 201);
  const media = await up.json();
  await ok('POST', `/api/v1/projects/${imgProject.id}/tasks`, [{ key: 'img', data: { image: media.id, width: W, height: H } }]);
  imgTask = (await ok('GET', `/api/v1/projects/${imgProject.id}/tasks`)).items[0];

  textProject = await ok('POST', '/api/v1/projects', {
    name: '撤销重做', kind: 'text',
    config: { spans: { labels: ['PER', 'ORG'], overlap: false }, relations: { labels: ['works_for'] } },
  }, 201);
  await ok('POST', `/api/v1/projects/${textProject.id}/tasks`, [{ key: 'undo', data: { text: TEXT } }]);
  textTask = (await ok('GET', `/api/v1/projects/${textProject.id}/tasks`)).items[0];
});

/* The stage's view: screen point of image pixel (x, y) = left + ox + x * scale. */
async function view(page) {
  return page.$eval('[data-testid=image-stage]', (el) => {
    const r = el.getBoundingClientRect();
    return { left: r.left, top: r.top, scale: Number(el.dataset.scale), ox: Number(el.dataset.x), oy: Number(el.dataset.y) };
  });
}
const near = (got, want, what, tol = 1.5) =>
  assert.ok(Math.abs(got - want) <= tol, `${what}: ${got}, want ${want} ± ${tol}`);
function pointsNear(got, want, what) {
  assert.equal(got.length, want.length, `${what}: ${JSON.stringify(got)}`);
  want.forEach(([x, y], i) => {
    near(got[i][0], x, `${what} ${i} x`);
    near(got[i][1], y, `${what} ${i} y`);
  });
}

/* The points of object i as the page has them (its local draft = what is submitted). */
async function draftPoints(page, i) {
  return page.evaluate((i) => {
    const id = document.querySelector('.work').dataset.assignment;
    const d = JSON.parse(localStorage.getItem(`annotd.draft.${id}`) || '{"objects":[]}');
    return d.objects[i]?.points ?? null;
  }, i);
}

test('image tool: polygon vertices inserted and deleted, keypoint visibility, skeleton while dragging', async () => {
  const context = await h.browser.newContext({ viewport: { width: 1200, height: 860 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`${h.base}/projects/${imgProject.id}/annotate`);
  await page.fill('input[name=login]', ANNOTATOR);
  await page.fill('input[name=password]', ANNOTATOR_PW);
  await page.click('button[type=submit]');
  await page.click('[data-testid=start]');
  await page.waitForSelector('[data-testid=image-stage][data-loaded="1"] canvas');
  const v = await view(page);
  const at = (x, y) => [v.left + v.ox + x * v.scale, v.top + v.oy + y * v.scale];
  const click = (x, y, opts) => page.mouse.click(...at(x, y), opts);
  const count = (n) => page.waitForFunction((n) => document.querySelectorAll('[data-testid=object-list] li').length === n, n);
  const pointsAre = async (i, n) => {
    await page.waitForFunction(([i, n]) => {
      const id = document.querySelector('.work').dataset.assignment;
      const d = JSON.parse(localStorage.getItem(`annotd.draft.${id}`) || '{"objects":[]}');
      return d.objects[i]?.points?.length === n;
    }, [i, n]);
  };

  // a square polygon: P, car, four clicks, Enter; then the Select tool (it stays selected)
  await page.keyboard.press('p');
  await page.keyboard.press('1');
  for (const [x, y] of [[100, 100], [300, 100], [300, 300], [100, 300]]) await click(x, y);
  await page.keyboard.press('Enter');
  await count(1);
  await page.keyboard.press('v');
  await page.waitForSelector('[data-testid=object-list] li.on[data-index="0"]');

  // insert: a click on the midpoint handle of edge 0 → (200, 100) after vertex 0
  await click(200, 100);
  await pointsAre(0, 5);
  await page.waitForFunction(() => /2\/5/.test(document.querySelector('[data-testid=img-hint]').textContent));
  // insert: Alt+click on the bottom edge (vertex 3 → 4) at (150, 300)
  await page.keyboard.down('Alt');
  await click(150, 300);
  await page.keyboard.up('Alt');
  await pointsAre(0, 6);
  pointsNear(await draftPoints(page, 0), [[100, 100], [200, 100], [300, 100], [300, 300], [150, 300], [100, 300]], 'after inserts');
  await h.shot(page, 'tools-01-polygon-inserted');

  // delete: pick (300, 100), Delete
  await click(300, 100);
  await page.waitForFunction(() => /3\/6/.test(document.querySelector('[data-testid=img-hint]').textContent));
  await page.keyboard.press('Delete');
  await pointsAre(0, 5);
  await count(1); // the polygon itself stays
  // delete: right-click on (100, 300)
  await click(100, 300, { button: 'right' });
  await pointsAre(0, 4);
  // undo brings that vertex back, redo removes it again
  await page.keyboard.press('Control+z');
  await pointsAre(0, 5);
  await page.keyboard.press('Control+Shift+z');
  await pointsAre(0, 4);
  pointsNear(await draftPoints(page, 0), [[100, 100], [200, 100], [300, 300], [150, 300]], 'after deletes');

  // a polyline keeps at least 2 vertices: L, two clicks, Enter; a right-click on a vertex is refused
  await page.keyboard.press('l');
  await click(450, 400);
  await click(600, 420);
  await page.keyboard.press('Enter');
  await count(2);
  await page.keyboard.press('v');
  await click(600, 420, { button: 'right' });
  await page.waitForSelector('[data-testid=img-notice]');
  assert.equal((await draftPoints(page, 1)).length, 2);

  // keypoints: K, nose / neck / hip
  await page.keyboard.press('k');
  for (const [x, y] of [[500, 100], [500, 200], [500, 300]]) await click(x, y);
  await count(3);
  await page.keyboard.press('v');
  await page.waitForSelector('[data-testid=keypoints] li[data-kp="2"][data-v="2"]');
  // the skeleton follows a dragged point: drag the neck to (540, 210) and read the edge lines mid-drag
  const [nx, ny] = at(500, 200);
  await page.mouse.move(nx, ny);
  await page.mouse.down();
  await page.mouse.move(nx + 20 * v.scale, ny + 5 * v.scale, { steps: 3 });
  await page.mouse.move(nx + 40 * v.scale, ny + 10 * v.scale, { steps: 3 });
  const skeleton = await page.evaluate(() => {
    const cv = document.querySelector('[data-testid=image-stage]').__imageCanvas;
    return cv.editLayer.find('Line')[0].points();
  });
  await h.shot(page, 'tools-02-skeleton-drag');
  await page.mouse.up();
  assert.equal(skeleton.length, 8, `two skeleton edges: ${skeleton}`);
  near(skeleton[2], 540, 'edge 0 end x (neck, live)');
  near(skeleton[3], 210, 'edge 0 end y (neck, live)');
  near(skeleton[4], 540, 'edge 1 start x (neck, live)');
  await page.waitForFunction(() => /neck/.test(document.querySelector('[data-testid=img-hint]').textContent) ||
    /“neck”/.test(document.querySelector('[data-testid=img-hint]').textContent));

  // the neck is picked (by the drag): V → occluded
  await page.keyboard.press('v');
  await page.waitForSelector('[data-testid=keypoints] li[data-kp="1"][data-v="1"]');
  assert.equal(await page.getAttribute('[data-testid=image-stage]', 'data-mode'), 'select');
  // pick the hip with a click, V twice → occluded → absent (its handle goes)
  await click(500, 300);
  await page.keyboard.press('v');
  await page.waitForSelector('[data-testid=keypoints] li[data-kp="2"][data-v="1"]');
  await page.keyboard.press('v');
  await page.waitForSelector('[data-testid=keypoints] li[data-kp="2"][data-v="0"]');
  // the panel: the nose's state button → occluded, undone
  await page.click('[data-testid=keypoints] li[data-kp="0"] [data-testid=kp-vis]');
  await page.waitForSelector('[data-testid=keypoints] li[data-kp="0"][data-v="1"]');
  await page.keyboard.press('Control+z');
  await page.waitForSelector('[data-testid=object-list] li.on', { state: 'detached' }); // undo deselects
  // a right-click on a keypoint cycles it: select the person again, right-click the nose twice → occluded → absent, undo once
  await click(500, 100);
  await page.waitForSelector('[data-testid=keypoints] li[data-kp="0"][data-v="2"]');
  await click(500, 100, { button: 'right' });
  await page.waitForSelector('[data-testid=keypoints] li[data-kp="0"][data-v="1"]');
  await page.keyboard.press('Control+z');
  await page.waitForFunction(() => {
    const id = document.querySelector('.work').dataset.assignment;
    const d = JSON.parse(localStorage.getItem(`annotd.draft.${id}`));
    return d.objects[2].points[0][2] === 2;
  });
  await h.shot(page, 'tools-03-keypoints');

  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('[data-testid=empty]');
  const anns = (await h.ok('GET', `/api/v1/tasks/${imgTask.id}/annotations`)).items;
  assert.equal(anns.length, 1);
  const [polygon, polyline, person] = anns[0].result.objects;
  assert.equal(polygon.type, 'polygon');
  pointsNear(polygon.points, [[100, 100], [200, 100], [300, 300], [150, 300]], 'stored polygon');
  assert.equal(polyline.points.length, 2);
  assert.equal(person.type, 'keypoints');
  assert.deepEqual(person.points.map((p) => p[2]), [2, 1, 0]);
  near(person.points[0][0], 500, 'nose x');
  near(person.points[1][0], 540, 'neck x (dragged)');
  near(person.points[1][1], 210, 'neck y (dragged)');
  assert.deepEqual(person.points[2], [0, 0, 0]);
  assert.ok(person.points.every((p) => p.length === 3 && Number.isInteger(p[2])), 'keypoints stay [x, y, v]');
  assert.deepEqual(pageErrors, []);
  await context.close();
});

test('text tool: undo / redo of spans and a relation change what is submitted', async () => {
  const context = await h.browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await h.openStream(page, textProject.id);
  const spans = (n) => page.waitForFunction((n) => document.querySelectorAll('[data-testid=span-list] li').length === n, n);
  const rels = (n) => page.waitForFunction((n) => document.querySelectorAll('.rel-list li').length === n, n);
  assert.equal(await page.getAttribute('[data-testid=undo]', 'disabled'), '');

  await selectText(page, 0, 2); // 张三
  await page.keyboard.press('1');
  await spans(1);
  await selectText(page, 3, 7); // 阿里巴巴
  await page.keyboard.press('2');
  await spans(2);
  // keys: back two steps, forward two (Ctrl+Shift+Z and Ctrl+Y)
  await page.keyboard.press('Control+z');
  await spans(1);
  await page.keyboard.press('Control+z');
  await page.waitForSelector('[data-testid=span-list]', { state: 'detached' });
  assert.equal(await page.getAttribute('[data-testid=undo]', 'disabled'), '');
  await page.keyboard.press('Control+Shift+z');
  await spans(1);
  await page.keyboard.press('Control+y');
  await spans(2);
  assert.equal(await page.getAttribute('[data-testid=redo]', 'disabled'), '');

  // a relation, undone and redone with the buttons
  await page.click('mark[data-span=s1]');
  await page.keyboard.press('r');
  await page.click('mark[data-span=s2]');
  await page.keyboard.press('1');
  await rels(1);
  await page.click('[data-testid=undo]');
  await page.waitForSelector('.rel-list', { state: 'detached' });
  await page.click('[data-testid=redo]');
  await rels(1);

  // a third span (李四), undone: it is not submitted; a new edit clears the redo
  await selectText(page, 10, 12);
  await page.keyboard.press('1');
  await spans(3);
  await page.keyboard.press('Control+z');
  await spans(2);
  assert.equal(await page.getAttribute('[data-testid=redo]', 'disabled'), null);
  await h.shot(page, 'tools-04-text-undo');

  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('[data-testid=empty]');
  const anns = (await h.ok('GET', `/api/v1/tasks/${textTask.id}/annotations`)).items;
  assert.equal(anns.length, 1);
  const r = anns[0].result;
  assert.deepEqual(r.spans.map((s) => [s.id, s.label, s.start, s.end]), [['s1', 'PER', 0, 2], ['s2', 'ORG', 3, 7]]);
  assert.deepEqual(r.relations, [{ from: 's1', to: 's2', label: 'works_for' }]);
  assert.deepEqual(pageErrors, []);
  await context.close();
});
