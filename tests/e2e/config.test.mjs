// Browser tests of the project config editor (web/src/components/ConfigEditor.tsx,
// web/src/screens/NewProject.tsx) and the image / zip / CSV import of the
// project page, on a real annotd (fresh data dir) driven by Debian Chromium,
// set up by the shared harness (harness.mjs).
// Run: `node --test tests/e2e/` after `make build`.
// Env: ANNOTD_BIN (default build/annotd), CHROMIUM (default /usr/bin/chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, makePng } from './png.mjs';
import { useWorkbench, OWNER, OWNER_PW } from './harness.mjs';

const h = useWorkbench(async () => {});

/* A zip of stored (uncompressed) entries. */
function makeZip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const n = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(20, 4); lh.writeUInt16LE(0x800, 6); lh.writeUInt16LE(0, 8);
    lh.writeUInt32LE(crc, 14); lh.writeUInt32LE(data.length, 18); lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(n.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(20, 4); ch.writeUInt16LE(20, 6); ch.writeUInt16LE(0x800, 8);
    ch.writeUInt32LE(crc, 16); ch.writeUInt32LE(data.length, 20); ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(n.length, 28); ch.writeUInt32LE(offset, 42);
    locals.push(lh, n, data);
    centrals.push(ch, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

async function ownerPage() {
  const context = await h.browser.newContext({ viewport: { width: 1300, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(h.base + '/');
  await page.fill('input[name=login]', OWNER);
  await page.fill('input[name=password]', OWNER_PW);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=new-project-link]');
  return { page, context, errors };
}

const projectIdOf = (page) => Number(/\/projects\/(\d+)$/.exec(new URL(page.url()).pathname)[1]);

test('config editor: an image project, image and zip import, the image loads in the annotator', async () => {
  const { page, context, errors } = await ownerPage();
  await page.click('[data-testid=new-project-link]');
  await page.waitForSelector('[data-testid=config-editor]');
  await page.fill('[data-testid=np-name]', '街景 editor');
  await page.selectOption('[data-testid=cfg-kind]', 'image');
  await page.check('[data-testid=cfg-tool-polygon]');
  assert.ok(await page.isChecked('[data-testid=cfg-tool-box]'));
  await page.click('[data-testid=cfg-add-label]');
  await page.click('[data-testid=cfg-add-label]');
  const names = page.locator('[data-testid=cfg-label-name]');
  await names.nth(0).fill('car');
  await page.locator('[data-testid=cfg-label-color]').nth(0).fill('#ff0000');
  await page.locator('[data-testid=cfg-label-hotkey]').nth(0).fill('1');
  await names.nth(1).fill('person');
  await page.fill('[data-testid=cfg-img-classes]', 'day, night');
  // the preview is the image tool itself, with the labels as buttons
  await page.waitForSelector('[data-testid=cfg-preview] button.img-label[data-label=car]');
  await page.waitForSelector('[data-testid=cfg-preview] button.img-label[data-label=person]');
  await page.waitForSelector('[data-testid=cfg-preview] button[data-tool=polygon]');
  await h.shot(page, 'config-editor-image');
  await page.click('[data-testid=np-create]');
  await page.waitForSelector('[data-testid=project-page]');
  const id = projectIdOf(page);
  const stored = await h.ok('GET', `/api/v1/projects/${id}`);
  assert.equal(stored.kind, 'image');
  assert.deepEqual(stored.config.tools, ['box', 'polygon']);
  assert.deepEqual(stored.config.labels, [{ name: 'car', color: '#ff0000', hotkey: '1' }, { name: 'person', color: '#1e88e5' }]);
  assert.deepEqual(stored.config.classes, { choices: ['day', 'night'], multiple: false });

  // two PNGs, a broken .png and a .txt: 2 ok, 2 errors, 2 tasks
  await page.setInputFiles('[data-testid=import-file]', [
    { name: 'a.png', mimeType: 'image/png', buffer: makePng(64, 48) },
    { name: 'b.png', mimeType: 'image/png', buffer: makePng(80, 60) },
    { name: 'broken.png', mimeType: 'image/png', buffer: makePng(64, 48).subarray(0, 60) },
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') },
  ]);
  await page.waitForSelector('[data-testid=import-summary]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=file-status] li').length === 4);
  assert.equal(await page.locator('[data-testid=file-status] li[data-ok="1"]').count(), 2);
  assert.equal(await page.locator('[data-testid=file-status] li[data-ok="0"]').count(), 2);
  assert.match(await page.textContent('[data-testid=import-counts]'), /新建 2 条/);
  await h.shot(page, 'config-import-images');
  let items = (await h.ok('GET', `/api/v1/projects/${id}/tasks`)).items;
  assert.deepEqual(items.map((t) => t.key).sort(), ['a.png', 'b.png']);
  const a = items.find((t) => t.key === 'a.png');
  assert.equal(a.data.width, 64);
  assert.equal(a.data.height, 48);
  assert.match(a.data.image, /^[0-9a-f]{64}$/);

  // a zip: one PNG in a folder and one text file (skipped)
  const zip = makeZip([
    { name: 'dir/c.png', data: makePng(50, 40) },
    { name: 'dir/readme.md', data: Buffer.from('# hi') },
  ]);
  await page.setInputFiles('[data-testid=import-file]', [{ name: 'pics.zip', mimeType: 'application/zip', buffer: zip }]);
  await page.waitForFunction(() => /新建 1 条/.test(document.querySelector('[data-testid=import-counts]')?.textContent || ''));
  const st = await page.$$eval('[data-testid=file-status] li', (l) => l.map((x) => x.textContent));
  assert.ok(st.some((s) => s.includes('dir/readme.md') && s.includes('跳过')), st.join('|'));
  items = (await h.ok('GET', `/api/v1/projects/${id}/tasks`)).items;
  assert.equal(items.length, 3);
  assert.ok(items.some((t) => t.key === 'dir/c.png'));

  // claim a task in the browser: the image loads
  await page.goto(h.base + `/projects/${id}/annotate`);
  await page.click('[data-testid=start]');
  await page.waitForSelector('[data-testid=image-stage][data-loaded="1"] canvas');
  await h.shot(page, 'config-image-claimed');
  assert.deepEqual(errors, []);
  await context.close();
});

test('config editor: a text project and a CSV import (quoted comma, Chinese, BOM)', async () => {
  const { page, context, errors } = await ownerPage();
  await page.click('[data-testid=new-project-link]');
  await page.fill('[data-testid=np-name]', '文本 editor');
  await page.selectOption('[data-testid=cfg-kind]', 'text');
  await page.fill('[data-testid=cfg-txt-classes]', '正面,负面');
  await page.fill('[data-testid=cfg-spans]', 'PER, LOC');
  await page.waitForSelector('[data-testid=cfg-preview] :text("张三")');
  await h.shot(page, 'config-editor-text');
  await page.click('[data-testid=np-create]');
  await page.waitForSelector('[data-testid=project-page]');
  const id = projectIdOf(page);
  const stored = await h.ok('GET', `/api/v1/projects/${id}`);
  assert.equal(stored.kind, 'text');
  assert.deepEqual(stored.config.classes, { choices: ['正面', '负面'], multiple: false });
  assert.deepEqual(stored.config.spans, { labels: ['PER', 'LOC'], overlap: false });

  const csv = '\ufeffkey,text,source\r\nr1,"你好,世界",web\r\nr2,"他说""好""",书\r\n';
  await page.setInputFiles('[data-testid=import-file]', [{ name: 'rows.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') }]);
  await page.waitForSelector('[data-testid=import-summary]');
  assert.match(await page.textContent('[data-testid=import-counts]'), /新建 2 条/);
  await h.shot(page, 'config-import-csv');
  const items = (await h.ok('GET', `/api/v1/projects/${id}/tasks`)).items;
  const byKey = Object.fromEntries(items.map((t) => [t.key, t.data]));
  assert.deepEqual(byKey.r1, { text: '你好,世界', source: 'web' });
  assert.deepEqual(byKey.r2, { text: '他说"好"', source: '书' });
  assert.deepEqual(errors, []);
  await context.close();
});
