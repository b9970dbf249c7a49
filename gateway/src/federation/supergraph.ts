// Reads a supergraph file and applies SUBGRAPH_URL_<NAME> overrides, rejecting overrides that
// name no graph in it (a typo would otherwise silently send traffic to the file's URL).
import { readFileSync } from 'node:fs';
import { ConfigError } from '@commerce/platform/env';
import { Supergraph as FederationSupergraph } from '@apollo/federation-internals';
import { Kind, parse } from 'graphql';

export interface Supergraph {
  sdl: string;
  /** Graph name (as in the file) to the URL the gateway will call. */
  urls: Map<string, string>;
}

/** The NAME in SUBGRAPH_URL_<NAME>: the graph name in upper case, other characters as `_`. */
export const envName = (graph: string): string => graph.toUpperCase().replace(/[^A-Z0-9]/g, '_');

export function loadSupergraph(path: string, overrides: Record<string, string>): Supergraph {
  let sdl: string;
  try {
    sdl = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`SUPERGRAPH_PATH: cannot read ${path}: ${(error as Error).message}`]);
  }
  let graphs: Array<{ name: string; url: string }>;
  try {
    graphs = joinGraphs(sdl) ?? [...FederationSupergraph.build(sdl).subgraphsMetadata()];
  } catch (error) {
    throw new ConfigError([`SUPERGRAPH_PATH: ${path} is not a valid supergraph: ${(error as Error).message}`]);
  }
  const known = new Set(graphs.map((graph) => envName(graph.name)));
  const unknown = Object.keys(overrides).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new ConfigError(unknown.map((name) => `SUBGRAPH_URL_${name}: the supergraph has no graph by that name (it has ${[...known].join(', ')})`));
  }
  return { sdl, urls: new Map(graphs.map((graph) => [graph.name, overrides[envName(graph.name)] ?? graph.url])) };
}

/**
 * The graphs of a supergraph, read from its `join__Graph` enum (`@join__graph(name:, url:)` on
 * each value) with a plain parse; null when it names its join spec otherwise (`@link(as:)`), and
 * then the full build finds them. Building the whole supergraph here as well would cost a cold
 * start about as much again as the gateway's own build of it (which validates it, so an invalid
 * file still fails the start).
 */
function joinGraphs(sdl: string): Array<{ name: string; url: string }> | null {
  const graphs: Array<{ name: string; url: string }> = [];
  for (const definition of parse(sdl, { noLocation: true }).definitions) {
    if (definition.kind !== Kind.ENUM_TYPE_DEFINITION) continue;
    for (const value of definition.values ?? []) {
      const directive = value.directives?.find((candidate) => candidate.name.value === 'join__graph');
      if (!directive) continue;
      const argument = (name: string) => {
        const found = directive.arguments?.find((candidate) => candidate.name.value === name)?.value;
        return found?.kind === Kind.STRING ? found.value : null;
      };
      const [name, url] = [argument('name'), argument('url')];
      if (name === null || url === null) return null;
      graphs.push({ name, url });
    }
  }
  return graphs.length > 0 ? graphs : null;
}
