import assert from 'node:assert/strict';
import { evaluateSelector } from '../../src/diagnose/label-selector.js';

describe('label selectors, as the API server applies a webhook configuration', () => {
  const labels = { app: 'web', tier: 'front' };
  const matches = (selector: unknown): boolean | string => {
    const verdict = evaluateSelector(selector, labels, 'objectSelector');
    return 'error' in verdict ? verdict.error : verdict.matches;
  };

  it('an absent or empty selector selects everything', () => {
    assert.equal(matches(undefined), true);
    assert.equal(matches(null), true);
    assert.equal(matches({}), true);
  });

  it('matchLabels needs every pair', () => {
    assert.equal(matches({ matchLabels: { app: 'web' } }), true);
    assert.equal(matches({ matchLabels: { app: 'web', tier: 'back' } }), false);
    assert.equal(matches({ matchLabels: { missing: 'x' } }), false);
  });

  it('matchExpressions: In, NotIn, Exists, DoesNotExist (NotIn and DoesNotExist hold for an absent key)', () => {
    assert.equal(matches({ matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] }), true);
    assert.equal(matches({ matchExpressions: [{ key: 'missing', operator: 'In', values: ['x'] }] }), false);
    assert.equal(matches({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }), false);
    assert.equal(matches({ matchExpressions: [{ key: 'missing', operator: 'NotIn', values: ['x'] }] }), true);
    assert.equal(matches({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }), true);
    assert.equal(matches({ matchExpressions: [{ key: 'missing', operator: 'Exists' }] }), false);
    assert.equal(matches({ matchExpressions: [{ key: 'missing', operator: 'DoesNotExist' }] }), true);
    assert.equal(matches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }), false);
  });

  it('every expression and every label must hold', () => {
    assert.equal(matches({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] }), false);
  });

  it('says why it does not match, and refuses a malformed selector instead of guessing', () => {
    const verdict = evaluateSelector({ matchLabels: { tier: 'back' } }, labels, 'namespaceSelector');
    assert.deepEqual(verdict, { matches: false, why: 'namespaceSelector wants tier=back, the labels have tier=front' });
    assert.equal(matches({ matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] }), 'objectSelector.matchExpressions[0]: unknown operator Gt');
    assert.equal(matches({ matchExpressions: 'app' }), 'objectSelector.matchExpressions is not a list');
    assert.equal(matches([]), 'objectSelector is not an object');
  });
});
