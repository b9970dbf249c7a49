// The explorers, in a real browser (Debian's Chromium through playwright-core): Apollo Sandbox's
// landing page at / points at this gateway and links to GraphiQL; GraphiQL at /graphiql loads with
// nothing from outside the gateway, runs the README's catalog query typed into its editor, and
// shows the seeded products. It saves a screenshot to SCREENSHOT (printed; CI keeps no artefacts).
// Without Chromium it skips, saying so, except under CI=true, where it fails (.ci/run installs it).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { generateSeed } from '@commerce/db/seed-data';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startGraph, type TestGraph } from './support/graph.js';

const CHROMIUM = '/usr/bin/chromium';
/** Headless, and nothing of Chromium's own network traffic (updates, sync, field trials): the network here is closed. */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SCREENSHOT = join(import.meta.dirname, '..', '.artifacts', 'explorer.png');
/** The README's catalog query, as a person types it. */
const CATALOG = '{ products(first: 5) { edges { node { name price { amount currency } stock } } } }';
const SANDBOX_CDN = 'https://embeddable-sandbox.cdn.apollographql.com/';

const template = inject('templateDatabase');
const present = existsSync(CHROMIUM);
if (!present && !process.env.CI) console.warn(`SKIPPING the browser test: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);

// The page's globals, as the functions run in the browser see them (the project has no DOM types).
declare const document: { querySelector(selector: string): { CodeMirror?: { getValue(): string } } | null };
declare const window: { sandboxConfig?: { initialEndpoint: string; target: string } };

/** A CodeMirror editor's whole text (it renders only the lines in view). */
const editorText = (page: Page, selector: string): Promise<string> => page.evaluate((s) => document.querySelector(s)?.CodeMirror?.getValue() ?? '', selector);

describe.skipIf(!present && !process.env.CI)('the explorers in a browser', () => {
  let graph: TestGraph;
  let browser: Browser;
  let origin: string;
  const started = performance.now();
  let ready = started;

  beforeAll(async () => {
    if (!present) throw new Error(`Chromium is required under CI but ${CHROMIUM} is missing (.ci/run installs it: apt-get install -y --no-install-recommends chromium)`);
    // The run's seeded PostgreSQL when there is one (a clone is quick), else the embedded default.
    [graph, browser] = await Promise.all([startGraph(template ? { kind: 'postgres', template } : { kind: 'pglite' }), chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS })]);
    origin = new URL(graph.gatewayUrl).origin;
    ready = performance.now();
  });
  afterAll(async () => {
    await browser?.close();
    await graph?.stop();
    const ms = (from: number, to: number) => `${((to - from) / 1000).toFixed(1)} s`;
    console.log(`browser test: ${ms(started, performance.now())} (graph start and Chromium launch ${ms(started, ready)}, in the browser ${ms(ready, performance.now())})`);
  });

  it('Sandbox at / points at this gateway and links to GraphiQL; GraphiQL runs the typed catalog query offline', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const outside: string[] = [];
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    // The closed network, made explicit: anything not for the gateway fails at once, except
    // Sandbox's script, answered with a stand-in that records how Apollo's page configures it.
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith(`${origin}/`)) return route.continue();
      if (url.startsWith(SANDBOX_CDN)) return route.fulfill({ contentType: 'text/javascript', body: 'window.EmbeddedSandbox = function (config) { window.sandboxConfig = config; };' });
      outside.push(url);
      return route.abort('internetdisconnected');
    });

    // Sandbox: Apollo's landing page as served, its inline script run by the browser.
    await page.goto(`${origin}/`);
    const config = (await (await page.waitForFunction(() => window.sandboxConfig)).jsonValue())!;
    expect(config).toMatchObject({ initialEndpoint: `${origin}/`, target: '#embeddableSandbox' });
    // …and that endpoint is this gateway's GraphQL.
    const answer = await page.evaluate((endpoint) => fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }).then((response) => response.json()), config.initialEndpoint);
    expect(answer).toEqual({ data: { __typename: 'Query' } });
    problems.length = 0; // the page's fonts and icons from Apollo's CDN fail here, as they would offline
    outside.length = 0;

    // The link on the landing page leads to GraphiQL.
    await page.getByRole('link', { name: 'Open GraphiQL' }).click();
    await page.waitForURL(`${origin}/graphiql`);
    const queryEditor = page.locator('.graphiql-query-editor .CodeMirror');
    await queryEditor.waitFor();
    // GraphiQL has started: its editor holds the page's opening text.
    await expect.poll(() => editorText(page, '.graphiql-query-editor .CodeMirror'), { timeout: 10_000 }).toContain('# GraphiQL, served by this gateway');
    await queryEditor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type(CATALOG);
    await page.keyboard.press('Escape'); // closes the completion list, if one is open
    // What was typed is what is there (the editor closes brackets as you type; typing over them is a no-op).
    expect((await editorText(page, '.graphiql-query-editor .CodeMirror')).replace(/\s+/g, ' ').trim()).toBe(CATALOG);
    await page.getByRole('button', { name: 'Prettify query (Shift-Ctrl-P)' }).click(); // for the screenshot's reader
    await page.locator('.graphiql-execute-button').click();

    const resultSelector = '.result-window .CodeMirror';
    await expect.poll(() => editorText(page, resultSelector), { timeout: 15_000 }).toContain('"edges"');
    const result = JSON.parse(await editorText(page, resultSelector)) as { data: { products: { edges: Array<{ node: { name: string } }> } }; errors?: unknown };
    const shown = result.data.products.edges.map((edge) => edge.node.name);
    expect(result.errors).toBeUndefined();
    expect(shown).toHaveLength(5);
    // The seeded catalog, the same five the gateway answers directly.
    const seeded = new Set(generateSeed().products.map((product) => product.name));
    for (const name of shown) expect(seeded.has(name), name).toBe(true);
    const direct = await graph.query<{ products: { edges: Array<{ node: { name: string } }> } }>(CATALOG);
    expect(shown).toEqual(direct.data?.products.edges.map((edge) => edge.node.name));
    // …and on screen: the panel a person reads shows the first name.
    await expect.poll(() => page.locator('.result-window').innerText()).toContain(shown[0]);

    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    console.log(`explorer screenshot: ${SCREENSHOT}`);
    expect(outside).toEqual([]); // GraphiQL asked nothing of anyone but the gateway
    expect(problems).toEqual([]);
    await context.close();
  });
});
