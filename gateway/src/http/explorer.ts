// The explorer that works offline: GraphiQL at /graphiql, every byte of it served by the gateway.
// Apollo Sandbox (at /) loads from Apollo's CDN and shows nothing without internet; GraphiQL's own
// published build (graphiql 4.1.2's UMD bundle and stylesheet, over React 18's UMD builds, all from
// node_modules; `npm run build` copies them into dist/explorer/) needs nothing else, and the page's
// Content-Security-Policy lets it reach nothing but this gateway. Sandbox's landing page links
// here. Off in production unless EXPLORER_ENABLED says otherwise, like introspection.
//
// Assets are read once, when the explorer is created, and served from memory under a content hash
// (cached for a year, immutable); the page itself is revalidated. Compressed on the way out, as
// /graphql is; none of the GraphQL middleware (CORS, body parsing, limits, the hit lane) sees it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ApolloServerPluginLandingPageLocalDefault, ApolloServerPluginLandingPageProductionDefault } from '@apollo/server/plugin/landingPage/default';
import { findRuntimeFile } from '@commerce/platform/runtime-files';
import express, { type RequestHandler } from 'express';
import { compressionMiddleware } from './edge.js';

export const EXPLORER_PATH = '/graphiql';

const require = createRequire(import.meta.url);
// Literal specifiers, so the dependency check (test/package-boundaries.test.ts) sees what is used.
const packageDir = {
  graphiql: () => dirname(require.resolve('graphiql/package.json')),
  react: () => dirname(require.resolve('react/package.json')),
  'react-dom': () => dirname(require.resolve('react-dom/package.json')),
};

/** The files the page loads, by the name it loads them under, and where each package keeps it. */
const PACKAGE_FILES = {
  'react.production.min.js': ['react', 'umd/react.production.min.js'],
  'react-dom.production.min.js': ['react-dom', 'umd/react-dom.production.min.js'],
  'graphiql.min.js': ['graphiql', 'graphiql.min.js'],
  'graphiql.min.css': ['graphiql', 'graphiql.min.css'],
} as const satisfies Record<string, [keyof typeof packageDir, string]>;

export type ExplorerAsset = keyof typeof PACKAGE_FILES;

/**
 * Where each asset is: beside the compiled gateway (`dist/explorer/`, copied there by the build),
 * else in the packages themselves (the sources, run by tsx).
 */
export function explorerAssetFiles(): Record<ExplorerAsset, string> {
  const here = dirname(fileURLToPath(import.meta.url));
  return Object.fromEntries(
    Object.entries(PACKAGE_FILES).map(([name, [pkg, file]]) => [name, findRuntimeFile(here, join('explorer', name)) ?? join(packageDir[pkg](), file)]),
  ) as Record<ExplorerAsset, string>;
}

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

// The page starts GraphiQL from a file of its own, not an inline script: the policy allows none.
const BOOT = `"use strict";
var url = new URL('/graphql', window.location.href).href;
var start = ${JSON.stringify(
  [
    '# GraphiQL, served by this gateway: it works without internet.',
    '# Signed in? Put {"authorization": "Bearer <token>"} or {"x-api-key": "<key>"} in Headers below.',
    '#',
    '# Try: { products(first: 5) { edges { node { name price { amount currency } stock } } } }',
    '',
  ].join('\n'),
)};
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, { fetcher: GraphiQL.createFetcher({ url: url }), defaultQuery: start, defaultEditorToolsVisibility: true })
);
`;

/** Everything a page may reach: this gateway, nothing else (styles inline too: CodeMirror sets them). */
const POLICY = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

interface Asset {
  body: Buffer;
  type: string;
  url: string;
}

/** The explorer's routes, and the landing-page plugin that links to it; nothing when it is off. */
export function explorer<C extends BaseContext>(enabled: boolean, nodeEnv: string): { routes: RequestHandler[]; plugins: ApolloServerPlugin<C>[] } {
  if (!enabled) return { routes: [], plugins: [] };
  const assets = new Map<string, Asset>();
  const add = (name: string, body: Buffer) => {
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 12);
    const asset = { body, type: TYPES[name.split('.').pop()!]!, url: `${EXPLORER_PATH}/assets/${hash}/${name}` };
    assets.set(asset.url, asset);
    return asset.url;
  };
  const urls = Object.fromEntries(Object.entries(explorerAssetFiles()).map(([name, file]) => [name, add(name, readFileSync(file))])) as Record<ExplorerAsset, string>;
  const boot = add('explorer.js', Buffer.from(BOOT));
  const page = Buffer.from(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>GraphiQL · commerce graph</title>
    <link rel="stylesheet" href="${urls['graphiql.min.css']}" />
    <link rel="icon" href="data:," />
  </head>
  <body style="margin: 0">
    <div id="graphiql" style="height: 100vh">Loading GraphiQL…</div>
    <script src="${urls['react.production.min.js']}"></script>
    <script src="${urls['react-dom.production.min.js']}"></script>
    <script src="${urls['graphiql.min.js']}"></script>
    <script src="${boot}"></script>
  </body>
</html>
`);
  const router = express.Router();
  router.use(EXPLORER_PATH, compressionMiddleware());
  router.get(EXPLORER_PATH, (_req, res) => {
    res.set({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'content-security-policy': POLICY, 'x-content-type-options': 'nosniff' }).send(page);
  });
  router.get(`${EXPLORER_PATH}/assets/:hash/:name`, (req, res, next) => {
    const asset = assets.get(req.path);
    if (!asset) return next();
    res.set({ 'content-type': asset.type, 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' }).send(asset.body);
  });
  return { routes: [router], plugins: [landingPageLink<C>(nodeEnv)] };
}

/**
 * Apollo's own landing page (Sandbox in development, its production page otherwise: what Apollo
 * installs by itself), with a link to the explorer where it says it could not load.
 */
function landingPageLink<C extends BaseContext>(nodeEnv: string): ApolloServerPlugin<C> {
  const apollo = (nodeEnv === 'production' ? ApolloServerPluginLandingPageProductionDefault() : ApolloServerPluginLandingPageLocalDefault()) as ApolloServerPlugin<C>;
  return {
    async serverWillStart(service) {
      const listener = await apollo.serverWillStart?.(service);
      const render = listener?.renderLandingPage;
      if (!render) return listener;
      return {
        ...listener,
        async renderLandingPage() {
          const { html } = await render();
          return { html: async () => withExplorerLink(typeof html === 'string' ? html : await html()) };
        },
      };
    },
  };
}

const LINK = `<p>No internet? <a href="${EXPLORER_PATH}">Open GraphiQL</a>: the explorer this gateway serves itself.</p>`;

/**
 * The link goes inside Apollo's "cannot be loaded" notice (or at the top, if Apollo's page
 * changes). Sandbox's empty container lies over that notice: until Sandbox fills it, clicks go
 * through it (a rule added to Apollo's own style block, which its CSP nonce already allows).
 */
export function withExplorerLink(html: string): string {
  const notice = /(<div class="fallback">[\s\S]*?)(<\/div>)/;
  const linked = notice.test(html) ? html.replace(notice, `$1  ${LINK}\n$2`) : html.replace(/<body>/, `<body>\n${LINK}`);
  return linked.replace(/(\n\s*)#embeddableSandbox \{/, '$1#embeddableSandbox:empty { pointer-events: none; }$1#embeddableSandbox {');
}
