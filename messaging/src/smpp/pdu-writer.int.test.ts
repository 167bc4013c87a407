import { afterEach, describe, expect, it } from 'vitest';
import smpp, { type Pdu, type Session } from 'smpp';
import { PduWriter } from './pdu-writer.ts';

const open: (() => void)[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c();
});

/** A bare SMPP server that answers enquire_link and counts the data events it reads. */
async function server() {
  const seen = { chunks: 0, pdus: 0 };
  const srv = smpp.createServer({}, (session: Session) => {
    session.socket.on('data', () => seen.chunks++);
    session.on('enquire_link', (pdu: Pdu) => {
      seen.pdus++;
      session.send(pdu.response());
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  const client = smpp.connect({ host: '127.0.0.1', port });
  await new Promise<void>((r) => client.on('connect', () => r()));
  open.push(() => {
    client.destroy();
    for (const s of [...srv.sessions]) s.destroy();
    srv.close();
  });
  return { seen, client };
}

describe('PduWriter', () => {
  it('writes the PDUs sent in one turn of the event loop with one socket write, and every response reaches its callback', async () => {
    const { client } = await server();
    const w = new PduWriter(client);
    const answered: number[] = [];
    const all = Promise.all(
      Array.from(
        { length: 200 },
        () =>
          new Promise<void>((resolve) => w.send(new smpp.PDU('enquire_link', {}), (r) => (answered.push(r.sequence_number), resolve()))),
      ),
    );
    await all;
    expect(w.counts).toEqual({ writes: 1, pdus: 200 });
    expect(new Set(answered).size).toBe(200);
  });

  it('shares the session numbering with PDUs sent the ordinary way', async () => {
    const { client } = await server();
    const w = new PduWriter(client);
    const a = new smpp.PDU('enquire_link', {});
    client.send(a);
    const b = new smpp.PDU('enquire_link', {});
    w.send(b);
    const c = new smpp.PDU('enquire_link', {});
    client.send(c);
    expect([a.sequence_number, b.sequence_number, c.sequence_number]).toEqual([1, 2, 3]);
  });

  it('writes at once past the size limit, and refuses to queue on a dead socket', async () => {
    const { client, seen } = await server();
    const w = new PduWriter(client, 16 * 10);
    for (let i = 0; i < 25; i++) w.send(new smpp.PDU('enquire_link', {}));
    expect(w.counts.writes).toBe(2); // at 10 and 20 PDUs of 16 bytes; 5 wait for the next turn
    const end = Date.now() + 10_000;
    while (seen.pdus < 25 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(seen.pdus).toBe(25);
    client.destroy();
    expect(w.send(new smpp.PDU('enquire_link', {}))).toBe(false);
  });
});
