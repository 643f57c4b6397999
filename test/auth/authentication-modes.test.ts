import assert from 'node:assert/strict';
import { AUTHENTICATION_MODES, modeSteps, modeUpdateProblem } from '../../src/authenticator/authentication-modes.js';

describe('authentication modes change one step at a time (shared/eks-2026.md §4.3)', () => {
  it('one update request: only the next mode; a jump, a step back or the same mode is refused with the API message', () => {
    const table = AUTHENTICATION_MODES.flatMap((from) => AUTHENTICATION_MODES.map((to) => [from, to, modeUpdateProblem(from, to) ?? 'ok']));
    assert.deepEqual(table, [
      ['CONFIG_MAP', 'CONFIG_MAP', 'InvalidParameterException: Unsupported authentication mode update from CONFIG_MAP to CONFIG_MAP'],
      ['CONFIG_MAP', 'API_AND_CONFIG_MAP', 'ok'],
      ['CONFIG_MAP', 'API', 'InvalidParameterException: Unsupported authentication mode update from CONFIG_MAP to API'],
      ['API_AND_CONFIG_MAP', 'CONFIG_MAP', 'InvalidParameterException: Unsupported authentication mode update from API_AND_CONFIG_MAP to CONFIG_MAP'],
      ['API_AND_CONFIG_MAP', 'API_AND_CONFIG_MAP', 'InvalidParameterException: Unsupported authentication mode update from API_AND_CONFIG_MAP to API_AND_CONFIG_MAP'],
      ['API_AND_CONFIG_MAP', 'API', 'ok'],
      ['API', 'CONFIG_MAP', 'InvalidParameterException: Unsupported authentication mode update from API to CONFIG_MAP'],
      ['API', 'API_AND_CONFIG_MAP', 'InvalidParameterException: Unsupported authentication mode update from API to API_AND_CONFIG_MAP'],
      ['API', 'API', 'InvalidParameterException: Unsupported authentication mode update from API to API'],
    ]);
  });

  it('a plan: every step in between, none when there already, refused when the target lies behind', () => {
    assert.deepEqual(modeSteps('CONFIG_MAP', 'API'), { ok: true, value: ['API_AND_CONFIG_MAP', 'API'] });
    assert.deepEqual(modeSteps('CONFIG_MAP', 'API_AND_CONFIG_MAP'), { ok: true, value: ['API_AND_CONFIG_MAP'] });
    assert.deepEqual(modeSteps('API_AND_CONFIG_MAP', 'API'), { ok: true, value: ['API'] });
    assert.deepEqual(modeSteps('API', 'API'), { ok: true, value: [] });
    const back = modeSteps('API', 'API_AND_CONFIG_MAP');
    assert.ok(!back.ok);
    assert.match(back.error, /^InvalidParameterException: Unsupported authentication mode update from API to API_AND_CONFIG_MAP \(authentication modes only move forward/);
  });
});
