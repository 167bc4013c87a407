// Minimal typing of the parts of the `smpp` package (0.5.x) that messaging uses.
declare module 'smpp' {
  import type { EventEmitter } from 'node:events';
  import type { Server as NetServer, Socket } from 'node:net';

  export interface Pdu {
    command: string;
    command_id: number;
    command_status: number;
    sequence_number: number;
    [field: string]: any;
    response(options?: Record<string, unknown>): Pdu;
    isResponse(): boolean;
  }
  export class PDU implements Pdu {
    constructor(command: string, options?: Record<string, unknown>);
    command: string;
    command_id: number;
    command_status: number;
    sequence_number: number;
    [field: string]: any;
    response(options?: Record<string, unknown>): Pdu;
    isResponse(): boolean;
  }
  export interface Session extends EventEmitter {
    socket: Socket;
    /** Last sequence number used (the package's own field). */
    sequence: number;
    /** Response callbacks by sequence number (the package's own field). */
    _callbacks: Record<number, (pdu: Pdu) => void>;
    server?: Server;
    send(pdu: Pdu, onResponse?: (pdu: Pdu) => void, onSent?: (pdu: Pdu) => void): boolean;
    close(cb?: () => void): void;
    destroy(cb?: () => void): void;
    pause(): void;
    resume(): void;
    [command: string]: any;
  }
  export interface Server extends NetServer {
    sessions: Session[];
  }
  export function createServer(options: Record<string, unknown>, listener?: (session: Session) => void): Server;
  export function connect(options: { host: string; port: number; auto_enquire_link_period?: number }, listener?: () => void): Session;
  export function addTLV(tag: string, options: { id: number; type: unknown }): void;
  export const types: { tlv: Record<string, unknown> };
  /** Optional parameters known to the package (and added with addTLV), by name. */
  export const tlvs: Record<string, { id: number }>;
  export const errors: Record<string, number>;
  export const consts: Record<string, any>;
  const smpp: {
    createServer: typeof createServer;
    connect: typeof connect;
    addTLV: typeof addTLV;
    PDU: typeof PDU;
    types: typeof types;
    tlvs: typeof tlvs;
    errors: typeof errors;
    consts: typeof consts;
  };
  export default smpp;
}
