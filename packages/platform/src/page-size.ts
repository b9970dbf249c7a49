// Page sizes of every paginated field (`first`/`last`): the default when a client names none, and
// the most it may ask for. The subgraphs page by them; the gateway's cost analysis weighs pages by
// them, which is why they live here and not with the subgraphs' pagination code.
export const PAGE_SIZE = { default: 20, max: 100 } as const;
