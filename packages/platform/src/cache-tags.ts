// Tags name what a cached value was built from. A subgraph notes the tags of everything it reads
// for a request and returns them in `extensions.cacheTags`; the gateway tags its cached response
// with the union. A write purges the tags it changed: the entity (`Product:<id>`) and, when it can
// change which items a list holds or in what order, the list (`Product:list`).
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';

export const entityTag = (type: string, id: string): string => `${type}:${id}`;

/**
 * A part of an entity that changes less often than the rest (`Product:<id>:catalog`: its name,
 * price and existence, not its stock). A write purges it along with the entity's tag when it
 * changes that part; what is built from that part alone is tagged with it and outlives the rest's
 * changes.
 */
export const facetTag = (type: string, id: string, facet: string): string => `${type}:${id}:${facet}`;

/** What an order keeps of a product when placed (its name, price, and that it exists): everything but its stock. */
export const catalogTag = (type: string, id: string): string => facetTag(type, id, 'catalog');

/** A family of lists; `qualifier` narrows it (`Product:list:stock`: lists filtered by stock). */
export const listTag = (type: string, qualifier?: string): string => (qualifier ? `${type}:list:${qualifier}` : `${type}:list`);

/** The extension key subgraph responses carry their tags in (the gateway does not pass it on). */
export const CACHE_TAGS_EXTENSION = 'cacheTags';

/** Adds the request's tags to the subgraph's response. */
export function cacheTagsPlugin<C extends BaseContext>(tagsOf: (context: C) => ReadonlySet<string> | null): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          const tags = tagsOf(contextValue);
          if (response.body.kind !== 'single' || !tags || tags.size === 0) return;
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, [CACHE_TAGS_EXTENSION]: [...tags] };
        },
      };
    },
  };
}
