/**
 * The demo's game server: one chat room. Every client that connects is a member; what one
 * member says, every member hears (with the speaker's client ID), and members see others
 * join and leave. Messages are JSON.
 */
import type { Endpoint, VirtualConnection } from '../../src/index.js';

/** What a client sends the room. */
export interface ChatRequest {
  type: 'say';
  name: string;
  text: string;
}

/** What the room sends a client. */
export type ChatEvent =
  | { type: 'welcome'; you: number; members: number[] }
  | { type: 'joined'; client: number }
  | { type: 'left'; client: number }
  | { type: 'said'; client: number; name: string; text: string };

export type ChatMessage = ChatRequest | ChatEvent;

/** Longest name and text the room passes on, in characters. */
const MAX_NAME = 40;
const MAX_TEXT = 500;

/** Runs the room on a server endpoint until the endpoint closes. */
export async function runChatRoom(server: Endpoint<ChatMessage>): Promise<void> {
  const members = new Map<number, VirtualConnection<ChatMessage>>();

  const broadcast = (event: ChatEvent): void => {
    for (const conn of members.values()) {
      try {
        conn.send(event);
      } catch {
        // A member that stopped reading (full send queue) or just left misses the message.
      }
    }
  };

  const serve = async (conn: VirtualConnection<ChatMessage>): Promise<void> => {
    const id = conn.remoteId;
    conn.send({ type: 'welcome', you: id, members: [...members.keys()] });
    broadcast({ type: 'joined', client: id });
    members.set(id, conn);
    try {
      for (;;) {
        let msg: ChatMessage;
        try {
          msg = await conn.receive();
        } catch (err) {
          if ((err as { code?: string }).code === 'ERR_FORMAT') continue; // not JSON: ignore it
          break; // closed
        }
        if (msg.type !== 'say' || typeof msg.text !== 'string' || typeof msg.name !== 'string') continue;
        const text = msg.text.slice(0, MAX_TEXT);
        if (text.trim() === '') continue;
        broadcast({ type: 'said', client: id, name: msg.name.slice(0, MAX_NAME) || `player ${id}`, text });
      }
    } finally {
      members.delete(id);
      broadcast({ type: 'left', client: id });
    }
  };

  for await (const conn of server) void serve(conn);
}
