import { describe, expect, it } from 'vitest';
import { operationLabels } from './metrics.js';

describe('operation labels', () => {
  it('keep well-formed names, up to a limit; the rest share one label', () => {
    const label = operationLabels(2);
    expect(label(undefined)).toBe('anonymous');
    expect(label('bad name!')).toBe('invalid');
    expect(label('One')).toBe('One');
    expect(label('Two')).toBe('Two');
    expect(label('Three')).toBe('other');
    expect(label('One')).toBe('One'); // a name already seen keeps its series
  });
});
