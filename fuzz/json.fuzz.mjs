// Coverage-guided target for src/common/json.ts: the first byte picks the depth bound.
import { exceedsJsonDepth, parseJson } from '../.cache/fuzz-build/src/common/json.js';
import { check, depthOf, encodes } from './support.mjs';

export function fuzz(data) {
  const maxDepth = data.length > 0 ? data[0] % 80 : 64;
  const bytes = data.subarray(1);
  const text = bytes.toString('utf8');
  const parsed = parseJson(text, { maxDepth });
  let reference;
  try {
    reference = { ok: true, value: JSON.parse(text) };
  } catch {
    reference = { ok: false };
  }
  if (parsed.ok) {
    check(reference.ok, 'accepted text JSON.parse refuses', text);
    check(depthOf(parsed.value) <= maxDepth, 'accepted a value deeper than the bound', text);
    encodes(parsed.value, text);
  } else if (parsed.problem === 'invalid') {
    check(!reference.ok, 'refused valid JSON as invalid', text);
  } else {
    check(parsed.problem === 'too_deep', `unknown problem ${parsed.problem}`, text);
    if (reference.ok) check(depthOf(reference.value) > maxDepth, 'refused JSON within the bound as too deep', text);
  }
  check(exceedsJsonDepth(bytes, maxDepth) === exceedsJsonDepth(text, maxDepth), 'bytes and text scans disagree', text);
}
