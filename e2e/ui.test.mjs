// Browser end-to-end test of the Taizhang web UI.
//
// Starts `taizhang demo` on a free loopback port with a fresh data directory,
// drives Debian's chromium (headless) through playwright-core, and saves
// screenshots to e2e/artifacts/ for a person to look at.
//
//   scripts/e2e-deps.sh          # once: chromium, CJK font, npm ci
//   cd e2e && node --test        # TAIZHANG_BIN / CHROMIUM override the paths
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(here, process.env.TAIZHANG_BIN || '../target/debug/taizhang');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = path.join(here, 'artifacts');

const USERNAME = 'admin';
const PASSWORD = 'Demo#2026';

let server;
let serverLog = '';
let dataDir;
let baseURL;
let browser;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitForHealthy(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`taizhang exited early (${server.exitCode ?? server.signalCode}):\n${serverLog}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e.message;
    }
    await sleep(250);
  }
  throw new Error(`${url} not healthy after ${timeoutMs / 1000} s (${last}):\n${serverLog}`);
}

before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'taizhang-e2e-'));
  const port = await freePort();
  baseURL = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ['demo', '--data', dataDir, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk) => {
    serverLog += chunk;
    if (serverLog.length > 20000) serverLog = serverLog.slice(-20000);
  };
  server.stdout.setEncoding('utf8').on('data', keep);
  server.stderr.setEncoding('utf8').on('data', keep);
  server.on('error', (e) => { serverLog += `spawn error: ${e.message}\n`; });

  await waitForHealthy(`${baseURL}/healthz`, 60_000);
  await mkdir(ARTIFACTS, { recursive: true });

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    const t = setTimeout(() => server.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function newPage() {
  const context = await browser.newContext({
    baseURL,
    locale: 'zh-CN',
    viewport: { width: 1280, height: 800 },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return { context, page };
}

const bodyText = (page) => page.locator('body').innerText();

test('login, create a unit, see it in the tree', async () => {
  const { context, page } = await newPage();
  try {
    // --- log in -----------------------------------------------------------
    await page.goto('/login');
    await page.fill('input[name=username]', USERNAME);
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/'),
      page.click('form[action="/login"] button[type=submit]'),
    ]);
    assert.equal(new URL(page.url()).pathname, '/');
    assert.match(await bodyText(page), /欢迎使用台账/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'home.png'), fullPage: true });

    // --- open the root unit in the tree -----------------------------------
    await page.goto('/units');
    const tree = page.locator('#unit-tree');
    await Promise.all([
      page.waitForURL(/\/units\?open=/),
      tree.getByRole('link', { name: '屏南县', exact: true }).click(),
    ]);
    await page.locator('#create-unit').waitFor();
    assert.match(await page.locator('h2').first().innerText(), /屏南县/);

    // --- create a child unit ------------------------------------------------
    const stamp = Date.now();
    const name = `测试新建学校${stamp}`;
    const code = `E2E-${stamp}`;
    const form = page.locator('#create-unit');
    await form.locator('[name=name]').fill(name);
    await form.locator('[name=code]').fill(code);
    await form.locator('select[name=kind]').selectOption('school');
    await form.locator('select[name=stage]').selectOption('primary');
    await Promise.all([
      page.waitForLoadState('load'),
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/units'),
      form.locator('button[type=submit]').click(),
    ]);
    await page.locator('.flash.ok').waitFor();
    assert.equal(await page.locator('.flash.err').count(), 0, await bodyText(page));
    assert.ok(
      (await page.locator('#unit-tree').getByText('测试新建学校').count()) > 0,
      `new unit not in #unit-tree:\n${await page.locator('#unit-tree').innerText()}`,
    );
    assert.ok((await page.locator('#unit-tree').getByText(name, { exact: true }).count()) > 0);
    assert.match(await page.locator('h2').first().innerText(), new RegExp(name));
    await page.screenshot({ path: path.join(ARTIFACTS, 'units.png'), fullPage: true });

    // --- bad input: the same code again under the root unit ----------------
    await Promise.all([
      page.waitForURL(/\/units\?open=/),
      page.locator('#unit-tree').getByRole('link', { name: '屏南县', exact: true }).click(),
    ]);
    await form.waitFor();
    await form.locator('[name=name]').fill(`测试重复代码${stamp}`);
    await form.locator('[name=code]').fill(code);
    await form.locator('select[name=kind]').selectOption('school');
    await form.locator('select[name=stage]').selectOption('primary');
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/units'),
      form.locator('button[type=submit]').click(),
    ]);
    const err = page.locator('.flash.err');
    await err.waitFor();
    assert.match(await err.innerText(), /单位代码已被使用/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'units-duplicate.png'), fullPage: true });

    // --- audit chain ---------------------------------------------------------
    await page.goto('/audit');
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/audit/verify'),
      page.click('#verify'),
    ]);
    const verify = page.locator('#verify-result');
    await verify.waitFor();
    assert.match(await verify.innerText(), /审计链完整/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'audit.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

test('anonymous visitor is sent to login', async () => {
  const { context, page } = await newPage();
  try {
    await page.goto('/units');
    const url = new URL(page.url());
    assert.equal(url.pathname, '/login');
    assert.ok(url.searchParams.has('next'), `no next= in ${page.url()}`);
    assert.match(url.searchParams.get('next'), /^\/units/);
    await page.locator('input[name=username]').waitFor();
  } finally {
    await context.close();
  }
});

test('supervisor sees 篇三 figures, a handler works an item, Excel import reports bad files', async () => {
  const login = async (user) => {
    const { context, page } = await newPage();
    await page.goto('/login');
    await page.fill('input[name=username]', user);
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('form[action="/login"] button[type=submit]')]);
    return { context, page };
  };
  const sup = await login('duban');
  const hand = await login('team01');
  try {
    // The supervisor's ledger shows 篇三's figures.
    await sup.page.goto('/ledgers');
    await Promise.all([sup.page.waitForURL(/\/ledgers\/\d+/), sup.page.locator('#ledgers a').first().click()]);
    const figures = await sup.page.locator('#figures').innerText();
    assert.match(figures, /145\s*问题总数/);
    assert.match(figures, /69\s*已办结/);
    assert.match(figures, /76\s*正在办理/);
    // The three ECharts charts render (vendored, no network).
    await sup.page.locator('#chart-units svg').waitFor();
    assert.equal(await sup.page.locator('.chart svg').count(), 3);
    await sup.page.screenshot({ path: path.join(ARTIFACTS, 'ledger.png'), fullPage: false });

    // The handler of 第一精准帮扶队 reports progress on an item from "my tasks".
    await hand.page.goto('/tasks');
    await Promise.all([hand.page.waitForURL(/\/items\/\d+/), hand.page.locator('#in-progress a').first().click()]);
    const report = hand.page.locator('form.act:has(button[data-action=report])');
    await report.locator('[name=text]').fill('已协调国土部门,本周内办结');
    await Promise.all([hand.page.waitForURL(/ok=/), report.locator('button').click()]);
    assert.match(await hand.page.locator('#timeline').innerText(), /已协调国土部门/);
    assert.equal(await hand.page.locator('button[data-action=close]').count(), 0, 'a handler is never offered 销号');
    await hand.page.screenshot({ path: path.join(ARTIFACTS, 'item.png'), fullPage: true });

    // Import: a file that is not a spreadsheet is refused with a reason; the template imports.
    const ledgerURL = sup.page.url().split('?')[0];
    const junk = path.join(dataDir, 'not-a-sheet.xlsx');
    await writeFile(junk, 'hello');
    await sup.page.locator('#import input[type=file]').setInputFiles(junk);
    await Promise.all([sup.page.waitForURL(/\/import$/), sup.page.locator('#import button').click()]);
    assert.match(await sup.page.locator('#import-problem').innerText(), /不是有效的 .xlsx 文件/);
    const tpl = await sup.page.request.get('/api/v1/ledger-template.xlsx');
    assert.equal(tpl.status(), 200);
    const tplPath = path.join(dataDir, 'template.xlsx');
    await writeFile(tplPath, await tpl.body());
    await sup.page.goto(ledgerURL);
    await sup.page.locator('#import input[type=file]').setInputFiles(tplPath);
    await Promise.all([sup.page.waitForURL(/\/import$/), sup.page.locator('#import button').click()]);
    assert.match(await sup.page.locator('#import-ok').innerText(), /已导入 1 条/);

    // 新建事项 as a draft (not sent out yet).
    await sup.page.goto(ledgerURL);
    await sup.page.locator('#new-item summary').click();
    await sup.page.locator('#new-item [name=title]').fill('第三小学食堂排烟管道更换');
    await sup.page.locator('#new-item [name=lead]').fill('3509230003');
    await Promise.all([sup.page.waitForURL(/\/items\/\d+\?ok=/), sup.page.locator('#new-item button').click()]);
    assert.match(await sup.page.locator('h1').innerText(), /食堂排烟管道/);

    // 批量交办: the draft is picked on the list and assigned with one deadline.
    await sup.page.goto(`${ledgerURL}?state=draft`);
    const boxes = sup.page.locator('#items input[name=ids]');
    assert.ok((await boxes.count()) >= 1, 'drafts have a checkbox');
    await boxes.first().check();
    await sup.page.locator('input[name=deadline][form=bulk]').fill('2099年6月30日');
    await Promise.all([sup.page.waitForURL(/ok=/), sup.page.locator('#bulk-assign').click()]);
    assert.match(await sup.page.locator('.flash').first().innerText(), /已交办1项/);

    // 修改事项 on an open item: the timeline names the changed field.
    await sup.page.goto(`${ledgerURL}?state=in_progress&sort=deadline`);
    await Promise.all([sup.page.waitForURL(/\/items\/\d+/), sup.page.locator('#items a').first().click()]);
    await sup.page.locator('#edit summary').click();
    await sup.page.locator('#edit [name=requirements]').fill('请于本月底前提交整改报告');
    await Promise.all([sup.page.waitForURL(/ok=/), sup.page.locator('#edit button').click()]);
    assert.match(await sup.page.locator('#timeline').innerText(), /修改事项[\s\S]*具体要求/);
    await sup.page.locator('#edit summary').click();
    await sup.page.screenshot({ path: path.join(ARTIFACTS, 'item-edit.png'), fullPage: true });

    // Filters: red lights only, one team's subtree by unit code, nearest deadline first.
    await sup.page.goto(ledgerURL);
    await sup.page.selectOption('select[name=light]', 'red');
    await sup.page.selectOption('select[name=sort]', 'deadline');
    await Promise.all([sup.page.waitForURL(/light=red/), sup.page.locator('form.filters button').click()]);
    const lights = await sup.page.locator('#items .light').evaluateAll((els) => els.map((e) => e.className));
    assert.ok(lights.every((c) => c.includes('red')), `only red lights: ${lights}`);
    await sup.page.screenshot({ path: path.join(ARTIFACTS, 'ledger-filtered.png'), fullPage: true });
    await hand.page.goto('/tasks');
    await hand.page.screenshot({ path: path.join(ARTIFACTS, 'tasks.png'), fullPage: true });
  } finally {
    await sup.context.close();
    await hand.context.close();
  }
});

test('clerk fills in with an outlier flagged, supervisor approves, evaluates and raises gaps', async () => {
  const login = async (user) => {
    const { context, page } = await newPage();
    await page.goto('/login');
    await page.fill('input[name=username]', user);
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('form[action="/login"] button[type=submit]')]);
    return { context, page };
  };
  const clerk = await login('clerk');
  const sup = await login('duban');
  try {
    // The clerk of 第三小学 sees only her school, and its 2025 draft flags 98,110 books.
    await clerk.page.goto('/indicators?year=2025');
    const names = await clerk.page.locator('#returns tbody a').allInnerTexts();
    assert.deepEqual(names, ['屏南县第三小学']);
    await Promise.all([clerk.page.waitForURL(/\/schools\/\d+\/data/), clerk.page.locator('#returns a').first().click()]);
    const checks = await clerk.page.locator('#checks').innerText();
    assert.match(checks, /图书册数:上年9811,本年98110/);
    assert.equal(await clerk.page.locator('tr.flagged').count(), 1);
    await clerk.page.screenshot({ path: path.join(ARTIFACTS, 'school-data.png'), fullPage: true });
    // A letter where a number belongs is refused and names the field; the fix saves and submits.
    await clerk.page.locator('input[name=".books"]').fill('九千');
    await Promise.all([clerk.page.waitForURL(/err=/), clerk.page.locator('#save').click()]);
    assert.match(await clerk.page.locator('.flash').first().innerText(), /图书册数“九千”应为数字/);
    await clerk.page.locator('input[name=".books"]').fill('9900');
    await Promise.all([clerk.page.waitForURL(/ok=/), clerk.page.locator('#save').click()]);
    assert.equal(await clerk.page.locator('tr.flagged').count(), 0);
    await Promise.all([clerk.page.waitForURL(/ok=/), clerk.page.locator('#submit').click()]);
    assert.match(await clerk.page.locator('#state').innerText(), /已报送待审核/);

    // The supervisor approves 双溪中心小学's waiting 2024 return from the list.
    await sup.page.goto('/indicators?year=2024&state=submitted');
    const row = sup.page.locator('#returns tr', { hasText: '双溪中心小学' });
    await Promise.all([sup.page.waitForURL(/ok=/), row.locator('button').click()]);
    assert.match(await sup.page.locator('#returns').innerText(), /双溪中心小学[\s\S]*已审核/);

    // Evaluation of 屏南县 against 优质均衡: 第三小学 (1313 pupils) fails; charts render.
    await sup.page.goto('/indicators?year=2024');
    await sup.page.selectOption('#evaluate select[name=standard]', 'quality-2017');
    await sup.page.selectOption('#evaluate select[name=unit]', { label: '屏南县' });
    await Promise.all([sup.page.waitForURL(/\/indicators\/evaluate/), sup.page.locator('#evaluate button').click()]);
    const third = await sup.page.locator('#schools tr', { hasText: '屏南县第三小学' }).innerText();
    assert.match(third, /1313/);
    assert.match(third, /未达标/);
    assert.match(await sup.page.locator('#county').innerText(), /L4 生均教学及辅助用房面积/);
    await sup.page.locator('#chart-cv svg').waitFor();
    // 查漏补缺: gaps become items in a rectification ledger, once.
    await sup.page.locator('#raise [name=deadline]').fill('2026-12-31');
    await Promise.all([sup.page.waitForURL(/ok=/), sup.page.locator('#raise button').click()]);
    assert.match(await sup.page.locator('.flash').first().innerText(), /已生成\d+条整改事项/);
    assert.equal(await sup.page.locator('#gaps .muted:text("未生成")').count(), 0);
    await sup.page.screenshot({ path: path.join(ARTIFACTS, 'evaluation.png'), fullPage: true });
    await sup.page.goto('/indicators/evaluate?standard=class-size&year=2024&unit=' + new URL(sup.page.url()).searchParams.get('unit'));
    await sup.page.locator('#chart-cv svg').waitFor();
    await sup.page.screenshot({ path: path.join(ARTIFACTS, 'class-size.png'), fullPage: false });
  } finally {
    await clerk.context.close();
    await sup.context.close();
  }
});

test('administrator copies a standard for the province and a broken edit is refused with the reason', async () => {
  const { context, page } = await newPage();
  try {
    await page.goto('/login');
    await page.fill('input[name=username]', USERNAME);
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('form[action="/login"] button[type=submit]')]);
    await page.goto('/standards');
    await page.selectOption('#copy select[name=based_on]', 'quality-2017');
    await page.fill('#copy [name=id]', 'fj-quality-2017');
    await page.fill('#copy [name=name]', '福建省优质均衡');
    await Promise.all([page.waitForURL(/\/standards\/fj-quality-2017/), page.locator('#copy button').click()]);
    const body = page.locator('textarea[name=body]');
    const text = await body.inputValue();
    assert.match(text, /"id": "fj-quality-2017"/);
    // A formula naming an element that does not exist is refused, and the text is kept.
    await body.fill(text.replace('teachers_above / students * 100', 'teachers_abov / students * 100'));
    await Promise.all([page.waitForURL(/err=/), page.locator('#save-standard').click()]);
    assert.match(await page.locator('.flash').first().innerText(), /teachers_abov/);
    assert.match(await body.inputValue(), /teachers_abov/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'standard-error.png'), fullPage: false });
    // The copy is offered for evaluation beside the presets.
    await page.goto('/indicators');
    assert.match(await page.locator('#evaluate select[name=standard]').innerText(), /福建省优质均衡/);

    // A custom element and a monthly form for 小学; the school page offers it.
    await page.goto('/forms');
    await page.fill('#new-element [name=code]', 'canteen_checks');
    await page.fill('#new-element [name=name]', '食堂检查次数');
    await page.fill('#new-element [name=unit]', '次');
    await Promise.all([page.waitForURL(/ok=/), page.locator('#new-element button').click()]);
    await page.fill('#new-form [name=id]', 'canteen');
    await page.fill('#new-form [name=name]', '食堂食品安全检查月报');
    await page.selectOption('#new-form [name=period_type]', 'month');
    await page.locator('#new-form input[name=school_kinds][value=primary]').check();
    await page.locator('#new-form input[name=elements][value=canteen_checks]').check();
    await Promise.all([page.waitForURL(/ok=/), page.locator('#new-form button').click()]);
    assert.match(await page.locator('#forms').innerText(), /食堂食品安全检查月报\s+月\s+小学\s+食堂检查次数/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'forms.png'), fullPage: true });
    await page.goto('/indicators?year=2024');
    await Promise.all([page.waitForURL(/\/schools\/\d+\/data/), page.locator('#returns a', { hasText: '屏南县第三小学' }).click()]);
    await page.selectOption('#pick-form select[name=form]', 'canteen');
    await page.fill('#pick-form [name=period]', '2026-11');
    await Promise.all([page.waitForURL(/form=canteen/), page.locator('#pick-form button').click()]);
    assert.match(await page.locator('h1').innerText(), /食堂食品安全检查月报 · 2026年11月/);
    assert.equal(await page.locator('input[name=".canteen_checks"]').count(), 1);
  } finally {
    await context.close();
  }
});

test('supervisor generates the circular from a ledger, follows a figure to its list, downloads Word, edits a template copy with live preview, and checks a report', async () => {
  const { context, page } = await newPage();
  try {
    await page.goto('/login');
    await page.fill('input[name=username]', USERNAME);
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('form[action="/login"] button[type=submit]')]);

    // 生成报告 from the ledger page.
    await page.goto('/ledgers/1');
    await Promise.all([page.waitForURL(/\/reports\?template=tongbao/), page.locator('#report-tongbao').click()]);
    const report = page.locator('#report');
    const text = await report.innerText();
    assert.match(text, /一、总体情况/);
    assert.match(text, /二、存在问题/);
    assert.match(text, /三、工作要求/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-tongbao.png'), fullPage: false });

    // Every figure is a link; the 已办结 figure opens the list of exactly that many items.
    const closed = report.locator('a.fig[title^="已办结:"]').first();
    const closedText = (await closed.innerText()).trim();
    await Promise.all([page.waitForURL(/\/ledgers\/1\?state=closed,archived/), closed.click()]);
    assert.match(await page.locator('body').innerText(), new RegExp(`共 ${closedText} 条`));
    await page.goBack();

    // Word download.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download-docx').click()]);
    assert.match(download.suggestedFilename(), /\.docx$/);
    const saved = path.join(ARTIFACTS, 'tongbao.docx');
    await download.saveAs(saved);

    // A template copy, edited with a live preview: a broken line names its line; fixed, it renders.
    await page.goto('/reports');
    await page.selectOption('#template-copy select[name=based_on]', 'tongbao');
    await page.fill('#template-copy [name=id]', 'tongbao-xian');
    await page.fill('#template-copy [name=name]', '县教育局月度通报');
    await Promise.all([page.waitForURL(/\/reports\/templates\/tongbao-xian/), page.locator('#template-copy button').click()]);
    const body = page.locator('#body');
    const src = await body.inputValue();
    await body.fill(src.replace('## 工作要求', '## 工作要求\n\n{{ school_ranking() }}'));
    await body.press('End');
    await page.locator('#preview-error').waitFor();
    assert.match(await page.locator('#preview-error').innerText(), /第\d+行.*school_ranking/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-template-error.png'), fullPage: false });
    await body.fill(src.replace('## 工作要求', '## 工作要求\n\n请各单位认真对照。'));
    await body.press('End');
    await page.locator('#preview >> text=请各单位认真对照').waitFor();
    await Promise.all([page.waitForURL(/ok=/), page.locator('#save-template').click()]);
    assert.match(await page.locator('#body').inputValue(), /请各单位认真对照/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-template.png'), fullPage: false });

    // 数据核验: a slip is found and highlighted in the text.
    await page.goto('/check');
    await page.fill('#check-text', '计划完成投资30.5亿元,比去年增加投资14.05亿元,增幅为85.15%。全校共有学生529名,其中少数民族学生402名,占学生总数的76%。');
    await page.locator('#check-run').click();
    await page.locator('#check-summary').waitFor();
    assert.match(await page.locator('#check-summary').innerText(), /发现 1 处不一致/);
    assert.equal(await page.locator('#checked-text mark.error').count(), 1);
    await page.screenshot({ path: path.join(ARTIFACTS, 'check.png'), fullPage: true });

    // The Word file downloaded above: generated by Taizhang, so it is also checked against
    // its ledger's records, and it is consistent with them and with itself.
    await page.goto('/check');
    await page.setInputFiles('#check-form input[type=file]', saved);
    await page.locator('#check-run').click();
    await page.locator('#check-summary').waitFor();
    assert.match(await page.locator('.flash.ok').innerText(), /已同时核对台账记录/);
    assert.match(await page.locator('#check-summary').innerText(), /未发现不一致/);
    assert.match(await page.locator('#check-summary').innerText(), /另有 [1-9]\d* 处经核对一致/);
  } finally {
    await context.close();
  }
});
