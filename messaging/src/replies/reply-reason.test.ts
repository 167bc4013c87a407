import { describe, expect, it } from 'vitest';
import { replyReason, type ReplyFacts, type ReplyReason } from './reply-reason.ts';

describe('replyReason', () => {
  it.each<[string, ReplyFacts, ReplyReason]>([
    ['a live extension', { to: '1065710042', access: '106571', extension: 'live' }, 'matched'],
    ['the bare access number, last SMS an alert', { to: '106571', access: '106571', lastSource: 'alert' }, 'alert'],
    ['the bare access number, last SMS an industry send', { to: '106571', access: '106571', lastSource: 'industry' }, 'no_extension'],
    ['the bare access number, nothing sent to the number', { to: '106571', access: '106571' }, 'no_extension'],
    ['an expired extension', { to: '1065710042', access: '106571', extension: 'expired' }, 'expired'],
    ['a closed check-in’s extension', { to: '10657190001', access: '106571', extension: 'closed' }, 'checkin_closed'],
    ['an extension nobody holds', { to: '1065719999', access: '106571', extension: 'none' }, 'unknown_extension'],
    ['another access number', { to: '106591', access: '106571' }, 'other_number'],
    ['a shorter number than the access number', { to: '1065', access: '106571' }, 'other_number'],
  ])('%s → %s', (_name, facts, reason) => {
    expect(replyReason(facts)).toBe(reason);
  });
});
