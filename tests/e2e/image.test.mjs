// Browser tests of the image tool (web/src/tools/image/): a real annotd
// (fresh data dir, ephemeral port, the built web/dist) driven by Debian's
// Chromium through playwright-core, set up by the shared harness
// (harness.mjs). A PNG made here is uploaded as media; a box and a polygon
// drawn with the mouse come back from the API in image pixels; 5,000
// polygons from a draft are panned and the frame time printed.
// Run: `node --test tests/e2e/` after `make build`.
// Env: ANNOTD_BIN (default build/annotd), CHROMIUM (default /usr/bin/chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePng } from './png.mjs';
import { useWorkbench, ANNOTATOR, ANNOTATOR_PW } from './harness.mjs';

const W = 640;
const H = 480;
const CONFIG = {
  tools: ['box', 'polygon', 'keypoints', 'polyline'],
  labels: [
    { name: 'car', color: '#e33', hotkey: '1' },
    { name: 'person', keypoints: ['nose', 'neck'], skeleton: [[0, 1]] },
  ],
  classes: { choices: ['day', 'night'], multiple: true },
};

let project, media, tasks;

const h = useWorkbench(async ({ ok }) => {
  project = await ok('POST', '/api/v1/projects', { name: '街景 street scenes', kind: 'image', config: CONFIG }, 201);
  media = await ok('POST', '/api/v1/media', makePng(W, H), 201);
  assert.equal(media.mime, 'image/png');
  assert.equal(media.width, W);
  assert.equal(media.height, H);
  const imported = await ok('POST', `/api/v1/projects/${project.id}/tasks`, [
    { key: 'draw', priority: 20, data: { image: media.id, width: W, height: H } },
    { key: 'many', priority: 10, data: { image: media.id, width: W, height: H } },
  ]);
  assert.equal(imported.created, 2, JSON.stringify(imported));
  tasks = (await ok('GET', `/api/v1/projects/${project.id}/tasks`)).items;
});

/* The stage's view: screen point of image pixel (x, y) = left + ox + x * scale. */
async function view(page) {
  return page.$eval('[data-testid=image-stage]', (el) => {
    const r = el.getBoundingClientRect();
    return { left: r.left, top: r.top, width: r.width, height: r.height,
      scale: Number(el.dataset.scale), ox: Number(el.dataset.x), oy: Number(el.dataset.y) };
  });
}
const toScreen = (v, x, y) => [v.left + v.ox + x * v.scale, v.top + v.oy + y * v.scale];
const near = (got, want, what, tol = 2) =>
  assert.ok(Math.abs(got - want) <= tol, `${what}: ${got}, want ${want} ± ${tol}`);

async function objectCount(page) {
  return page.$$eval('[data-testid=object-list] li', (l) => l.length);
}

test('image tool: box and polygon drawn with the mouse are stored in image pixels; 5,000 polygons pan', async () => {
  const context = await h.browser.newContext({ viewport: { width: 1200, height: 860 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
  });
  const failed = [];
  page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`); });

  await page.goto(h.base + '/');
  await page.fill('input[name=login]', ANNOTATOR);
  await page.fill('input[name=password]', ANNOTATOR_PW);
  await page.click('button[type=submit]');
  // the project list offers the image tool (the tool registry, not a hard-coded kind)
  await page.waitForSelector(`li.project[data-project="${project.id}"] a.button`);
  await page.click(`li.project[data-project="${project.id}"] a.button`);
  await page.click('[data-testid=start]');
  await page.waitForSelector('[data-testid=image-stage][data-loaded="1"] canvas');
  const first = tasks.find((t) => t.key === 'draw');
  assert.equal(await page.getAttribute('.work', 'data-task'), String(first.id));
  assert.equal(await page.getAttribute('[data-testid=image-stage]', 'data-size'), `${W}x${H}`);

  // fit to screen: the whole image, centred
  let v = await view(page);
  const fit = Math.min(v.width / W, v.height / H);
  near(v.scale, fit, 'fit scale', 0.002);
  near(v.ox, (v.width - W * v.scale) / 2, 'fit x', 0.6); /* the stage is whole pixels */
  near(v.oy, (v.height - H * v.scale) / 2, 'fit y', 0.6);
  console.log(`# stage ${v.width}x${v.height}, fit scale ${v.scale.toFixed(4)}`);

  // a box: B, label car (key 1), drag from image (100, 80) to (300, 240)
  await page.keyboard.press('b');
  await page.keyboard.press('1');
  const [bx1, by1] = toScreen(v, 100, 80);
  const [bx2, by2] = toScreen(v, 300, 240);
  await page.mouse.move(bx1, by1);
  await page.mouse.down();
  await page.mouse.move((bx1 + bx2) / 2, (by1 + by2) / 2, { steps: 4 });
  await page.mouse.move(bx2, by2, { steps: 4 });
  await page.mouse.up();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=object-list] li').length === 1);

  // a box dragged past the image's edge is clamped to it
  const [cx1, cy1] = toScreen(v, 560, 400);
  await page.mouse.move(cx1, cy1);
  await page.mouse.down();
  await page.mouse.move(cx1 + 400, cy1 + 400, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=object-list] li').length === 2);
  await page.keyboard.press('Delete'); // the new box is selected: Delete removes it
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=object-list] li').length === 1);
  await page.keyboard.press('Control+z'); // undo the delete
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=object-list] li').length === 2);

  // a polygon: P, label person (key 2), three clicks, Enter closes
  await page.keyboard.press('p');
  await page.keyboard.press('2');
  const poly = [[400, 100], [550, 120], [500, 300]];
  for (const [x, y] of poly) {
    const [sx, sy] = toScreen(v, x, y);
    await page.mouse.click(sx, sy);
  }
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=object-list] li').length === 3);

  // undo / redo over the result
  await page.keyboard.press('Control+z');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=object-list] li').length === 2);
  await page.keyboard.press('Control+Shift+z');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=object-list] li').length === 3);

  // a whole-image class
  await page.click('button.choice[data-class=day]');
  await page.waitForSelector('button.choice.on[data-class=day]');

  // select by clicking inside the box (V), shown in the list
  await page.keyboard.press('v');
  const [ix, iy] = toScreen(v, 200, 160);
  await page.mouse.click(ix, iy);
  await page.waitForSelector('[data-testid=object-list] li.on[data-index="0"]');
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-testid=object-list] li.on', { state: 'detached' });

  // wheel zooms about the cursor: the image point under it stays put
  const [zx, zy] = toScreen(v, 320, 240);
  await page.mouse.move(zx, zy);
  await page.mouse.wheel(0, -300);
  await page.waitForFunction((s) => Number(document.querySelector('[data-testid=image-stage]').dataset.scale) > s, v.scale);
  const z = await view(page);
  assert.ok(z.scale > v.scale * 1.2, `zoomed in: ${z.scale}`);
  near((zx - z.left - z.ox) / z.scale, 320, 'image x under the cursor', 0.5);
  near((zy - z.top - z.oy) / z.scale, 240, 'image y under the cursor', 0.5);
  await h.shot(page, 'img-01-zoomed');
  await page.keyboard.press('f'); // fit again
  await page.waitForFunction((s) => Math.abs(Number(document.querySelector('[data-testid=image-stage]').dataset.scale) - s) < 1e-9, v.scale);

  // select the polygon and drag its first vertex 30 image px to the right
  const [px, py] = toScreen(v, 490, 170);
  await page.mouse.click(px, py);
  await page.waitForSelector('[data-testid=object-list] li.on[data-index="2"]');
  const [hx, hy] = toScreen(v, poly[0][0], poly[0][1]);
  await page.mouse.move(hx, hy);
  await page.mouse.down();
  await page.mouse.move(hx + 15 * v.scale, hy, { steps: 3 });
  await page.mouse.move(hx + 30 * v.scale, hy, { steps: 3 });
  await page.mouse.up();
  await h.shot(page, 'img-02-box-polygon');

  // keypoints: K picks the label that has keypoints; two clicks place nose and neck
  await page.keyboard.press('k');
  await page.waitForSelector('button.img-label.on[data-label=person]');
  for (const [x, y] of [[150, 300], [160, 340]]) {
    const [sx, sy] = toScreen(v, x, y);
    await page.mouse.click(sx, sy);
  }
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=object-list] li').length === 4);

  // submit with Ctrl+Enter: the next task comes
  await page.keyboard.press('Control+Enter');
  const many = tasks.find((t) => t.key === 'many');
  await page.waitForSelector(`.work[data-task="${many.id}"] [data-testid=image-stage][data-loaded="1"]`);

  const anns = (await h.ok('GET', `/api/v1/tasks/${first.id}/annotations`)).items;
  assert.equal(anns.length, 1);
  const res = anns[0].result;
  assert.deepEqual(res.classes, ['day']);
  assert.equal(res.objects.length, 4);
  const [box, clamped, polygon, person] = res.objects;
  assert.equal(box.type, 'box');
  assert.equal(box.label, 'car');
  assert.equal(box.rotation, 0);
  assert.ok(box.id);
  near(box.x, 100, 'box x');
  near(box.y, 80, 'box y');
  near(box.w, 200, 'box w');
  near(box.h, 160, 'box h');
  // the clamped box ends at the image's edge
  near(clamped.x, 560, 'clamped x');
  near(clamped.y, 400, 'clamped y');
  assert.equal(clamped.x + clamped.w, W);
  assert.equal(clamped.y + clamped.h, H);
  assert.equal(polygon.type, 'polygon');
  assert.equal(polygon.label, 'person');
  assert.equal(polygon.points.length, 3);
  polygon.points.forEach(([x, y], i) => {
    near(x, poly[i][0] + (i === 0 ? 30 : 0), `polygon point ${i} x`); /* the first one was dragged */
    near(y, poly[i][1], `polygon point ${i} y`);
  });
  assert.equal(person.type, 'keypoints');
  assert.equal(person.label, 'person');
  assert.equal(person.points.length, 2);
  near(person.points[0][0], 150, 'nose x');
  near(person.points[1][1], 340, 'neck y');
  assert.deepEqual(person.points.map((p) => p[2]), [2, 2]);
  assert.equal(new Set(res.objects.map((o) => o.id)).size, 4, 'ids are unique');

  // 5,000 polygons from a local draft, then pan
  const assignment = Number(await page.getAttribute('.work', 'data-assignment'));
  await page.evaluate(([id, w, h]) => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const objects = [];
    for (let i = 0; i < 5000; i++) {
      const cx = 20 + rnd() * (w - 40);
      const cy = 20 + rnd() * (h - 40);
      const points = [];
      for (let k = 0; k < 6; k++) {
        const a = (k / 6) * Math.PI * 2;
        const r = 4 + rnd() * 14;
        points.push([Math.round((cx + Math.cos(a) * r) * 100) / 100, Math.round((cy + Math.sin(a) * r) * 100) / 100]);
      }
      objects.push({ id: `p${i + 1}`, type: 'polygon', label: i % 3 ? 'car' : 'person', points });
    }
    localStorage.setItem(`annotd.draft.${id}`, JSON.stringify({ classes: [], objects }));
  }, [assignment, W, H]);
  await page.reload();
  await page.waitForSelector('[data-testid=image-stage][data-loaded="1"] canvas');
  await page.waitForFunction(() => document.querySelector('.img-side h2 .muted')?.textContent === '(5000)');
  assert.equal(await objectCount(page), 500); // the list is capped, the canvas has them all
  await h.shot(page, 'img-03-5000-polygons');

  // pan with the middle button, one step per animation frame
  const timing = await page.evaluate(async () => {
    const host = document.querySelector('[data-testid=image-stage]');
    const cv = host.__imageCanvas;
    const target = host.querySelector('.konvajs-content');
    const r = host.getBoundingClientRect();
    const x0 = r.left + r.width / 2;
    const y0 = r.top + r.height / 2;
    const opts = (x, y, buttons) => ({ clientX: x, clientY: y, button: 1, buttons, bubbles: true, cancelable: true });
    const frame = () => new Promise((res) => requestAnimationFrame(res));
    await frame();
    target.dispatchEvent(new MouseEvent('mousedown', opts(x0, y0, 4)));
    const stamps = [];
    const draws = [];
    const steps = [];
    const STEPS = 60;
    for (let i = 1; i <= STEPS; i++) {
      const t0 = performance.now();
      window.dispatchEvent(new MouseEvent('mousemove', opts(x0 + i * 3, y0 + i * 2, 4)));
      stamps.push(await frame()); /* Konva's batchDraw runs in this frame, before this callback */
      steps.push(performance.now() - t0);
      draws.push(cv.lastDrawMs);
    }
    window.dispatchEvent(new MouseEvent('mouseup', opts(x0 + STEPS * 3, y0 + STEPS * 2, 0)));
    const intervals = stamps.slice(1).map((t, i) => t - stamps[i]);
    const stat = (a) => {
      const s = a.slice().sort((p, q) => p - q);
      return { mean: s.reduce((p, q) => p + q, 0) / s.length, p95: s[Math.floor(s.length * 0.95)], max: s[s.length - 1] };
    };
    return { frame: stat(intervals), step: stat(steps), draw: stat(draws), cache: cv.lastCacheMs };
  });
  const f = (s) => `mean ${s.mean.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, max ${s.max.toFixed(1)} ms`;
  console.log(`# pan with 5000 polygons — frame interval: ${f(timing.frame)}`);
  console.log(`# pan with 5000 polygons — step (event → drawn frame): ${f(timing.step)}`);
  console.log(`# pan with 5000 polygons — objects layer draw: ${f(timing.draw)}`);
  console.log(`# 5000 polygons — full redraw of the objects bitmap (after a change or zoom): ${timing.cache.toFixed(1)} ms`);
  assert.ok(timing.cache > 0, 'the objects were drawn');
  await h.shot(page, 'img-04-5000-panned');

  // 5,000 polygons validate on the server
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('[data-testid=empty]');
  const many2 = (await h.ok('GET', `/api/v1/tasks/${many.id}/annotations`)).items;
  assert.equal(many2.length, 1);
  assert.equal(many2[0].result.objects.length, 5000);

  assert.deepEqual(pageErrors, []);
  assert.deepEqual(failed, []);
  await context.close();
});
