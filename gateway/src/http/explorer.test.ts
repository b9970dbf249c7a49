// The explorer's HTTP side without a browser (test/explorer.e2e.ts has the browser): the page, its
// assets from memory under content hashes, compression, the landing page's link, and when it is on.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { GraphQLServerContext } from '@apollo/server';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfig } from '../config.js';
import { explorer, explorerAssetFiles, withExplorerLink } from './explorer.js';

const PRODUCTION = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), IDENTITY_PRIVATE_KEY: 'k' };

describe('EXPLORER_ENABLED', () => {
  it('is on in development and off in production, as introspection is, unless set', () => {
    expect(gatewayConfig({}).explorerEnabled).toBe(true);
    expect(gatewayConfig({ EXPLORER_ENABLED: 'false' }).explorerEnabled).toBe(false);
    expect(gatewayConfig(PRODUCTION).explorerEnabled).toBe(false);
    expect(gatewayConfig({ ...PRODUCTION, EXPLORER_ENABLED: 'true' }).explorerEnabled).toBe(true);
    expect(() => gatewayConfig({ EXPLORER_ENABLED: 'yes' })).toThrow(/EXPLORER_ENABLED/);
  });

  it('off: no route and no landing-page plugin (Apollo installs its own page, as before)', () => {
    expect(explorer(false, 'development')).toEqual({ routes: [], plugins: [] });
  });
});

describe('GET /graphiql', () => {
  let base: string;
  let close: () => void;
  beforeAll(async () => {
    const app = express();
    app.use(...explorer(true, 'development').routes);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => close?.());

  it('serves a page that loads only its own assets and may reach only this origin', async () => {
    const response = await fetch(`${base}/graphiql`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self';.* connect-src 'self';/);
    const page = await response.text();
    const urls = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!).filter((url) => url !== 'data:,');
    expect(urls.map((url) => url.replace(/\/assets\/[\w-]{12}\//, '/assets/<hash>/'))).toEqual([
      '/graphiql/assets/<hash>/graphiql.min.css',
      '/graphiql/assets/<hash>/react.production.min.js',
      '/graphiql/assets/<hash>/react-dom.production.min.js',
      '/graphiql/assets/<hash>/graphiql.min.js',
      '/graphiql/assets/<hash>/explorer.js',
    ]);
    for (const url of urls) {
      const asset = await fetch(`${base}${url}`);
      expect(asset.status, url).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(asset.headers.get('content-type')).toMatch(url.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
      if (url.endsWith('graphiql.min.js')) expect(Buffer.from(await asset.arrayBuffer()).equals(readFileSync(explorerAssetFiles()['graphiql.min.js']))).toBe(true);
      else await asset.arrayBuffer();
    }
  });

  it('compresses for clients that accept it, and knows no other asset', async () => {
    const page = await (await fetch(`${base}/graphiql`)).text();
    const script = /src="([^"]+graphiql\.min\.js)"/.exec(page)![1]!;
    const compressed = await fetch(`${base}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(compressed.headers.get('content-encoding')).toBe('gzip');
    await compressed.arrayBuffer();
    expect((await fetch(`${base}/graphiql/assets/000000000000/graphiql.min.js`)).status).toBe(404);
    expect((await fetch(`${base}${script.replace('graphiql.min.js', 'package.json')}`)).status).toBe(404);
  });
});

describe("Apollo's landing page", () => {
  const render = async (nodeEnv: string) => {
    const [plugin] = explorer(true, nodeEnv).plugins;
    const listener = await plugin!.serverWillStart!({} as GraphQLServerContext);
    const { html } = await listener!.renderLandingPage!();
    return typeof html === 'string' ? html : html();
  };

  it('links to GraphiQL where it says Sandbox could not load, and lets that link be clicked', async () => {
    const page = await render('development');
    expect(page).toContain('embeddable-sandbox.cdn.apollographql.com'); // still Apollo's Sandbox
    expect(page).toMatch(/<div class="fallback">[\s\S]*Apollo Sandbox cannot be loaded[\s\S]*<a href="\/graphiql">Open GraphiQL<\/a>[\s\S]*?<\/div>/);
    expect(page).toMatch(/<style nonce=\w+>\s*iframe \{[\s\S]*#embeddableSandbox:empty \{ pointer-events: none; \}/);
  });

  it('keeps Apollo\'s production page in production (with the link, since the explorer was enabled there)', async () => {
    const page = await render('production');
    expect(page).toContain('apollo-server-landing-page.cdn.apollographql.com');
    expect(page).toContain('<a href="/graphiql">Open GraphiQL</a>');
  });

  it('puts the link at the top of a page it does not recognise', () => {
    expect(withExplorerLink('<html><body><main></main></body></html>')).toMatch(/^<html><body>\n<p>No internet\? <a href="\/graphiql">/);
  });
});
