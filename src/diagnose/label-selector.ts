import { isJsonObject } from '../shared/json.js';

/**
 * Kubernetes label selectors (`matchLabels`, `matchExpressions` with In, NotIn, Exists,
 * DoesNotExist), as the API server applies a webhook's `namespaceSelector` and `objectSelector`.
 * An absent selector selects everything; a malformed one is reported rather than guessed.
 */
export type SelectorVerdict = { readonly matches: boolean; readonly why: string } | { readonly error: string };

export function evaluateSelector(selector: unknown, labels: Readonly<Record<string, string>>, what: string): SelectorVerdict {
  if (selector === undefined || selector === null) return { matches: true, why: `no ${what}` };
  if (!isJsonObject(selector)) return { error: `${what} is not an object` };
  const matchLabels = selector.matchLabels ?? {};
  if (!isJsonObject(matchLabels)) return { error: `${what}.matchLabels is not an object` };
  for (const [key, value] of Object.entries(matchLabels)) {
    if (labels[key] !== value) return { matches: false, why: `${what} wants ${key}=${String(value)}, the labels have ${key in labels ? `${key}=${labels[key]}` : `no ${key}`}` };
  }
  const expressions = selector.matchExpressions ?? [];
  if (!Array.isArray(expressions)) return { error: `${what}.matchExpressions is not a list` };
  for (const [index, expression] of expressions.entries()) {
    if (!isJsonObject(expression) || typeof expression.key !== 'string' || typeof expression.operator !== 'string') return { error: `${what}.matchExpressions[${index}] needs key and operator` };
    const { key, operator } = expression;
    const values = Array.isArray(expression.values) ? expression.values.map(String) : [];
    const has = key in labels;
    const value = labels[key];
    const shown = has ? `${key}=${value}` : `no ${key}`;
    switch (operator) {
      case 'In':
        if (!has || !values.includes(value!)) return { matches: false, why: `${what}: ${key} In [${values.join(', ')}], the labels have ${shown}` };
        break;
      case 'NotIn':
        if (has && values.includes(value!)) return { matches: false, why: `${what}: ${key} NotIn [${values.join(', ')}], the labels have ${shown}` };
        break;
      case 'Exists':
        if (!has) return { matches: false, why: `${what}: ${key} Exists, the labels have none` };
        break;
      case 'DoesNotExist':
        if (has) return { matches: false, why: `${what}: ${key} DoesNotExist, the labels have ${shown}` };
        break;
      default:
        return { error: `${what}.matchExpressions[${index}]: unknown operator ${operator}` };
    }
  }
  return { matches: true, why: `${what} matches` };
}
