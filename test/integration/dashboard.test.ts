/**
 * The dashboard in headless Chromium (Debian `chromium` through playwright-core): it lists the
 * routers with the broken one marked by its error, filters by search, shows live traffic, and shows
 * a route added through the file provider without reloading the page. A screenshot is saved under
 * test-artifacts/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot, startBackend, startWithFile, tempDir, writeAtomic, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';
import { makeCA } from '../fixtures/tls/make-certs.js';

const artifacts = path.join(repoRoot, 'test-artifacts');

function yaml(a: Backend, extra = ''): string {
  return `http:
  routers:
    shop:
      rule: Host(\`shop.test\`)
      service: shop
    broken:
      rule: Hots(\`broken.test\`)
      service: shop
${extra}  services:
    shop:
      loadBalancer:
        servers: [{ url: "${a.url}" }, { url: "http://127.0.0.1:9" }]
`;
}

describe('dashboard', () => {
  let g: GantryProcess;
  let a: Backend;
  let file: string;
  let cleanup: () => Promise<void>;
  let browser: BrowserContext;
  let page: Page;
  const profile = tempDir('gantry-chromium-');

  before(async () => {
    assert.ok(fs.existsSync(path.join(repoRoot, 'dist/web/app.js')), 'the dashboard is built (npm run build)');
    a = await startBackend('a');
    ({ g, file, cleanup } = await startWithFile(yaml(a)));
    await g.waitForLog((l) => l.msg === 'configuration applied' && Number(l['routers']) > 0);
    // A fresh profile per run (launchPersistentContext's user data dir).
    browser = await chromium.launchPersistentContext(profile.dir, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(15_000);
  });
  after(async () => {
    await browser?.close();
    await cleanup?.();
    await a?.close();
    profile.cleanup();
  });

  it('shows the routers, the broken one marked with its error', async () => {
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(g.api('/'))) external.push(r.url());
    });
    await page.goto(g.api('/dashboard/#/routers'));
    await page.locator('tr[data-router="shop@file"][data-status="enabled"]').waitFor();
    const broken = page.locator('tr[data-router="broken@file"]');
    await broken.waitFor();
    assert.equal(await broken.getAttribute('data-status'), 'disabled');
    assert.match(await broken.getAttribute('class') ?? '', /has-error/);
    assert.match(await broken.locator('[data-testid=error]').innerText(), /unknown matcher "Hots"/);
    assert.deepEqual(external, [], 'no request leaves the API origin (works offline)');
  });

  it('filters by search', async () => {
    await page.fill('[data-testid=search]', 'hots');
    await page.locator('tr[data-router="shop@file"]').waitFor({ state: 'detached' });
    assert.equal(await page.locator('tr[data-router="broken@file"]').count(), 1);
    await page.fill('[data-testid=search]', '');
    await page.locator('tr[data-router="shop@file"]').waitFor();
  });

  it('shows live request rates per router', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await get(g.url('/'), { host: 'shop.test' })).status, 200);
    await page.waitForFunction(() => {
      const row = document.querySelector('tr[data-router="shop@file"] td.rate div');
      return row !== null && parseFloat(row.textContent ?? '0') > 0;
    });
    // The chart draws the request-rate line.
    await page.locator('tr[data-router="shop@file"] svg.chart path').first().waitFor();
  });

  it('shows a route added through the file provider without reloading the page', async () => {
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    writeAtomic(
      file,
      yaml(
        a,
        `    added:
      rule: Host(\`added.test\`)
      service: shop
`,
      ),
    );
    await page.locator('tr[data-router="added@file"][data-status="enabled"]').waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'same page, not reloaded');
    await page.goto(g.api('/dashboard/#/services'));
    await page.locator('tr[data-service="shop@file"] [data-server]').first().waitFor();
    assert.equal(await page.locator('tr[data-service="shop@file"] [data-server]').count(), 2);
    await page.goto(g.api('/dashboard/#/overview'));
    await page.locator('[data-testid=count-http-routers] .big').filter({ hasText: '3' }).waitFor();
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'dashboard-overview.png'), fullPage: true });
    await page.goto(g.api('/dashboard/#/routers'));
    await page.locator('tr[data-router="added@file"]').waitFor();
    await page.screenshot({ path: path.join(artifacts, 'dashboard-routers.png'), fullPage: true });
    assert.ok(fs.statSync(path.join(artifacts, 'dashboard-routers.png')).size > 1000);
  });

  it('lists a file certificate with its expiry in the certificates view', async () => {
    const ca = makeCA(path.join(profile.dir, 'certs'));
    const leaf = ca.leaf('dash', ['dash-cert.test', 'www.dash-cert.test']);
    writeAtomic(file, `${yaml(a)}tls:\n  certificates:\n    - { certFile: ${leaf.cert}, keyFile: ${leaf.key} }\n`);
    await page.goto(g.api('/dashboard/#/certificates'));
    const row = page.locator('tr[data-certificate="dash-cert.test"][data-source="file"]');
    await row.waitFor();
    assert.match(await row.innerText(), /www\.dash-cert\.test/);
    assert.match(await row.innerText(), /Gantry Test CA/);
    assert.match(await row.innerText(), /in [01] days/);
  });
});
