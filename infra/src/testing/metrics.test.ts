import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Registry } from 'prom-client';
import { parseMetrics } from './metrics.ts';

describe('parseMetrics', () => {
  it('reads what prom-client writes: sums by labels and groups by one, label values with spaces, quotes and commas intact', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ service: 'messaging' });
    const replies = new Counter({ name: 'sms_replies_total', help: 'h', labelNames: ['carrier', 'reason'], registers: [registry] });
    replies.inc({ carrier: 'cmcc', reason: 'alert' });
    replies.inc({ carrier: 'cmcc', reason: 'matched' }, 2);
    replies.inc({ carrier: 'cucc', reason: 'matched' }, 5);
    const bad = new Counter({ name: 'sms_bad_deliver_total', help: 'h', labelNames: ['carrier', 'reason'], registers: [registry] });
    bad.inc({ carrier: 'cmcc', reason: 'undecodable PDU, "quoted"' }, 3);
    new Gauge({ name: 'smsc_binds', help: 'h', registers: [registry] }).set(1.5);
    const m = parseMetrics(await registry.metrics());

    expect(m.by('sms_replies_total', 'reason', { carrier: 'cmcc' })).toEqual({ alert: 1, matched: 2 });
    expect(m.by('sms_replies_total', 'carrier')).toEqual({ cmcc: 3, cucc: 5 });
    expect(m.value('sms_replies_total')).toBe(8);
    expect(m.value('sms_replies_total', { carrier: 'cucc', service: 'messaging' })).toBe(5);
    expect(m.value('sms_bad_deliver_total', { reason: 'undecodable PDU, "quoted"' })).toBe(3);
    expect(m.value('smsc_binds')).toBe(1.5);
    expect(m.value('no_such_metric')).toBe(0);
    expect(m.by('no_such_metric', 'reason')).toEqual({});
  });
});
